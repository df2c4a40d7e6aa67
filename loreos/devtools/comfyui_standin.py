"""A loopback ComfyUI stand-in: ComfyUI's HTTP API, without a GPU.

Run it: ``python -m loreos.devtools.comfyui_standin --port 8188 --seconds 3`` and start
LoreOS with ``LOREOS_IMAGE_BACKEND=comfyui LOREOS_COMFYUI_URL=http://127.0.0.1:8188``.

Built from ComfyUI's own server, read to learn the shapes (no code taken):
``server.py`` of Comfy-Org/ComfyUI (formerly comfyanonymous/ComfyUI) at commit
002c3fb9a504255ccb3edb668c08b8f56e63d14a, the handlers named below, and the history
its ``execution.py``/``main.py`` record. ``PromptServer.add_routes`` answers every
route also under ``/api``, and so does the stand-in:

- ``upload_image`` — ``POST /upload/image``, multipart ``image`` (+ ``type``,
  ``subfolder``, ``overwrite``) → ``{"name", "subfolder", "type"}``;
- ``post_prompt`` — ``POST /prompt`` ``{"prompt", "client_id", "prompt_id"}`` →
  ``{"prompt_id", "number", "node_errors": {}}``. A client-chosen ``prompt_id`` must
  be a UUID in canonical lowercase hyphenated form (``validate_job_id``), else 400
  ``{"error": {"type": "invalid_prompt_id", …}, "node_errors": {}}``; absent or null,
  the server mints one. 400 ``{"error": {"type", "message", "details",
  "extra_info"}, "node_errors": {id: {"errors": [...], "dependent_outputs",
  "class_type"}}}`` when a node type does not exist (``invalid_prompt``) or an input
  fails validation (``prompt_outputs_failed_validation``, e.g. a LoadImage file that
  was never uploaded), ``prompt_no_outputs`` without an output node, ``no_prompt``
  without a ``prompt``;
- ``get_queue`` — ``GET /queue`` → ``{"queue_running": [[number, prompt_id, prompt,
  extra_data, outputs_to_execute]], "queue_pending": [...]}``; ``post_queue`` —
  ``POST /queue`` ``{"delete": [ids]}`` or ``{"clear": true}`` → 200, empty body;
- ``get_history_prompt_id`` — ``GET /history/{prompt_id}`` → ``{}`` until done, then
  ``{prompt_id: {"prompt", "outputs": {node_id: {"images": [{"filename",
  "subfolder", "type"}]}}, "status": {"status_str": "success"|"error", "completed",
  "messages": [[event, data], …]}, "meta"}}`` with ``execution_start``,
  ``execution_cached``, ``execution_success``, ``execution_error`` (``node_id``,
  ``node_type``, ``exception_message``, ``exception_type``, ``traceback``) and
  ``execution_interrupted`` events;
- ``view_image`` — ``GET /view?filename&subfolder&type`` → the image bytes;
- ``post_interrupt`` — ``POST /interrupt``: with ``{"prompt_id"}`` it interrupts that
  prompt only if it is the one running, without it whatever runs; 200, empty body;
- ``cancel_job_by_id`` — ``POST /api/jobs/{job_id}/cancel`` (the newer job API,
  registered with its ``/api`` prefix, so never answered without it): a running job
  is interrupted, a pending one dequeued; always 200 ``{"cancelled": true|false}``
  (false: already finished or unknown — idempotent, never a 404);
- ``system_stats`` — ``GET /system_stats``.

``--legacy`` stands for a server from before the job API: ``/api/jobs/{id}/cancel``
does not exist (the catch-all static route ``/`` takes only GET and HEAD, so aiohttp
answers a POST there 405) and ``/interrupt`` ignores its body and interrupts whatever
runs, as ``post_interrupt`` did before it read ``prompt_id``.

It runs ``--slots`` prompts at once (a real ComfyUI runs one; more slots stand for a
farm of GPUs in the benchmarks), each taking ``--seconds``. The "image" it makes is the
identity portrait (the first LoadImage) placed on a canvas of the requested size, its
colour drawn from the seed: deterministic, and different for every seed. Like ComfyUI's
``SaveImage`` (``nodes.py``; unless the server runs with ``--disable-metadata``) it
writes the submitted graph as JSON into the PNG's ``prompt`` text chunk, and each
``extra_data.extra_pnginfo`` entry (the editor sends ``workflow``) into a chunk of its
name: the prompt text travels inside the file. Outcomes other
than success are scripted by tests: ``StandIn.script("no_face" | "no_output" |
"missing_model" | "crash")`` applies to the next prompt (InstantID's "No face detected"
is the execution_error ``no_face`` reproduces). ``StandIn.restart()`` forgets the
queue and history as a restarted server does (uploaded inputs stay, they are on disk).
"""

