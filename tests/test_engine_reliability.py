"""Worker reliability: the claim makes redelivery harmless, a lost worker's request is
taken over once it is redelivered, fencing keeps one result, nothing stays generating
forever (the sweep), and unexpected errors end the request instead of stranding it."""

from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone

from characters.models import SessionEvent
from tests.factories import make_request, ready_session
from visuals import engine, tasks
from visuals.engine import lifecycle
from visuals.engine.backends.compositor import CompositorBackend
from visuals.models import ImageRequest

pytestmark = pytest.mark.django_db


@pytest.fixture
def session():
    return ready_session()


def events(session, type_=None):
    rows = SessionEvent.objects.filter(session=session, type__startswith="image.")
    return list(rows.filter(type=type_) if type_ else rows)


def stored_files(session):
    folder = f"generated/{session.character_id}"
    return default_storage.listdir(folder)[1] if default_storage.exists(folder) else []


def test_the_task_is_late_acked_requeued_on_worker_loss_and_time_limited(settings):
    task = tasks.generate_image
    assert task.acks_late is True and task.reject_on_worker_lost is True
    assert task.soft_time_limit == settings.CELERY_TASK_SOFT_TIME_LIMIT
    assert task.time_limit == settings.CELERY_TASK_TIME_LIMIT
    assert task.soft_time_limit < task.time_limit
    assert tasks.sweep_stale_requests.name in {
        entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()
    }


def test_the_task_runs_the_engine(session):
    request = make_request(session, probe_type="identity_selfie")
    tasks.generate_image.apply_async(args=[str(request.pk)])  # eager in tests
    request.refresh_from_db()
    assert request.request_status == "succeeded"


def test_a_redelivered_task_neither_generates_nor_announces_twice(session):
    request = make_request(session, probe_type="identity_selfie")
    tasks.generate_image.apply_async(args=[str(request.pk)])
    request.refresh_from_db()
    first = (
        request.request_status,
        request.image.name,
        request.completed_at,
        request.attempts,
    )
    assert engine.run(request.pk) is None  # the redelivery finds it finished
    tasks.generate_image.apply_async(args=[str(request.pk)])
    request.refresh_from_db()
    assert (
        request.request_status,
        request.image.name,
        request.completed_at,
        request.attempts,
    ) == first
    assert len(events(session)) == 1
    assert stored_files(session) == [request.image.name.rsplit("/", 1)[1]]


@pytest.mark.parametrize("status", ["failed", "blocked"])
def test_a_finished_failure_is_left_alone(session, status):
    request = make_request(session, probe_type="identity_selfie", status=status)
    assert engine.run(request.pk) is None
    request.refresh_from_db()
    assert request.request_status == status and request.attempts == 0
    assert events(session) == []


def test_a_deleted_request_is_nothing_to_do():
    assert engine.run("00000000-0000-0000-0000-000000000000") is None


def test_a_redelivery_after_a_lost_worker_takes_over(session):
    # The first worker claimed the request and died before settling.
    request = make_request(
        session,
        probe_type="identity_selfie",
        status="generating",
        attempts=1,
        started_at=timezone.now() - timedelta(seconds=30),
    )
    assert engine.run(request.pk) == "succeeded"
    request.refresh_from_db()
    assert request.attempts == 2 and request.request_status == "succeeded"
    assert len(events(session, "image.ready")) == 1


def test_the_older_attempt_cannot_settle_after_a_take_over(session, monkeypatch):
    """Attempt 1 is slow, not dead: attempt 2 takes over and finishes first; attempt 1's
    result is discarded (no second event, no second file, no overwrite)."""
    request = make_request(session, probe_type="identity_selfie")
    real_generate = CompositorBackend.generate
    calls = []

    def slow_first_attempt(self, job):
        calls.append(1)
        if len(calls) == 1:
            assert engine.run(request.pk) == "succeeded"  # the redelivered twin
        return real_generate(self, job)

    monkeypatch.setattr(CompositorBackend, "generate", slow_first_attempt)
    assert engine.run(request.pk) is None  # attempt 1 lost its claim
    request.refresh_from_db()
    assert request.request_status == "succeeded" and request.attempts == 2
    assert len(events(session)) == 1
    assert stored_files(session) == [request.image.name.rsplit("/", 1)[1]]
    assert request.produced_asset.file.name == request.image.name


def test_a_request_that_keeps_losing_its_worker_ends_failed(session):
    request = make_request(
        session,
        probe_type="identity_selfie",
        status="generating",
        attempts=lifecycle.MAX_ATTEMPTS,
        started_at=timezone.now(),
    )
    assert engine.run(request.pk) is None
    request.refresh_from_db()
    assert request.request_status == "failed" and request.completed_at
    assert f"lost {lifecycle.MAX_ATTEMPTS} times" in request.failure_reason
    (event,) = events(session)
    assert (
        event.type == "image.failed"
        and event.data["failure_reason"] == request.failure_reason
    )


