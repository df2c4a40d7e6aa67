"""Image probes: run one (metered, async), poll its report, list recent ones."""

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from characters.auth import require_developer_key
from characters.idempotency import idempotent
from characters.selectors import character_get, session_get_or_none
from loreos.api.conditional import conditional_data
from loreos.api.pagination import paginate
from loreos.api.responses import action
from loreos.api.schema import BROKER_ERRORS, ERRORS, METERED_ERRORS, v0_envelope
from loreos.api.throttles import MeteredThrottle

from .. import image_requests, selectors
from ..reports import report
from ..request_serializers import ProbeRequestSerializer
from ..serializers import ProbeReportSerializer
from ..vocab import PROBE_TYPES

ProbeAccepted = inline_serializer(
    name="ProbeAccepted",
    fields={
        "data": inline_serializer(
            name="ProbeAcceptedData",
            fields={
                "probe_id": serializers.CharField(),
                "session_id": serializers.CharField(),
                "probe_type": serializers.CharField(),
                "image_kind": serializers.CharField(),
                "request_status": serializers.CharField(),
                "decision": serializers.CharField(),
                "deliverable": serializers.BooleanField(),
            },
        ),
        "next_actions": serializers.ListField(child=serializers.DictField()),
    },
)


class ProbeView(APIView):
    throttle_classes = []

    def get_throttles(self):
        return [MeteredThrottle()] if self.request.method == "POST" else []

    @extend_schema(
        request=ProbeRequestSerializer,
        responses={200: ProbeAccepted, **METERED_ERRORS, **BROKER_ERRORS},
        tags=["image probes"],
        summary="Run an image probe (one metered generation, answered once queued)",
    )
    @idempotent
    def post(self, request, slug):
        require_developer_key(request)
        character = character_get(request.account, slug)
        body = ProbeRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        session = session_get_or_none(
            request.account, body.validated_data["session_id"]
        )
        probe = image_requests.probe_create(
            character=character,
            session=session,
            probe_type=body.validated_data["probe_type"],
            generator=body.validated_data["generator"],
        )
        return Response(
            {
                "data": {
                    "probe_id": str(probe.pk),
                    "session_id": str(probe.session_id),
                    "probe_type": probe.probe_type,
                    "image_kind": probe.image_kind,
                    "request_status": probe.request_status,
                    "decision": probe.decision,
                    "deliverable": probe.deliverable,
                },
                "next_actions": [
                    action(
                        f"GET /v1/characters/{slug}/image-probe/{probe.pk}",
                        "Poll the probe result (image URL + assets sent + consistency)",
                    ),
                    action(
                        f"GET /v1/sessions/{probe.session_id}/events?since=0",
                        "Watch the session log for the image.ready event",
                    ),
                ],
            },
        )

    @extend_schema(
        operation_id="image_probe_list",
        parameters=[OpenApiParameter("limit", int), OpenApiParameter("offset", int)],
        responses={
            200: v0_envelope(
                "ProbeList",
                inline_serializer(
                    name="ProbeListData",
                    fields={
                        "probe_types": serializers.ListField(
                            child=serializers.CharField()
                        ),
                        "probes": ProbeReportSerializer(many=True),
                    },
                ),
                paginated=True,
            ),
            **ERRORS,
        },
        tags=["image probes"],
        summary="Recent probes, most recent first, with the valid probe_types",
    )
    def get(self, request, slug):
        character = character_get(request.account, slug)
        rows, pagination = paginate(selectors.probe_list(character), request)
        return conditional_data(
            request,
            {
                "schema_version": "v0",
                "data": {
                    "probe_types": PROBE_TYPES,
                    "probes": [report(r) for r in rows],
                },
                "pagination": pagination,
                "next_actions": [
                    action(
                        f"POST /v1/characters/{slug}/image-probe", "Run another probe"
                    ),
                ],
            },
        )


class ProbeDetailView(APIView):
    @extend_schema(
        responses={200: ProbeReportSerializer, **ERRORS}, tags=["image probes"]
    )
    def get(self, request, slug, probe_id):
        character = character_get(request.account, slug)
        return conditional_data(
            request, report(selectors.probe_get(character, probe_id))
        )
