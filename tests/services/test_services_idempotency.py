"""50 concurrent retries with one Idempotency-Key on PostgreSQL: one generation, one
unit."""

import threading

import pytest
from django.db import connection, connections
from rest_framework.test import APIClient

from tests.helpers import IMAGES_ON
from visuals.models import ImageRequest, UsageRecord

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def test_fifty_concurrent_retries_make_one_generation_and_spend_one_unit(
    api, make_character
):
    from tests.helpers import open_session, upload_identity

    assert connection.vendor == "postgresql", "the services pass runs on PostgreSQL"
    make_character("mira", thresholds=IMAGES_ON)
    upload_identity(api)
    session_id = open_session(api)
    body = {"probe_type": "identity_selfie", "session_id": session_id}
    results, barrier = [], threading.Barrier(50)

    def retry():
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {api.raw_key}")
        barrier.wait()
        try:
            response = client.post(
                "/v1/characters/mira/image-probe",
                body,
                format="json",
                HTTP_IDEMPOTENCY_KEY="one-key",
            )
            results.append((response.status_code, response.json()))
        finally:
            connections.close_all()

    from loreos.celery import app

    app.conf.task_always_eager = (
        True  # no worker here: the task runs in the winning thread
    )
    threads = [threading.Thread(target=retry) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    statuses = sorted(status for status, _ in results)
    assert len(results) == 50
    assert set(statuses) <= {200, 409}, statuses
    ok = [body for status, body in results if status == 200]
    assert ok and all(b == ok[0] for b in ok)  # every 200 is the same response
    assert all(
        b["detail"]["code"] == "idempotency_in_flight" for s, b in results if s == 409
    )
    assert ImageRequest.objects.count() == 1
    assert UsageRecord.objects.count() == 1
