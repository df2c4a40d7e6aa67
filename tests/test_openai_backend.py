"""The OpenAI-compatible image-edit backend against a local server on 127.0.0.1 that
speaks the API's request and response shapes (multipart in, JSON out), as openai-python
types them: ``ImageEditParams`` (``image`` as repeated ``image[]`` files, ``prompt``,
``model``, ``n``, ``size``, ``input_fidelity``) in, ``ImagesResponse`` (``created``,
``data: [{"b64_json" | "url"}]``) or the API's error body (``{"error": {"code",
"message", "type"}}``) out."""

import base64
import email.parser
import email.policy
import io
import json
import threading
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from PIL import Image

from characters.models import SessionEvent
from loreos.http import retry_after_seconds
from tests.factories import (
    make_asset,
    make_request,
    ready_session,
    stored_bytes,
)
from tests.helpers import FACES, file_metadata, image_bytes, pixels
from visuals import engine
from visuals.engine.backends import Job
from visuals.engine.backends.openai_edits import OpenAIEditsBackend
from visuals.engine.brief import build
from visuals.engine.references import choose
from visuals.reports import report

pytestmark = pytest.mark.django_db

RESULT = (FACES / "obama-2.jpg").read_bytes()  # the same person as the identity


def _png_of(data: bytes) -> bytes:
    buffer = io.BytesIO()
    Image.open(io.BytesIO(data)).convert("RGB").resize((512, 980)).save(buffer, "PNG")
    return buffer.getvalue()


class FakeImagesAPI:
    """Scripted answers for POST /v1/images/edits; serves GET /files/<name>."""

    def __init__(self):
        self.script: list[tuple] = []  # (status, body dict | bytes, headers, delay)
        self.received: list[dict] = []
        self.files: dict[str, bytes] = {}
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                data = api.files.get(self.path.removeprefix("/files/"))
                self.send_response(200 if data else 404)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(data or b"")))
                self.end_headers()
                self.wfile.write(data or b"")

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                api.received.append(
                    {
                        "path": self.path,
                        "authorization": self.headers.get("Authorization"),
                        "content_type": self.headers.get("Content-Type"),
                        **parse_multipart(self.headers["Content-Type"], body),
                    }
                )
                status, answer, headers, delay = (
                    api.script.pop(0) if api.script else (500, {"error": {}}, {}, 0)
                )
                if delay:
                    time.sleep(delay)
                payload = (
                    answer if isinstance(answer, bytes) else json.dumps(answer).encode()
                )
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    for key, value in headers.items():
                        self.send_header(key, value)
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def answer(self, status, body, headers=None, delay=0.0):
        self.script.append((status, body, headers or {}, delay))


def parse_multipart(content_type: str, body: bytes) -> dict:
    """The fields and files of a multipart/form-data body, as a server reads it."""
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body
    )
    fields, files = {}, []
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        filename = part.get_filename()
        data = part.get_payload(decode=True)
        if filename is not None:
            files.append(
                {
                    "field": name,
                    "filename": filename,
                    "type": part.get_content_type(),
                    "data": data,
                }
            )
        else:
            fields[name] = data.decode()
    return {"fields": fields, "files": files}


@pytest.fixture
def api_server():
    server = FakeImagesAPI()
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


@pytest.fixture
def openai(settings, api_server):
    settings.LOREOS_IMAGE_BACKEND = "openai"
    settings.LOREOS_OPENAI_BASE_URL = f"{api_server.base}/v1"
    settings.LOREOS_OPENAI_API_KEY = "sk-test-123"
    settings.LOREOS_OPENAI_MODEL = "gpt-image-1"
    settings.LOREOS_OPENAI_TIMEOUT_SECONDS = 5.0
    settings.LOREOS_OPENAI_MAX_RETRIES = 2
    settings.LOREOS_OPENAI_BACKOFF_SECONDS = 0.01
    return api_server


@pytest.fixture
def session():
    return ready_session()


def run(session, **kind):
    request = make_request(session, **kind)
    engine.run(request.pk)
    request.refresh_from_db()
    return request


