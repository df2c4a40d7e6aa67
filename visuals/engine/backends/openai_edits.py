"""The OpenAI-compatible image-edit backend: POST {base}/images/edits with the reference
images, the prompt and the model; the result is ``data[0].b64_json`` or ``data[0].url``.

Mapping onto the pipeline's outcomes:
- 200 with an image → ok (a ``url`` result is downloaded with the same timeout);
- 400 whose error.code is ``moderation_blocked`` or ``content_policy_violation``
  → blocked (a safety refusal: no image);
- 429 and 5xx (and a refused connection) → retried with exponential backoff, at most
  settings.LOREOS_OPENAI_MAX_RETRIES times, waiting at least what Retry-After asks;
  still failing after that → failed, with the last status;
- no answer within settings.LOREOS_OPENAI_TIMEOUT_SECONDS → failed, not retried (the
  provider may still be generating — and billing — the first attempt);
- any other error → failed with the provider's code and message.

Standard library HTTP only (urllib): no extra dependency in the worker.
"""

import base64
import io
import json
import socket
import time
import urllib.error
import urllib.request
import uuid

from django.conf import settings
from PIL import Image

from loreos.http import retry_after_seconds

from . import Generation, Job

SAFETY_CODES = {"moderation_blocked", "content_policy_violation"}
# Models that take input_fidelity (dall-e-2 and other edit models reject the field).
FIDELITY_MODELS = ("gpt-image-1",)
MAX_RETRY_DELAY_SECONDS = 60.0


class _Timeout(Exception):
    pass


class _Unreachable(Exception):
    pass


