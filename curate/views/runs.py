"""Run a probe or an inventory batch from a character's page; follow its progress."""

from django.contrib import messages
from django.http import JsonResponse
from django.shortcuts import redirect
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.views.decorators.http import require_POST

from loreos.api.errors import ApiError
from loreos.api.ids import is_uuid
from visuals import cancellation

from .. import actions, selectors
from ..access import curator_required
from ..forms import BatchForm, ProbeForm
from .characters import character_page


def _refused_message(request, exc: ApiError):
    """A refusal on a page with no form: shown as a message."""
    messages.error(request, exc.as_text())


def _refused(form, exc: ApiError):
    """The service's refusal, shown next to the field it names (else on the form)."""
    field = exc.field if exc.field in form.fields else None
    form.add_error(field, f"{exc.message}. {exc.fix}")


@require_POST
@curator_required
def run_probe(request, pk):
    character = selectors.get_visible_character(request.user, pk)
    form = ProbeForm(request.POST)
    if not form.is_valid():
        return character_page(request, character, probe_form=form)
    try:
        probe = actions.probe_run(
            character=character,
            probe_type=form.cleaned_data["probe_type"],
            actor=request.user,
        )
    except ApiError as exc:
        _refused(form, exc)
        return character_page(request, character, probe_form=form)
    return redirect("curate:report", probe.pk)


@require_POST
@curator_required
def run_batch(request, pk):
    character = selectors.get_visible_character(request.user, pk)
    back = reverse("curate:character", args=[character.pk])
    form = BatchForm(request.POST)
    if not form.is_valid():
        return character_page(request, character, batch_form=form)
    try:
        items = actions.inventory_batch_run(
            character=character, actor=request.user, **form.cleaned_data
        )
    except ApiError as exc:
        _refused(form, exc)
        return character_page(request, character, batch_form=form)
    queued = [item.request for item in items if item.request]
    failed = [item for item in items if item.request is None]
    for item in failed:
        messages.warning(
            request, f"One {item.category} image was not queued: {item.error}"
        )
    if not queued:
        return redirect(back + "#run")
    messages.success(
        request,
        f"Queued {len(queued)} of {len(items)} image{pluralize(len(items))}"
        + (" — held for review." if form.cleaned_data["hold_for_review"] else "."),
    )
    return redirect(f"{back}?batch={queued[0].batch_id}#progress")


@curator_required
def batch_status(request, pk, batch_id):
    """The per-image states of one batch, polled by the character page."""
    character = selectors.get_visible_character(request.user, pk)
    rows = selectors.batch_requests(character, batch_id) if is_uuid(batch_id) else []
    items = []
    for row in rows:
        asset = getattr(row, "produced_asset", None)
        items.append(
            {
                "id": str(row.pk),
                "category": row.category,
                "state": row.state,
                "request_status": row.request_status,
                "asset_id": str(asset.pk) if asset else None,
                "asset_status": asset.asset_status if asset else None,
                "thumb": reverse("curate:asset-thumb", args=[asset.pk, 96])
                if asset
                else None,
                "report": reverse("curate:report", args=[row.pk]),
            }
        )
    done = sum(1 for i in items if i["state"] not in ("queued", "generating"))
    return JsonResponse(
        {
            "total": len(items),
            "done": done,
            "finished": bool(items) and done == len(items),
            "held": sum(1 for i in items if i["asset_status"] == "candidate"),
            "items": items,
            "review_url": reverse("curate:review") + f"?character={character.pk}",
        }
    )


@require_POST
@curator_required
def cancel_request(request, pk):
    """Cancel the probe or generation of a report page (the API's cancel rules)."""
    image_request = selectors.get_visible_request(request.user, pk)
    try:
        outcome = cancellation.image_request_cancel(image_request)
    except ApiError as exc:
        _refused_message(request, exc)
    else:
        messages.success(request, CANCEL_MESSAGES[outcome["outcome"]])
    return redirect("curate:report", image_request.pk)


@require_POST
@curator_required
def cancel_batch(request, pk, batch_id):
    """Cancel every unfinished item of a batch from its progress panel."""
    character = selectors.get_visible_character(request.user, pk)
    back = reverse("curate:character", args=[character.pk])
    rows = (
        list(selectors.batch_requests(character, batch_id)) if is_uuid(batch_id) else []
    )
    if not rows:
        messages.error(request, "No such batch.")
        return redirect(back + "#run")
    try:
        results = cancellation.inventory_batch_cancel(batch_id, rows)
    except ApiError as exc:
        _refused_message(request, exc)
    else:
        outcomes = [o["outcome"] for _, o in results]
        messages.success(
            request,
            f"Canceled {outcomes.count('canceled')} queued image(s) (refunded); "
            f"asked the generator to stop {outcomes.count('cancel_requested')} "
            "in flight.",
        )
    return redirect(f"{back}?batch={batch_id}#progress")


CANCEL_MESSAGES = {
    "canceled": "Canceled before it started; its unit was refunded.",
    "cancel_requested": "Cancel sent to the generator; the unit is kept. The report "
    "ends canceled once it stops.",
    "finished": "It finished before it could be stopped.",
}
