"""Runtime images: the character sends a selfie in a session, if its settings allow."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from characters.idempotency import idempotent
from characters.selectors import session_get
from loreos.api.responses import action
from loreos.api.schema import BROKER_ERRORS, METERED_ERRORS
from loreos.api.throttles import MeteredThrottle

from .. import image_requests, selectors
from ..request_serializers import RuntimeImageSerializer

RuntimeResponse = inline_serializer(
    name="RuntimeImage",
    fields={
        "schema_version": serializers.CharField(),
        "data": inline_serializer(
            name="RuntimeImageData",
            fields={
                "decision": serializers.ChoiceField(choices=["send_image", "no_image"]),
                "reason": serializers.CharField(allow_null=True),
                "bootstrap": serializers.BooleanField(),
                "request_id": serializers.CharField(allow_null=True),
                "request_status": serializers.CharField(allow_null=True),
                "image_kind": serializers.CharField(allow_null=True),
                "deliverable": serializers.BooleanField(),
            },
        ),
        "next_actions": serializers.ListField(child=serializers.DictField()),
    },
)


class RuntimeImageView(APIView):
    throttle_classes = [MeteredThrottle]

    @extend_schema(
        request=RuntimeImageSerializer,
        responses={200: RuntimeResponse, **METERED_ERRORS, **BROKER_ERRORS},
        tags=["sessions"],
        summary=(
            "The character sends a selfie (subject to thresholds, daily cap, cooldown)"
        ),
    )
    @idempotent
    def post(self, request, session_id):
        session = session_get(request.account, session_id)
        RuntimeImageSerializer(data=request.data if request.data else {}).is_valid(
            raise_exception=True
        )
        character = selectors.character_for_generation(session.character)
        outcome = image_requests.runtime_image_create(
            character=character, session=session
        )
        row = outcome.request
        actions = []
        if row is not None:
            actions.append(
                action(
                    f"GET /v1/sessions/{session.pk}/events?since=0",
                    "Watch for the image.ready event",
                )
            )
        return Response(
            {
                "schema_version": "v0",
                "data": {
                    "decision": outcome.decision,
                    "reason": outcome.reason,
                    "bootstrap": outcome.bootstrap,
                    "request_id": str(row.pk) if row else None,
                    "request_status": row.request_status if row else None,
                    "image_kind": row.image_kind if row else None,
                    "deliverable": bool(row and row.deliverable),
                },
                "next_actions": actions,
            }
        )