def test_two_claims_of_one_queued_request_only_one_wins(session):
    request = make_request(session, probe_type="identity_selfie")
    first = lifecycle.claim(request.pk)
    assert first is not None and first.attempt == 1 and not first.took_over
    # A concurrent worker that read the row as queued before the first claim lands:
    stale = ImageRequest.objects.filter(
        pk=request.pk, request_status="queued", attempts=0
    )
    assert stale.update(request_status="generating", attempts=1) == 0


# --- The sweep ------------------------------------------------------------------------


def test_the_sweep_ends_stale_generating_requests(session, settings):
    settings.LOREOS_STALE_GENERATION_SECONDS = 600
    old = make_request(
        session,
        probe_type="identity_selfie",
        status="generating",
        attempts=1,
        started_at=timezone.now() - timedelta(seconds=601),
    )
    fresh = make_request(
        session,
        category="prop",
        status="generating",
        attempts=1,
        started_at=timezone.now() - timedelta(seconds=30),
    )
    queued = make_request(session, category="place")
    assert tasks.sweep_stale_requests.apply().get() == 1
    old.refresh_from_db(), fresh.refresh_from_db(), queued.refresh_from_db()
    assert old.request_status == "failed" and old.completed_at and not old.servable
    assert "did not finish within 600 s" in old.failure_reason
    assert fresh.request_status == "generating" and queued.request_status == "queued"
    (event,) = events(session)
    assert event.type == "image.failed"
    assert event.data["image_request_id"] == str(old.pk)
    assert (
        event.data["state"] == "failed"
        and event.data["failure_reason"] == old.failure_reason
    )
    # Sweeping again finds nothing more.
    assert engine.sweep_stale() == 0


def test_a_worker_that_wakes_up_after_the_sweep_cannot_settle(
    session, settings, monkeypatch
):
    request = make_request(session, probe_type="identity_selfie")
    real_generate = CompositorBackend.generate

    def stuck_then_swept(self, job):
        ImageRequest.objects.filter(pk=request.pk).update(
            started_at=timezone.now()
            - timedelta(seconds=settings.LOREOS_STALE_GENERATION_SECONDS + 1)
        )
        assert engine.sweep_stale() == 1
        return real_generate(self, job)

    monkeypatch.setattr(CompositorBackend, "generate", stuck_then_swept)
    assert engine.run(request.pk) is None
    request.refresh_from_db()
    assert request.request_status == "failed" and not request.image
    assert [e.type for e in events(session)] == ["image.failed"]
    assert stored_files(session) == []


# --- Errors end the request -----------------------------------------------------------


def test_an_unknown_backend_fails_the_request_with_the_fix(session, settings):
    settings.LOREOS_IMAGE_BACKEND = "dream-machine"
    request = make_request(session, probe_type="identity_selfie")
    assert engine.run(request.pk) == "failed"
    request.refresh_from_db()
    assert "unknown image backend 'dream-machine'" in request.failure_reason
    assert len(events(session, "image.failed")) == 1


def test_a_backend_that_raises_fails_the_request(session, monkeypatch):
    def explode(self, job):
        raise RuntimeError("GPU on fire")

    monkeypatch.setattr(CompositorBackend, "generate", explode)
    request = make_request(session, probe_type="identity_selfie")
    assert engine.run(request.pk) == "failed"
    request.refresh_from_db()
    assert request.failure_reason == "compositor backend error: GPU on fire"
    assert request.backend_seconds is not None


def test_an_unexpected_error_after_storing_fails_the_request_and_removes_the_file(
    session, monkeypatch
):
    from visuals.engine import judge

    def broken(**kwargs):
        raise ValueError("bug")

    monkeypatch.setattr(judge, "judge", broken)
    request = make_request(session, probe_type="identity_selfie")
    assert engine.run(request.pk) == "failed"
    request.refresh_from_db()
    assert request.failure_reason.startswith(
        "internal error while generating (ValueError)"
    )
    assert request.servable is False and not request.image
    assert stored_files(session) == []
    assert [e.type for e in events(session)] == ["image.failed"]


def test_a_soft_time_limit_is_reported_as_such(session, monkeypatch):
    from celery.exceptions import SoftTimeLimitExceeded

    from visuals.engine import references

    def too_slow(image_request):
        raise SoftTimeLimitExceeded()

    monkeypatch.setattr(references, "choose", too_slow)
    request = make_request(session, probe_type="identity_selfie")
    assert engine.run(request.pk) == "failed"
    request.refresh_from_db()
    assert request.failure_reason == "generation exceeded the worker's time limit"
    assert [e.type for e in events(session)] == ["image.failed"]


def test_the_pipeline_costs_a_bounded_number_of_queries(
    session, django_assert_max_num_queries
):
    from tests.factories import make_asset
    from tests.helpers import image_bytes

    for n in range(6):
        make_asset(
            session.character,
            category="wardrobe",
            data=image_bytes(color=(n * 40, 90, 90)),
        )
    request = make_request(session, probe_type="wardrobe_variation")
    with django_assert_max_num_queries(20):
        engine.run(request.pk)
