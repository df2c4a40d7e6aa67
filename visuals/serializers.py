"""Shapes in and out for visual assets (shape only; the rules live in visuals.assets).

An asset leaves the API as (AssetSerializer):

    id, category, asset_key, label, visual_summary, visual_description,
    url                  absolute URL of the stored image (visuals.storage.absolute_url)
    sha256, width, height, format, byte_size    of the stored file
    asset_status         candidate | active | retired | rejected
    promotion_status     candidate | approved_anchor | approved_keyframe
    qa_status            unreviewed | passed | failed
    source               upload | inventory | probe | runtime
    image_request_id     the probe / generation (image request) that made it, or null
    advice               measured identity-image advice: [{code, message}], never
                         blocking
    decided_by           who took the last decision: a curator's username, or an API
                         key's name and prefix ("ci-bot (lok_1a2b3c4d)"); null if none
    decided_at, decision_reason    the last lifecycle decision
    created_at, updated_at
"""

from drf_spectacular.utils import inline_serializer
from rest_framework import serializers

from .assets import decider_label, decider_name
from .models import VisualAsset
from .reports import iso_datetime
from .storage import absolute_url, url_builder
from .vocab import VERDICTS, Category, CheckKind, CheckStatus


class AdviceSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()


class AssetSerializer(serializers.ModelSerializer):
    id = serializers.CharField(read_only=True)
    url = serializers.SerializerMethodField()
    image_request_id = serializers.SerializerMethodField()
    advice = AdviceSerializer(many=True, read_only=True)
    decided_by = serializers.SerializerMethodField()

    class Meta:
        model = VisualAsset
        fields = [
            "id",
            "category",
            "asset_key",
            "label",
            "visual_summary",
            "visual_description",
            "url",
            "sha256",
            "width",
            "height",
            "format",
            "byte_size",
            "asset_status",
            "promotion_status",
            "qa_status",
            "source",
            "image_request_id",
            "advice",
            "decided_by",
            "decided_at",
            "decision_reason",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_url(self, asset) -> str | None:
        return absolute_url(asset.file)

    def get_image_request_id(self, asset) -> str | None:
        return str(asset.image_request_id) if asset.image_request_id else None

    def get_decided_by(self, asset) -> str | None:
        """The curator's username, or the API key's name and prefix; null before any
        decision."""
        return decider_name(asset) or None


# The columns asset_data needs: what a hot read selects with .values(*ASSET_COLUMNS).
ASSET_COLUMNS = (
    *(
        f
        for f in AssetSerializer.Meta.fields
        if f not in ("url", "image_request_id", "decided_by")
    ),
    "file",
    "image_request_id",
    "decided_by__username",
    "decided_by_key__name",
    "decided_by_key__prefix",
)


def asset_data(rows) -> list[dict]:
    """AssetSerializer's output, field for field, from plain ``.values(*ASSET_COLUMNS)``
    rows: what the hot reads (visual-inventory) use instead of DRF fields (≈ 0.25 ms
    of CPU per asset). tests/test_fast_responses.py holds the two equal."""
    url = url_builder(VisualAsset._meta.get_field("file").storage)
    return [
        {
            "id": str(r["id"]),
            "category": r["category"],
            "asset_key": r["asset_key"],
            "label": r["label"],
            "visual_summary": r["visual_summary"],
            "visual_description": r["visual_description"],
            "url": url(r["file"]),
            "sha256": r["sha256"],
            "width": r["width"],
            "height": r["height"],
            "format": r["format"],
            "byte_size": r["byte_size"],
            "asset_status": r["asset_status"],
            "promotion_status": r["promotion_status"],
            "qa_status": r["qa_status"],
            "source": r["source"],
            "image_request_id": (
                str(r["image_request_id"]) if r["image_request_id"] else None
            ),
            "advice": [
                {"code": a["code"], "message": a["message"]} for a in r["advice"] or []
            ],
            "decided_by": decider_label(
                username=r["decided_by__username"],
                key_name=r["decided_by_key__name"],
                key_prefix=r["decided_by_key__prefix"],
            )
            or None,
            "decided_at": iso_datetime(r["decided_at"]),
            "decision_reason": r["decision_reason"],
            "created_at": iso_datetime(r["created_at"]),
            "updated_at": iso_datetime(r["updated_at"]),
        }
        for r in rows
    ]


class AssetUploadSerializer(serializers.Serializer):
    """The multipart form of POST .../visual-assets."""

    # Validates and documents the form. The first check is the service's own
    # (visuals.assets.upload_fields_check: the contract's order and codes, so an unknown
    # or missing category is invalid_category); then the fields below (a text `file`).

    # Whether the bytes are an image (an empty file is not) is image_rejected's to say.
    file = serializers.FileField(
        allow_empty_file=True, help_text="PNG, JPEG or WebP, at most 8 MB"
    )
    category = serializers.ChoiceField(choices=Category.values)
    asset_key = serializers.CharField(help_text="a stable handle, e.g. identity-front")
    label = serializers.CharField(help_text="a short human label")
    visual_summary = serializers.CharField(required=False, allow_blank=True)
    visual_description = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="defaults to visual_summary, then label",
    )

    def to_internal_value(self, data):
        from .assets import upload_fields_check

        upload_fields_check(
            category=data.get("category", ""),
            asset_key=data.get("asset_key", ""),
            label=data.get("label", ""),
            file=data.get("file"),
        )
        return super().to_internal_value(data)


