"""What the hosted queues (fal, Replicate) share: references as data URIs, the image
fetched from the provider's output URL, moderation wording, and the webhook URL the
provider calls back when LOREOS_PUBLIC_BASE_URL is reachable from it."""

import base64
import re

from django.conf import settings

from . import Generation, Job, Unavailable
from . import http as web

MODERATION = re.compile(
    r"nsfw|safety|moderat|content[ _]polic|flagged|sensitive", re.IGNORECASE
)


def data_uri(reference) -> str:
    data = reference.data
    kind = "png" if data.startswith(b"\x89PNG") else "jpeg"
    if data[8:12] == b"WEBP":
        kind = "webp"
    return f"data:image/{kind};base64,{base64.b64encode(data).decode()}"


def identity_of(job: Job):
    return job.portrait or job.identity[0]


def size_of(job: Job) -> tuple[int, int]:
    return (832, 1216) if job.brief.get("image_kind") == "selfie" else (1024, 1024)


def webhook_url(provider: str, request_id: str) -> str | None:
    """The callback URL, or None when webhooks are off for this provider."""
    if not getattr(settings, f"LOREOS_{provider.upper()}_WEBHOOKS", False):
        return None
    base = settings.LOREOS_PUBLIC_BASE_URL.rstrip("/")
    return f"{base}/v1/generators/{provider}/webhook?request={request_id}"


def fetch_image(url: str, provider: str, details: dict) -> Generation:
    """Download an output URL (a data URI is decoded in place)."""
    if url.startswith("data:"):
        return Generation("ok", base64.b64decode(url.split(",", 1)[1]), details=details)
    with web.client("") as http:
        response = web.call(http, "GET", url)
    if response.status_code != 200:
        raise Unavailable(f"{provider} output {url}: HTTP {response.status_code}")
    return Generation("ok", response.content, details=details)


def refusal(provider: str, message: str, details: dict) -> Generation:
    """A provider's failure message: blocked when it is a moderation outcome."""
    status = "blocked" if MODERATION.search(message or "") else "failed"
    return Generation(status, reason=f"{provider}: {message}"[:1000], details=details)
