"""The errors the visual services raise, each built here and only here.

The status of each comes with its code (loreos.api.errors.ErrorCode); a fix names the
character's real slug wherever it is known. The one exception is the contract's own
needs_identity fix, returned exactly as the contract prints it (with ``{slug}``).
"""

from django.conf import settings

from loreos.api.errors import ApiError, ErrorCode

from .vocab import GENERATABLE_CATEGORIES, Category

NEEDS_IDENTITY_MESSAGE = "this character has no active identity asset yet"
NEEDS_IDENTITY_FIX = (
    "Upload identity first: POST /v1/characters/{slug}/visual-assets "
    "(category=identity)."
)
NO_SELF_REFERENCE = "non-bootstrap selfie requires a self visual reference"


def needs_identity(
    character=None, *, problem: str | None = None, bootstrap: bool = True
) -> ApiError:
    """409 needs_identity: no active identity asset (the contract's own text), or,
    given the `problem`, a self visual reference that cannot be seeded."""
    if problem is None:
        return ApiError(
            ErrorCode.NEEDS_IDENTITY, NEEDS_IDENTITY_MESSAGE, NEEDS_IDENTITY_FIX
        )
    readiness = f"GET /v1/characters/{character.slug}/visual-readiness"
    if not bootstrap:
        return ApiError(
            ErrorCode.NEEDS_IDENTITY,
            NO_SELF_REFERENCE,
            f"Set profile.identity_anchors as a non-empty object; see {readiness}.",
        )
    return ApiError(
        ErrorCode.NEEDS_IDENTITY,
        f"the self visual reference cannot be seeded: {problem}",
        f"See {readiness} and fix what it reports.",
    )


def session_exited(character) -> ApiError:
    return ApiError(
        ErrorCode.SESSION_EXITED,
        "this session has exited",
        f"Open a new sandbox session: POST /v1/characters/{character.slug}/sessions",
    )


def invalid_category(value, *, generatable: bool = False) -> ApiError:
    """422 invalid_category: an unknown category, or (`generatable`) one the
    inventory generator does not make."""
    if generatable:
        return ApiError(
            ErrorCode.INVALID_CATEGORY,
            f"'{value}' cannot be generated; categories must be a subset of "
            f"{', '.join(GENERATABLE_CATEGORIES)}",
            "identity is developer-provided and keyframe is the default generated "
            "category; send only wardrobe, accessory, prop, place or scene.",
            field="categories",
        )
    return ApiError(
        ErrorCode.INVALID_CATEGORY,
        f"unknown category '{value}'",
        f"Use one of: {', '.join(Category.values)}.",
        field="category",
    )


def invalid_transition(field: str, message: str, fix: str) -> ApiError:
    return ApiError(ErrorCode.INVALID_TRANSITION, message, fix, field=field)


def batch_too_large(requested: int) -> ApiError:
    limit = settings.LOREOS_MAX_BATCH_IMAGES
    return ApiError(
        ErrorCode.BATCH_TOO_LARGE,
        f"{requested} images requested; max {limit} per batch",
        f"Reduce categories × count_per_category to ≤ {limit}.",
    )


def broker_unavailable() -> ApiError:
    return ApiError(
        ErrorCode.BROKER_UNAVAILABLE,
        "the job queue refused the request; nothing was queued or charged",
        "Retry in a moment; if it persists, check the broker (GET /readyz).",
    )


def storage_unavailable() -> ApiError:
    return ApiError(
        ErrorCode.STORAGE_UNAVAILABLE,
        "the image could not be stored; nothing was saved",
        "Retry in a moment; if it persists, check the storage (GET /readyz).",
    )


CANCEL_FIX = (
    "Only a queued or generating request can be canceled; read its report for the "
    "result."
)


def request_finished(image_request) -> ApiError:
    """409 request_finished: a cancel of a request that already ended."""
    return ApiError(
        ErrorCode.REQUEST_FINISHED,
        f"image request {image_request.pk} already finished: state "
        f"{image_request.state} (request_status {image_request.request_status}); "
        "there is nothing to cancel",
        CANCEL_FIX,
    )


def batch_finished(batch_id, states: dict) -> ApiError:
    """409 request_finished: every item of the batch already ended."""
    counts = ", ".join(f"{n} {state}" for state, n in sorted(states.items()))
    return ApiError(
        ErrorCode.REQUEST_FINISHED,
        f"every item of batch {batch_id} already finished ({counts}); there is "
        "nothing to cancel",
        CANCEL_FIX,
    )


def precondition_failed(change: str, decided_by: str, decided_at: str) -> ApiError:
    """412 precondition_failed: the asset changed since the state the client sent
    (If-Match, or the state a curator page showed) — naming who changed it and when."""
    who = f" by {decided_by}" if decided_by else ""
    at = f" at {decided_at}" if decided_at else ""
    return ApiError(
        ErrorCode.PRECONDITION_FAILED,
        f"the asset changed since you read it: {change}{who}{at}",
        "Read the asset again (GET it for its current ETag), check the new state, "
        "then send your change with that ETag in If-Match.",
    )
