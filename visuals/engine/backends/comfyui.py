"""ComfyUI on your own GPU, as a remote job (docs/comfyui.md).

- references go up once each: ``POST /upload/image`` (multipart ``image``,
  ``type=input``, ``overwrite=true``) under a name derived from their sha256;
- the workflow template (backends.workflows) is filled and queued with
  ``POST /prompt {"prompt", "client_id", "prompt_id": <the image request's id>}``; a
  400 names the nodes that did not validate (a missing model or custom node);
- ``check`` reads ``GET /history/{prompt_id}`` (``{}`` until done), then ``GET /queue``
  to tell queued/running from lost (a restarted server forgets both); a finished
  prompt's image is fetched with ``GET /view?filename&subfolder&type``; an
  ``execution_error`` fails the request with the node's own message;
- ``cancel``: ``POST /api/jobs/{id}/cancel`` (200 ``{"cancelled": true|false}``:
  dequeued or interrupted, or already over), and on servers from before the job API
  (no such route: 404/405) ``POST /queue {"delete": [id]}`` plus, when it is the
  prompt running, ``POST /interrupt {"prompt_id": id}``.

Routes and shapes as ComfyUI's ``server.py`` has them (loreos.devtools.comfyui_standin
names the handlers and the commit read). A server that predates client-chosen
prompt ids mints its own: the handle keeps the id the server answered.

Connection errors and 5xx are retried with backoff (backends.http), then fail.
"""

from django.conf import settings

from . import Generation, Job, Pending, Unavailable
from . import http as web
from .workflows import fill, image_placeholders, template_load, template_path

CLIENT_ID = "loreos"
SELFIE_SIZE = (832, 1216)
SQUARE_SIZE = (1024, 1024)
LOST = (
    "ComfyUI no longer knows prompt {id}: it is neither queued, running nor in the "
    "history (the server restarted or its queue was cleared)"
)
_uploaded: set[tuple[str, str]] = set()


def _extension(data: bytes) -> str:
    if data.startswith(b"\x89PNG"):
        return "png"
    if data.startswith(b"\xff\xd8"):
        return "jpg"
    if data[8:12] == b"WEBP":
        return "webp"
    return "img"


def upload_name(reference) -> str:
    return f"loreos-{reference.sha256}.{_extension(reference.data)}"


def _node_errors(body: dict) -> str:
    """The validation failure of a 400 from /prompt, naming every node at fault."""
    error = body.get("error") or {}
    if isinstance(error, str):
        error = {"message": error}
    parts = []
    for node_id, node in (body.get("node_errors") or {}).items():
        for item in node.get("errors", []):
            detail = item.get("details") or ""
            parts.append(
                f"node {node_id} ({node.get('class_type', '?')}): "
                f"{item.get('message', '')}{': ' + detail if detail else ''}"
            )
    head = error.get("message") or "the workflow did not validate"
    if error.get("details"):
        head += f" ({error['details']})"
    return "ComfyUI refused the workflow: " + "; ".join([head, *parts])


