"""Webhook delivery by a real Celery worker on Redis over PostgreSQL: a worker whose
pool process is SIGKILLed in the middle of a delivery still delivers the event (at least
once), with the same webhook-id, verified by the standardwebhooks package.
"""

import time

import pytest
from django.db import transaction
from standardwebhooks.webhooks import Webhook

from hooks import services
from hooks.models import WebhookDelivery, WebhookEndpoint
from tests.webhook_fixtures import Receiver

from .workers import Worker, worker_env

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def broker(postgres, redis_url, monkeypatch):
    """Send this test's tasks to Redis, from an empty queue."""
    from loreos.celery import app

    previous = app.conf.broker_url
    monkeypatch.setenv("CELERY_BROKER_URL", redis_url)
    app.conf.broker_url = redis_url
    app._after_fork()  # drop the pools bound to the previous URL
    app.control.purge()
    yield app
    monkeypatch.undo()
    app.conf.broker_url = previous
    app._after_fork()


@pytest.fixture
def receiver():
    # The first POST is held for 8 s (the worker is killed meanwhile); later ones answer
    # at once.
    server = Receiver(replies=[(200, {}, 8), (204, {})])
    yield server
    server.close()


def wait_for(predicate, *, timeout, worker, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}\n{worker.log_tail()}")


def test_a_worker_killed_mid_delivery_still_delivers_on_redis(
    api, broker, redis_url, receiver, settings, tmp_path
):
    settings.LOREOS_WEBHOOK_ALLOW_PRIVATE = True
    env = worker_env(
        broker_url=redis_url,
        extra={
            "LOREOS_WEBHOOK_ALLOW_PRIVATE": "true",
            # The lease of an attempt is this + 15 s: a lost one is taken over after it.
            "LOREOS_WEBHOOK_TIMEOUT_SECONDS": "5",
        },
    )
    worker = Worker(env=env, log_dir=tmp_path).start()
    try:
        worker.wait_ready(broker)
        created = api.post(
            "/v1/webhooks",
            {"url": receiver.url, "events": ["image.ready"]},
            format="json",
        )
        assert created.status_code == 201, created.content
        secret = created.json()["data"]["secret"]
        endpoint = WebhookEndpoint.objects.get(pk=created.json()["data"]["id"])

        with transaction.atomic():  # the task is sent when this commits
            event = services.event_record(
                account_id=endpoint.account_id,
                type="image.ready",
                data={"probe_id": "p-1"},
            )
        delivery = WebhookDelivery.objects.get(event=event)

        wait_for(
            lambda: len(receiver.received) == 1,
            timeout=60,
            worker=worker,
            what="the first delivery attempt",
        )
        worker.kill_pool_child()  # mid-delivery: the receiver has not answered

        wait_for(
            lambda: (
                WebhookDelivery.objects.get(pk=delivery.pk).status
                == WebhookDelivery.Status.SUCCEEDED
            ),
            timeout=120,
            worker=worker,
            what="the delivery after the kill",
        )
    finally:
        worker.stop()

    assert len(receiver.received) == 2
    for got in receiver.received:
        assert Webhook(secret).verify(got.body, got.headers)["data"] == {
            "probe_id": "p-1"
        }
    assert {r.headers["webhook-id"] for r in receiver.received} == {event.webhook_id}
    attempts = list(delivery.attempts.order_by("number"))
    assert [a.number for a in attempts] == [1, 2]
    assert "worker was lost" in attempts[0].error
    assert attempts[0].status_code is None and attempts[1].status_code == 204
