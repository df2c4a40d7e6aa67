"""Every backend through the same cases, each against its loopback stand-in:
success, safety block, validation error, execution error with the backend's own
message, timeout, lost job, cancel queued, cancel in flight, and a redelivered task
that submits once.

A case a backend cannot have is skipped with the reason (the compositor makes its
picture in-process: nothing to validate, no provider message, no network to time out;
ComfyUI on your own GPU has no content moderation)."""

import base64
import io
from datetime import timedelta

import pytest
from django.utils import timezone
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from loreos.devtools import comfyui_standin, queue_standins
from tests.factories import make_request, ready_session, stored_bytes
from tests.helpers import FACES, assert_no_brief_in_file
from tests.standins import drive
from tests.test_openai_backend import FakeImagesAPI
from visuals import cancellation, engine, metering
from visuals.engine.backends import seed_of
from visuals.engine.backends.compositor import CompositorBackend
from visuals.engine.backends.openai_edits import OpenAIEditsBackend
from visuals.models import ImageRequest, UsageRecord

pytestmark = pytest.mark.django_db


def _png() -> bytes:
    """A provider's PNG, with the kind of text chunk image tools write."""
    out = io.BytesIO()
    image = Image.open(FACES / "obama-2.jpg").convert("RGB").resize((512, 768))
    info = PngInfo()
    info.add_text("parameters", "a prompt the provider echoed into its file")
    image.save(out, "PNG", pnginfo=info)
    return out.getvalue()


class Compositor:
    name, remote = "compositor", False
    skips = {
        "validation": "the compositor validates nothing: it has no request schema",
        "execution": "the compositor runs in-process: there is no provider message",
        "timeout": "the compositor makes no network call that could time out",
    }

    def start(self, settings, monkeypatch):
        settings.LOREOS_IMAGE_BACKEND = "compositor"
        self.calls = 0
        original = CompositorBackend.generate

        def counted(backend, job):
            self.calls += 1
            return original(backend, job)

        monkeypatch.setattr(CompositorBackend, "generate", counted)

    def stop(self):
        pass

    def script(self, case, session):
        if case == "blocked":  # the documented collision rule
            return {"forbidden": ["round wire glasses"]}
        return {}

    def submissions(self):
        return self.calls

    def sync_class(self):
        return CompositorBackend


class OpenAI:
    name, remote = "openai", False
    skips = {}
    messages = {
        "blocked": "Your request was rejected",
        "validation": "size must be one of",
        "execution": "Image generation failed on the server side",
        "timeout": "no answer within",
    }

    def start(self, settings, monkeypatch):
        self.api = FakeImagesAPI()
        self.api.thread.start()
        settings.LOREOS_IMAGE_BACKEND = "openai"
        settings.LOREOS_OPENAI_BASE_URL = f"{self.api.base}/v1"
        settings.LOREOS_OPENAI_API_KEY = "sk-test"
        settings.LOREOS_OPENAI_TIMEOUT_SECONDS = 5.0
        settings.LOREOS_OPENAI_MAX_RETRIES = 1
        settings.LOREOS_OPENAI_BACKOFF_SECONDS = 0.01
        self.settings = settings

    def stop(self):
        self.api.server.shutdown()
        self.api.server.server_close()

    def script(self, case, session):
        ok = {"data": [{"b64_json": base64.b64encode(_png()).decode()}]}
        if case == "blocked":
            self.api.answer(
                400,
                {
                    "error": {
                        "code": "moderation_blocked",
                        "message": self.messages[case],
                    }
                },
            )
        elif case == "validation":
            self.api.answer(
                400,
                {"error": {"code": "invalid_size", "message": self.messages[case]}},
            )
        elif case == "execution":
            self.api.answer(
                400,
                {
                    "error": {
                        "code": "image_generation_failed",
                        "message": self.messages[case],
                    }
                },
            )
        elif case == "timeout":
            self.settings.LOREOS_OPENAI_TIMEOUT_SECONDS = 0.3
            self.api.answer(200, ok, delay=1.5)
        else:
            self.api.answer(200, ok)
        return {}

    def submissions(self):
        return len(self.api.received)

    def sync_class(self):
        return OpenAIEditsBackend


