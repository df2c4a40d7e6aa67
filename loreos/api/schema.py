"""OpenAPI pieces shared by every view: the error envelope for each error status."""

from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers

ErrorEnvelope = inline_serializer(
    name="ErrorEnvelope",
    fields={
        "detail": inline_serializer(
            name="ErrorDetail",
            fields={
                "code": serializers.CharField(),
                "message": serializers.CharField(),
                "fix": serializers.CharField(),
                "field": serializers.CharField(required=False),
            },
        )
    },
)


def _err(description):
    return OpenApiResponse(response=ErrorEnvelope, description=description)


ERRORS = {
    400: _err("parse_error: the body is not well-formed for its Content-Type"),
    401: _err("unauthenticated: no, malformed or revoked key"),
    404: _err("not_found: no such object in this account"),
    405: _err("method_not_allowed"),
    415: _err("unsupported_media_type"),
    422: _err("validation_error and the contract's 422 codes"),
}
METERED_ERRORS = {
    **ERRORS,
    402: _err("budget_exceeded: the call would spend past a monthly cap"),
    403: _err("demo_key_forbidden: metered generation needs a developer key"),
    409: _err("needs_identity or session_exited: a precondition is unmet"),
    429: _err("throttled: too many metered calls; see Retry-After"),
}
CANCEL_ERRORS = {
    **ERRORS,
    409: _err("request_finished: the request (or every item) already ended"),
}
# A single metered request the broker refuses (a batch reports refusals inline instead).
BROKER_ERRORS = {
    503: _err(
        "broker_unavailable: the job queue refused it; nothing queued or charged"
    ),
}


class NextActionSerializer(serializers.Serializer):
    command = serializers.CharField()
    description = serializers.CharField()


class PaginationSerializer(serializers.Serializer):
    limit = serializers.IntegerField()
    offset = serializers.IntegerField()
    next_offset = serializers.IntegerField(allow_null=True)


def v0_envelope(name: str, data, *, paginated: bool = False, **extra):
    """Describe a ``{"schema_version", "data", …, "next_actions"}`` success body."""
    fields = {"schema_version": serializers.CharField(), "data": data, **extra}
    if paginated:
        fields["pagination"] = PaginationSerializer()
    fields["next_actions"] = NextActionSerializer(many=True)
    return inline_serializer(name=name, fields=fields)
