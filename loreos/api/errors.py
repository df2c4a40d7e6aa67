"""The one error vocabulary of the API: an enum of codes and the exception that carries one.

Every error body is ``{"detail": {"code", "message", "fix"}}`` (see exceptions.py).
"""

from enum import StrEnum


class ErrorCode(StrEnum):
    UNAUTHENTICATED = "unauthenticated"
    DEMO_KEY_FORBIDDEN = "demo_key_forbidden"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    NOT_ACCEPTABLE = "not_acceptable"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    PARSE_ERROR = "parse_error"
    VALIDATION_ERROR = "validation_error"
    IMAGE_REJECTED = "image_rejected"
    INVALID_CATEGORY = "invalid_category"
    INVALID_TRANSITION = "invalid_transition"
    BATCH_TOO_LARGE = "batch_too_large"
    NEEDS_IDENTITY = "needs_identity"
    SESSION_EXITED = "session_exited"
    SLUG_TAKEN = "slug_taken"
    BUDGET_EXCEEDED = "budget_exceeded"
    IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused"
    IDEMPOTENCY_IN_FLIGHT = "idempotency_in_flight"
    THROTTLED = "throttled"
    BROKER_UNAVAILABLE = "broker_unavailable"
    STORAGE_UNAVAILABLE = "storage_unavailable"
    ENDPOINT_DISABLED = "endpoint_disabled"
    SERVER_ERROR = "server_error"


class ApiError(Exception):
    """A failure the client can act on: an HTTP status, a code, a message and a fix."""

    status_code = 400

    def __init__(
        self, code: ErrorCode, message: str, fix: str, *, status: int, field=None
    ):
        super().__init__(message)
        self.code = ErrorCode(code)
        self.message = message
        self.fix = fix
        self.status_code = status
        self.field = field
        self.headers: dict[str, str] = {}

    def as_detail(self) -> dict:
        detail = {"code": str(self.code), "message": self.message, "fix": self.fix}
        if self.field:
            detail["field"] = self.field
        return detail


def validation_error(field: str, message: str, fix: str | None = None) -> ApiError:
    return ApiError(
        ErrorCode.VALIDATION_ERROR,
        f"{field}: {message}",
        fix or f"Correct `{field}` and send the request again.",
        status=422,
        field=field,
    )


def not_found(what: str) -> ApiError:
    return ApiError(
        ErrorCode.NOT_FOUND,
        f"{what} not found",
        "Check the id or slug; objects of other accounts are never visible.",
        status=404,
    )


def demo_key_forbidden() -> ApiError:
    return ApiError(
        ErrorCode.DEMO_KEY_FORBIDDEN,
        "demo sandbox keys cannot run metered image generation",
        "Use a persistent developer key: python manage.py create_api_key --account NAME",
        status=403,
    )