def test_b64_result_is_stored_and_judged(openai, session):
    result = _png_of(RESULT)
    openai.answer(
        200, {"created": 1, "data": [{"b64_json": base64.b64encode(result).decode()}]}
    )
    request = run(session, probe_type="identity_selfie")
    assert request.request_status == "succeeded", request.failure_reason
    assert request.backend == "openai" and request.backend_seconds > 0
    assert stored_bytes(request.image) == result and request.image.name.endswith(".png")
    assert request.consistency["status"] == "passed"  # obama-2 against obama-1
    assert request.brief["generation"]["retries"] == 0
    assert report(request)["servable"] is True

    (sent,) = openai.received
    assert sent["path"] == "/v1/images/edits"
    assert sent["authorization"] == "Bearer sk-test-123"
    assert sent["content_type"].startswith("multipart/form-data; boundary=")
    fields = sent["fields"]
    assert fields["model"] == "gpt-image-1" and fields["n"] == "1"
    assert fields["size"] == "1024x1536"
    assert fields["prompt"] == request.brief["prompt"]
    assert (
        "late-20s woman" in fields["prompt"]
        and "Avoid: no drastic hair color changes" in fields["prompt"]
    )
    (identity_file,) = sent["files"]
    identity = session.character.visual_assets.get(category="identity")
    assert identity_file["field"] == "image[]" and identity_file["type"] == "image/jpeg"
    assert identity_file["data"] == stored_bytes(identity.file)


def test_url_result_is_downloaded_from_the_answer(openai, session):
    openai.files["result.jpg"] = RESULT
    openai.answer(200, {"data": [{"url": f"{openai.base}/files/result.jpg"}]})
    request = run(
        session, category="wardrobe", style_brief="rainy day", forbidden=["umbrella"]
    )
    assert request.request_status == "succeeded", request.failure_reason
    # The provider's JPEG as it was, its metadata (EXIF, XMP, IPTC) dropped losslessly.
    stored = stored_bytes(request.image)
    assert pixels(stored) == pixels(RESULT) and request.image.name.endswith(".jpg")
    assert file_metadata(RESULT) and file_metadata(stored) == {}
    assert request.produced_asset.format == "JPEG"
    assert request.brief["generation"]["result"] == "url"
    prompt = openai.received[0]["fields"]["prompt"]
    assert "Style: rainy day." in prompt and "Never show: umbrella." in prompt


def test_every_reference_is_sent_as_an_image_file(openai, session):
    make_asset(
        session.character, category="accessory", data=image_bytes(color=(10, 10, 200))
    )
    openai.answer(
        200, {"data": [{"b64_json": base64.b64encode(_png_of(RESULT)).decode()}]}
    )
    first = run(session, probe_type="identity_selfie")
    openai.answer(
        200, {"data": [{"b64_json": base64.b64encode(_png_of(RESULT)).decode()}]}
    )
    follow = run(session, probe_type="accessory_carry_forward")
    assert follow.parent_id == first.pk
    files = openai.received[1]["files"]
    assert [f["filename"].split("-")[0] for f in files] == [
        "identity",
        "inventory",
        "parent",
    ]
    assert files[2]["data"] == stored_bytes(first.image)
    assert len(follow.assets_sent) == 3


def test_429_then_success_is_retried_and_counted(openai, session):
    openai.answer(
        429,
        {"error": {"code": "rate_limit_exceeded", "message": "slow down"}},
        {"Retry-After": "0"},
    )
    openai.answer(
        200, {"data": [{"b64_json": base64.b64encode(_png_of(RESULT)).decode()}]}
    )
    request = run(session, probe_type="identity_selfie")
    assert request.request_status == "succeeded"
    assert len(openai.received) == 2
    assert request.brief["generation"]["retries"] == 1


def test_500_until_the_retries_are_exhausted_fails(openai, session):
    for _ in range(3):
        openai.answer(
            500, {"error": {"code": "server_error", "message": "upstream broke"}}
        )
    request = run(session, probe_type="identity_selfie")
    assert len(openai.received) == 3  # one try and LOREOS_OPENAI_MAX_RETRIES retries
    assert request.request_status == "failed" and request.servable is False
    assert (
        request.failure_reason
        == "openai: HTTP 500 (server_error) after 2 retries: upstream broke"
    )
    assert request.consistency is None
    (event,) = SessionEvent.objects.filter(session=session, type="image.failed")
    assert event.data["failure_reason"] == request.failure_reason


