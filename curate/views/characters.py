"""Characters: the list with readiness badges, a character's page, its assets."""

from django.conf import settings
from django.core.paginator import Paginator
from django.shortcuts import render

from characters.anchors import shape as anchors_shape
from loreos.api.ids import is_uuid
from visuals.readiness import visual_readiness
from visuals.vocab import Category

from .. import badges, selectors
from ..access import curator_required
from ..charts import drift_chart
from ..forms import AssetFilterForm, BatchForm, ProbeForm

CHARACTERS_PER_PAGE = 50
ASSETS_PER_PAGE = 60
STRIP = 8  # thumbnails per category on the character page


@curator_required
def character_list(request):
    q = request.GET.get("q", "").strip()[:64]
    page = Paginator(
        selectors.characters_with_counts(request.user, q=q), CHARACTERS_PER_PAGE
    )
    page = page.get_page(request.GET.get("page"))
    rows = list(page.object_list)
    portraits = selectors.identity_portraits(c.pk for c in rows)
    for character in rows:
        character.portrait = portraits.get(character.pk)
        character.readiness = badges.readiness_status(character)
        character.readiness_label = badges.label(character.readiness)
    return render(
        request,
        "curate/character_list.html",
        {
            "page": page,
            "characters": rows,
            "q": q,
            "querystring": _without_page(request),
            "nav": "characters",
        },
    )


def _anchors_view(anchors):
    """Anchors as (key, text) rows, or the shape problem the contract warns about."""
    if isinstance(anchors, dict):
        return [
            (key, ", ".join(map(str, value)) if isinstance(value, list) else value)
            for key, value in anchors.items()
        ]
    return None


def _with_shapes(versions):
    for version in versions:
        anchors = version.identity_anchors
        version.anchors_shape = anchors_shape(anchors)
        version.anchors_len = len(anchors) if anchors else 0
    return versions


@curator_required
def character_detail(request, pk):
    character = selectors.get_visible_character(request.user, pk)
    return character_page(request, character)


def character_page(request, character, *, probe_form=None, batch_form=None):
    """The character page; a run form that failed comes back bound, with its errors
    next to its fields and everything typed kept (answered 422)."""
    readiness = visual_readiness(character)
    counts = selectors.status_counts(character)
    strips = selectors.latest_per_category(character, STRIP)
    categories = [
        {
            "name": c.value,
            "counts": counts.get(c.value, {}),
            "total": sum(counts.get(c.value, {}).values()),
            "assets": strips.get(c.value, []),
        }
        for c in Category
    ]
    identity = selectors.identity_assets(character)
    anchors = (
        character.active_version.identity_anchors if character.active_version else None
    )
    held = sum(
        counts.get(c.value, {}).get("candidate", 0)
        for c in Category
        if c != Category.IDENTITY
    )
    batch_id = request.GET.get("batch", "")
    return render(
        request,
        "curate/character_detail.html",
        {
            "character": character,
            "readiness": readiness,
            "readiness_label": badges.label(readiness["status"]),
            "identity": identity,
            "portrait": identity[0] if identity else None,
            "anchors": anchors,
            "anchor_rows": _anchors_view(anchors),
            "anchors_is_list": isinstance(anchors, list),
            "categories": categories,
            "empty_categories": [c["name"] for c in categories if not c["total"]],
            "held": held,
            "versions": _with_shapes(selectors.versions(character)),
            "probe_form": probe_form or ProbeForm(),
            "batch_form": batch_form or BatchForm(),
            "batch_id": batch_id if is_uuid(batch_id) else "",
            "drift": drift_chart(
                selectors.identity_drift(character),
                pass_at=settings.LOREOS_FACE_PASS_DISTANCE,
                fail_at=settings.LOREOS_FACE_FAIL_DISTANCE,
            ),
            "generator_rates": selectors.generator_rates(character),
            "nav": "characters",
        },
        status=422 if (probe_form or batch_form) else 200,
    )


@curator_required
def character_assets(request, pk):
    character = selectors.get_visible_character(request.user, pk)
    form = AssetFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    rows = selectors.character_assets(
        character,
        category=filters.get("category", ""),
        status=filters.get("status", ""),
    )
    page = Paginator(rows, ASSETS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "curate/character_assets.html",
        {
            "character": character,
            "page": page,
            "form": form,
            "querystring": _without_page(request),
            "nav": "characters",
        },
    )


def _without_page(request) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()
