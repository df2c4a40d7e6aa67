"""The one DRF exception handler: every API error leaves as {"detail": {code, message, fix}}."""

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from django.views import defaults
from rest_framework import exceptions as drf
from rest_framework.response import Response

from .errors import ApiError, ErrorCode

logger = logging.getLogger("loreos.api")

_FIXES = {
    ErrorCode.UNAUTHENTICATED: "Send `Authorization: Bearer <key>` with a valid, unrevoked API key.",
    ErrorCode.FORBIDDEN: "Use a key that is allowed to perform this action.",
    ErrorCode.NOT_FOUND: "Check the id or slug; objects of other accounts are never visible.",
    ErrorCode.METHOD_NOT_ALLOWED: "Use one of the methods in the Allow header.",
    ErrorCode.NOT_ACCEPTABLE: "Accept application/json.",
    ErrorCode.UNSUPPORTED_MEDIA_TYPE: (
        "Send JSON (Content-Type: application/json), or multipart/form-data for uploads."
    ),
    ErrorCode.PARSE_ERROR: "Send a well-formed body matching its Content-Type.",
    ErrorCode.THROTTLED: "Wait for the number of seconds in Retry-After, then retry.",
    ErrorCode.SERVER_ERROR: "Retry later; if it persists, report the X-Request-ID.",
}


def envelope(code: ErrorCode, message: str, fix: str | None = None, field=None) -> dict:
    detail = {"code": str(code), "message": message, "fix": fix or _FIXES.get(code, "")}
    if field:
        detail["field"] = field
    return {"detail": detail}


def _first_error(detail, path=""):
    """Walk DRF's nested error detail to the first (field path, message)."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            sub = (
                key
                if not path
                else (path if key == "non_field_errors" else f"{path}.{key}")
            )
            if key == "non_field_errors" and not path:
                sub = ""
            return _first_error(value, sub)
    if isinstance(detail, list):
        for index, value in enumerate(detail):
            if isinstance(value, dict | list):
                return _first_error(value, f"{path}[{index}]" if path else f"[{index}]")
            return path, str(value)
    return path, str(detail)


def _validation_response(detail) -> Response:
    field, message = _first_error(detail)
    text = f"{field}: {message}" if field else message
    fix = (
        f"Correct `{field}` and send the request again."
        if field
        else "Correct the body."
    )
    return Response(
        envelope(ErrorCode.VALIDATION_ERROR, text, fix, field or None), status=422
    )


def exception_handler(exc, context):
    if isinstance(exc, ApiError):
        response = Response({"detail": exc.as_detail()}, status=exc.status_code)
        for name, value in exc.headers.items():
            response[name] = value
        return response
    if isinstance(exc, Http404):
        exc = drf.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = drf.PermissionDenied()
    elif isinstance(exc, DjangoValidationError):
        return _validation_response(
            exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        )

    if isinstance(exc, drf.ValidationError):
        return _validation_response(exc.detail)
    if isinstance(exc, drf.APIException):
        code = {
            401: ErrorCode.UNAUTHENTICATED,
            403: ErrorCode.FORBIDDEN,
            404: ErrorCode.NOT_FOUND,
            405: ErrorCode.METHOD_NOT_ALLOWED,
            406: ErrorCode.NOT_ACCEPTABLE,
            415: ErrorCode.UNSUPPORTED_MEDIA_TYPE,
            429: ErrorCode.THROTTLED,
        }.get(exc.status_code, ErrorCode.PARSE_ERROR)
        status = exc.status_code
        if isinstance(exc, drf.NotAuthenticated | drf.AuthenticationFailed):
            status = 401
        message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        response = Response(envelope(code, str(message)), status=status)
        if status == 401:
            response["WWW-Authenticate"] = 'Bearer realm="api"'
        if isinstance(exc, drf.MethodNotAllowed):
            view = context.get("view")
            if view is not None:
                response["Allow"] = ", ".join(view.allowed_methods)
        if isinstance(exc, drf.Throttled) and exc.wait is not None:
            response["Retry-After"] = str(max(1, int(exc.wait + 0.999)))
        return response

    logger.exception("unhandled API error")
    return Response(
        envelope(ErrorCode.SERVER_ERROR, "internal server error"), status=500
    )


def _is_api(request) -> bool:
    return request.path.startswith("/v1/")


def json_404(request, exception=None):
    """Django-level 404 (no route matched): the API envelope under /v1/, HTML elsewhere."""
    if _is_api(request):
        return JsonResponse(
            envelope(ErrorCode.NOT_FOUND, "no such endpoint"), status=404
        )
    return defaults.page_not_found(request, exception)


def json_500(request):
    if _is_api(request):
        return JsonResponse(
            envelope(ErrorCode.SERVER_ERROR, "internal server error"), status=500
        )
    return defaults.server_error(request)
