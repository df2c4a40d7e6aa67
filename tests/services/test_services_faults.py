"""Faults of the real services (PostgreSQL, Redis, S3), caused for real.

- PostgreSQL: the server terminates this test's backend between two INSERTs of one
  transaction (``pg_terminate_backend``, what a failover or an admin kill does): the
  request fails with the envelope, no partial row survives, and the next request works.
- Redis: a broker that accepts the connection but refuses the write (an ACL user
  without write permission): a probe is 503 ``broker_unavailable`` with no row and no
  unit, a batch reports each entry inline and spends nothing.
- S3: the bucket is gone. An upload is 503 ``storage_unavailable`` with no row; a
  generation that cannot read or write its images ends ``failed`` with its reason and
  keeps its unit (a request that ran and failed keeps its unit).
"""

import uuid
from urllib.parse import urlsplit

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, connections

from characters.models import Session, SessionEvent
from tests.brokers import use_broker
from tests.helpers import (
    IMAGES_ON,
    assert_error,
    face_bytes,
    open_session,
    upload_identity,
)
from visuals.models import ImageRequest, UsageRecord, VisualAsset

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def mira(api, make_character):
    make_character("mira", thresholds=IMAGES_ON)
    upload_identity(api)
    return {"slug": "mira", "session_id": open_session(api)}


# --- PostgreSQL: the backend is terminated mid-transaction ----------------------------


class TerminateBeforeNthInsert:
    """Before the n-th INSERT into `table`, the server terminates this connection."""

    def __init__(self, table: str, n: int):
        self.table, self.n, self.seen, self.killed = table, n, 0, False

    def __call__(self, execute, sql, params, many, context):
        if sql.lstrip().upper().startswith("INSERT") and f'"{self.table}"' in sql:
            self.seen += 1
            if self.seen == self.n:
                pid = context["connection"].connection.info.backend_pid
                killer = connections.create_connection("default")
                try:
                    with killer.cursor() as cursor:
                        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
                        self.killed = cursor.fetchone()[0]
                finally:
                    killer.close()
        return execute(sql, params, many, context)


def test_a_terminated_backend_mid_batch_leaves_no_partial_rows(api, mira, postgres):
    body = {
        "categories": ["wardrobe", "prop", "place"],
        "session_id": mira["session_id"],
    }
    # The batch's requests are one INSERT; its units are the next: the server goes
    # away between the two, inside the transaction.
    kill = TerminateBeforeNthInsert("characters_usagerecord", n=1)
    with connection.execute_wrapper(kill):
        response = api.post(
            "/v1/characters/mira/inventory/generate", body, format="json"
        )
    assert kill.killed is True
    assert_error(response, 500, "server_error")
    connection.close()  # what Django does at the end of every request
    assert ImageRequest.objects.count() == 0
    assert UsageRecord.objects.count() == 0
    # The service keeps working on a new connection.
    again = api.post("/v1/characters/mira/inventory/generate", body, format="json")
    assert again.status_code == 200, again.content
    assert again.json()["data"]["queued"] == 3
    assert UsageRecord.objects.count() == 3


def test_a_terminated_backend_while_opening_a_session_leaves_nothing(
    api, mira, postgres
):
    sessions, events = Session.objects.count(), SessionEvent.objects.count()
    kill = TerminateBeforeNthInsert("characters_sessionevent", n=1)
    with connection.execute_wrapper(kill):
        response = api.post("/v1/characters/mira/sessions")
    assert kill.killed is True
    assert_error(response, 500, "server_error")
    connection.close()
    assert (Session.objects.count(), SessionEvent.objects.count()) == (sessions, events)


# --- Redis: connected, but the write is refused ---------------------------------------


@pytest.fixture
def read_only_redis(redis_url):
    """A broker URL for an ACL user who may connect and read, never write."""
    import redis

    parts = urlsplit(redis_url)
    admin = redis.Redis(host=parts.hostname, port=parts.port or 6379)
    user, password = f"loreos-ro-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    admin.acl_setuser(
        user,
        enabled=True,
        passwords=[f"+{password}"],
        keys=["*"],
        channels=["*"],
        commands=["+@all", "-@write"],
    )
    try:
        host = f"{parts.hostname}:{parts.port or 6379}"
        yield f"redis://{user}:{password}@{host}{parts.path}"
    finally:
        admin.acl_deluser(user)
        admin.close()