import argparse
import io
import itertools
import json
import random
import threading
import time
import uuid
from email.parser import BytesParser
from email.policy import HTTP
from urllib.parse import parse_qs, urlparse

from PIL import Image
from PIL.PngImagePlugin import PngInfo

from . import loopback

KNOWN_NODES = {
    "CheckpointLoaderSimple", "CLIPTextEncode", "EmptyLatentImage", "KSampler",
    "VAEDecode", "SaveImage", "LoadImage", "ControlNetLoader", "UNETLoader",
    "DualCLIPLoader", "VAELoader", "FluxGuidance", "EmptySD3LatentImage",
    "RandomNoise", "KSamplerSelect", "BasicScheduler", "BasicGuider",
    "SamplerCustomAdvanced", "PreviewImage",
    # custom nodes of the shipped templates (InstantID, PuLID-Flux, IPAdapter_plus)
    "InstantIDModelLoader", "InstantIDFaceAnalysis", "ApplyInstantID",
    "PulidFluxModelLoader", "PulidFluxEvaClipLoader", "PulidFluxInsightFaceLoader",
    "ApplyPulidFlux", "IPAdapterUnifiedLoaderFaceID", "IPAdapterFaceID",
}  # fmt: skip
OUTPUT_NODES = {"SaveImage", "PreviewImage"}
FACE_NODES = {"ApplyInstantID", "ApplyPulidFlux", "IPAdapterFaceID"}


class _Prompt:
    def __init__(self, number, prompt_id, graph, extra, outcome):
        self.number, self.id, self.graph, self.extra = number, prompt_id, graph, extra
        self.outcome = outcome
        self.outputs = [k for k, n in graph.items() if n["class_type"] in OUTPUT_NODES]
        self.started: float | None = None
        self.interrupted = False

    def row(self):
        return [self.number, self.id, self.graph, self.extra, self.outputs]


