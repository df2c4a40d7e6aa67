"""Input shapes of the curator pages (shape only; rules live in the services)."""

from django import forms
from django.conf import settings

from visuals.assets import DECISIONS
from visuals.models import ImageRequest, VisualAsset
from visuals.vocab import GENERATABLE_CATEGORIES, PROBE_TYPES, Category, Verdict

PROBE_HELP = {
    "identity_selfie": "a clear front-facing selfie showing the face",
    "full_body_identity": "a full-body photo, head to toe",
    "wardrobe_variation": "the character in a different everyday outfit",
    "accessory_carry_forward": (
        "keeps the same signature accessory (follows the last image)"
    ),
    "same_scene_followup": "another photo in the same place (follows the last image)",
    "prop_usage": "holding or using an everyday personal item",
    "forbidden_visual_check": (
        "an ordinary selfie, to confirm no forbidden traits appear"
    ),
}


class ProbeForm(forms.Form):
    probe_type = forms.ChoiceField(
        choices=[(p, f"{p} — {PROBE_HELP[p]}") for p in PROBE_TYPES],
        initial="identity_selfie",
    )


def _lines(value: str) -> list[str]:
    return [
        line.strip() for line in value.replace(",", "\n").splitlines() if line.strip()
    ]


class BatchForm(forms.Form):
    categories = forms.MultipleChoiceField(
        choices=[(c, c) for c in GENERATABLE_CATEGORIES],
        widget=forms.CheckboxSelectMultiple,
    )
    count_per_category = forms.IntegerField(min_value=1, max_value=4, initial=1)
    style_brief = forms.CharField(required=False, max_length=500)
    forbidden = forms.CharField(
        required=False,
        max_length=1000,
        help_text="One per line, or separated by commas.",
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    # Curators curate: held for review unless they untick it.
    hold_for_review = forms.BooleanField(required=False, initial=True)

    def clean_forbidden(self):
        return _lines(self.cleaned_data["forbidden"])

    def clean(self):
        data = super().clean()
        requested = len(data.get("categories") or []) * (
            data.get("count_per_category") or 0
        )
        if requested > settings.LOREOS_MAX_BATCH_IMAGES:
            # The service refuses it too (batch_too_large); say so before a round trip.
            raise forms.ValidationError(
                f"{requested} images requested; max "
                f"{settings.LOREOS_MAX_BATCH_IMAGES} per batch. "
                "Reduce categories × count_per_category."
            )
        return data


class DecisionForm(forms.Form):
    """One decision on one asset, from the asset page (a plain form post)."""

    decision = forms.ChoiceField(choices=[(d, d) for d in [*DECISIONS, "delete"]])
    reason = forms.CharField(required=False, max_length=1000)
    # The asset's ETag as the page showed it: a change made meanwhile is refused.
    etag = forms.CharField(required=False, max_length=64)


class BulkDecisionForm(forms.Form):
    """The JSON body of the review queue's decisions: ids shown, one decision."""

    ids = forms.JSONField()
    decision = forms.ChoiceField(
        choices=[("approve", "approve"), ("reject", "reject"), ("undo", "undo")]
    )
    reason = forms.CharField(required=False, max_length=1000)
    # {id: the ETag the card showed}; an id whose asset changed since is refused.
    etags = forms.JSONField(required=False)

    def clean_etags(self):
        etags = self.cleaned_data.get("etags") or {}
        if not isinstance(etags, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in etags.items()
        ):
            raise forms.ValidationError("etags must be an object of id: ETag strings")
        return etags

    def clean_ids(self):
        ids = self.cleaned_data["ids"]
        if (
            not isinstance(ids, list)
            or not ids
            or not all(isinstance(i, str) for i in ids)
        ):
            raise forms.ValidationError("ids must be a non-empty list of asset ids")
        if len(ids) > 500:
            raise forms.ValidationError("at most 500 ids per decision")
        return list(dict.fromkeys(ids))


class QueueFilterForm(forms.Form):
    character = forms.UUIDField(required=False)
    category = forms.ChoiceField(
        required=False,
        choices=[("", "All categories")]
        + [(c.value, c.value) for c in Category if c != Category.IDENTITY],
        widget=forms.Select(attrs={"aria-label": "Category"}),
    )
    verdict = forms.ChoiceField(
        required=False,
        choices=[("", "Any verdict"), *Verdict.choices, ("none", "Not evaluated")],
        widget=forms.Select(attrs={"aria-label": "Verdict"}),
    )
    source = forms.ChoiceField(
        required=False,
        choices=[("", "Any source")] + list(VisualAsset.Source.choices),
        widget=forms.Select(attrs={"aria-label": "Source"}),
    )
    batch = forms.UUIDField(
        required=False,
        widget=forms.TextInput(
            attrs={"aria-label": "Batch id", "placeholder": "batch id", "size": 10}
        ),
    )
    generator = forms.CharField(
        required=False,
        max_length=32,
        widget=forms.TextInput(
            attrs={"aria-label": "Generator", "placeholder": "generator", "size": 9}
        ),
    )
    sort = forms.ChoiceField(
        required=False,
        choices=[
            ("", "Oldest first"),
            ("newest", "Newest first"),
            ("score", "Identity: closest first"),
            ("-score", "Identity: farthest first"),
        ],
        widget=forms.Select(attrs={"aria-label": "Sort"}),
    )

    # The filters a bookmarked view may carry (the URL is the saved view).
    FILTERS = ("character", "category", "verdict", "source", "batch", "generator")


class AssetFilterForm(forms.Form):
    category = forms.ChoiceField(
        required=False,
        choices=[("", "All categories")] + list(Category.choices),
        widget=forms.Select(attrs={"aria-label": "Category"}),
    )
    status = forms.ChoiceField(
        required=False,
        choices=[("", "Any status")] + list(VisualAsset.Status.choices),
        widget=forms.Select(attrs={"aria-label": "Status"}),
    )


class ReportFilterForm(forms.Form):
    origin = forms.ChoiceField(
        required=False,
        choices=[
            ("probe", "Probes"),
            ("inventory", "Inventory generations"),
            ("runtime", "Runtime images"),
        ],
        widget=forms.Select(attrs={"aria-label": "Origin"}),
    )
    character = forms.UUIDField(required=False)
    state = forms.ChoiceField(
        required=False,
        choices=[("", "Any state")] + [(s, s) for s in ImageRequest.State.values],
        widget=forms.Select(attrs={"aria-label": "State"}),
    )
