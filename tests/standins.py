"""Loopback stand-ins of the remote image backends, and a driver that plays the
Celery checks of a remote job in the test's own thread (the countdowns are recorded,
not waited for: in a test transaction on_commit never fires)."""

import time

from loreos.devtools import comfyui_standin
from visuals import engine
from visuals.models import ImageRequest


def comfyui(settings, **options):
    """Start a ComfyUI stand-in and point the comfyui backend at it."""
    options.setdefault("seconds", 0.2)
    server, state = comfyui_standin.serve(**options)
    settings.LOREOS_COMFYUI_URL = f"http://127.0.0.1:{server.server_port}"
    settings.LOREOS_IMAGE_BACKEND = "comfyui"
    return server, state


def drive(request_id, *, limit=10.0, step=0.05, before_each=None) -> ImageRequest:
    """Run the remote checks of a generating request until it ends (or `limit` s)."""
    ends = time.monotonic() + limit
    checks = 0
    while time.monotonic() < ends:
        row = ImageRequest.objects.get(pk=request_id)
        if row.request_status != ImageRequest.Status.GENERATING:
            return row
        if before_each:
            before_each(checks)
        engine.remote_check(str(request_id), row.attempts, checks)
        checks += 1
        time.sleep(step)
    return ImageRequest.objects.get(pk=request_id)
