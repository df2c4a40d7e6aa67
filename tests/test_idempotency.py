"""Idempotency-Key on the metered POSTs: replay, conflict, in flight, expiry."""

from datetime import timedelta

import pytest
from django.utils import timezone

from characters.models import IdempotencyRecord
from tests.helpers import assert_error
from visuals.models import ImageRequest, UsageRecord

pytestmark = pytest.mark.django_db


def _probe(api, ready, key, probe_type="identity_selfie"):
    return api.post(
        "/v1/characters/mira/image-probe",
        {"probe_type": probe_type, "session_id": ready["session_id"]},
        format="json",
        HTTP_IDEMPOTENCY_KEY=key,
    )


def test_a_retry_with_the_same_key_and_body_replays_the_first_response(api, ready):
    first = _probe(api, ready, "k-1")
    second = _probe(api, ready, "k-1")
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    assert second["Idempotent-Replayed"] == "true"
    assert ImageRequest.objects.count() == 1 and UsageRecord.objects.count() == 1


@pytest.mark.parametrize(
    "path,body",
    [
        ("/v1/characters/mira/inventory/generate", {"categories": ["prop"]}),
        ("/v1/sessions/{session}/images", {}),
    ],
)
def test_every_metered_post_is_idempotent(api, ready, path, body):
    if "categories" in body:
        body = {**body, "session_id": ready["session_id"]}
    url = path.format(session=ready["session_id"])
    first = api.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="same")
    second = api.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="same")
    assert first.status_code == 200 and first.json() == second.json()
    assert ImageRequest.objects.count() == 1 and UsageRecord.objects.count() == 1


def test_the_same_key_with_another_body_is_422(api, ready):
    _probe(api, ready, "k-2")
    detail = assert_error(
        _probe(api, ready, "k-2", "prop_usage"), 422, "idempotency_key_reused"
    )
    assert detail["field"] == "Idempotency-Key"
    assert ImageRequest.objects.count() == 1


def test_a_retry_while_the_first_is_in_flight_is_409(api, ready, account):
    from characters.idempotency import _request_hash  # the hash of this exact request

    class Fake:
        method, path = "POST", "/v1/characters/mira/image-probe"
        data = {"probe_type": "identity_selfie", "session_id": ready["session_id"]}

    IdempotencyRecord.objects.create(
        account=account, key="k-3", request_hash=_request_hash(Fake)
    )
    assert_error(_probe(api, ready, "k-3"), 409, "idempotency_in_flight")
    assert ImageRequest.objects.count() == 0


def test_keys_are_per_account_and_expire_after_24_hours(api, ready, account):
    _probe(api, ready, "k-4")
    IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(hours=25))
    assert "Idempotent-Replayed" not in _probe(api, ready, "k-4")
    assert ImageRequest.objects.count() == 2


def test_an_error_response_is_replayed_too_but_a_validation_error_releases_the_key(
    api, ready
):
    api.patch("/v1/characters/mira", {"monthly_budget": 0}, format="json")
    assert_error(_probe(api, ready, "k-5"), 402, "budget_exceeded")
    api.patch("/v1/characters/mira", {"monthly_budget": None}, format="json")
    assert_error(
        _probe(api, ready, "k-5"), 402, "budget_exceeded"
    )  # the first answer, replayed
    bad = api.post(
        "/v1/characters/mira/image-probe",
        {"probe_type": "nope", "session_id": ready["session_id"]},
        format="json",
        HTTP_IDEMPOTENCY_KEY="k-6",
    )
    assert_error(bad, 422, "validation_error")
    assert not IdempotencyRecord.objects.filter(key="k-6").exists()


def test_an_overlong_key_is_422(api, ready):
    assert_error(_probe(api, ready, "x" * 300), 422, "validation_error")
