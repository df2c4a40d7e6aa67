"""The floor of the read benchmarks: a bare Django view in the same server and settings.

`bench/floor` goes through the same middleware as every API view but does no
authentication, no query and no serialization beyond a two-key JSON body: it is the
floor the targets are ratios to. `bench/auth-floor` is the same answer from a DRF view
with the project's API-key authentication (one query), reported beside it to split an
endpoint's cost into framework + authentication and the endpoint's own work. The two
sinks split an upload's cost the same way: receiving the body, then parsing it.

loreos/urls.py mounts these only when LOREOS_BENCH_FLOOR=1 (set by benchmarks.run for
the gunicorn it starts).
"""

from django.http import JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from rest_framework.response import Response
from rest_framework.views import APIView


def floor(request):
    return JsonResponse({"ok": True, "floor": "bare django view"})


@csrf_exempt
def body_sink(request):
    """Read the whole request body in 64 KiB chunks and drop it: the cost of receiving
    an upload through gunicorn, without parsing it."""
    received = 0
    while chunk := request.read(64 * 1024):
        received += len(chunk)
    return JsonResponse({"received": received})


@csrf_exempt
def multipart_sink(request):
    """Parse a multipart body with Django's own parser (a large file part spools to a
    temporary file, as in the upload view) and answer its size: receiving + parsing."""
    upload = request.FILES.get("file")
    return JsonResponse({"size": upload.size if upload else None})


class AuthFloor(APIView):
    def get(self, request):
        return Response({"ok": True, "floor": "drf view + api key"})


urlpatterns = [
    path("bench/floor", floor, name="bench-floor"),
    path("bench/auth-floor", AuthFloor.as_view(), name="bench-auth-floor"),
    path("bench/body-sink", body_sink, name="bench-body-sink"),
    path("bench/multipart-sink", multipart_sink, name="bench-multipart-sink"),
]
