"""Webhook calls from hosted generators (fal, Replicate): verified, then they wake the
check of the job they name. A call that fails verification is a 401 and changes
nothing."""

import logging

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from loreos.api.errors import ApiError, ErrorCode, not_found
from loreos.api.ids import is_uuid

from ..engine import remote
from ..engine.backends import webhooks

logger = logging.getLogger(__name__)


class GeneratorWebhookView(APIView):
    authentication_classes: list = []
    permission_classes: list = []

    # Not part of the developer API (no API key: the provider's signature is the
    # authentication), so not in the OpenAPI document; docs/generators.md describes it.
    @extend_schema(exclude=True)
    def post(self, request, provider):
        verify = webhooks.VERIFIERS.get(provider)
        if verify is None:
            raise not_found("generator webhook")
        try:
            payload = verify(request.headers, request.body)
        except (webhooks.Forged, ValueError) as exc:
            logger.warning("refused a %s webhook call: %s", provider, exc)
            raise ApiError(
                ErrorCode.UNAUTHENTICATED,
                f"the {provider} webhook signature did not verify",
                "Only the provider's signed calls are accepted; check the signing "
                "secret configured for it.",
            ) from exc
        request_id = request.query_params.get("request", "")
        woke = is_uuid(request_id) and remote.wake(
            provider, request_id, webhooks.job_id_of(provider, payload)
        )
        return Response({"received": bool(woke)})
