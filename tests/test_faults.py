"""Fault injection: storage, the image backend, the broker and the database fail.

"Whatever a network or a disk does, the service keeps working, loses nothing, spends
nothing twice." Each test makes one dependency fail the way it fails in production —
a disk that fills up mid-write, a backend that raises or times out, a broker port
nobody listens on, a database that drops the second INSERT of a transaction — and
checks what is left: the answer, the rows, the units and the files.

Decisions proved here (docs/api-decisions.md, docs/security.md):
- an upload whose bytes cannot be stored is a 503 ``storage_unavailable``: no row, no
  partial file;
- a request that ran and failed keeps its unit (the work was attempted); it ends
  ``failed`` with a ``failure_reason`` and an ``image.failed`` event, never stuck;
- a send the broker refuses leaves no request and spends no unit (503 for a probe or a
  runtime image; the batch's inline ``request_id: null`` entries for inventory);
- a database error mid-transaction leaves no partial rows, and an Idempotency-Key
  used for the failed attempt can be used again.
"""

import errno
from pathlib import Path

import pytest
from celery.exceptions import SoftTimeLimitExceeded
from django.core.files.storage import FileSystemStorage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DatabaseError, connection

from characters.models import (
    Character,
    CharacterVersion,
    IdempotencyRecord,
    Session,
    SessionEvent,
)
from tests.brokers import use_broker
from tests.helpers import (
    IMAGES_ON,
    assert_error,
    face_bytes,
    upload_identity,
)
from visuals.engine.backends.compositor import CompositorBackend
from visuals.models import ImageRequest, UsageRecord, VisualAsset

pytestmark = pytest.mark.django_db

CLOSED_BROKER = "redis://127.0.0.1:1/0"  # port 1: nothing listens, connect is refused


def closed_broker():
    """A real Redis transport on a closed port, with production's send-retry options."""
    from django.conf import settings

    return use_broker(CLOSED_BROKER, **settings.LOREOS_BROKER_SEND_RETRY)


def files_under(root) -> list[str]:
    root = Path(root)
    if not root.exists():
        return []
    return sorted(
        p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()
    )


def media_files(settings, prefix="") -> list[str]:
    return [f for f in files_under(settings.MEDIA_ROOT) if f.startswith(prefix)]


