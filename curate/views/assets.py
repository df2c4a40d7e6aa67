"""One asset: its image, its audit trail, and the decisions a curator can take on it."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from loreos.api.errors import ApiError
from visuals import assets as asset_services
from visuals.assets import asset_etag

from .. import selectors
from ..access import curator_required
from ..forms import DecisionForm
from ..presenters import decided_by_name, decision_buttons, verdict_of


@curator_required
def asset_detail(request, pk):
    asset = selectors.get_visible_asset(request.user, pk)
    return render(
        request,
        "curate/asset_detail.html",
        {
            "asset": asset,
            "character": asset.character,
            "verdict": verdict_of(asset.image_request),
            "decided_by": decided_by_name(asset),
            "decisions": decision_buttons(asset),
            "etag": asset_etag(asset),
            "history": [
                {"who": decided_by_name(row), "row": row}
                for row in selectors.asset_history(asset)
            ],
            "nav": "characters",
        },
    )


def _back(request, asset):
    """Where to go after a plain form post: `next` when it is ours, else the asset."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    return redirect("curate:asset", asset.pk)


@require_POST
@curator_required
def asset_action(request, pk):
    asset = selectors.get_visible_asset(request.user, pk)
    form = DecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Unknown decision.")
        return _back(request, asset)
    decision, reason = form.cleaned_data["decision"], form.cleaned_data["reason"]
    # The state the page showed (always sent by our forms): a change made meanwhile
    # is refused with the API's 412 precondition_failed message.
    etag = form.cleaned_data["etag"] or None
    try:
        if decision == "delete":
            character_id = asset.character_id
            asset_services.asset_delete(asset=asset, actor=request.user, if_match=etag)
            messages.success(request, f"Deleted {asset.category}:{asset.asset_key}.")
            return redirect(reverse("curate:character", args=[character_id]))
        asset = asset_services.asset_decide(
            asset=asset,
            decision=decision,
            actor=request.user,
            reason=reason,
            if_match=etag,
        )
    except ApiError as exc:
        messages.error(request, exc.as_text())
        return _back(request, asset)
    messages.success(
        request,
        f"{asset.category}:{asset.asset_key} is now {asset.asset_status} "
        f"({asset.promotion_status}).",
    )
    return _back(request, asset)
