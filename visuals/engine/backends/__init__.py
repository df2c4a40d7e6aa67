"""Image backends behind one small interface, chosen by settings (a named generator of
settings.LOREOS_GENERATORS, or settings.LOREOS_IMAGE_BACKEND by default).

A backend takes a Job (the brief, its prompt and the reference images) and ends in a
Generation: `ok` with image bytes, `blocked` (a safety refusal, with or without
bytes), `failed` (no image, with the reason) or `canceled` (stopped on request). A
backend never touches the database or storage. There are two kinds:

- synchronous (compositor, openai): ``generate(job) -> Generation`` within the task;
- remote jobs (``remote = True``: comfyui, fal, replicate):
  ``submit(job, request_id) -> handle | Generation`` queues the job at the provider
  (the request id is the idempotency key sent along) and returns a JSON-able handle,
  or a Generation when the provider refused it outright;
  ``check(handle) -> Pending | Generation`` looks once, without waiting;
  ``cancel(handle) -> bool`` asks the provider to stop it (True: it accepted).
  A transient provider error (connection refused, 5xx, 429) raises Unavailable: the
  engine checks again later (visuals.engine.remote).
"""

import uuid
from dataclasses import dataclass, field
from typing import Protocol

from django.conf import settings

from ...faces import FaceBox
from ..references import Reference


@dataclass
class Job:
    brief: dict
    identity: list[Reference]
    inventory: list[Reference]
    parent: Reference | None = None
    # The primary identity reference and its detected face (None: no face found).
    portrait: Reference | None = None
    portrait_face: FaceBox | None = None
    # The generation's seed (seed_of the request id): a redelivered request draws
    # the same picture, two requests of one batch draw two.
    seed: int = 0

    @property
    def prompt(self) -> str:
        return self.brief["prompt"]

    @property
    def subject(self) -> str:
        return self.brief["subject"]

    @property
    def references(self) -> list[Reference]:
        return [
            *self.identity,
            *self.inventory,
            *([self.parent] if self.parent else []),
        ]

    @property
    def negative_prompt(self) -> str:
        """What must not be drawn: the anchors' avoid list, then the forbidden terms."""
        anchors = self.brief.get("anchors") or {}
        return ", ".join(
            [*anchors.get("avoid_visual_changes", []), *self.brief["forbidden"]]
        )

    def sent(self, backend: str) -> dict:
        """What `backend` is given, as the request records it (brief["sent"]): the
        prompt and negative prompt, the seed and each reference image by its sha256.
        No backend writes any of it into the image it returns."""
        return {
            "backend": backend,
            "prompt": self.prompt,
            "negative_prompt": self.negative_prompt,
            "seed": self.seed,
            "references": [
                {"role": r.role, "asset_id": r.asset_id, "sha256": r.sha256}
                for r in self.references
            ],
        }


def seed_of(request_id) -> int:
    """The one seed rule for every backend: the image request's UUID, reduced to
    32 bits (what ComfyUI's samplers and the hosted queues accept)."""
    return uuid.UUID(str(request_id)).int % (2**32)


@dataclass
class Generation:
    status: str  # ok | blocked | failed
    data: bytes | None = None
    reason: str | None = None
    # What the backend wants recorded with the request (model, retries …).
    details: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Pending:
    """A remote job that has not finished: where it is (queued, running …), and how
    long the provider asked us to wait before looking again (None: our own pace)."""

    where: str = "running"
    retry_after: float | None = None


class Unavailable(Exception):
    """The provider could not be reached or answered 5xx/429: look again later."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class Backend(Protocol):
    name: str

    def generate(self, job: Job) -> Generation: ...


class RemoteBackend(Protocol):
    name: str
    remote: bool

    def submit(self, job: Job, request_id: str) -> dict | Generation: ...

    def check(self, handle: dict) -> Pending | Generation: ...

    def cancel(self, handle: dict) -> bool: ...


class UnknownBackend(Exception):
    pass


BACKENDS = ("compositor", "openai", "comfyui", "fal", "replicate")


def generator_spec(generator: str | None) -> tuple[str, dict]:
    """(backend name, options) of a named generator; "" or None: the default one.

    settings.LOREOS_GENERATORS maps names to ``{"backend": …, <options>}`` (options
    override the backend's own settings, e.g. ``{"backend": "comfyui", "url": …,
    "workflow": …}``). The name ``default`` is LOREOS_IMAGE_BACKEND unless configured.
    """
    generators = settings.LOREOS_GENERATORS
    if generator and generator in generators:
        spec = dict(generators[generator])
        return str(spec.pop("backend", "")), spec
    if generator and generator != "default":
        raise UnknownBackend(
            f"unknown generator {generator!r}: configured generators are "
            f"{', '.join(generator_names())}"
        )
    if "default" in generators:
        return generator_spec("default")
    return settings.LOREOS_IMAGE_BACKEND, {}


def generator_names() -> list[str]:
    return sorted({"default", *settings.LOREOS_GENERATORS})


def generators_check() -> None:
    """Refuse to start (ImproperlyConfigured) when a configured generator cannot work:
    an unknown backend, or a ComfyUI workflow template that is unreadable or names no
    identity image. Called at start-up (VisualsConfig.ready)."""
    from django.core.exceptions import ImproperlyConfigured

    for generator in generator_names():
        name, options = generator_spec(generator)
        if name not in BACKENDS and generator != "default":
            raise ImproperlyConfigured(
                f"LOREOS_GENERATORS[{generator!r}]: unknown backend {name!r} "
                f"(one of {', '.join(BACKENDS)})"
            )
        if name == "comfyui":
            from .workflows import template_load

            template_load(options.get("workflow", settings.LOREOS_COMFYUI_WORKFLOW))


def get_backend(name: str | None = None, options: dict | None = None):
    """The backend called `name` (default: LOREOS_IMAGE_BACKEND), with `options`."""
    name = name or settings.LOREOS_IMAGE_BACKEND
    options = options or {}
    if name == "compositor":
        from .compositor import CompositorBackend

        return CompositorBackend()
    if name == "openai":
        from .openai_edits import OpenAIEditsBackend

        return OpenAIEditsBackend()
    if name == "comfyui":
        from .comfyui import ComfyUIBackend

        return ComfyUIBackend(**options)
    if name == "fal":
        from .fal import FalBackend

        return FalBackend(**options)
    if name == "replicate":
        from .replicate import ReplicateBackend

        return ReplicateBackend(**options)
    raise UnknownBackend(
        f"unknown image backend {name!r}: set LOREOS_IMAGE_BACKEND to one of "
        + ", ".join(BACKENDS)
    )


def is_remote(backend) -> bool:
    return bool(getattr(backend, "remote", False))