class StandIn:
    """The server's state; one lock guards all of it."""

    def __init__(self, seconds=3.0, slots=1, legacy=False):
        self.seconds, self.slots, self.legacy = seconds, slots, legacy
        self.lock = threading.Lock()
        self.inputs: dict[str, bytes] = {}
        self.files: dict[str, bytes] = {}
        self.pending: list[_Prompt] = []
        self.running: list[_Prompt] = []
        self.history: dict[str, dict] = {}
        self.numbers = itertools.count(1)
        self.counter = itertools.count(1)
        self.scripted: list[str] = []
        self.calls: list[tuple[str, str]] = []  # (method, path) of every request
        self.submitted: list[str] = []  # prompt ids accepted by POST /prompt

    def script(self, outcome: str) -> None:
        with self.lock:
            self.scripted.append(outcome)

    def restart(self) -> None:
        with self.lock:
            self.pending.clear()
            self.running.clear()
            self.history.clear()

    # --- /prompt ---------------------------------------------------------------------

    def validate(self, graph):
        if not isinstance(graph, dict) or not graph:
            return {"type": "invalid_prompt", "message": "Prompt is empty"}, {}
        for node_id, node in graph.items():
            class_type = node.get("class_type") if isinstance(node, dict) else None
            if class_type not in KNOWN_NODES:
                return {
                    "type": "invalid_prompt",
                    "message": f"Cannot execute because node {class_type} does not "
                    "exist.",
                    "details": f"Node ID '#{node_id}'",
                    "extra_info": {},
                }, {}
        if not any(n["class_type"] in OUTPUT_NODES for n in graph.values()):
            error = {"type": "prompt_no_outputs", "message": "Prompt has no outputs"}
            return {**error, "details": "", "extra_info": {}}, {}
        node_errors = {}
        for node_id, node in graph.items():
            image = node.get("inputs", {}).get("image")
            if node["class_type"] == "LoadImage" and image not in self.inputs:
                node_errors[node_id] = {
                    "errors": [
                        {
                            "type": "custom_validation_failed",
                            "message": "Custom validation failed for node",
                            "details": f"image - Invalid image file: {image}",
                            "extra_info": {},
                        }
                    ],
                    "dependent_outputs": [],
                    "class_type": "LoadImage",
                }
        if node_errors:
            return {
                "type": "prompt_outputs_failed_validation",
                "message": "Prompt outputs failed validation",
                "details": "",
                "extra_info": {},
            }, node_errors
        return None, {}

    def submit(self, body):
        graph = body.get("prompt")
        if graph is None:
            error = {"type": "no_prompt", "message": "No prompt provided"}
            error.update(details="No prompt provided", extra_info={})
            return 400, {"error": error, "node_errors": {}}
        prompt_id = body.get("prompt_id")
        if prompt_id is None:
            prompt_id = str(uuid.uuid4())
        elif not _canonical_uuid(prompt_id):
            return 400, {
                "error": {
                    "type": "invalid_prompt_id",
                    "message": "prompt_id must be a valid UUID",
                    "details": "prompt_id must be a UUID string in canonical "
                    "lowercase hyphenated form",
                    "extra_info": {},
                },
                "node_errors": {},
            }
        outcome = self.scripted.pop(0) if self.scripted else "success"
        if outcome == "missing_model":
            loader = next(
                (
                    k
                    for k, n in graph.items()
                    if {"ckpt_name", "unet_name"} & set(n["inputs"])
                ),
                next(iter(graph)),
            )
            return 400, {
                "error": {
                    "type": "prompt_outputs_failed_validation",
                    "message": "Prompt outputs failed validation",
                    "details": "",
                    "extra_info": {},
                },
                "node_errors": {
                    loader: {
                        "errors": [
                            {
                                "type": "value_not_in_list",
                                "message": "Value not in list",
                                "details": "ckpt_name: 'missing.safetensors' not in []",
                                "extra_info": {},
                            }
                        ],
                        "dependent_outputs": [],
                        "class_type": graph[loader]["class_type"],
                    }
                },
            }
        error, node_errors = self.validate(graph)
        if error:
            return 400, {"error": error, "node_errors": node_errors}
        number = next(self.numbers)
        extra = {"client_id": body.get("client_id")}
        self.pending.append(_Prompt(number, prompt_id, graph, extra, outcome))
        self.submitted.append(prompt_id)
        return 200, {"prompt_id": prompt_id, "number": number, "node_errors": {}}

    # --- execution -------------------------------------------------------------------

    def tick(self) -> None:
        now = time.monotonic()
        while self.pending and len(self.running) < self.slots:
            prompt = self.pending.pop(0)
            prompt.started = now
            self.running.append(prompt)
        for prompt in list(self.running):
            if prompt.interrupted or now - prompt.started >= self.seconds:
                self.running.remove(prompt)
                self.history[prompt.id] = self.finish(prompt)

    def _message(self, kind, prompt, **data):
        stamp = int(time.time() * 1000)
        return [kind, {"prompt_id": prompt.id, "timestamp": stamp, **data}]

    def finish(self, prompt: _Prompt) -> dict:
        start = self._message("execution_start", prompt)
        cached = self._message("execution_cached", prompt, nodes=[])
        entry = {"prompt": prompt.row(), "outputs": {}, "meta": {}}
        face = next(
            (k for k, n in prompt.graph.items() if n["class_type"] in FACE_NODES),
            next(iter(prompt.graph)),
        )
        if prompt.interrupted:
            node = prompt.graph[face]["class_type"]
            stop = self._message(
                "execution_interrupted", prompt, node_id=face, node_type=node,
                executed=[],
            )  # fmt: skip
            entry["status"] = _status("error", [start, cached, stop])
            return entry
        if prompt.outcome in ("no_face", "crash"):
            message = (
                "No face detected"
                if prompt.outcome == "no_face"
                else "CUDA out of memory"
            )
            error = self._message(
                "execution_error",
                prompt,
                node_id=face,
                node_type=prompt.graph[face]["class_type"],
                executed=[],
                exception_message=message,
                exception_type="Exception",
                traceback=[f'  raise Exception("{message}")\n'],
                current_inputs={},
                current_outputs={},
            )
            entry["status"] = _status("error", [start, cached, error])
            return entry
        if prompt.outcome != "no_output":
            for node_id in prompt.outputs:
                name = f"loreos_{next(self.counter):05d}_.png"
                self.files[name] = self.picture(prompt)
                images = [{"filename": name, "subfolder": "", "type": "output"}]
                entry["outputs"][node_id] = {"images": images}
                entry["meta"][node_id] = {
                    "node_id": node_id,
                    "display_node": node_id,
                    "parent_node": None,
                    "real_node_id": node_id,
                }
        done = self._message("execution_success", prompt)
        entry["status"] = _status("success", [start, cached, done])
        return entry

    def picture(self, prompt: _Prompt) -> bytes:
        inputs = {}
        for node in prompt.graph.values():
            inputs.update(node.get("inputs", {}))
        width, height = int(inputs.get("width", 512)), int(inputs.get("height", 512))
        seed = int(inputs.get("seed", inputs.get("noise_seed", 0)))
        rng = random.Random(seed)
        canvas = Image.new(
            "RGB", (width, height), tuple(rng.randrange(256) for _ in "rgb")
        )
        loads = [n for n in prompt.graph.values() if n["class_type"] == "LoadImage"]
        if loads:
            source = Image.open(io.BytesIO(self.inputs[loads[0]["inputs"]["image"]]))
            source = source.convert("RGB")
            source.thumbnail((int(width * 0.8), int(height * 0.8)))
            canvas.paste(
                source, ((width - source.width) // 2, (height - source.height) // 2)
            )
        # What SaveImage writes: the graph, and the editor's extra_pnginfo.
        info = PngInfo()
        info.add_text("prompt", json.dumps(prompt.graph))
        for key, value in ((prompt.extra or {}).get("extra_pnginfo") or {}).items():
            info.add_text(key, json.dumps(value))
        out = io.BytesIO()
        canvas.save(out, "PNG", pnginfo=info)
        return out.getvalue()

    # --- queue -----------------------------------------------------------------------

    def queue(self):
        return {
            "queue_running": [p.row() for p in self.running],
            "queue_pending": [p.row() for p in self.pending],
        }

    def delete(self, ids):
        self.pending = [p for p in self.pending if p.id not in ids]

    def cancel(self, prompt_id) -> bool:
        """The job API's cancel: dequeue it if pending, interrupt it if running."""
        queued = any(p.id == prompt_id for p in self.pending)
        self.delete({prompt_id})
        return self.interrupt(prompt_id) or queued

    def interrupt(self, prompt_id=None) -> bool:
        hit = False
        for prompt in self.running:
            if prompt_id is None or prompt.id == prompt_id:
                prompt.interrupted = hit = True
        return hit


def _canonical_uuid(value) -> bool:
    try:
        return isinstance(value, str) and str(uuid.UUID(value)) == value
    except ValueError:
        return False


def _status(status_str, messages):
    return {
        "status_str": status_str,
        "completed": status_str == "success",
        "messages": messages,
    }


class _Handler(loopback.Handler):
    server_version = "ComfyUI-standin/1"
    standin: StandIn

    def _route(self):
        url = urlparse(self.path)
        path = url.path[4:] if url.path.startswith("/api/") else url.path
        return path, parse_qs(url.query)

    def do_GET(self):
        path, query = self._route()
        state = self.standin
        with state.lock:
            state.calls.append(("GET", path))
            state.tick()
            if path == "/queue":
                return self.reply(200, state.queue())
            if path.startswith("/history/"):
                prompt_id = path.rsplit("/", 1)[1]
                entry = state.history.get(prompt_id)
                return self.reply(200, {prompt_id: entry} if entry else {})
            if path == "/history":
                return self.reply(200, state.history)
            if path == "/view":
                name = query.get("filename", [""])[0]
                kind = query.get("type", ["output"])[0]
                data = (state.files if kind == "output" else state.inputs).get(name)
                if data is None:
                    return self.reply(404, raw=b"", content_type="text/plain")
                return self.reply(200, raw=data, content_type="image/png")
            if path == "/system_stats":
                return self.reply(200, {"system": {"os": "standin"}, "devices": []})
        return self.reply(404, raw=b"404: Not Found", content_type="text/plain")

    def do_POST(self):
        path, _ = self._route()
        raw = self.raw_body()
        state = self.standin
        with state.lock:
            state.calls.append(("POST", path))
            state.tick()
            if path == "/upload/image":
                return self._upload(raw)
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                return self.reply(400, raw=b"invalid json", content_type="text/plain")
            if path == "/prompt":
                status, answer = state.submit(body)
                return self.reply(status, answer)
            if path == "/queue":
                if body.get("clear"):
                    state.pending.clear()
                state.delete(set(body.get("delete", [])))
                return self.reply(200, raw=b"", content_type="text/plain")
            if path == "/interrupt":
                state.interrupt(None if state.legacy else body.get("prompt_id"))
                return self.reply(200, raw=b"", content_type="text/plain")
            if self.path.startswith("/api/jobs/") and path.endswith("/cancel"):
                if state.legacy:
                    raw = b"405: Method Not Allowed"
                    return self.reply(405, raw=raw, content_type="text/plain")
                return self.reply(200, {"cancelled": state.cancel(path.split("/")[2])})
        return self.reply(404, raw=b"404: Not Found", content_type="text/plain")

    def _upload(self, raw):
        head = f"Content-Type: {self.headers.get('Content-Type')}\r\n\r\n".encode()
        message = BytesParser(policy=HTTP).parsebytes(head + raw)
        fields, image, name = {}, None, None
        for part in message.iter_parts():
            field = part.get_param("name", header="content-disposition")
            if field == "image":
                image, name = part.get_payload(decode=True), part.get_filename()
            else:
                fields[field] = part.get_content().strip()
        if image is None or not name:
            return self.reply(400, raw=b"", content_type="text/plain")
        self.standin.inputs[name] = image
        kind = fields.get("type", "input")
        body = {"name": name, "subfolder": fields.get("subfolder", ""), "type": kind}
        return self.reply(200, body)


def serve(host="127.0.0.1", port=0, **options):
    """Start the stand-in in a thread; return (server, state). ``server.shutdown()``
    stops it; its URL is ``http://host:server.server_port``."""
    state = StandIn(**options)
    handler = type("Handler", (_Handler,), {"standin": state})
    return loopback.start(handler, host, port), state


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8188)
    parser.add_argument("--seconds", type=float, default=3.0, help="time per prompt")
    parser.add_argument("--slots", type=int, default=1, help="prompts run at once")
    parser.add_argument("--legacy", action="store_true", help="no /api/jobs routes")
    args = parser.parse_args(argv)
    server, _ = serve(
        args.host, args.port, seconds=args.seconds, slots=args.slots, legacy=args.legacy
    )
    banner = f"ComfyUI stand-in on http://{args.host}:{server.server_port}"
    loopback.run_until_interrupted(server, banner)


if __name__ == "__main__":
    main()