def _multipart(fields: list[tuple[str, str]], files: list[tuple[str, str, str, bytes]]):
    boundary = f"loreos-{uuid.uuid4().hex}"
    out = io.BytesIO()
    for name, value in fields:
        out.write(f"--{boundary}\r\n".encode())
        out.write(f'Content-Disposition: form-data; name="{name}"\r\n\r\n'.encode())
        out.write(value.encode())
        out.write(b"\r\n")
    for name, filename, content_type, data in files:
        out.write(f"--{boundary}\r\n".encode())
        out.write(
            f'Content-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
            f"Content-Type: {content_type}\r\n\r\n".encode()
        )
        out.write(data)
        out.write(b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    return out.getvalue(), f"multipart/form-data; boundary={boundary}"


def _error_of(payload: bytes) -> tuple[str, str]:
    try:
        error = json.loads(payload or b"{}").get("error") or {}
    except (ValueError, AttributeError):
        return "", payload[:200].decode(errors="replace")
    if not isinstance(error, dict):
        return "", str(error)[:200]
    return str(error.get("code") or error.get("type") or ""), str(
        error.get("message") or ""
    )


class OpenAIEditsBackend:
    name = "openai"

    def __init__(self, *, sleep=time.sleep):
        self.base_url = settings.LOREOS_OPENAI_BASE_URL.rstrip("/")
        self.api_key = settings.LOREOS_OPENAI_API_KEY
        self.model = settings.LOREOS_OPENAI_MODEL
        self.timeout = settings.LOREOS_OPENAI_TIMEOUT_SECONDS
        self.max_retries = settings.LOREOS_OPENAI_MAX_RETRIES
        self.backoff = getattr(settings, "LOREOS_OPENAI_BACKOFF_SECONDS", 1.0)
        self.sleep = sleep

    def size_for(self, job: Job) -> str:
        configured = getattr(settings, "LOREOS_OPENAI_IMAGE_SIZE", "")
        if configured:
            return configured
        return "1024x1536" if job.brief.get("image_kind") == "selfie" else "1024x1024"

    def input_fidelity(self, job: Job) -> str | None:
        """``input_fidelity`` for this job, or None to omit it: the configured value
        (``high`` by default: it is what keeps a face on gpt-image-1) for selfie kinds,
        and only for the gpt-image models, which accept it (others reject it)."""
        fidelity = getattr(settings, "LOREOS_OPENAI_INPUT_FIDELITY", "high")
        if not fidelity or job.brief.get("image_kind") != "selfie":
            return None
        if not self.model.startswith(FIDELITY_MODELS):
            return None
        return fidelity

    @staticmethod
    def ordered(job: Job) -> list:
        """The references in a deliberate order: the identity portrait first (the
        model weighs the first image most), the other identity images, the inventory,
        the parent image last."""
        first = [job.portrait] if job.portrait is not None else []
        identity = [r for r in job.identity if r is not job.portrait]
        return [
            *first,
            *identity,
            *job.inventory,
            *([job.parent] if job.parent else []),
        ]

    def _files(self, job: Job):
        files = []
        for index, reference in enumerate(self.ordered(job), start=1):
            try:
                with Image.open(io.BytesIO(reference.data)) as opened:
                    kind = opened.format or "PNG"
            except (OSError, ValueError, SyntaxError):
                continue  # an unreadable reference is not sent
            ext = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}.get(kind, "png")
            mime = Image.MIME.get(kind, "image/png")
            files.append(
                ("image[]", f"{reference.role}-{index}.{ext}", mime, reference.data)
            )
        return files

    def _request(self, method, url, body=None, headers=None):
        request = urllib.request.Request(
            url, data=body, method=method, headers=headers or {}
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return response.status, response.headers, response.read()
        except urllib.error.HTTPError as exc:
            try:
                return exc.code, exc.headers, exc.read()
            finally:
                exc.close()
        except TimeoutError as exc:
            raise _Timeout() from exc
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, TimeoutError | socket.timeout):
                raise _Timeout() from exc
            raise _Unreachable(str(exc.reason)) from exc
        except (ConnectionError, OSError) as exc:
            raise _Unreachable(str(exc)) from exc

    def generate(self, job: Job) -> Generation:
        size = self.size_for(job)
        details = {"model": self.model, "size": size, "retries": 0, "references": 0}
        if not self.api_key:
            return Generation(
                "failed",
                reason="openai backend: LOREOS_OPENAI_API_KEY is not set",
                details=details,
            )
        files = self._files(job)
        details["references"] = len(files)
        fields = [
            ("model", self.model),
            ("prompt", job.prompt),
            ("n", "1"),
            ("size", size),
        ]
        fidelity = self.input_fidelity(job)
        if fidelity:
            fields.append(("input_fidelity", fidelity))
            details["input_fidelity"] = fidelity
        body, content_type = _multipart(fields, files)
        headers = {
            "Authorization": f"Bearer {self.api_key}",
            "Content-Type": content_type,
            "Accept": "application/json",
        }
        url = f"{self.base_url}/images/edits"
        retries = 0
        while True:
            try:
                status, response_headers, payload = self._request(
                    "POST", url, body, headers
                )
            except _Timeout:
                details["retries"] = retries
                return Generation(
                    "failed",
                    reason=f"openai: no answer within {self.timeout:g} s (timed out)",
                    details=details,
                )
            except _Unreachable as exc:
                status, response_headers, payload = None, {}, str(exc).encode()
            details["retries"] = retries
            details["http_status"] = status
            if status == 200:
                return self._result(payload, details)
            code, message = (
                _error_of(payload) if status else ("unreachable", payload.decode())
            )
            if status == 400 and code in SAFETY_CODES:
                return Generation(
                    "blocked",
                    reason=f"openai refused the image for safety ({code}): "
                    f"{message}".strip(),
                    details=details,
                )
            transient = status is None or status == 429 or 500 <= status < 600
            if transient and retries < self.max_retries:
                delay = self.backoff * (2**retries)
                asked = retry_after_seconds(response_headers.get("Retry-After"))
                if asked is not None:
                    delay = max(delay, asked)
                self.sleep(min(delay, MAX_RETRY_DELAY_SECONDS))
                retries += 1
                continue
            what = f"HTTP {status}" if status else "unreachable"
            after = f" after {retries} retries" if transient else ""
            detail = f" ({code})" if code and status else ""
            return Generation(
                "failed",
                reason=f"openai: {what}{detail}{after}: {message}".strip().rstrip(":"),
                details=details,
            )

    def _result(self, payload: bytes, details: dict) -> Generation:
        try:
            item = (json.loads(payload).get("data") or [None])[0] or {}
        except (ValueError, AttributeError, IndexError):
            return Generation(
                "failed", reason="openai: the answer is not JSON", details=details
            )
        if item.get("b64_json"):
            try:
                return Generation(
                    "ok", base64.b64decode(item["b64_json"]), details=details
                )
            except ValueError:
                return Generation(
                    "failed", reason="openai: b64_json is not base64", details=details
                )
        if item.get("url"):
            details["result"] = "url"
            try:
                status, _, data = self._request("GET", item["url"])
            except _Timeout:
                return Generation(
                    "failed",
                    reason=f"openai: the result image did not download within "
                    f"{self.timeout:g} s",
                    details=details,
                )
            except _Unreachable as exc:
                return Generation(
                    "failed",
                    reason=f"openai: result image unreachable: {exc}",
                    details=details,
                )
            if status != 200:
                return Generation(
                    "failed",
                    reason=f"openai: downloading the result image gave HTTP {status}",
                    details=details,
                )
            return Generation("ok", data, details=details)
        return Generation(
            "failed", reason="openai: the answer holds no image", details=details
        )