@pytest.mark.parametrize("code", ["moderation_blocked", "content_policy_violation"])
def test_a_safety_refusal_is_blocked_without_an_image(openai, session, code):
    openai.answer(
        400,
        {
            "error": {
                "code": code,
                "message": "Your request was rejected.",
                "type": "image_generation_user_error",
            }
        },
    )
    request = run(session, probe_type="forbidden_visual_check")
    assert request.request_status == "blocked" and request.servable is False
    assert (
        request.failure_reason
        == f"openai refused the image for safety ({code}): Your request was rejected."
    )
    body = report(request)
    assert body["state"] == "blocked" and body["image_url"] is None
    assert len(openai.received) == 1  # never retried


def test_a_timeout_fails_with_a_reason_and_is_not_retried(openai, session, settings):
    settings.LOREOS_OPENAI_TIMEOUT_SECONDS = 0.3
    openai.answer(200, {"data": []}, delay=1.5)
    request = run(session, probe_type="identity_selfie")
    assert request.request_status == "failed"
    assert request.failure_reason == "openai: no answer within 0.3 s (timed out)"
    assert len(openai.received) == 1


def test_another_client_error_fails_with_the_providers_message(openai, session):
    openai.answer(
        400, {"error": {"code": "invalid_size", "message": "size must be one of …"}}
    )
    request = run(session, probe_type="identity_selfie")
    assert request.request_status == "failed"
    assert (
        request.failure_reason
        == "openai: HTTP 400 (invalid_size): size must be one of …"
    )
    assert len(openai.received) == 1


def test_an_answer_without_an_image_fails(openai, session):
    openai.answer(200, {"data": [{}]})
    request = run(session, probe_type="identity_selfie")
    assert request.failure_reason == "openai: the answer holds no image"


def test_an_undecodable_result_fails_without_storing(openai, session):
    openai.answer(
        200, {"data": [{"b64_json": base64.b64encode(b"not a picture").decode()}]}
    )
    request = run(session, probe_type="identity_selfie")
    assert request.request_status == "failed" and not request.image
    assert request.failure_reason.startswith("the backend returned an unreadable image")


def test_a_missing_key_fails_before_any_call(openai, session, settings):
    settings.LOREOS_OPENAI_API_KEY = ""
    request = run(session, probe_type="identity_selfie")
    assert request.failure_reason == "openai backend: LOREOS_OPENAI_API_KEY is not set"
    assert openai.received == []


# --- The backend alone: Retry-After and backoff ---------------------------------------


def _job(session, probe_type="identity_selfie"):
    request = make_request(session, probe_type=probe_type)
    selection = choose(request)
    return Job(
        build(request, selection),
        selection.identity,
        selection.inventory,
        selection.parent,
    )


def test_retry_after_is_honoured_and_backoff_grows(openai, session):
    waits = []
    backend = OpenAIEditsBackend(sleep=waits.append)
    openai.answer(503, {"error": {"message": "busy"}}, {"Retry-After": "2"})
    openai.answer(429, {"error": {"message": "busy"}})
    openai.answer(
        200, {"data": [{"b64_json": base64.b64encode(_png_of(RESULT)).decode()}]}
    )
    generation = backend.generate(_job(session))
    assert generation.status == "ok" and generation.details["retries"] == 2
    assert waits == [2.0, 0.02]  # Retry-After over the first backoff, then 0.01 × 2


def test_a_refused_connection_is_retried_then_reported(settings, session):
    settings.LOREOS_IMAGE_BACKEND = "openai"
    settings.LOREOS_OPENAI_BASE_URL = "http://127.0.0.1:9/v1"  # discard port: refused
    settings.LOREOS_OPENAI_API_KEY = "sk-test"
    settings.LOREOS_OPENAI_MAX_RETRIES = 1
    waits = []
    generation = OpenAIEditsBackend(sleep=waits.append).generate(_job(session))
    assert generation.status == "failed" and len(waits) == 1
    assert generation.reason.startswith("openai: unreachable after 1 retries")


def test_retry_after_accepts_seconds_and_http_dates():
    now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert retry_after_seconds("7", now) == 7.0
    assert (
        retry_after_seconds(
            format_datetime(now + timedelta(seconds=30), usegmt=True), now
        )
        == 30.0
    )
    assert (
        retry_after_seconds(
            format_datetime(now - timedelta(seconds=30), usegmt=True), now
        )
        == 0.0
    )
    assert (
        retry_after_seconds("soon", now) is None and retry_after_seconds(None) is None
    )