def test_a_broker_that_refuses_the_write_queues_and_spends_nothing(
    api, mira, read_only_redis
):
    from django.conf import settings

    with use_broker(read_only_redis, **settings.LOREOS_BROKER_SEND_RETRY):
        probe = api.post(
            "/v1/characters/mira/image-probe",
            {"probe_type": "identity_selfie", "session_id": mira["session_id"]},
            format="json",
        )
        batch = api.post(
            "/v1/characters/mira/inventory/generate",
            {"categories": ["wardrobe", "prop"], "session_id": mira["session_id"]},
            format="json",
        )
    assert_error(probe, 503, "broker_unavailable")
    assert batch.status_code == 200, batch.content
    data = batch.json()["data"]
    assert (data["requested"], data["queued"]) == (2, 0)
    assert all(e["request_id"] is None and e["error"] for e in data["batch"])
    assert ImageRequest.objects.count() == 0 and UsageRecord.objects.count() == 0


# --- S3: the bucket is gone ----------------------------------------------------------


def s3_settings(settings, endpoint, bucket_name):
    from .test_services_s3 import KEY_ID, REGION, SECRET

    settings.LOREOS_STORAGE = "s3"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": bucket_name,
                "region_name": REGION,
                "endpoint_url": endpoint,
                "access_key": KEY_ID,
                "secret_key": SECRET,
                "querystring_auth": True,
                "file_overwrite": False,
                "default_acl": None,
            },
        },
    }


def test_an_upload_to_a_missing_bucket_is_503_with_no_row(
    api, make_character, settings, s3_endpoint
):
    make_character("mira")
    s3_settings(settings, s3_endpoint, f"loreos-gone-{uuid.uuid4().hex[:12]}")
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
    assert_error(response, 503, "storage_unavailable")
    assert not VisualAsset.objects.exists()


def test_a_generation_whose_bucket_is_gone_fails_and_keeps_its_unit(
    api, make_character, settings, s3_endpoint
):
    import boto3

    from loreos.celery import app as celery_app

    from .test_services_s3 import KEY_ID, REGION, SECRET

    name = f"loreos-ci-{uuid.uuid4().hex[:12]}"
    client = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        aws_access_key_id=KEY_ID,
        aws_secret_access_key=SECRET,
        region_name=REGION,
    )
    client.create_bucket(Bucket=name)
    s3_settings(settings, s3_endpoint, name)
    # Generate in this process, as a worker would (no worker runs in this test); the
    # conftest's _eager_celery fixture puts the previous value back afterwards.
    celery_app.conf.task_always_eager = True
    make_character("mira", thresholds=IMAGES_ON)
    upload_identity(api)
    session_id = open_session(api)
    # The bucket disappears (an operator error, a lost region) between upload and probe.
    for item in client.list_objects_v2(Bucket=name).get("Contents", []):
        client.delete_object(Bucket=name, Key=item["Key"])
    client.delete_bucket(Bucket=name)

    response = api.post(
        "/v1/characters/mira/image-probe",
        {"probe_type": "identity_selfie", "session_id": session_id},
        format="json",
    )
    assert response.status_code == 200, response.content
    probe_id = response.json()["data"]["probe_id"]
    report = api.get(f"/v1/characters/mira/image-probe/{probe_id}").json()
    assert report["state"] == "failed" and report["failure_reason"]
    assert "storage" in report["failure_reason"]
    assert report["servable"] is False and report["image_url"] is None
    assert UsageRecord.objects.filter(image_request_id=probe_id).count() == 1
    events = api.get(f"/v1/sessions/{session_id}/events?since=0").json()["data"][
        "events"
    ]
    assert [e["type"] for e in events if e["type"].startswith("image.")] == [
        "image.failed"
    ]
