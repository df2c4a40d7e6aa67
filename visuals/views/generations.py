"""Batch inventory generation and the generations listing."""

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from characters.auth import require_developer_key
from characters.idempotency import idempotent
from characters.selectors import character_get, session_get_or_none
from loreos.api.conditional import conditional_data
from loreos.api.errors import validation_error
from loreos.api.ids import is_uuid
from loreos.api.pagination import paginate
from loreos.api.responses import action
from loreos.api.schema import ERRORS, METERED_ERRORS, v0_envelope
from loreos.api.throttles import MeteredThrottle

from .. import image_requests, selectors
from ..models import ImageRequest
from ..reports import generation_report
from ..request_serializers import InventoryGenerateSerializer
from ..serializers import GenerationReportSerializer
from ..vocab import GENERATABLE_CATEGORIES

BatchResponse = inline_serializer(
    name="InventoryBatch",
    fields={
        "schema_version": serializers.CharField(),
        "data": inline_serializer(
            name="InventoryBatchData",
            fields={
                "requested": serializers.IntegerField(),
                "queued": serializers.IntegerField(),
                "hold_for_review": serializers.BooleanField(),
                "batch": serializers.ListField(child=serializers.DictField()),
            },
        ),
        "next_actions": serializers.ListField(child=serializers.DictField()),
    },
)


def _entry(item) -> dict:
    if item.request is None:
        return {"category": item.category, "request_id": None, "error": item.error}
    return {
        "category": item.category,
        "request_id": str(item.request.pk),
        "request_status": item.request.request_status,
        "image_kind": item.request.image_kind,
        "deliverable": item.request.deliverable,
    }


class InventoryGenerateView(APIView):
    throttle_classes = [MeteredThrottle]

    @extend_schema(
        request=InventoryGenerateSerializer,
        responses={200: BatchResponse, **METERED_ERRORS},
        tags=["inventory"],
        summary="Batch-generate inventory (≤ 8 metered images, answered once queued)",
    )
    @idempotent
    def post(self, request, slug):
        require_developer_key(request)
        character = character_get(request.account, slug)
        body = InventoryGenerateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        items = image_requests.inventory_batch_create(
            character=character,
            session=session_get_or_none(request.account, data["session_id"]),
            categories=data["categories"],
            count_per_category=data["count_per_category"],
            style_brief=data["style_brief"],
            forbidden=data["forbidden"],
            hold_for_review=data["hold_for_review"],
        )
        return Response(
            {
                "schema_version": "v0",
                "data": {
                    "requested": len(items),
                    "queued": sum(1 for item in items if item.request),
                    "hold_for_review": data["hold_for_review"],
                    "batch": [_entry(item) for item in items],
                },
                "next_actions": [
                    action(
                        f"GET /v1/characters/{slug}/inventory/generations",
                        "Poll the generation batch status",
                    ),
                    action(
                        f"GET /v1/characters/{slug}/visual-inventory",
                        "See the new typed inventory assets as they complete",
                    ),
                ],
            }
        )


class InventoryGenerationsView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("batch_id", str, description="only this batch"),
            OpenApiParameter("state", str, enum=ImageRequest.State.values),
            OpenApiParameter("limit", int),
            OpenApiParameter("offset", int),
        ],
        responses={
            200: v0_envelope(
                "InventoryGenerations",
                inline_serializer(
                    name="InventoryGenerationsData",
                    fields={
                        "categories": serializers.ListField(
                            child=serializers.CharField()
                        ),
                        "generations": GenerationReportSerializer(many=True),
                    },
                ),
                paginated=True,
            ),
            **ERRORS,
        },
        tags=["inventory"],
        summary="Per-image status of inventory generations, newest first",
    )
    def get(self, request, slug):
        character = character_get(request.account, slug)
        batch_id = request.query_params.get("batch_id")
        if batch_id and not is_uuid(batch_id):
            raise validation_error("batch_id", "must be a batch id (UUID)")
        state = request.query_params.get("state")
        if state and state not in ImageRequest.State.values:
            raise validation_error(
                "state", f"must be one of {', '.join(ImageRequest.State.values)}"
            )
        rows = selectors.generation_list(character, batch_id=batch_id, state=state)
        page, pagination = paginate(rows, request)
        return conditional_data(
            request,
            {
                "schema_version": "v0",
                "data": {
                    "categories": GENERATABLE_CATEGORIES,
                    "generations": [generation_report(r) for r in page],
                },
                "pagination": pagination,
                "next_actions": [
                    action(
                        f"PATCH /v1/characters/{slug}/visual-assets/{{asset_id}}",
                        "Approve (promotion_status) or reject (asset_status) "
                        "a held candidate",
                    )
                ],
            },
        )
