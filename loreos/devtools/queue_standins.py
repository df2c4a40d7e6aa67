"""Loopback stand-ins of two hosted image queues, Replicate and fal.

Run one: ``python -m loreos.devtools.queue_standins replicate --port 8620``
(or ``fal``).

Built from the providers' published API documentation (shapes learned, nothing copied):

- Replicate HTTP API reference (replicate.com/docs/reference/http): ``POST
  /v1/models/{owner}/{name}/predictions`` ``{"input", "webhook",
  "webhook_events_filter"}`` → 201 prediction ``{"id", "model", "version", "input",
  "logs", "output", "error", "status", "created_at", "started_at", "completed_at",
  "urls": {"get", "cancel"}}``; ``GET /v1/predictions/{id}``; ``POST
  /v1/predictions/{id}/cancel``; statuses ``starting``, ``processing``,
  ``succeeded``, ``failed``, ``canceled`` (and ``aborted``); errors as problem details
  ``{"title", "detail", "status"}``, 401 without a valid ``Bearer`` token, 422 for
  invalid input, 429 with ``Retry-After``; webhooks signed per Standard Webhooks
  (replicate.com/docs/topics/webhooks/verify-webhook).
- fal Queue API (docs.fal.ai/model-apis/model-endpoints/queue): ``POST
  https://queue.fal.run/{model_id}`` (``Authorization: Key …``, optional
  ``?fal_webhook=``) → ``{"request_id", "response_url", "status_url", "cancel_url",
  "queue_position"}``; ``GET …/requests/{id}/status`` → ``{"status": "IN_QUEUE" |
  "IN_PROGRESS" | "COMPLETED", "queue_position", "logs"}``; ``GET …/requests/{id}`` →
  the model's output (``{"images": [{"url", "content_type", "width", "height"}],
  "seed", "has_nsfw_concepts", "prompt"}``); ``PUT …/requests/{id}/cancel`` → 202
  ``{"status": "CANCELLATION_REQUESTED"}`` before the request starts, 400
  ``{"status": "ALREADY_COMPLETED"}`` after; validation errors as 422 ``{"detail":
  [{"loc", "msg", "type"}]}``.

Each job spends the first fifth of ``--seconds`` queued, the rest running. Outcomes
other than success are scripted by tests: ``state.script("nsfw" | "invalid" | "error"
| "throttle")`` applies to the next submission (``throttle``: that submission gets one
429 with Retry-After first). ``state.restart()`` forgets every job. The "image" is the
reference image, re-encoded as PNG on a canvas coloured by the seed.
"""

import argparse
import base64
import io
import json
import random
import threading
import time
import uuid
from urllib.parse import urlparse

from PIL import Image

from . import loopback

TOKEN = "standin-token"


class _Job:
    def __init__(self, job_id, model, body, outcome, seconds):
        self.id, self.model, self.body, self.outcome = job_id, model, body, outcome
        self.created = time.monotonic()
        self.seconds = seconds
        self.canceled = False

    def phase(self) -> str:
        if self.canceled:
            return "canceled"
        elapsed = time.monotonic() - self.created
        if elapsed < self.seconds / 5:
            return "queued"
        if elapsed < self.seconds:
            return "running"
        return "done"


