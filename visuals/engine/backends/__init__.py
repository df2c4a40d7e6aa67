"""Image backends behind one small interface, chosen by settings.LOREOS_IMAGE_BACKEND.

A backend takes a Job (the brief, its prompt and the reference images) and returns a
Generation: `ok` with image bytes, `blocked` (a safety refusal, with or without
bytes) or `failed` (no image, with the reason). A backend never touches the database
or storage.
"""

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


@dataclass
class Generation:
    status: str  # ok | blocked | failed
    data: bytes | None = None
    reason: str | None = None
    # What the backend wants recorded with the request (model, retries …).
    details: dict = field(default_factory=dict)


class Backend(Protocol):
    name: str

    def generate(self, job: Job) -> Generation: ...


class UnknownBackend(Exception):
    pass


def get_backend(name: str | None = None) -> Backend:
    name = name or settings.LOREOS_IMAGE_BACKEND
    if name == "compositor":
        from .compositor import CompositorBackend

        return CompositorBackend()
    if name == "openai":
        from .openai_edits import OpenAIEditsBackend

        return OpenAIEditsBackend()
    raise UnknownBackend(
        f"unknown image backend {name!r}: "
        "set LOREOS_IMAGE_BACKEND to compositor or openai"
    )
