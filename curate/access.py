"""Who may use the curator pages, and which characters each curator sees.

A curator is a signed-in user in the ``curators`` group. They see the characters of the
accounts they are granted (``Account.curators``); a superuser sees every account. Any
other character is a 404, exactly as another account's object is in the API.
"""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.http import Http404, JsonResponse
from django.shortcuts import render

from characters.demo import CURATORS_GROUP
from characters.models import Character
from loreos.api.errors import ApiError, ErrorCode


def is_curator(user) -> bool:
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    return user.groups.filter(name=CURATORS_GROUP).exists()


def visible_characters(user):
    rows = Character.objects.select_related("account", "active_version")
    if user.is_superuser:
        return rows
    return rows.filter(account__curators=user)


def _wants_json(request) -> bool:
    return request.path.endswith(".json") or "application/json" in request.headers.get(
        "Accept", ""
    )


# The curator pages' own fixes: the way out is a page, not an API key.
_FIXES = {
    ErrorCode.UNAUTHENTICATED: "Sign in at /accounts/login/.",
    ErrorCode.FORBIDDEN: "Ask an admin to add your user to the curators group.",
    ErrorCode.NOT_FOUND: "Check the link; you see only the accounts you are granted.",
}


def _refuse(request, code: ErrorCode, message: str):
    error = ApiError(code, message, _FIXES[code])
    if _wants_json(request):
        return JsonResponse(error.body(), status=error.status_code)
    return render(
        request,
        "curate/error.html",
        {"status": error.status_code, "title": str(code), "message": message},
        status=error.status_code,
    )


def curator_required(view):
    """Sign-in, then the curators group; a missing or unseen object is a 404 page."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not request.user.is_authenticated:
            if _wants_json(request):
                return _refuse(request, ErrorCode.UNAUTHENTICATED, "Sign in first.")
            return redirect_to_login(request.get_full_path())
        if not is_curator(request.user):
            return _refuse(
                request,
                ErrorCode.FORBIDDEN,
                "Your account is not in the curators group. Ask an admin to add you.",
            )
        try:
            return view(request, *args, **kwargs)
        except Http404:
            return _refuse(
                request,
                ErrorCode.NOT_FOUND,
                "Nothing here, or nothing you have been granted.",
            )

    return wrapped
