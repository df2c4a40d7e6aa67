"""The one DRF exception handler: every API error leaves as
{"detail": {code, message, fix}}, built by errors.error_body."""

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from django.views import defaults
from rest_framework import exceptions as drf
from rest_framework.response import Response

from .errors import ApiError, ErrorCode, error_body, validation_error

logger = logging.getLogger("loreos.api")


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
    if field:
        exc = validation_error(field, message)
    else:
        exc = ApiError(ErrorCode.VALIDATION_ERROR, message)
    return Response(exc.body(), status=exc.status_code)


def exception_handler(exc, context):
    if isinstance(exc, ApiError):
        response = Response(exc.body(), status=exc.status_code)
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
        if isinstance(exc, drf.NotAuthenticated | drf.AuthenticationFailed):
            code = ErrorCode.UNAUTHENTICATED
        status = code.status
        message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        response = Response(error_body(code, str(message)), status=status)
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
    return _response(Response, ErrorCode.SERVER_ERROR, "internal server error")


def _response(kind, code: ErrorCode, message: str):
    return kind(error_body(code, message), status=code.status)


def _is_api(request) -> bool:
    return request.path.startswith("/v1/")


def json_404(request, exception=None):
    """Answer a Django-level 404 (no route): the API envelope under /v1/, else HTML."""
    if _is_api(request):
        return _response(JsonResponse, ErrorCode.NOT_FOUND, "no such endpoint")
    return defaults.page_not_found(request, exception)


def json_500(request):
    if _is_api(request):
        return _response(JsonResponse, ErrorCode.SERVER_ERROR, "internal server error")
    return defaults.server_error(request)
