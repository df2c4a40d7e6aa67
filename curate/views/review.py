"""The review queue of held candidates and its JSON decision endpoint."""

import json

from django.conf import settings
from django.core.paginator import Paginator
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_POST

from loreos.api.errors import ApiError, ErrorCode
from loreos.api.ids import is_uuid
from visuals import assets as asset_services
from visuals.assets import asset_etag
from visuals.readiness import visual_readiness
from visuals.vocab import CONTINUITY_PROBES

from .. import badges, selectors
from ..access import curator_required
from ..forms import BulkDecisionForm, QueueFilterForm
from ..presenters import checks_of, decision_of, verdict_of

CARDS_PER_PAGE = 48


@curator_required
def queue(request):
    form = QueueFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    rows = selectors.review_queue(
        request.user,
        character=filters.get("character") or "",
        category=filters.get("category", ""),
        verdict=filters.get("verdict", ""),
        source=filters.get("source", ""),
        batch=filters.get("batch") or "",
        generator=filters.get("generator", ""),
        sort=filters.get("sort", ""),
    )
    page = Paginator(rows, CARDS_PER_PAGE).get_page(request.GET.get("page"))
    cards = list(page.object_list)
    portraits = selectors.identity_portraits({a.character_id for a in cards})
    groups: dict = {}
    for number, asset in enumerate(cards, start=1):
        asset.number = number
        asset.portrait = portraits.get(asset.character_id)
        asset.verdict = verdict_of(asset.image_request)
        asset.checks = checks_of(asset.image_request)
        asset.etag = asset_etag(asset)
        request_ = asset.image_request
        asset.parent_id = (
            request_.parent_id
            if request_ is not None and request_.probe_type in CONTINUITY_PROBES
            else None
        )
        groups.setdefault(asset.character_id, []).append(asset)
    on_page = {a.character_id for a in cards}
    page_characters = list(
        selectors.characters_with_counts(request.user).filter(pk__in=list(on_page))
    )
    by_id = {}
    for character in page_characters:
        character.readiness = badges.readiness_status(character)
        character.readiness_label = badges.label(character.readiness)
        by_id[character.pk] = character
    params = request.GET.copy()
    params.pop("page", None)
    filtered = any(filters.get(name) for name in QueueFilterForm.FILTERS)
    return render(
        request,
        "curate/review_queue.html",
        {
            "page": page,
            "cards": cards,
            "groups": [
                {
                    "character": by_id.get(character_id) or members[0].character,
                    "portrait": portraits.get(character_id),
                    "cards": members,
                }
                for character_id, members in groups.items()
            ],
            "form": form,
            "filtered": filtered,
            "characters": selectors.character_choices(request.user),
            "generators": selectors.generators(request.user),
            "page_characters": page_characters,
            "presets": presets(),
            "querystring": params.urlencode(),
            "nav": "review",
        },
    )


def presets() -> list[str]:
    """The reason presets of the number keys (settings.LOREOS_CURATE_REASON_PRESETS)."""
    return [p for p in settings.LOREOS_CURATE_REASON_PRESETS if p][:9]


def _bad_request(message: str, fix: str) -> JsonResponse:
    error = ApiError(ErrorCode.VALIDATION_ERROR, message, fix)
    return JsonResponse(error.body(), status=error.status_code)


@require_POST
@curator_required
def decide(request):
    """Approve or reject the given held candidates; answer per id, with new badges."""
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        return _bad_request(
            "body is not JSON", 'Send {"ids": [...], "decision": "approve"}.'
        )
    form = BulkDecisionForm(
        {
            "ids": json.dumps(body.get("ids")) if isinstance(body, dict) else "null",
            "decision": body.get("decision") if isinstance(body, dict) else None,
            "reason": (body.get("reason") or "") if isinstance(body, dict) else "",
            "etags": json.dumps(body.get("etags")) if isinstance(body, dict) else "",
        }
    )
    if not form.is_valid():
        field, errors = next(iter(form.errors.items()))
        return _bad_request(
            f"{field}: {errors[0]}", "Correct the body and send it again."
        )
    ids = [i for i in form.cleaned_data["ids"] if is_uuid(i)]
    found = selectors.visible_assets_by_id(request.user, ids)
    etags = form.cleaned_data["etags"]
    decision = form.cleaned_data["decision"]
    results, touched = [], {}
    for asset_id in form.cleaned_data["ids"]:
        asset = found.get(asset_id)
        if asset is None:
            results.append(
                {
                    "id": asset_id,
                    "ok": False,
                    "error": ApiError(
                        ErrorCode.NOT_FOUND,
                        "asset not found",
                        "Reload the queue; it may have been deleted.",
                    ).as_detail(),
                }
            )
            continue
        try:
            if decision == "undo":
                asset = asset_services.asset_decision_undo(
                    asset=asset, actor=request.user, if_match=etags.get(asset_id)
                )
            else:
                asset = asset_services.asset_decide(
                    asset=asset,
                    decision=decision,
                    actor=request.user,
                    reason=form.cleaned_data["reason"],
                    if_match=etags.get(asset_id),
                )
        except ApiError as exc:
            refused = {"id": asset_id, "ok": False, "error": exc.as_detail()}
            if exc.code == ErrorCode.PRECONDITION_FAILED:
                # Someone decided meanwhile: the card shows who, when and what.
                now = selectors.get_visible_asset(request.user, asset_id)
                refused["current"] = decision_of(now)
                touched[now.character_id] = now.character
            results.append(refused)
            continue
        touched[asset.character_id] = asset.character
        results.append({"id": asset_id, "ok": True, **decision_of(asset)})
    return JsonResponse({"results": results, "characters": _character_states(touched)})


def _character_states(touched: dict) -> dict:
    """The new readiness and held count of every character a decision touched."""
    held = selectors.held_counts(touched)
    states = {}
    for character_id, character in touched.items():
        status = visual_readiness(character)["status"]
        states[str(character_id)] = {
            "readiness": status,
            "readiness_label": badges.label(status),
            "held": held.get(character_id, 0),
        }
    return states
