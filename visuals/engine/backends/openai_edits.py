"""The OpenAI-compatible image-edit backend: POST {base}/images/edits with the reference
images, the prompt and the model; the result is ``data[0].b64_json`` or ``data[0].url``.

Mapping onto the pipeline's outcomes:
- 200 with an image → ok (a ``url`` result is downloaded through the same client);
- 400 whose error.code is ``moderation_blocked`` or ``content_policy_violation``
  → blocked (a safety refusal: no image);
- 429 and 5xx (and a refused connection) → retried with exponential backoff, at most
  settings.LOREOS_OPENAI_MAX_RETRIES times, waiting at least what Retry-After asks;
  still failing after that → failed, with the last status;
- no answer within settings.LOREOS_OPENAI_TIMEOUT_SECONDS → failed, not retried (the
  provider may still be generating — and billing — the first attempt);
- any other error → failed with the provider's code and message.

HTTP goes through the one provider client (backends.http, httpx): multipart built by
httpx, timeout and retries from backends.http.policy("openai"). Not the official
``openai`` SDK: its own retry loop also retries a timed-out edit (a second billed
image) and adds jitter, and every other backend's retries are configured in
backends.http; the request and answer shapes are the SDK's (``images.edit``).
"""

import base64
import io
import json
import time

from django.conf import settings
from PIL import Image

from . import Generation, Job
from . import http as web

SAFETY_CODES = {"moderation_blocked", "content_policy_violation"}
# Models that take input_fidelity: gpt-image-1, gpt-image-1.5 and later; dall-e-2 and
# gpt-image-1-mini reject the field (openai-python's ImageEditParams.input_fidelity).
FIDELITY_MODELS = ("gpt-image-",)
NO_FIDELITY_MODELS = ("gpt-image-1-mini",)


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
        self.policy = web.policy("openai", sleep=sleep)

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
        if not self.model.startswith(FIDELITY_MODELS) or self.model.startswith(
            NO_FIDELITY_MODELS
        ):
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

    def _files(self, job: Job) -> list[tuple[str, tuple[str, bytes, str]]]:
        files = []
        for index, reference in enumerate(self.ordered(job), start=1):
            try:
                with Image.open(io.BytesIO(reference.data)) as opened:
                    kind = opened.format or "PNG"
            except (OSError, ValueError, SyntaxError):
                continue  # an unreadable reference is not sent
            ext = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}.get(kind, "png")
            mime = Image.MIME.get(kind, "image/png")
            name = f"{reference.role}-{index}.{ext}"
            files.append(("image[]", (name, reference.data, mime)))
        return files

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
        fields = {"model": self.model, "prompt": job.prompt, "n": "1", "size": size}
        fidelity = self.input_fidelity(job)
        if fidelity:
            fields["input_fidelity"] = fidelity
            details["input_fidelity"] = fidelity
        headers = {
            "Authorization": f"Bearer {self.api_key}",
            "Accept": "application/json",
        }
        with web.client(self.base_url, headers, using=self.policy) as http:
            try:
                answer = web.send(
                    http,
                    "POST",
                    "/images/edits",
                    using=self.policy,
                    data=fields,
                    files=files,
                )
            except web.TimedOut as exc:
                details["retries"] = exc.retries
                return Generation(
                    "failed",
                    reason=f"openai: no answer within {self.policy.timeout:g} s "
                    "(timed out)",
                    details=details,
                )
            except web.Exhausted as exc:
                details["retries"] = exc.retries
                return self._exhausted(exc, details)
            details["retries"] = answer.retries
            response = answer.response
            details["http_status"] = response.status_code
            if response.status_code == 200:
                return self._result(response.content, details)
        code, message = _error_of(response.content)
        if response.status_code == 400 and code in SAFETY_CODES:
            return Generation(
                "blocked",
                reason=f"openai refused the image for safety ({code}): "
                f"{message}".strip(),
                details=details,
            )
        detail = f" ({code})" if code else ""
        reason = f"openai: HTTP {response.status_code}{detail}: {message}"
        return Generation("failed", reason=reason.strip().rstrip(":"), details=details)

    @staticmethod
    def _exhausted(exc: web.Exhausted, details: dict) -> Generation:
        """429/5xx (or no connection) after every retry: the last status and message."""
        after = f" after {exc.retries} retries"
        if exc.response is None:
            details["http_status"] = None
            reason = f"openai: unreachable{after}: {exc.problem}"
        else:
            details["http_status"] = exc.response.status_code
            code, message = _error_of(exc.response.content)
            detail = f" ({code})" if code else ""
            reason = (
                f"openai: HTTP {exc.response.status_code}{detail}{after}: {message}"
            )
        return Generation("failed", reason=reason.strip().rstrip(":"), details=details)

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
            return self._download(item["url"], details)
        return Generation(
            "failed", reason="openai: the answer holds no image", details=details
        )

    def _download(self, url: str, details: dict) -> Generation:
        """The result image at `url`, fetched without the API key (a signed link,
        often on another host)."""
        try:
            with web.client("", using=self.policy) as http:
                response = web.call(http, "GET", url, using=self.policy)
        except web.TimedOut:
            return Generation(
                "failed",
                reason=f"openai: the result image did not download within "
                f"{self.policy.timeout:g} s",
                details=details,
            )
        except web.Exhausted as exc:
            response = exc.response
            if response is None:
                return Generation(
                    "failed",
                    reason=f"openai: result image unreachable: {exc.problem}",
                    details=details,
                )
        if response.status_code != 200:
            return Generation(
                "failed",
                reason=f"openai: downloading the result image gave HTTP "
                f"{response.status_code}",
                details=details,
            )
        return Generation("ok", response.content, details=details)
