"""fal's queue, as a remote job (docs/generators.md).

- submit: ``POST {queue}/{model}`` (``Authorization: Key <key>``; ``?fal_webhook=`` when
  LOREOS_FAL_WEBHOOKS is on) with the model's input → ``{"request_id", "status_url",
  "response_url", "cancel_url"}``;
- check: ``GET {status_url}``: ``IN_QUEUE``/``IN_PROGRESS`` → pending; ``COMPLETED`` →
  ``GET {response_url}``: the first of ``images`` fetched, blocked when
  ``has_nsfw_concepts`` flags it; an error answer (4xx/5xx with ``detail``) → failed
  with fal's message (blocked when it is a content-policy refusal); a 404 → lost;
- cancel: ``PUT {cancel_url}`` (fal cancels only what has not started: ``202
  CANCELLATION_REQUESTED``; ``400 ALREADY_COMPLETED`` otherwise);
- 429 (``Retry-After``) and 5xx are retried with backoff (backends.http).

The default model is ``fal-ai/flux-pulid``: PuLID on FLUX, made for generating a
person from one reference face (``reference_image_url``) — identity by design, not a
general edit.
"""

from django.conf import settings

from . import Generation, Job, Pending, Unavailable
from . import http as web
from .hosted import (
    MODERATION,
    data_uri,
    fetch_image,
    identity_of,
    refusal,
    size_of,
    webhook_url,
)


class FalBackend:
    name = "fal"
    remote = True

    def __init__(self, key=None, model=None, url=None):
        self.key = key or settings.LOREOS_FAL_KEY
        self.model = model or settings.LOREOS_FAL_MODEL
        self.url = (url or settings.LOREOS_FAL_QUEUE_URL).rstrip("/")

    def _http(self):
        return web.client(self.url, {"Authorization": f"Key {self.key}"})

    def input(self, job: Job) -> dict:
        width, height = size_of(job)
        return {
            "prompt": job.prompt,
            "reference_image_url": data_uri(identity_of(job)),
            "negative_prompt": job.negative_prompt,
            "image_size": {"width": width, "height": height},
            "seed": job.seed,
            "num_images": 1,
            "enable_safety_checker": True,
        }

    def submit(self, job: Job, request_id: str, again: bool = False):
        params = {}
        hook = webhook_url("fal", request_id)
        if hook:
            params["fal_webhook"] = hook
        with self._http() as http:
            response = web.call(
                http,
                "POST",
                f"/{self.model}",
                json=self.input(job),
                params=params,
            )
        if response.status_code not in (200, 201, 202):
            return refusal("fal", _detail(response), {"model": self.model})
        body = response.json()
        return {
            "request_id": body["request_id"],
            "status_url": body["status_url"],
            "response_url": body["response_url"],
            "cancel_url": body["cancel_url"],
            "model": self.model,
        }

    def check(self, handle: dict):
        details = {"request_id": handle["request_id"], "model": handle.get("model")}
        with self._http() as http:
            response = web.call(http, "GET", handle["status_url"])
            if response.status_code == 404:
                return Generation(
                    "failed",
                    reason=f"fal no longer knows request {handle['request_id']}",
                    details={**details, "lost": True},
                )
            if response.status_code != 200:
                raise Unavailable(f"fal status answered HTTP {response.status_code}")
            status = response.json().get("status")
            if status == "IN_QUEUE":
                return Pending("queued")
            if status == "IN_PROGRESS":
                return Pending("running")
            if status != "COMPLETED":
                return Generation(
                    "failed", reason=f"fal: unknown status {status!r}", details=details
                )
            result = web.call(http, "GET", handle["response_url"])
        if result.status_code != 200:
            return refusal("fal", _detail(result), details)
        body = result.json()
        images = body.get("images") or []
        if any(body.get("has_nsfw_concepts") or []):
            return Generation(
                "blocked",
                reason="fal: the safety checker flagged the image (has_nsfw_concepts)",
                details=details,
            )
        if not images or not images[0].get("url"):
            return Generation(
                "failed", reason="fal: the result has no image", details=details
            )
        return fetch_image(images[0]["url"], "fal", details)

    def cancel(self, handle: dict) -> bool:
        with self._http() as http:
            response = web.call(http, "PUT", handle["cancel_url"])
        return response.status_code in (200, 202)


def _detail(response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    detail = body.get("detail", body)
    if isinstance(detail, list):
        detail = "; ".join(str(d.get("msg", d)) for d in detail)
    text = f"HTTP {response.status_code}: {detail}"
    return text if not MODERATION.search(text) else f"content policy: {detail}"