class ComfyUIBackend:
    name = "comfyui"
    remote = True

    def __init__(self, url: str | None = None, workflow: str | None = None):
        self.url = (url or settings.LOREOS_COMFYUI_URL).rstrip("/")
        self.workflow = (
            workflow if workflow is not None else (settings.LOREOS_COMFYUI_WORKFLOW)
        )

    def _http(self):
        return web.client(self.url)

    # --- submit ----------------------------------------------------------------------

    def _upload(self, http, reference) -> str:
        name = upload_name(reference)
        if (self.url, name) in _uploaded:
            return name
        response = web.call(
            http,
            "POST",
            "/upload/image",
            data={"type": "input", "overwrite": "true"},
            files={"image": (name, reference.data, "application/octet-stream")},
        )
        if response.status_code != 200:
            raise Unavailable(
                f"ComfyUI refused the upload of {name}: HTTP {response.status_code}"
            )
        _uploaded.add((self.url, name))
        return name

    def values(self, job: Job, names: dict) -> dict:
        kind = job.brief.get("image_kind")
        width, height = SELFIE_SIZE if kind == "selfie" else SQUARE_SIZE
        return {
            **names,
            "positive_prompt": job.prompt,
            "negative_prompt": job.negative_prompt,
            "seed": job.seed,
            "width": width,
            "height": height,
        }

    def _image_names(self, http, job: Job, wanted: set[str]) -> dict:
        identity = job.portrait or job.identity[0]
        others = [r for r in job.identity if r is not identity]
        by_name = {"identity_image": identity, "parent_image": job.parent or identity}
        for i in (2, 3):
            by_name[f"identity_image_{i}"] = (
                others[i - 2] if len(others) >= i - 1 else identity
            )
        for i in range(1, 5):
            by_name[f"inventory_image_{i}"] = (
                job.inventory[i - 1] if len(job.inventory) >= i else identity
            )
        return {name: self._upload(http, by_name[name]) for name in sorted(wanted)}

    def submit(self, job: Job, request_id: str, again: bool = False):
        graph = template_load(self.workflow)
        prompt_id = str(request_id)
        with self._http() as http:
            if again and self._known(http, prompt_id):
                return self.handle(prompt_id)  # queued by the lost attempt: never twice
            names = self._image_names(http, job, image_placeholders(graph))
            body = {
                "prompt": fill(graph, self.values(job, names)),
                "client_id": CLIENT_ID,
                "prompt_id": prompt_id,
            }
            response = web.call(http, "POST", "/prompt", json=body)
        if response.status_code == 400:
            return Generation("failed", reason=_node_errors(_json(response))[:1000])
        if response.status_code != 200:
            return Generation(
                "failed",
                reason=f"ComfyUI answered HTTP {response.status_code} to /prompt",
            )
        return self.handle(_json(response).get("prompt_id") or prompt_id)

    def handle(self, prompt_id: str) -> dict:
        return {
            "prompt_id": prompt_id,
            "url": self.url,
            "workflow": template_path(self.workflow).name,
        }

    # --- check -----------------------------------------------------------------------

    def _history(self, http, prompt_id: str) -> dict | None:
        response = web.call(http, "GET", f"/history/{prompt_id}")
        if response.status_code != 200:
            raise Unavailable(f"ComfyUI /history answered {response.status_code}")
        return _json(response).get(prompt_id)

    def _queue_place(self, http, prompt_id: str) -> str | None:
        response = web.call(http, "GET", "/queue")
        if response.status_code != 200:
            raise Unavailable(f"ComfyUI /queue answered {response.status_code}")
        queue = _json(response)
        for where, key in (("running", "queue_running"), ("queued", "queue_pending")):
            if any(
                len(item) > 1 and item[1] == prompt_id for item in queue.get(key, [])
            ):
                return where
        return None

    def _known(self, http, prompt_id: str) -> bool:
        return bool(
            self._queue_place(http, prompt_id) or self._history(http, prompt_id)
        )

    def check(self, handle: dict):
        prompt_id = handle["prompt_id"]
        with self._http() as http:
            entry = self._history(http, prompt_id)
            if entry is None:
                where = self._queue_place(http, prompt_id)
                if where:
                    return Pending(where)
                entry = self._history(http, prompt_id)  # it may have just finished
                if entry is None:
                    return Generation(
                        "failed",
                        reason=LOST.format(id=prompt_id),
                        details={"lost": True},
                    )
            return self._finished(http, prompt_id, entry)

    def _finished(self, http, prompt_id: str, entry: dict) -> Generation:
        status = entry.get("status") or {}
        details = {"prompt_id": prompt_id}
        for kind, data in status.get("messages") or []:
            if kind == "execution_error":
                node = data.get("node_id", "?")
                node_type = data.get("node_type", "?")
                message = data.get("exception_message", "").strip()
                return Generation(
                    "failed",
                    reason=f"ComfyUI node {node} ({node_type}) failed: {message}"[
                        :1000
                    ],
                    details=details,
                )
            if kind == "execution_interrupted":
                return Generation(
                    "canceled",
                    reason="the ComfyUI job was interrupted",
                    details=details,
                )
        if status.get("status_str") == "error":
            return Generation(
                "failed",
                reason="ComfyUI ended the prompt with an error",
                details=details,
            )
        images = [
            image
            for output in (entry.get("outputs") or {}).values()
            for image in output.get("images", [])
            if image.get("type", "output") == "output"
        ]
        if not images:
            return Generation(
                "failed",
                reason="the ComfyUI prompt finished without an image output (does the "
                "workflow end in a SaveImage node?)",
                details=details,
            )
        image = images[0]
        response = web.call(
            http,
            "GET",
            "/view",
            params={
                "filename": image["filename"],
                "subfolder": image.get("subfolder", ""),
                "type": image.get("type", "output"),
            },
        )
        if response.status_code != 200:
            raise Unavailable(f"ComfyUI /view answered {response.status_code}")
        return Generation("ok", response.content, details=details)

    # --- cancel ----------------------------------------------------------------------

    def cancel(self, handle: dict) -> bool:
        prompt_id = handle["prompt_id"]
        with self._http() as http:
            response = web.call(http, "POST", f"/api/jobs/{prompt_id}/cancel")
            if response.status_code == 200:
                return True  # {"cancelled": false}: it ended; the next check says how
            # Before the job API: withdraw it from the queue, and stop it if it runs.
            web.call(http, "POST", "/queue", json={"delete": [prompt_id]})
            if self._queue_place(http, prompt_id) == "running":
                web.call(http, "POST", "/interrupt", json={"prompt_id": prompt_id})
        return True


def _json(response) -> dict:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
