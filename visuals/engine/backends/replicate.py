"""Replicate's prediction queue, as a remote job (docs/generators.md).

- submit: ``POST {base}/v1/models/{owner}/{name}/predictions`` (``Authorization: Bearer
  <token>``) with ``{"input": …}`` (and ``webhook`` + ``webhook_events_filter:
  ["completed"]`` when LOREOS_REPLICATE_WEBHOOKS is on) → 201 with the prediction
  ``{"id", "status", "urls": {"get", "cancel"}, …}``;
- check: ``GET {base}/v1/predictions/{id}``; ``starting``/``processing`` → pending,
  ``succeeded`` → the first output URL fetched, ``failed`` → failed with ``error``
  (blocked when the error is a safety/NSFW refusal), ``canceled``/``aborted`` →
  canceled; a 404 → the prediction is lost;
- cancel: ``POST {base}/v1/predictions/{id}/cancel``;
- 429 (``Retry-After``) and 5xx are retried with backoff (backends.http).

The default model is ``black-forest-labs/flux-kontext-pro``: an official model (no
version to pin) that edits a reference image from a text instruction and keeps the
person of the reference — the identity portrait goes in as ``input_image``.
"""

from django.conf import settings

from . import Generation, Job, Pending, Unavailable
from . import http as web
from .hosted import (
    data_uri,
    fetch_image,
    identity_of,
    refusal,
    size_of,
    webhook_url,
)

PENDING = {"starting", "processing"}


class ReplicateBackend:
    name = "replicate"
    remote = True

    def __init__(self, token=None, model=None, url=None):
        self.token = token or settings.LOREOS_REPLICATE_API_TOKEN
        self.model = model or settings.LOREOS_REPLICATE_MODEL
        self.url = (url or settings.LOREOS_REPLICATE_BASE_URL).rstrip("/")

    def _http(self):
        return web.client(self.url, {"Authorization": f"Bearer {self.token}"})

    def input(self, job: Job) -> dict:
        width, height = size_of(job)
        return {
            "prompt": job.prompt,
            "input_image": data_uri(identity_of(job)),
            "aspect_ratio": "2:3" if height > width else "1:1",
            "seed": job.seed,
            "output_format": "png",
        }

    def submit(self, job: Job, request_id: str, again: bool = False):
        body = {"input": self.input(job)}
        hook = webhook_url("replicate", request_id)
        if hook:
            body |= {"webhook": hook, "webhook_events_filter": ["completed"]}
        with self._http() as http:
            response = web.call(
                http, "POST", f"/v1/models/{self.model}/predictions", json=body
            )
        if response.status_code not in (200, 201):
            return refusal("replicate", _detail(response), {"model": self.model})
        prediction = response.json()
        return {"id": prediction["id"], "model": self.model}

    def check(self, handle: dict):
        details = {"prediction_id": handle["id"], "model": handle.get("model")}
        with self._http() as http:
            response = web.call(http, "GET", f"/v1/predictions/{handle['id']}")
        if response.status_code == 404:
            return Generation(
                "failed",
                reason=f"Replicate no longer knows prediction {handle['id']}",
                details={**details, "lost": True},
            )
        if response.status_code != 200:
            raise Unavailable(f"Replicate answered HTTP {response.status_code}")
        prediction = response.json()
        status = prediction.get("status")
        if status in PENDING:
            return Pending("queued" if status == "starting" else "running")
        if status in ("canceled", "aborted"):
            return Generation(
                "canceled", reason=f"Replicate: {status}", details=details
            )
        if status == "failed":
            return refusal("replicate", str(prediction.get("error") or ""), details)
        output = prediction.get("output")
        url = output[0] if isinstance(output, list) and output else output
        if status != "succeeded" or not isinstance(url, str):
            return Generation(
                "failed",
                reason=f"Replicate ended with status {status!r} and no image output",
                details=details,
            )
        return fetch_image(url, "Replicate", details)

    def cancel(self, handle: dict) -> bool:
        with self._http() as http:
            response = web.call(http, "POST", f"/v1/predictions/{handle['id']}/cancel")
        return response.status_code in (200, 201, 202)


def _detail(response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    parts = [str(body[k]) for k in ("title", "detail") if body.get(k)]
    return f"HTTP {response.status_code}: {': '.join(parts) or body}"
