"""The optional vision judge: any OpenAI-compatible chat-completions endpoint (OpenAI,
or a self-hosted vLLM or Ollama serving an open vision model) asked, once per
generated image, whether a list of checks holds.

The protocol is fixed (docs/judge.md shows a whole exchange):

- ``POST {LOREOS_VISION_JUDGE_URL}/chat/completions`` with ``Authorization: Bearer
  {LOREOS_VISION_JUDGE_API_KEY}`` (sent only when a key is set) and
  ``model = LOREOS_VISION_JUDGE_MODEL``;
- one user message whose content is a text part, holding the instructions and one
  fenced ```json block with the checks ``[{"id": "c1", "kind": "keep" | "avoid" |
  "forbidden" | "ask", "text": "…"}]``, then the images as ``image_url`` parts with
  data URLs: the generated image first, then the identity portrait, then the parent
  (the session's previous image) if there is one;
- ``response_format`` is a ``json_schema`` demanding ``{"results": [{"id": "c1",
  "holds": true | false, "confidence": 0..1, "note": "…"}]}``; ``holds`` means the
  check is satisfied (a forbidden trait absent, a constant present, the ask fulfilled).

An answer that does not parse, lacks an id, or does not come back in time leaves those
checks unmade, with the reason; it never makes them pass. 429 and 5xx answers are
retried (LOREOS_VISION_JUDGE_RETRIES times) with exponential backoff, honouring a
``Retry-After`` header (capped at LOREOS_VISION_JUDGE_MAX_WAIT seconds); a retry that
would end past twice LOREOS_VISION_JUDGE_TIMEOUT is not made.

HTTP goes through the one provider client (visuals.engine.backends.http): a judge
call is one request and its retries, with this judge's own policy (its timeout,
retries, first backoff, longest wait, and a budget of twice the timeout).
"""

import base64
import io
import json
import logging
import re
from dataclasses import dataclass

import httpx
from django.conf import settings
from PIL import Image

from loreos.http import retry_after_seconds

from .backends import http as web

logger = logging.getLogger(__name__)

KINDS = ("keep", "avoid", "forbidden", "ask")
# Images are sent at most this size on the longer side, as JPEG (payload, not detail,
# is the limit: a face at 1024 px is plenty for a yes/no question).
MAX_SIDE = 1024

INSTRUCTIONS = """You are the visual consistency judge of a character image pipeline.
The first image is a newly generated picture of the character. The second image is the
character's identity portrait (the reference for who the character is). A third image,
when present, is the previous picture of the same conversation.

Decide, for each check in the JSON list below, whether it HOLDS for the FIRST image:
- kind "keep": the described constant is present in the first image;
- kind "avoid": the described change has NOT happened compared with the identity
  portrait (the check holds when the first image respects it);
- kind "forbidden": the described trait is ABSENT from the first image;
- kind "ask": the first image fulfils the described request.

Answer with one result per check id: holds (true/false), your confidence (0 to 1) and
a short note on what you saw. Judge only what is visible."""

RESPONSE_SCHEMA = {
    "type": "object",
    "properties": {
        "results": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "id": {"type": "string"},
                    "holds": {"type": "boolean"},
                    "confidence": {"type": "number", "minimum": 0, "maximum": 1},
                    "note": {"type": "string"},
                },
                "required": ["id", "holds", "confidence", "note"],
                "additionalProperties": False,
            },
        }
    },
    "required": ["results"],
    "additionalProperties": False,
}


@dataclass(frozen=True)
class Ask:
    """One check put to the vision judge."""

    id: str
    kind: str  # keep | avoid | forbidden | ask
    text: str


@dataclass(frozen=True)
class Answer:
    holds: bool
    confidence: float
    note: str


@dataclass
class Outcome:
    """The judge's answers by check id; `problem` says why the others are missing."""

    answers: dict[str, Answer]
    problem: str | None = None


