"""Probe and generation reports: the list, one report, and its small status endpoint."""

from django.core.paginator import Paginator
from django.http import JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string

from visuals.assets import allowed_decisions
from visuals.reports import report

from .. import selectors
from ..access import curator_required
from ..forms import ReportFilterForm
from ..presenters import verdict_of

REPORTS_PER_PAGE = 40
IN_FLIGHT = ("queued", "generating")


@curator_required
def report_list(request):
    form = ReportFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    rows = selectors.reports(
        request.user,
        origin=filters.get("origin") or "probe",
        character=filters.get("character") or "",
        state=filters.get("state", ""),
    )
    page = Paginator(rows, REPORTS_PER_PAGE).get_page(request.GET.get("page"))
    items = list(page.object_list)
    for item in items:
        item.verdict = verdict_of(item)
    params = request.GET.copy()
    params.pop("page", None)
    return render(
        request,
        "curate/report_list.html",
        {
            "page": page,
            "items": items,
            "form": form,
            "origin": filters.get("origin") or "probe",
            "characters": selectors.character_choices(request.user),
            "querystring": params.urlencode(),
            "nav": "reports",
        },
    )


def _context(image_request) -> dict:
    body = report(image_request)
    produced = getattr(image_request, "produced_asset", None)
    sent = selectors.assets_by_id(body["assets_sent"])
    return {
        "item": image_request,
        "report": body,
        "verdict": verdict_of(image_request),
        "assets_sent": [
            (asset_id, sent.get(asset_id)) for asset_id in body["assets_sent"]
        ],
        "produced": produced,
        "produced_decisions": allowed_decisions(produced) if produced else [],
        "in_flight": body["state"] in IN_FLIGHT,
    }


@curator_required
def report_detail(request, pk):
    image_request = selectors.get_visible_request(request.user, pk)
    context = _context(image_request)
    return render(request, "curate/report_detail.html", {**context, "nav": "reports"})


@curator_required
def report_status(request, pk):
    """What the report page polls while the image generates: state and the new body."""
    image_request = selectors.get_visible_request(request.user, pk)
    context = _context(image_request)
    return JsonResponse(
        {
            "state": context["report"]["state"],
            "request_status": context["report"]["request_status"],
            "done": not context["in_flight"],
            "html": render_to_string(
                "curate/_report_body.html", context, request=request
            ),
        }
    )