class AssetPatchSerializer(serializers.Serializer):
    promotion_status = serializers.ChoiceField(
        choices=VisualAsset.Promotion.values, required=False
    )
    asset_status = serializers.ChoiceField(
        choices=VisualAsset.Status.values, required=False
    )
    qa_status = serializers.ChoiceField(choices=VisualAsset.QA.values, required=False)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=2000)

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise serializers.ValidationError(
                {"non_field_errors": ["body must be a JSON object"]}
            )
        unknown = sorted(set(data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError(
                {unknown[0]: [f"unknown field; allowed: {', '.join(self.fields)}"]}
            )
        return super().to_internal_value(data)

    def validate(self, attrs):
        if not {"promotion_status", "asset_status", "qa_status"} & set(attrs):
            raise serializers.ValidationError(
                {
                    "non_field_errors": [
                        "send at least one of promotion_status, asset_status, qa_status"
                    ]
                }
            )
        return attrs


# --- The consistency verdict of a probe / generation report (docs/judge.md) ----------


class ConsistencyCheckSerializer(serializers.Serializer):
    """One named check of the verdict (additive to the contract's consistency)."""

    id = serializers.CharField(
        help_text="Stable id: identity_face, parent_face, previous_image, full_body, "
        "outfit_changed, same_scene, accessory_kept, prop_in_hand, forbidden_traits, "
        "forbidden_<n>, keep_<n>, avoid_<n>."
    )
    kind = serializers.ChoiceField(
        choices=CheckKind.choices,
        help_text="face / continuity (face measures), ask (the probe's own ask), "
        "forbidden / keep / avoid (the vision judge's anchor checks).",
    )
    text = serializers.CharField(help_text="What is checked, in plain words.")
    status = serializers.ChoiceField(
        choices=CheckStatus.choices,
        help_text="not_checked: listed but not made and not counted (an optional "
        "check with no vision judge configured).",
    )
    measure = serializers.FloatField(
        allow_null=True,
        help_text="The measured value (face distance, room in face heights, "
        "clothing distance, scene similarity or the vision judge's confidence); "
        "null when nothing was measured.",
    )
    detail = serializers.CharField(
        help_text="The measure and its band, in plain words (as in reason)."
    )


class ConsistencySerializer(serializers.Serializer):
    """The contract's consistency object, plus its named checks."""

    status = serializers.ChoiceField(
        choices=[(v.value, v.label) for v in VERDICTS],
        help_text="The worst of the counted checks.",
    )
    reason = serializers.CharField(
        help_text="Every check with its measure and band, in plain words."
    )
    continuity_relation = serializers.ChoiceField(
        choices=["identity_only", "follows_parent", "new_episode"]
    )
    parent_bitmap_available = serializers.BooleanField()
    checks = ConsistencyCheckSerializer(
        many=True, required=False, help_text="Additive: the checks one by one."
    )


class ProbeReportSerializer(serializers.Serializer):
    """The redacted report of a probe: what it did, never its brief or payloads."""

    probe_id = serializers.CharField()
    session_id = serializers.CharField()
    probe_type = serializers.CharField(allow_null=True)
    image_kind = serializers.CharField()
    request_status = serializers.CharField()
    state = serializers.CharField()
    image_url = serializers.CharField(allow_null=True)
    servable = serializers.BooleanField()
    summary = serializers.CharField()
    assets_sent = serializers.ListField(child=serializers.CharField())
    consistency = ConsistencySerializer(allow_null=True)
    failure_reason = serializers.CharField(allow_null=True)
    promotion_eligible = serializers.BooleanField()
    continuity_dependent = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    completed_at = serializers.DateTimeField(allow_null=True)
    generator = inline_serializer(
        name="ReportGenerator",
        fields={
            "name": serializers.CharField(),
            "backend": serializers.CharField(allow_null=True),
        },
        help_text="additive: the named generator (LOREOS_GENERATORS) and its backend",
    )


class GenerationReportSerializer(ProbeReportSerializer):
    """A generation is reported like a probe, plus its category, batch and asset."""

    category = serializers.CharField()
    batch_id = serializers.CharField(allow_null=True)
    asset_id = serializers.CharField(allow_null=True)
    hold_for_review = serializers.BooleanField()