class QueueState:
    def __init__(self, seconds=3.0):
        self.seconds = seconds
        self.lock = threading.Lock()
        self.jobs: dict[str, _Job] = {}
        self.files: dict[str, bytes] = {}
        self.scripted: list[str] = []
        self.calls: list[tuple[str, str]] = []
        self.submitted: list[str] = []
        self.base = ""

    def script(self, outcome: str) -> None:
        with self.lock:
            self.scripted.append(outcome)

    def restart(self) -> None:
        with self.lock:
            self.jobs.clear()

    def next_outcome(self) -> str:
        return self.scripted.pop(0) if self.scripted else "success"

    def picture(self, job: _Job, reference: str | None) -> str:
        """Store the job's picture; return its URL."""
        name = f"{job.id}.png"
        if name not in self.files:
            seed = int(job.body.get("seed") or 0)
            rng = random.Random(seed)
            colour = tuple(rng.randrange(256) for _ in "rgb")
            canvas = Image.new("RGB", (768, 1024), colour)
            if reference and reference.startswith("data:"):
                raw = base64.b64decode(reference.split(",", 1)[1])
                source = Image.open(io.BytesIO(raw)).convert("RGB")
                source.thumbnail((614, 819))
                canvas.paste(
                    source,
                    ((768 - source.width) // 2, (1024 - source.height) // 2),
                )
            out = io.BytesIO()
            canvas.save(out, "PNG")
            self.files[name] = out.getvalue()
        return f"{self.base}/files/{name}"


class _Handler(loopback.Handler):
    state: QueueState
    provider: str

    def body(self) -> dict:
        raw = self.raw_body()
        try:
            return json.loads(raw or b"{}")
        except ValueError:
            return {}

    def handle_any(self, method):
        url = urlparse(self.path)
        state = self.state
        with state.lock:
            state.calls.append((method, url.path))
            if method == "GET" and url.path.startswith("/files/"):
                data = state.files.get(url.path.rsplit("/", 1)[1])
                if data is None:
                    return self.reply(404, {"detail": "Not found"})
                return self.reply(200, raw=data, content_type="image/png")
            route = _replicate if self.provider == "replicate" else _fal
            return route(self, method, url)

    def do_GET(self):
        self.handle_any("GET")

    def do_POST(self):
        self.handle_any("POST")

    def do_PUT(self):
        self.handle_any("PUT")


# --- Replicate ---------------------------------------------------------------------


def _problem(status, title, detail):
    return {"title": title, "detail": detail, "status": status}


def _prediction(state: QueueState, job: _Job) -> dict:
    phase = job.phase()
    status = {"queued": "starting", "running": "processing"}.get(phase)
    output, error = None, None
    if phase == "canceled":
        status = "canceled"
    elif phase == "done":
        if job.outcome == "nsfw":
            status = "failed"
            error = (
                "NSFW content detected. Try running it again, or try a different "
                "prompt."
            )
        elif job.outcome == "error":
            status = "failed"
            error = "No face detected in the input image"
        else:
            status = "succeeded"
            output = state.picture(job, job.body["input"].get("input_image"))
    return {
        "id": job.id,
        "model": job.model,
        "version": "hidden",
        "input": {k: v for k, v in job.body["input"].items() if k != "input_image"},
        "logs": "",
        "output": output,
        "error": error,
        "status": status,
        "created_at": "2026-01-01T00:00:00.000Z",
        "urls": {
            "get": f"{state.base}/v1/predictions/{job.id}",
            "cancel": f"{state.base}/v1/predictions/{job.id}/cancel",
        },
    }


def _replicate(handler: _Handler, method: str, url):
    state = handler.state
    parts = url.path.strip("/").split("/")
    if handler.headers.get("Authorization") != f"Bearer {TOKEN}":
        return handler.reply(
            401,
            _problem(
                401, "Unauthenticated", "You did not pass a valid authentication token"
            ),
        )
    if method == "POST" and len(parts) == 5 and parts[-1] == "predictions":
        body = handler.body()
        outcome = state.next_outcome()
        if outcome == "throttle":
            state.scripted.insert(0, "success")
            return handler.reply(
                429,
                _problem(
                    429, "Request was throttled", "Expected available in 1 second."
                ),
                Retry_After="1",
            )
        inputs = body.get("input") or {}
        if outcome == "invalid" or not inputs.get("prompt"):
            return handler.reply(
                422,
                {
                    **_problem(
                        422,
                        "Input validation failed",
                        "- input_image: Does not match format 'uri'",
                    ),
                    "invalid_fields": [
                        {
                            "type": "format",
                            "field": "input.input_image",
                            "description": "Does not match format 'uri'",
                        }
                    ],
                },
            )
        job = _Job(
            uuid.uuid4().hex[:26],
            f"{parts[2]}/{parts[3]}",
            body,
            outcome,
            state.seconds,
        )
        state.jobs[job.id] = job
        state.submitted.append(job.id)
        return handler.reply(201, _prediction(state, job))
    if len(parts) >= 3 and parts[:2] == ["v1", "predictions"]:
        job = state.jobs.get(parts[2])
        if job is None:
            return handler.reply(
                404, _problem(404, "Not found", "Prediction not found")
            )
        if method == "POST" and parts[-1] == "cancel":
            if job.phase() in ("queued", "running"):
                job.canceled = True
            return handler.reply(200, _prediction(state, job))
        if method == "GET" and len(parts) == 3:
            return handler.reply(200, _prediction(state, job))
    return handler.reply(404, _problem(404, "Not found", "No such route"))


def standard_webhook_signature(secret: str, msg_id: str, timestamp: str, body: bytes):
    """The ``webhook-signature`` value of Standard Webhooks for this message."""
    import hashlib
    import hmac

    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


# --- fal ---------------------------------------------------------------------------


def _fal(handler: _Handler, method: str, url):
    state = handler.state
    if not (handler.headers.get("Authorization") or "").startswith(f"Key {TOKEN}"):
        return handler.reply(401, {"detail": "Unauthorized: invalid or missing key"})
    path = url.path.strip("/")
    if "/requests/" not in path:
        if method != "POST":
            return handler.reply(405, {"detail": "Method Not Allowed"})
        body = handler.body()
        outcome = state.next_outcome()
        if outcome == "throttle":
            state.scripted.insert(0, "success")
            return handler.reply(
                429, {"detail": "Rate limit exceeded"}, Retry_After="1"
            )
        missing = [k for k in ("prompt", "reference_image_url") if not body.get(k)]
        if outcome == "invalid":
            missing = missing or ["reference_image_url"]
        if missing:
            detail = [
                {
                    "loc": ["body", k],
                    "msg": "field required",
                    "type": "value_error.missing",
                }
                for k in missing
            ]
            return handler.reply(422, {"detail": detail})
        job = _Job(str(uuid.uuid4()), path, body, outcome, state.seconds)
        state.jobs[job.id] = job
        state.submitted.append(job.id)
        root = f"{state.base}/{path}/requests/{job.id}"
        return handler.reply(
            200,
            {
                "request_id": job.id,
                "response_url": root,
                "status_url": f"{root}/status",
                "cancel_url": f"{root}/cancel",
                "queue_position": 0,
            },
        )
    model, rest = path.split("/requests/", 1)
    request_id, _, action = rest.partition("/")
    job = state.jobs.get(request_id)
    if job is None:
        return handler.reply(404, {"detail": "Request not found"})
    phase = job.phase()
    if method == "PUT" and action == "cancel":
        if phase == "queued":
            job.canceled = True
            return handler.reply(202, {"status": "CANCELLATION_REQUESTED"})
        return handler.reply(400, {"status": "ALREADY_COMPLETED"})
    if method == "GET" and action == "status":
        status = {"queued": "IN_QUEUE", "running": "IN_PROGRESS"}.get(
            phase, "COMPLETED"
        )
        body = {
            "status": status,
            "response_url": f"{state.base}/{model}/requests/{job.id}",
        }
        if status == "IN_QUEUE":
            body["queue_position"] = 0
        if status == "IN_PROGRESS":
            body["logs"] = [{"message": "sampling", "level": "INFO"}]
        return handler.reply(200, body)
    if method == "GET" and not action:
        if phase in ("queued", "running"):
            return handler.reply(400, {"detail": "Request is still in progress"})
        if phase == "canceled":
            return handler.reply(400, {"detail": "Request was cancelled"})
        if job.outcome == "error":
            return handler.reply(
                422, {"detail": "No face detected in the reference image"}
            )
        url_ = state.picture(job, job.body.get("reference_image_url"))
        size = job.body.get("image_size") or {}
        return handler.reply(
            200,
            {
                "images": [
                    {
                        "url": url_,
                        "content_type": "image/png",
                        "width": size.get("width", 768),
                        "height": size.get("height", 1024),
                    }
                ],
                "seed": job.body.get("seed"),
                "has_nsfw_concepts": [job.outcome == "nsfw"],
                "prompt": job.body.get("prompt"),
            },
        )
    return handler.reply(404, {"detail": "Not Found"})


def serve(provider: str, host="127.0.0.1", port=0, seconds=3.0):
    """Start a stand-in of `provider` (replicate | fal) in a thread; return
    (server, state)."""
    state = QueueState(seconds=seconds)
    handler = type("Handler", (_Handler,), {"state": state, "provider": provider})
    server = loopback.start(handler, host, port)
    state.base = f"http://{host}:{server.server_port}"
    return server, state


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("provider", choices=["replicate", "fal"])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8620)
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args(argv)
    server, state = serve(args.provider, args.host, args.port, args.seconds)
    banner = f"{args.provider} stand-in on {state.base} (key/token: {TOKEN})"
    loopback.run_until_interrupted(server, banner)


if __name__ == "__main__":
    main()