class ComfyUI:
    name, remote = "comfyui", True
    skips = {"blocked": "ComfyUI on your own GPU has no content moderation to refuse"}
    messages = {
        "validation": "Value not in list",
        "execution": "No face detected",
        "timeout": "did not finish within",
        "lost": "no longer knows prompt",
    }
    scripts = {"validation": "missing_model", "execution": "no_face"}

    def start(self, settings, monkeypatch):
        self.server, self.state = comfyui_standin.serve(seconds=0.4)
        settings.LOREOS_IMAGE_BACKEND = "comfyui"
        settings.LOREOS_COMFYUI_URL = f"http://127.0.0.1:{self.server.server_port}"

    def stop(self):
        self.server.shutdown()

    def script(self, case, session):
        if case in self.scripts:
            self.state.script(self.scripts[case])
        return {}

    def slow(self):
        self.state.seconds = 30

    def lose(self):
        self.state.restart()

    def submissions(self):
        return len(self.state.submitted)


class Hosted:
    remote = True
    skips = {}
    scripts = {"blocked": "nsfw", "validation": "invalid", "execution": "error"}

    def start(self, settings, monkeypatch):
        self.server, self.state = queue_standins.serve(self.name, seconds=0.4)
        settings.LOREOS_IMAGE_BACKEND = self.name
        self.configure(settings, self.state.base, queue_standins.TOKEN)

    def stop(self):
        self.server.shutdown()

    def script(self, case, session):
        if case in self.scripts:
            self.state.script(self.scripts[case])
        return {}

    def slow(self):
        self.state.seconds = 30

    def lose(self):
        self.state.restart()

    def submissions(self):
        return len(self.state.submitted)


class Fal(Hosted):
    name = "fal"
    messages = {
        "blocked": "has_nsfw_concepts",
        "validation": "field required",
        "execution": "No face detected in the reference image",
        "timeout": "did not finish within",
        "lost": "no longer knows request",
    }

    def configure(self, settings, base, key):
        settings.LOREOS_FAL_QUEUE_URL = base
        settings.LOREOS_FAL_KEY = key


class Replicate(Hosted):
    name = "replicate"
    messages = {
        "blocked": "NSFW content detected",
        "validation": "Input validation failed",
        "execution": "No face detected in the input image",
        "timeout": "did not finish within",
        "lost": "no longer knows prediction",
    }

    def configure(self, settings, base, key):
        settings.LOREOS_REPLICATE_BASE_URL = base
        settings.LOREOS_REPLICATE_API_TOKEN = key


HARNESSES = [Compositor, OpenAI, ComfyUI, Fal, Replicate]


@pytest.fixture(params=HARNESSES, ids=lambda h: h.name)
def backend(request, settings, monkeypatch):
    harness = request.param()
    harness.start(settings, monkeypatch)
    settings.LOREOS_HTTP_RETRIES = 1
    settings.LOREOS_HTTP_BACKOFF_SECONDS = 0.01
    yield harness
    harness.stop()


@pytest.fixture
def session():
    return ready_session()


def skip_unless(backend, case):
    if case in backend.skips:
        pytest.skip(backend.skips[case])


def metered(session, **extra) -> ImageRequest:
    request = make_request(session, probe_type="identity_selfie", **extra)
    metering.reserve(character=session.character, image_requests=[request])
    return request


def finish(backend, request_id) -> ImageRequest:
    status = engine.run(request_id)
    if backend.remote and status == "generating":
        return drive(request_id)
    return ImageRequest.objects.get(pk=request_id)


def test_success(backend, session):
    backend.script("success", session)
    done = finish(backend, metered(session).pk)
    assert done.request_status == "succeeded", done.failure_reason
    assert done.servable and done.image.name and done.backend == backend.name


