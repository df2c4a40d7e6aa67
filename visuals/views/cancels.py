"""Cancel a probe (or an inventory generation) and an inventory batch."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.views import APIView

from characters.selectors import character_get
from loreos.api.responses import action, v0
from loreos.api.schema import CANCEL_ERRORS, v0_envelope

from .. import cancellation, selectors
from ..reports import generation_report, report
from ..serializers import GenerationReportSerializer, ProbeReportSerializer

CancelOutcome = inline_serializer(
    name="CancelOutcome",
    fields={
        "outcome": serializers.ChoiceField(
            ["canceled", "cancel_requested", "finished"],
            help_text="canceled: withdrawn before a worker took it (refunded); "
            "cancel_requested: in flight, the backend was asked to stop (the unit "
            "is kept); finished: it ended before it could stop",
        ),
        "refunded": serializers.BooleanField(),
    },
)
DESCRIPTION = (
    "Not yet claimed by a worker: request_status `canceled`, state `failed`, its unit "
    "refunded, image.failed appended. In flight: the backend's cancel is called and "
    "the unit kept; the request ends `canceled` once the backend stops. Already "
    "finished: 409 request_finished. Canceling twice gives the same answer."
)


class ProbeCancelView(APIView):
    @extend_schema(
        operation_id="image_probe_cancel",
        request=None,
        responses={
            200: v0_envelope(
                "ProbeCanceled",
                inline_serializer(
                    name="ProbeCanceledData",
                    fields={"report": ProbeReportSerializer(), "cancel": CancelOutcome},
                ),
            ),
            **CANCEL_ERRORS,
        },
        tags=["image probes"],
        summary="Cancel a probe or an inventory generation",
        description=DESCRIPTION,
    )
    def post(self, request, slug, probe_id):
        character = character_get(request.account, slug)
        row = selectors.cancellable_get(character, probe_id)
        outcome = cancellation.image_request_cancel(row)
        return v0(
            {"report": report(row), "cancel": outcome},
            next_actions=[
                action(
                    f"GET /v1/characters/{slug}/image-probe/{row.pk}",
                    "Read the report (a cancel in flight ends `canceled`)",
                )
            ],
        )


class BatchCancelView(APIView):
    @extend_schema(
        operation_id="inventory_batch_cancel",
        request=None,
        responses={
            200: v0_envelope(
                "BatchCanceled",
                inline_serializer(
                    name="BatchCanceledData",
                    fields={
                        "batch_id": serializers.CharField(),
                        "canceled": serializers.IntegerField(),
                        "cancel_requested": serializers.IntegerField(),
                        "items": serializers.ListField(
                            child=inline_serializer(
                                name="BatchCanceledItem",
                                fields={
                                    "report": GenerationReportSerializer(),
                                    "cancel": CancelOutcome,
                                },
                            )
                        ),
                    },
                ),
            ),
            **CANCEL_ERRORS,
        },
        tags=["inventory"],
        summary="Cancel every unfinished item of an inventory batch",
        description=DESCRIPTION,
    )
    def post(self, request, slug, batch_id):
        character = character_get(request.account, slug)
        items = selectors.batch_items(character, batch_id)
        results = cancellation.inventory_batch_cancel(batch_id, items)
        outcomes = [o["outcome"] for _, o in results]
        return v0(
            {
                "batch_id": str(batch_id),
                "canceled": outcomes.count("canceled"),
                "cancel_requested": outcomes.count("cancel_requested"),
                "items": [
                    {"report": generation_report(item), "cancel": outcome}
                    for item, outcome in results
                ],
            },
            next_actions=[
                action(
                    f"GET /v1/characters/{slug}/inventory/generations"
                    f"?batch_id={batch_id}",
                    "Poll the batch",
                )
            ],
        )
