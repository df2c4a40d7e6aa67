"""Webhooks from fal and Replicate: a verified call wakes the job's check at once; a
forged, replayed or unsigned call is a 401 and changes nothing."""

import base64
import hashlib
import json
import time

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from rest_framework.test import APIClient

from loreos.devtools import queue_standins
from tests.factories import make_request, ready_session
from tests.helpers import assert_error
from visuals import engine
from visuals.engine.backends import webhooks
from visuals.models import ImageRequest

pytestmark = pytest.mark.django_db
SECRET = "whsec_" + base64.b64encode(b"a-very-secret-signing-key-123456").decode()


@pytest.fixture
def replicate(settings):
    server, state = queue_standins.serve("replicate", seconds=0.3)
    settings.LOREOS_IMAGE_BACKEND = "replicate"
    settings.LOREOS_REPLICATE_BASE_URL = state.base
    settings.LOREOS_REPLICATE_API_TOKEN = queue_standins.TOKEN
    settings.LOREOS_REPLICATE_WEBHOOKS = True
    settings.LOREOS_REPLICATE_WEBHOOK_SECRET = SECRET
    yield state
    server.shutdown()


@pytest.fixture
def fal(settings):
    server, state = queue_standins.serve("fal", seconds=0.3)
    settings.LOREOS_IMAGE_BACKEND = "fal"
    settings.LOREOS_FAL_QUEUE_URL = state.base
    settings.LOREOS_FAL_KEY = queue_standins.TOKEN
    settings.LOREOS_FAL_WEBHOOKS = True
    yield state
    server.shutdown()


def submitted(state) -> ImageRequest:
    request = make_request(ready_session(), probe_type="identity_selfie")
    assert engine.run(request.pk) == "generating"
    time.sleep(0.5)  # the job is done at the provider; nobody looked yet
    return ImageRequest.objects.get(pk=request.pk)


def replicate_call(request, body: bytes, *, secret=SECRET, timestamp=None):
    msg_id = "msg_1"
    timestamp = str(timestamp or int(time.time()))
    signature = queue_standins.standard_webhook_signature(
        secret, msg_id, timestamp, body
    )
    return APIClient().post(
        f"/v1/generators/replicate/webhook?request={request.pk}",
        body,
        content_type="application/json",
        HTTP_WEBHOOK_ID=msg_id,
        HTTP_WEBHOOK_TIMESTAMP=timestamp,
        HTTP_WEBHOOK_SIGNATURE=signature,
    )


def test_the_webhook_url_is_sent_with_the_prediction(replicate):
    request = submitted(replicate)
    job = replicate.jobs[request.remote_handle["id"]]
    assert job.body["webhook"].endswith(
        f"/v1/generators/replicate/webhook?request={request.pk}"
    )
    assert job.body["webhook_events_filter"] == ["completed"]


def test_a_signed_replicate_call_wakes_the_check(replicate):
    request = submitted(replicate)
    body = json.dumps({"id": request.remote_handle["id"], "status": "succeeded"})
    response = replicate_call(request, body.encode())
    assert response.status_code == 200 and response.json() == {"received": True}
    request.refresh_from_db()
    assert request.request_status == "succeeded", request.failure_reason


@pytest.mark.parametrize(
    "forgery", ["wrong secret", "replayed", "unsigned", "other job"]
)
def test_a_forged_replicate_call_is_401_and_changes_nothing(replicate, forgery):
    request = submitted(replicate)
    job_id = request.remote_handle["id"]
    body = json.dumps({"id": job_id, "status": "succeeded"}).encode()
    looks = len(replicate.calls)
    if forgery == "wrong secret":
        other = "whsec_" + base64.b64encode(b"not-the-secret-at-all-000000000").decode()
        response = replicate_call(request, body, secret=other)
    elif forgery == "replayed":
        response = replicate_call(request, body, timestamp=int(time.time()) - 3600)
    elif forgery == "unsigned":
        response = APIClient().post(
            f"/v1/generators/replicate/webhook?request={request.pk}",
            body,
            content_type="application/json",
        )
    else:  # signed, but naming a job that is not this request's
        response = replicate_call(request, json.dumps({"id": "x" * 26}).encode())
        assert response.status_code == 200
        assert response.json() == {"received": False}
    if forgery != "other job":
        assert_error(response, 401, "unauthenticated")
    request.refresh_from_db()
    assert request.request_status == "generating"
    assert len(replicate.calls) == looks  # nobody looked at the provider


def fal_call(request, body: bytes, key: Ed25519PrivateKey, timestamp=None):
    timestamp = str(timestamp or int(time.time()))
    message = "\n".join(
        [
            request.remote_handle["request_id"],
            "user-1",
            timestamp,
            hashlib.sha256(body).hexdigest(),
        ]
    ).encode()
    return APIClient().post(
        f"/v1/generators/fal/webhook?request={request.pk}",
        body,
        content_type="application/json",
        HTTP_X_FAL_WEBHOOK_REQUEST_ID=request.remote_handle["request_id"],
        HTTP_X_FAL_WEBHOOK_USER_ID="user-1",
        HTTP_X_FAL_WEBHOOK_TIMESTAMP=timestamp,
        HTTP_X_FAL_WEBHOOK_SIGNATURE=key.sign(message).hex(),
    )


def test_fal_calls_are_verified_against_the_jwks_keys(fal, monkeypatch):
    trusted = Ed25519PrivateKey.generate()
    public = trusted.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    monkeypatch.setattr(webhooks, "fal_public_keys", lambda: [public])
    request = submitted(fal)
    body = json.dumps(
        {"request_id": request.remote_handle["request_id"], "status": "OK"}
    ).encode()
    forged = fal_call(request, body, Ed25519PrivateKey.generate())
    assert_error(forged, 401, "unauthenticated")
    request.refresh_from_db()
    assert request.request_status == "generating"
    response = fal_call(request, body, trusted)
    assert response.status_code == 200 and response.json() == {"received": True}
    request.refresh_from_db()
    assert request.request_status == "succeeded", request.failure_reason


def test_an_unknown_provider_is_404():
    response = APIClient().post(
        "/v1/generators/midjourney/webhook", b"{}", content_type="application/json"
    )
    assert_error(response, 404, "not_found")
