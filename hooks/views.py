"""HTTP ↔ services for /v1/webhooks: endpoints, secret rotation, deliveries, replay."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from loreos.api.pagination import paginate
from loreos.api.responses import action, v0
from loreos.api.schema import ERRORS, ErrorEnvelope, v0_envelope

from . import services
from .serializers import (
    DeliverySerializer,
    EndpointCreateSerializer,
    EndpointPatchSerializer,
    EndpointSerializer,
    EndpointWithSecretSerializer,
)

TAGS = ["webhooks"]
EndpointEnvelope = v0_envelope("WebhookEnvelope", EndpointSerializer())
SecretEnvelope = v0_envelope("WebhookSecretEnvelope", EndpointWithSecretSerializer())
DeliveryEnvelope = v0_envelope("WebhookDeliveryEnvelope", DeliverySerializer())
DISABLED = OpenApiResponse(
    ErrorEnvelope, description="endpoint_disabled: re-enable the endpoint first"
)


def _actions(endpoint) -> list[dict]:
    return [
        action(
            f"GET /v1/webhooks/{endpoint.pk}/deliveries",
            "See each delivery and its attempts",
        ),
        action(
            f"POST /v1/webhooks/{endpoint.pk}/rotate-secret",
            "Rotate the signing secret (the old one signs too for 24 h)",
        ),
    ]


def _with_secret(endpoint, secret, status):
    data = EndpointWithSecretSerializer(endpoint, context={"secret": secret}).data
    return v0(data, next_actions=_actions(endpoint), status=status)


class WebhookListView(APIView):
    @extend_schema(
        operation_id="webhooks_list",
        summary="List the account's webhook endpoints (newest first)",
        responses={
            200: v0_envelope(
                "WebhookListEnvelope", EndpointSerializer(many=True), paginated=True
            ),
            **ERRORS,
        },
        tags=TAGS,
    )
    def get(self, request):
        rows = services.WebhookEndpoint.objects.filter(account=request.account)
        page, pagination = paginate(rows.order_by("-created_at", "-pk"), request)
        return v0(EndpointSerializer(page, many=True).data, pagination=pagination)

    @extend_schema(
        operation_id="webhooks_create",
        summary="Register a webhook endpoint; the response shows its secret once",
        request=EndpointCreateSerializer,
        responses={201: SecretEnvelope, **ERRORS},
        tags=TAGS,
    )
    def post(self, request):
        body = EndpointCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        endpoint, secret = services.endpoint_create(
            account=request.account, **body.validated_data
        )
        return _with_secret(endpoint, secret, 201)


class WebhookDetailView(APIView):
    @extend_schema(
        operation_id="webhooks_retrieve",
        responses={200: EndpointEnvelope, **ERRORS},
        tags=TAGS,
    )
    def get(self, request, webhook_id):
        endpoint = services.endpoint_get(request.account, webhook_id)
        return v0(EndpointSerializer(endpoint).data, next_actions=_actions(endpoint))

    @extend_schema(
        operation_id="webhooks_partial_update",
        summary="Change url, events, description or enabled (re-enable when disabled)",
        request=EndpointPatchSerializer,
        responses={200: EndpointEnvelope, **ERRORS},
        tags=TAGS,
    )
    def patch(self, request, webhook_id):
        endpoint = services.endpoint_get(request.account, webhook_id)
        body = EndpointPatchSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        endpoint = services.endpoint_update(endpoint=endpoint, **body.validated_data)
        return v0(EndpointSerializer(endpoint).data, next_actions=_actions(endpoint))

    @extend_schema(
        operation_id="webhooks_destroy",
        summary="Delete a webhook endpoint and its delivery history",
        responses={204: None, **ERRORS},
        tags=TAGS,
    )
    def delete(self, request, webhook_id):
        endpoint = services.endpoint_get(request.account, webhook_id)
        services.endpoint_delete(endpoint=endpoint)
        return Response(status=204)


class WebhookRotateView(APIView):
    @extend_schema(
        operation_id="webhooks_rotate_secret",
        summary="Make a new signing secret; the previous one signs beside it for 24 h",
        request=None,
        responses={200: SecretEnvelope, **ERRORS},
        tags=TAGS,
    )
    def post(self, request, webhook_id):
        endpoint = services.endpoint_get(request.account, webhook_id)
        secret = services.endpoint_secret_rotate(endpoint=endpoint)
        return _with_secret(endpoint, secret, 200)


class WebhookDeliveriesView(APIView):
    @extend_schema(
        operation_id="webhooks_deliveries_list",
        summary="Deliveries of this endpoint, newest first, with every attempt",
        responses={
            200: v0_envelope(
                "WebhookDeliveryListEnvelope",
                DeliverySerializer(many=True),
                paginated=True,
            ),
            **ERRORS,
        },
        tags=TAGS,
    )
    def get(self, request, webhook_id):
        endpoint = services.endpoint_get(request.account, webhook_id)
        page, pagination = paginate(services.deliveries_of(endpoint), request)
        return v0(DeliverySerializer(page, many=True).data, pagination=pagination)


class WebhookReplayView(APIView):
    @extend_schema(
        operation_id="webhooks_deliveries_replay",
        summary="Send a delivery's event again (same webhook-id) as a new delivery",
        request=None,
        responses={202: DeliveryEnvelope, 409: DISABLED, **ERRORS},
        tags=TAGS,
    )
    def post(self, request, webhook_id, delivery_id):
        endpoint = services.endpoint_get(request.account, webhook_id)
        delivery = services.delivery_get(endpoint, delivery_id)
        replay = services.delivery_replay(delivery=delivery)
        replay = services.deliveries_of(endpoint).get(pk=replay.pk)
        return v0(
            DeliverySerializer(replay).data,
            next_actions=_actions(endpoint),
            status=202,
        )
