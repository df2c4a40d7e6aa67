"""The one error vocabulary: an enum of codes, each bound to its HTTP status, the
exception that carries one, and the one function that builds an error body.

Every error body is ``{"detail": {"code", "message", "fix"}}`` (plus ``field`` when
one input is at fault), whether the API, a curator JSON endpoint or the admin sends it.
"""

from enum import StrEnum


class ErrorCode(StrEnum):
    """An error code and the HTTP status it is always answered with."""

    def __new__(cls, value: str, status: int):
        member = str.__new__(cls, value)
        member._value_ = value
        member.status = status
        return member

    PARSE_ERROR = "parse_error", 400
    UNAUTHENTICATED = "unauthenticated", 401
    BUDGET_EXCEEDED = "budget_exceeded", 402
    DEMO_KEY_FORBIDDEN = "demo_key_forbidden", 403
    FORBIDDEN = "forbidden", 403
    NOT_FOUND = "not_found", 404
    METHOD_NOT_ALLOWED = "method_not_allowed", 405
    NOT_ACCEPTABLE = "not_acceptable", 406
    NEEDS_IDENTITY = "needs_identity", 409
    SESSION_EXITED = "session_exited", 409
    SLUG_TAKEN = "slug_taken", 409
    IDEMPOTENCY_IN_FLIGHT = "idempotency_in_flight", 409
    ENDPOINT_DISABLED = "endpoint_disabled", 409
    REQUEST_FINISHED = "request_finished", 409
    PRECONDITION_FAILED = "precondition_failed", 412
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type", 415
    VALIDATION_ERROR = "validation_error", 422
    IMAGE_REJECTED = "image_rejected", 422
    INVALID_CATEGORY = "invalid_category", 422
    INVALID_TRANSITION = "invalid_transition", 422
    BATCH_TOO_LARGE = "batch_too_large", 422
    IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused", 422
    THROTTLED = "throttled", 429
    SERVER_ERROR = "server_error", 500
    BROKER_UNAVAILABLE = "broker_unavailable", 503
    STORAGE_UNAVAILABLE = "storage_unavailable", 503


# The fix of an error raised without one of its own (mostly DRF's and Django's).
DEFAULT_FIXES = {
    ErrorCode.UNAUTHENTICATED: (
        "Send `Authorization: Bearer <key>` with a valid, unrevoked API key."
    ),
    ErrorCode.FORBIDDEN: "Use a key that is allowed to perform this action.",
    ErrorCode.NOT_FOUND: (
        "Check the id or slug; objects of other accounts are never visible."
    ),
    ErrorCode.METHOD_NOT_ALLOWED: "Use one of the methods in the Allow header.",
    ErrorCode.NOT_ACCEPTABLE: "Accept application/json.",
    ErrorCode.UNSUPPORTED_MEDIA_TYPE: (
        "Send JSON (Content-Type: application/json), "
        "or multipart/form-data for uploads."
    ),
    ErrorCode.PARSE_ERROR: "Send a well-formed body matching its Content-Type.",
    ErrorCode.VALIDATION_ERROR: "Correct the body.",
    ErrorCode.THROTTLED: "Wait for the number of seconds in Retry-After, then retry.",
    ErrorCode.SERVER_ERROR: "Retry later; if it persists, report the X-Request-ID.",
}


def error_body(
    code: ErrorCode, message: str, fix: str | None = None, field: str | None = None
) -> dict:
    """The error envelope ``{"detail": {code, message, fix[, field]}}``."""
    detail = {
        "code": str(code),
        "message": message,
        "fix": fix or DEFAULT_FIXES.get(code, ""),
    }
    if field:
        detail["field"] = field
    return {"detail": detail}


class ApiError(Exception):
    """A failure the client can act on: a code (and so a status), a message, a fix."""

    def __init__(
        self,
        code: ErrorCode,
        message: str,
        fix: str | None = None,
        *,
        field: str | None = None,
    ):
        super().__init__(message)
        self.code = ErrorCode(code)
        self.message = message
        self.fix = fix or DEFAULT_FIXES.get(self.code, "")
        self.field = field
        self.headers: dict[str, str] = {}

    @property
    def status_code(self) -> int:
        return self.code.status

    def body(self) -> dict:
        return error_body(self.code, self.message, self.fix, self.field)

    def as_detail(self) -> dict:
        return self.body()["detail"]

    def as_text(self) -> str:
        """The message and its fix as one line, for a page or an admin message."""
        return f"{self.message.rstrip('.')}. {self.fix}"


def validation_error(field: str, message: str, fix: str | None = None) -> ApiError:
    return ApiError(
        ErrorCode.VALIDATION_ERROR,
        f"{field}: {message}",
        fix or f"Correct `{field}` and send the request again.",
        field=field,
    )


def not_found(what: str) -> ApiError:
    return ApiError(ErrorCode.NOT_FOUND, f"{what} not found")


def demo_key_forbidden() -> ApiError:
    return ApiError(
        ErrorCode.DEMO_KEY_FORBIDDEN,
        "demo sandbox keys cannot run metered image generation",
        "Use a persistent developer key: "
        "python manage.py create_api_key --account NAME",
    )
