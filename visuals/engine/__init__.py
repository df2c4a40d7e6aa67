"""The generation engine: what happens to an image request after it is queued.

`run(request_id)` does the whole pipeline for one ImageRequest — references → brief →
generate → store → judge → settle → events → assets — and is idempotent (see
lifecycle). The backend is chosen by settings.LOREOS_IMAGE_BACKEND or the request's
named generator (backends/); a remote job is checked back by `remote_check` (remote).
"""

from .lifecycle import sweep_stale
from .pipeline import run
from .remote import check as remote_check

__all__ = ["remote_check", "run", "sweep_stale"]
