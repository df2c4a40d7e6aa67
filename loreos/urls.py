import os

from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.static import serve
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerView,
)

from . import health

handler404 = "loreos.api.exceptions.json_404"
handler500 = "loreos.api.exceptions.json_500"

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path(
        "v1/schema",
        SpectacularAPIView.as_view(authentication_classes=[], permission_classes=[]),
        name="schema",
    ),
    path(
        "v1/docs",
        SpectacularSwaggerView.as_view(
            url_name="schema", authentication_classes=[], permission_classes=[]
        ),
        name="docs",
    ),
    path(
        "v1/redoc",
        SpectacularRedocView.as_view(
            url_name="schema",
            template_name="loreos/redoc.html",
            authentication_classes=[],
            permission_classes=[],
        ),
        name="redoc",
    ),
    path("v1/", include("characters.urls")),
    path("v1/", include("hooks.urls")),
    path("v1/", include("visuals.urls")),
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("curate/", include("curate.urls")),
]


def serve_media(request, path):
    """Serve MEDIA_ROOT as it is now (read per request, so tests may move it)."""
    return serve(request, path, document_root=settings.MEDIA_ROOT)


if settings.LOREOS_SERVE_MEDIA:
    urlpatterns += [re_path(r"^media/(?P<path>.*)$", serve_media)]

# `make bench` only: the bare view its throughput figures are ratios to (benchmarks/).
if os.environ.get("LOREOS_BENCH_FLOOR") == "1":
    urlpatterns += [path("", include("benchmarks.floor"))]
