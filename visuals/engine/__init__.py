"""The generation engine: what happens to an image request after it is queued.

`run(request_id)` does the whole pipeline for one ImageRequest — references → brief →
generate → store → judge → settle → events → assets — and is idempotent (see
lifecycle). The backend is chosen by settings.LOREOS_IMAGE_BACKEND (backends/).
"""

from .lifecycle import sweep_stale
from .pipeline import run

__all__ = ["run", "sweep_stale"]