class VisionJudge:
    """A configured OpenAI-compatible endpoint (see the module docstring)."""

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str = "",
        *,
        timeout: float = 60.0,
        retries: int = 3,
        backoff: float = 1.0,
        max_wait: float = 30.0,
    ):
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model = model
        self.api_key = api_key
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.max_wait = max_wait

    @property
    def name(self) -> str:
        return f"the vision judge ({self.model})"

    def payload(self, images: list[Image.Image], asks: list[Ask]) -> dict:
        checks = [{"id": a.id, "kind": a.kind, "text": a.text} for a in asks]
        text = (
            f"{INSTRUCTIONS}\n\nChecks:\n```json\n{json.dumps(checks, indent=1)}\n```"
        )
        content = [{"type": "text", "text": text}]
        content += [
            {"type": "image_url", "image_url": {"url": data_url(image)}}
            for image in images
        ]
        return {
            "model": self.model,
            "temperature": 0,
            "messages": [{"role": "user", "content": content}],
            "response_format": {
                "type": "json_schema",
                "json_schema": {
                    "name": "loreos_judge_results",
                    "strict": True,
                    "schema": RESPONSE_SCHEMA,
                },
            },
        }

    def judge(self, images: list[Image.Image], asks: list[Ask]) -> Outcome:
        """Ask every check about `images` (generated, portrait, parent) in one call."""
        if not asks:
            return Outcome({})
        body = self.payload(images, asks)
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        try:
            response = self._post(body, headers)
        except web.TimedOut:
            return Outcome({}, f"{self.name} did not answer within {self.timeout:g} s")
        except web.Exhausted as exc:
            if exc.response is None:
                return Outcome({}, f"{self.name} could not be reached ({exc.problem})")
            response = exc.response
        except httpx.HTTPError as exc:
            return Outcome({}, f"{self.name} could not be reached ({exc})")
        if response.status_code != 200:
            return Outcome({}, f"{self.name} answered HTTP {response.status_code}")
        return parse(response, asks, self.name)

    def _post(self, body: dict, headers: dict) -> httpx.Response:
        # The whole exchange, retries included, stays within twice the timeout, so a
        # busy judge cannot hold a generation past the worker's time limit.
        using = web.Policy(
            timeout=self.timeout,
            retries=self.retries,
            backoff=self.backoff,
            max_wait=self.max_wait,
            budget=2 * self.timeout,
        )
        with web.client("", headers, using=using) as http:
            return web.call(http, "POST", self.url, using=using, json=body)


def retry_after(response: httpx.Response) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    return retry_after_seconds(response.headers.get("retry-after"))


_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL)


def parse(response: httpx.Response, asks: list[Ask], name: str) -> Outcome:
    """The answers in a chat-completions response; anything unusable is a problem."""
    try:
        message = response.json()["choices"][0]["message"]
    except (ValueError, KeyError, IndexError, TypeError):
        return Outcome({}, f"{name} sent a response that is not a chat completion")
    if message.get("refusal"):
        return Outcome({}, f"{name} refused: {str(message['refusal'])[:200]}")
    content = message.get("content")
    if not isinstance(content, str):
        return Outcome({}, f"{name} sent no text content")
    fenced = _FENCE.search(content)
    try:
        data = json.loads(fenced.group(1) if fenced else content)
        results = data["results"]
        if not isinstance(results, list):
            raise TypeError("results is not a list")
    except (ValueError, KeyError, TypeError):
        return Outcome({}, f"{name} sent an answer that does not parse as the schema")
    wanted = {a.id for a in asks}
    answers: dict[str, Answer] = {}
    for item in results:
        if not isinstance(item, dict) or item.get("id") not in wanted:
            continue
        holds, confidence = item.get("holds"), item.get("confidence")
        if not isinstance(holds, bool) or isinstance(confidence, bool):
            continue
        if not isinstance(confidence, int | float) or not 0 <= confidence <= 1:
            continue
        answers[item["id"]] = Answer(holds, float(confidence), str(item.get("note")))
    missing = [a.id for a in asks if a.id not in answers]
    problem = (
        f"{name} gave no usable answer for {', '.join(missing)}" if missing else None
    )
    return Outcome(answers, problem)


def data_url(image: Image.Image) -> str:
    """The image as a JPEG data URL, at most MAX_SIDE px on its longer side."""
    picture = image.convert("RGB")
    if max(picture.size) > MAX_SIDE:
        picture.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.BICUBIC)
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=90)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode()


def configured() -> VisionJudge | None:
    """The vision judge from settings, or None when LOREOS_VISION_JUDGE_URL is unset."""
    url = getattr(settings, "LOREOS_VISION_JUDGE_URL", "")
    if not url:
        return None
    return VisionJudge(
        url,
        settings.LOREOS_VISION_JUDGE_MODEL,
        settings.LOREOS_VISION_JUDGE_API_KEY,
        timeout=settings.LOREOS_VISION_JUDGE_TIMEOUT,
        retries=settings.LOREOS_VISION_JUDGE_RETRIES,
        backoff=settings.LOREOS_VISION_JUDGE_BACKOFF,
        max_wait=settings.LOREOS_VISION_JUDGE_MAX_WAIT,
    )