def test_the_stored_image_carries_no_prompt_and_the_sent_record_does(backend, session):
    """What the backend was sent is recorded on the request (brief["sent"]); the
    stored file carries nothing but the picture, whatever the provider wrote into
    its own file (ComfyUI's SaveImage writes the graph, prompt included)."""
    backend.script("success", session)
    request = metered(session, style_brief="misty harbour at dawn", forbidden=["hats"])
    done = finish(backend, request.pk)
    assert done.request_status == "succeeded", done.failure_reason
    sent = done.brief["sent"]
    assert sent["backend"] == backend.name and sent["seed"] == seed_of(done.pk)
    assert "Style: misty harbour at dawn." in sent["prompt"]
    assert sent["negative_prompt"].endswith("hats")
    assert_no_brief_in_file(
        stored_bytes(done.image), ["misty harbour", "hats", "heavy makeup", "prompt"]
    )


def test_safety_block(backend, session):
    skip_unless(backend, "blocked")
    extra = backend.script("blocked", session)
    done = finish(backend, metered(session, **extra).pk)
    assert done.request_status == "blocked"
    if hasattr(backend, "messages"):
        assert backend.messages["blocked"] in done.failure_reason


@pytest.mark.parametrize("case", ["validation", "execution"])
def test_provider_errors_carry_the_providers_message(backend, session, case):
    skip_unless(backend, case)
    backend.script(case, session)
    done = finish(backend, metered(session).pk)
    assert done.request_status == "failed"
    assert backend.messages[case] in done.failure_reason
    assert UsageRecord.objects.filter(image_request=done).count() == 1


def test_timeout(backend, session, settings):
    skip_unless(backend, "timeout")
    backend.script("timeout", session)
    if backend.remote:
        backend.slow()
        settings.LOREOS_REMOTE_DEADLINE_SECONDS = 0
    done = finish(backend, metered(session).pk)
    assert done.request_status == "failed"
    assert backend.messages["timeout"] in done.failure_reason


def test_lost_job(backend, session, settings):
    request = metered(session)
    if backend.remote:
        backend.slow()
        assert engine.run(request.pk) == "generating"
        backend.lose()
        done = drive(request.pk)
        assert backend.messages["lost"] in done.failure_reason
    else:  # a synchronous job is lost with its worker: the sweep ends it
        ImageRequest.objects.filter(pk=request.pk).update(
            request_status="generating",
            attempts=1,
            started_at=timezone.now() - timedelta(hours=1),
        )
        assert engine.sweep_stale() == 1
        done = ImageRequest.objects.get(pk=request.pk)
        assert "sweep" in done.failure_reason
    assert done.request_status == "failed"


def test_cancel_queued(backend, session):
    request = metered(session)
    outcome = cancellation.image_request_cancel(request)
    assert outcome == {"outcome": "canceled", "refunded": True}
    assert engine.run(request.pk) is None
    done = ImageRequest.objects.get(pk=request.pk)
    assert done.request_status == "canceled" and done.state == "failed"
    assert backend.submissions() == 0


def test_cancel_in_flight(backend, session, monkeypatch):
    backend.script("success", session)
    request = metered(session)
    if backend.remote:
        backend.slow()
        assert engine.run(request.pk) == "generating"
        row = ImageRequest.objects.get(pk=request.pk)
        assert cancellation.image_request_cancel(row)["outcome"] == "cancel_requested"
        done = drive(request.pk)
    else:
        cls = backend.sync_class()
        original = cls.generate

        def generate(self, job):
            row = ImageRequest.objects.get(pk=request.pk)
            cancellation.image_request_cancel(row)
            return original(self, job)

        monkeypatch.setattr(cls, "generate", generate)
        engine.run(request.pk)
        done = ImageRequest.objects.get(pk=request.pk)
    assert done.request_status == "canceled", done.failure_reason
    assert not done.servable
    assert UsageRecord.objects.filter(image_request=done).count() == 1  # kept


def test_a_redelivered_task_submits_once(backend, session):
    backend.script("success", session)
    backend.script("success", session)
    request = metered(session)
    first = engine.run(request.pk)
    # The message comes back (the worker died before acknowledging it).
    again = engine.run(request.pk)
    if backend.remote:
        assert first == "generating" and again == "generating"
        done = drive(request.pk)
    else:
        assert again is None
        done = ImageRequest.objects.get(pk=request.pk)
    assert done.request_status == "succeeded", done.failure_reason
    assert backend.submissions() == 1
