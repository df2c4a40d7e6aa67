"""Bearer API-key authentication: keys are looked up by prefix and compared by hash."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed, NotAuthenticated
from rest_framework.permissions import BasePermission

from loreos.api.errors import demo_key_forbidden

from .keys import api_key_authenticate


class ApiKeyAuthentication(BaseAuthentication):
    keyword = b"bearer"

    def authenticate(self, request):
        header = get_authorization_header(request).split()
        if not header:
            return None
        if header[0].lower() != self.keyword or len(header) != 2:
            raise AuthenticationFailed(
                "malformed Authorization header; expected 'Bearer <key>'"
            )
        try:
            raw = header[1].decode("ascii")
        except UnicodeDecodeError as exc:
            raise AuthenticationFailed("malformed API key") from exc
        api_key = api_key_authenticate(raw)
        if api_key is None:
            raise AuthenticationFailed("invalid or revoked API key")
        request.account = api_key.account
        return (api_key.account, api_key)

    def authenticate_header(self, request):
        return 'Bearer realm="api"'


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    """Document ApiKeyAuthentication as the bearer scheme SPECTACULAR_SETTINGS names."""

    target_class = ApiKeyAuthentication
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer"}


class HasApiKey(BasePermission):
    def has_permission(self, request, view):
        if request.auth is None:
            raise NotAuthenticated(
                "missing API key; send 'Authorization: Bearer <key>'"
            )
        return True


def require_developer_key(request) -> None:
    """Metered generation needs a persistent developer key; demo keys get 403."""
    if request.auth is None or request.auth.is_demo:
        raise demo_key_forbidden()