def disk_full_mid_write(monkeypatch, *, only=""):
    """Writes under `only` stop with ENOSPC after half the file landed on disk."""
    save = FileSystemStorage._save

    def partial_save(storage, name, content):
        if not name.startswith(only):
            return save(storage, name, content)
        path = Path(storage.path(name))
        path.parent.mkdir(parents=True, exist_ok=True)
        content.seek(0)
        data = content.read()
        path.write_bytes(data[: len(data) // 2])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(FileSystemStorage, "_save", partial_save)


def storage_down(monkeypatch, *, only=""):
    """Every write under `only` fails at once (an unreachable or read-only storage)."""
    save = FileSystemStorage._save

    def failing_save(storage, name, content):
        if name.startswith(only):
            raise OSError(errno.EROFS, "Read-only file system")
        return save(storage, name, content)

    monkeypatch.setattr(FileSystemStorage, "_save", failing_save)


def probe(api, ready, probe_type="identity_selfie", **headers):
    return api.post(
        f"/v1/characters/{ready['slug']}/image-probe",
        {"probe_type": probe_type, "session_id": ready["session_id"]},
        format="json",
        **headers,
    )


def a_big_png() -> bytes:
    """A photo-sized PNG (> 64 KiB, so a write takes several chunks)."""
    import io

    from PIL import Image

    image = Image.open(io.BytesIO(face_bytes())).convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    assert len(buffer.getvalue()) > 3 * 64 * 1024
    return buffer.getvalue()


# --- Storage fails during an upload ---------------------------------------------------


@pytest.mark.parametrize("fault", ["read-only", "disk-full-mid-write"])
def test_an_upload_the_storage_cannot_take_is_503_with_no_row_and_no_file(
    api, make_character, settings, monkeypatch, fault
):
    make_character("mira")
    if fault == "read-only":
        storage_down(monkeypatch, only="assets/")
    else:
        disk_full_mid_write(monkeypatch, only="assets/")
    response = api.post(
        "/v1/characters/mira/visual-assets",
        {
            "file": SimpleUploadedFile(
                "face.png", a_big_png(), content_type="image/png"
            ),
            "category": "identity",
            "asset_key": "identity-front",
            "label": "front-facing portrait",
        },
        format="multipart",
    )
    detail = assert_error(response, 503, "storage_unavailable")
    assert "nothing was saved" in detail["message"] and detail["fix"]
    assert VisualAsset.objects.count() == 0
    assert media_files(settings) == []  # the partial file was removed too
    monkeypatch.undo()
    # The service keeps working: the same upload succeeds once the storage is back.
    assert upload_identity(api)["asset_status"] == "active"


def test_the_upload_503_is_documented(anon):
    schema = anon.get("/v1/schema", HTTP_ACCEPT="application/json").json()
    responses = schema["paths"]["/v1/characters/{slug}/visual-assets"]["post"][
        "responses"
    ]
    assert "503" in responses


# --- Storage or backend fails during a generation -------------------------------------


def _finished(api, ready, probe_id):
    report = api.get(f"/v1/characters/{ready['slug']}/image-probe/{probe_id}").json()
    events = api.get(f"/v1/sessions/{ready['session_id']}/events?since=0").json()
    return report, events["data"]["events"]


def assert_failed_and_kept(api, ready, response, reason_words):
    """Failed with a reason, not stuck, unit kept, an image.failed event, no image."""
    assert response.status_code == 200, response.content
    probe_id = response.json()["data"]["probe_id"]
    report, events = _finished(api, ready, probe_id)
    assert report["state"] == "failed" and report["request_status"] == "failed"
    reason = report["failure_reason"] or ""
    assert all(word in reason for word in reason_words), reason
    assert report["servable"] is False and report["image_url"] is None
    assert report["promotion_eligible"] is False and report["completed_at"]
    (unit,) = UsageRecord.objects.filter(image_request_id=probe_id)
    assert unit.units == 1  # a request that ran and failed keeps its unit
    failed = [e for e in events if e["type"] == "image.failed"]
    assert [e["data"]["probe_id"] for e in failed] == [probe_id]
    assert not any(e["type"] == "image.ready" for e in events)
    assert not ImageRequest.objects.filter(
        request_status__in=["queued", "generating"]
    ).exists()
    return report


@pytest.mark.parametrize("fault", ["read-only", "disk-full-mid-write"])
def test_storage_failing_while_a_generation_stores_its_image(
    api, ready, settings, monkeypatch, fault
):
    before = media_files(settings, "generated/")
    if fault == "read-only":
        storage_down(monkeypatch, only="generated/")
    else:
        disk_full_mid_write(monkeypatch, only="generated/")
    report = assert_failed_and_kept(api, ready, probe(api, ready), ["OSError"])
    assert report["failure_reason"].startswith(
        "the generated image could not be stored"
    )
    assert media_files(settings, "generated/") == before  # no partial image left
    assert not VisualAsset.objects.filter(image_request_id=report["probe_id"]).exists()


def test_storage_failing_while_a_generation_reads_the_identity(api, ready, monkeypatch):
    def unreadable(storage, name, mode="rb"):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(FileSystemStorage, "_open", unreadable)
    assert_failed_and_kept(api, ready, probe(api, ready), ["identity", "storage"])


@pytest.mark.parametrize(
    "error, words",
    [
        (RuntimeError("model crashed"), ["compositor", "model crashed"]),
        (TimeoutError("read timed out after 120 s"), ["compositor", "timed out"]),
        (ConnectionResetError("peer reset"), ["compositor", "peer reset"]),
    ],
    ids=["raises", "times-out", "connection-reset"],
)
def test_a_backend_that_raises_or_times_out_fails_the_request(
    api, ready, monkeypatch, error, words
):
    def generate(self, job):
        raise error

    monkeypatch.setattr(CompositorBackend, "generate", generate)
    assert_failed_and_kept(api, ready, probe(api, ready), words)


def test_the_workers_time_limit_fails_the_request_with_that_reason(
    api, ready, monkeypatch
):
    """Celery's soft time limit raises inside the task, wherever the task is."""
    from visuals.engine import judge

    def too_slow(**kwargs):
        raise SoftTimeLimitExceeded()

    monkeypatch.setattr(judge, "judge", too_slow)
    assert_failed_and_kept(api, ready, probe(api, ready), ["time limit"])


def test_after_a_failed_generation_the_next_probe_works(api, ready, monkeypatch):
    monkeypatch.setattr(
        CompositorBackend,
        "generate",
        lambda self, job: (_ for _ in ()).throw(OSError()),
    )
    assert probe(api, ready).json()["data"]["probe_id"]
    monkeypatch.undo()
    response = probe(api, ready)
    report, _ = _finished(api, ready, response.json()["data"]["probe_id"])
    assert report["state"] == "ready"
    assert UsageRecord.objects.count() == 2


# --- The broker refuses a send (a real closed port) -----------------------------------


def test_a_refused_probe_is_503_with_no_row_and_no_unit(api, ready):
    with closed_broker():
        response = probe(api, ready)
    detail = assert_error(response, 503, "broker_unavailable")
    assert "nothing was queued or charged" in detail["message"]
    assert ImageRequest.objects.count() == 0 and UsageRecord.objects.count() == 0


def test_a_refused_runtime_image_is_503_with_no_row_and_no_unit(api, ready):
    with closed_broker():
        response = api.post(
            f"/v1/sessions/{ready['session_id']}/images", {}, format="json"
        )
    assert_error(response, 503, "broker_unavailable")
    assert ImageRequest.objects.count() == 0 and UsageRecord.objects.count() == 0


def test_a_refused_batch_reports_each_entry_inline_and_spends_nothing(api, ready):
    with closed_broker():
        response = api.post(
            "/v1/characters/mira/inventory/generate",
            {"categories": ["wardrobe", "prop"], "session_id": ready["session_id"]},
            format="json",
        )
    assert response.status_code == 200, response.content
    data = response.json()["data"]
    assert (data["requested"], data["queued"]) == (2, 0)
    for entry in data["batch"]:
        assert set(entry) == {"category", "request_id", "error"}
        assert entry["request_id"] is None and entry["error"]
    assert ImageRequest.objects.count() == 0 and UsageRecord.objects.count() == 0


def test_a_refused_probe_with_an_idempotency_key_can_be_retried_once_the_broker_is_back(
    api, ready
):
    key = {"HTTP_IDEMPOTENCY_KEY": "probe-after-outage"}
    with closed_broker():
        assert_error(probe(api, ready, **key), 503, "broker_unavailable")
    assert not IdempotencyRecord.objects.exists()
    first = probe(api, ready, **key)
    again = probe(api, ready, **key)
    assert first.status_code == again.status_code == 200
    assert again["Idempotent-Replayed"] == "true"
    assert first.json() == again.json()
    assert ImageRequest.objects.count() == 1 and UsageRecord.objects.count() == 1


def test_a_broken_filesystem_broker_is_a_refusal_too(api, ready, tmp_path):
    """The embedded broker's queue folder is a regular file: every send fails."""
    blocker = tmp_path / "queue"
    blocker.write_text("not a folder")
    with use_broker(
        "filesystem://", data_folder_in=str(blocker), data_folder_out=str(blocker)
    ):
        response = probe(api, ready)
    assert_error(response, 503, "broker_unavailable")
    assert ImageRequest.objects.count() == 0 and UsageRecord.objects.count() == 0


# --- The database fails mid-transaction ----------------------------------------------


class FailNthInsert:
    """An execute wrapper: the n-th INSERT into `table` raises as a lost connection."""

    def __init__(self, table: str, n: int = 2):
        self.table, self.n, self.seen = table, n, 0

    def __call__(self, execute, sql, params, many, context):
        if sql.lstrip().upper().startswith("INSERT") and f'"{self.table}"' in sql:
            self.seen += 1
            if self.seen == self.n:
                raise DatabaseError("server closed the connection unexpectedly")
        return execute(sql, params, many, context)


def assert_500_envelope(response):
    """A clear error: the envelope, the request id to report, no traceback."""
    detail = assert_error(response, 500, "server_error")
    assert "X-Request-ID" in detail["fix"] and response["X-Request-ID"]
    assert (
        b"Traceback" not in response.content
        and b"DatabaseError" not in response.content
    )


@pytest.mark.django_db(transaction=True)
def test_a_batch_whose_request_insert_fails_leaves_no_request_and_no_unit(api, ready):
    key = {"HTTP_IDEMPOTENCY_KEY": "batch-1"}
    body = {
        "categories": ["wardrobe", "prop", "place"],
        "session_id": ready["session_id"],
    }
    wrapper = FailNthInsert("visuals_imagerequest", n=1)  # the batch's one bulk INSERT
    with connection.execute_wrapper(wrapper):
        response = api.post(
            "/v1/characters/mira/inventory/generate", body, format="json", **key
        )
    assert wrapper.seen == 1
    assert_500_envelope(response)
    assert ImageRequest.objects.count() == 0
    assert UsageRecord.objects.count() == 0
    assert not IdempotencyRecord.objects.exists()  # the key is free for the retry
    # The retry with the same key runs once, and a replay spends nothing more.
    retry = api.post(
        "/v1/characters/mira/inventory/generate", body, format="json", **key
    )
    replay = api.post(
        "/v1/characters/mira/inventory/generate", body, format="json", **key
    )
    assert retry.status_code == replay.status_code == 200
    assert retry.json()["data"]["queued"] == 3
    assert ImageRequest.objects.count() == 3 and UsageRecord.objects.count() == 3


@pytest.mark.django_db(transaction=True)
def test_a_unit_insert_that_fails_takes_its_requests_with_it(api, ready):
    with connection.execute_wrapper(FailNthInsert("characters_usagerecord", n=1)):
        response = probe(api, ready)
    assert_500_envelope(response)
    assert ImageRequest.objects.count() == 0 and UsageRecord.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_a_character_whose_version_insert_fails_is_not_created(api):
    body = {"slug": "mira", "name": "Mira", "profile": {}}
    with connection.execute_wrapper(FailNthInsert("characters_characterversion", n=1)):
        response = api.post("/v1/characters", body, format="json")
    assert_500_envelope(response)
    assert not Character.objects.exists() and not CharacterVersion.objects.exists()
    assert api.post("/v1/characters", body, format="json").status_code == 201


@pytest.mark.django_db(transaction=True)
def test_a_session_whose_first_event_insert_fails_is_not_opened(api, make_character):
    make_character("mira")
    with connection.execute_wrapper(FailNthInsert("characters_sessionevent", n=1)):
        response = api.post("/v1/characters/mira/sessions")
    assert_500_envelope(response)
    assert not Session.objects.exists() and not SessionEvent.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_an_asset_whose_row_insert_fails_leaves_no_file(api, make_character, settings):
    make_character("mira", thresholds=IMAGES_ON)
    with connection.execute_wrapper(FailNthInsert("visuals_visualasset", n=1)):
        response = api.post(
            "/v1/characters/mira/visual-assets",
            {
                "file": SimpleUploadedFile(
                    "face.jpg", face_bytes(), content_type="image/jpeg"
                ),
                "category": "identity",
                "asset_key": "identity-front",
                "label": "front-facing portrait",
            },
            format="multipart",
        )
    assert_500_envelope(response)
    assert not VisualAsset.objects.exists()
    assert media_files(settings, "assets/") == []


@pytest.mark.django_db(transaction=True)
def test_a_generation_whose_settle_fails_ends_failed_not_stuck(api, ready, settings):
    """The worker's own write fails (the produced asset's INSERT): failed, unit kept."""
    with connection.execute_wrapper(FailNthInsert("visuals_visualasset", n=1)):
        response = api.post(
            "/v1/characters/mira/inventory/generate",
            {"categories": ["prop"], "session_id": ready["session_id"]},
            format="json",
        )
    assert response.status_code == 200, response.content
    (row,) = ImageRequest.objects.all()
    assert row.request_status == "failed" and row.failure_reason
    assert UsageRecord.objects.filter(image_request=row).count() == 1
    assert not VisualAsset.objects.filter(image_request=row).exists()
    assert media_files(settings, "generated/") == []
