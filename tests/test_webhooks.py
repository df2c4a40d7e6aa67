"""Webhooks: endpoints API, outbox, Standard Webhooks delivery and the SSRF guard.

Every delivery is sent to a loopback receiver and verified there with the
`standardwebhooks` package (an independent implementation of the spec): signature,
timestamp tolerance, and the same webhook-id on every retry.
"""

import base64
import json
import time
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from hooks import crypto, services, ssrf
from hooks.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from hooks.ssrf import _resolve as real_resolve  # before tests swap it for FAKE_DNS
from hooks.tasks import deliver
from tests.helpers import (
    FAKE_DNS,
    IMAGES_ON,
    assert_error,
    open_session,
    upload_identity,
)
from tests.webhook_fixtures import PUBLIC_URL, Receiver, tls_pair

pytestmark = pytest.mark.django_db

Status = WebhookDelivery.Status


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def ready(api, make_character):
    """A character ready for images, with its identity asset and an open session."""
    make_character("mira", thresholds=IMAGES_ON)
    identity = upload_identity(api)
    return {"slug": "mira", "identity": identity, "session_id": open_session(api)}


@pytest.fixture
def private_ok(settings):
    settings.LOREOS_WEBHOOK_ALLOW_PRIVATE = True


def register(api, url, events=("image.ready", "asset.decided", "batch.completed")):
    response = api.post(
        "/v1/webhooks", {"url": url, "events": list(events)}, format="json"
    )
    assert response.status_code == 201, response.content
    return response.json()["data"]


def record(account, type_="image.ready", data=None):
    with transaction.atomic():
        event = services.event_record(
            account_id=account.pk, type=type_, data=data or {"probe_id": "p-1"}
        )
    assert event is not None
    return event


def drive(delivery: WebhookDelivery, timeout: float = 30) -> WebhookDelivery:
    """Run the delivery's task whenever it is due, until it ends."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        delivery.refresh_from_db()
        if delivery.status in (Status.SUCCEEDED, Status.FAILED):
            return delivery
        wait = (delivery.next_attempt_at - timezone.now()).total_seconds()
        if wait > 0:
            time.sleep(min(wait, 0.2))
            continue
        deliver.delay(str(delivery.pk))
    raise AssertionError(f"delivery still {delivery.status} after {timeout} s")


def verify(received, secret) -> dict:
    """Verify one received request with the standardwebhooks package."""
    return Webhook(secret).verify(received.body, received.headers)


# --- The endpoints API ---------------------------------------------------------------


def test_register_shows_the_secret_once_and_stores_it_encrypted(api, account):
    response = api.post(
        "/v1/webhooks",
        {"url": PUBLIC_URL, "events": ["image.ready"], "description": "prod"},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["schema_version"] == "v0" and body["next_actions"]
    data = body["data"]
    assert {"id", "url", "events", "enabled", "secret"} <= set(data)
    assert data["url"] == PUBLIC_URL and data["events"] == ["image.ready"]
    assert data["enabled"] is True and data["description"] == "prod"
    secret = data["secret"]
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) >= 24

    # Never again: not in the list, not in the detail.
    listed = api.get("/v1/webhooks").json()
    assert [w["id"] for w in listed["data"]] == [data["id"]]
    assert "pagination" in listed
    detail = api.get(f"/v1/webhooks/{data['id']}").json()["data"]
    assert "secret" not in detail and "secret" not in listed["data"][0]

    # Stored as a token that is not the secret and does not contain it.
    row = WebhookEndpoint.objects.get(pk=data["id"])
    assert secret not in row.secret_encrypted
    assert secret.removeprefix("whsec_") not in row.secret_encrypted
    assert crypto.secret_decrypt(row.secret_encrypted) == secret


def test_a_stored_secret_does_not_open_under_another_key(api, settings):
    data = register(api, PUBLIC_URL)
    token = WebhookEndpoint.objects.get(pk=data["id"]).secret_encrypted
    settings.LOREOS_WEBHOOK_ENCRYPTION_KEY = "a key that is not in the database"
    with pytest.raises(crypto.SecretUnreadable):
        crypto.secret_decrypt(token)
    settings.LOREOS_WEBHOOK_ENCRYPTION_KEY = ""
    assert crypto.secret_decrypt(token) == data["secret"]


def test_patch_delete_and_validation(api):
    data = register(api, PUBLIC_URL)
    one = f"/v1/webhooks/{data['id']}"
    patched = api.patch(
        one, {"events": ["asset.decided"], "enabled": False}, format="json"
    )
    assert patched.status_code == 200, patched.content
    assert patched.json()["data"]["events"] == ["asset.decided"]
    assert patched.json()["data"]["enabled"] is False

    detail = assert_error(
        api.patch(one, {"events": ["image.exploded"]}, format="json"),
        422,
        "validation_error",
    )
    assert detail["field"].startswith("events")
    detail = assert_error(
        api.patch(one, {"colour": "blue"}, format="json"), 422, "validation_error"
    )
    assert detail["field"] == "colour"
    detail = assert_error(
        api.post("/v1/webhooks", {"url": PUBLIC_URL, "events": []}, format="json"),
        422,
        "validation_error",
    )
    assert detail["field"] == "events"
    detail = assert_error(
        api.post("/v1/webhooks", {"events": ["image.ready"]}, format="json"),
        422,
        "validation_error",
    )
    assert detail["field"] == "url"

    assert api.delete(one).status_code == 204
    assert_error(api.get(one), 404, "not_found")
    assert not WebhookEndpoint.objects.filter(pk=data["id"]).exists()


def test_another_accounts_webhook_is_a_404(api, other_api):
    data = register(api, PUBLIC_URL)
    event = record(WebhookEndpoint.objects.get(pk=data["id"]).account)
    delivery = event.deliveries.get()
    one = f"/v1/webhooks/{data['id']}"
    calls = [
        ("get", one, None),
        ("patch", one, {"description": "mine now"}),
        ("delete", one, None),
        ("post", f"{one}/rotate-secret", None),
        ("get", f"{one}/deliveries", None),
        ("post", f"{one}/deliveries/{delivery.pk}/replay", None),
    ]
    for method, path, body in calls:
        kwargs = {"data": body, "format": "json"} if body else {}
        response = getattr(other_api, method)(path, **kwargs)
        assert_error(response, 404, "not_found")
    assert other_api.get("/v1/webhooks").json()["data"] == []
    endpoint = WebhookEndpoint.objects.get(pk=data["id"])
    assert endpoint.description == "" and endpoint.enabled
    assert WebhookDelivery.objects.count() == 1


# --- The SSRF guard ------------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "::1",
        "10.1.2.3",
        "172.16.5.4",
        "192.168.1.10",
        "169.254.169.254",
        "fd00:ec2::254",
        "fe80::1",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "::ffff:127.0.0.1",
        "198.18.0.1",
    ],
)
def test_non_public_addresses_are_refused(address):
    assert ssrf.address_refusal(address) is not None


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:4700:4700::1111"])
def test_public_addresses_pass(address):
    assert ssrf.address_refusal(address) is None


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://localhost/hook",
        "https://169.254.169.254/latest/meta-data/",
        "https://[fd00:ec2::254]/",
        "https://10.0.0.8:8443/hook",
        "http://hooks.example.com/hook",  # plain http
        "ftp://hooks.example.com/hook",
        "https://user:pw@hooks.example.com/hook",
        "https://no-such-host.invalid/hook",
        "https://[broken/hook",
    ],
)
def test_a_refused_url_is_a_422_on_save(api, url):
    detail = assert_error(
        api.post(
            "/v1/webhooks", {"url": url, "events": ["image.ready"]}, format="json"
        ),
        422,
        "validation_error",
    )
    assert detail["field"] == "url"
    assert not WebhookEndpoint.objects.exists()


def test_a_private_address_is_refused_without_the_override(api, settings, receiver):
    detail = assert_error(
        api.post(
            "/v1/webhooks",
            {"url": receiver.url, "events": ["image.ready"]},
            format="json",
        ),
        422,
        "validation_error",
    )
    assert "loopback" in detail["message"] or "https" in detail["message"]
    settings.LOREOS_WEBHOOK_ALLOW_PRIVATE = True
    data = register(api, receiver.url)
    endpoint = WebhookEndpoint.objects.get(pk=data["id"])

    # The override is lifted again: the delivery is refused before any connection.
    settings.LOREOS_WEBHOOK_ALLOW_PRIVATE = False
    delivery = record(endpoint.account).deliveries.get()
    settings.LOREOS_WEBHOOK_RETRY_SCHEDULE = [0]
    delivery = drive(delivery)
    assert delivery.status == Status.FAILED
    assert "SSRF" in delivery.attempts.get().error
    assert receiver.received == []


def test_dns_is_checked_again_at_delivery(api, monkeypatch, receiver, settings):
    """A name that was public when saved and resolves to loopback later is refused."""
    monkeypatch.setitem(FAKE_DNS, "rebind.example.com", ["93.184.216.34"])
    data = register(api, "https://rebind.example.com/hook")
    monkeypatch.setitem(FAKE_DNS, "rebind.example.com", ["127.0.0.1"])
    settings.LOREOS_WEBHOOK_RETRY_SCHEDULE = [0]
    endpoint = WebhookEndpoint.objects.get(pk=data["id"])
    delivery = drive(record(endpoint.account).deliveries.get())
    assert delivery.status == Status.FAILED
    assert "loopback" in delivery.attempts.get().error


def test_the_delivery_connects_to_the_checked_address_with_the_hosts_name(
    api, monkeypatch, private_ok, receiver
):
    """The connection goes to the checked address; Host names the URL's host."""
    port = receiver.server.server_address[1]
    monkeypatch.setitem(FAKE_DNS, "receiver.example.com", ["127.0.0.1"])
    data = register(api, f"http://receiver.example.com:{port}/hook?x=1")
    endpoint = WebhookEndpoint.objects.get(pk=data["id"])
    delivery = drive(record(endpoint.account).deliveries.get())
    assert delivery.status == Status.SUCCEEDED
    (got,) = receiver.received
    assert got.headers["Host"] == f"receiver.example.com:{port}"
    verify(got, data["secret"])


def test_https_goes_to_the_checked_address_with_the_names_sni_and_certificate(
    api, monkeypatch, private_ok, settings, tmp_path
):
    """Over TLS the pinned connection still presents the URL's host name (SNI) and
    checks the certificate against it; a name the certificate does not cover fails."""
    settings.LOREOS_WEBHOOK_RETRY_SCHEDULE = [0]
    server_tls, client_tls = tls_pair(tmp_path, "receiver.example.com")
    monkeypatch.setattr("hooks.sending.TLS_VERIFY", client_tls)
    receiver = Receiver(tls=server_tls)
    try:
        port = receiver.server.server_address[1]
        monkeypatch.setitem(FAKE_DNS, "receiver.example.com", ["127.0.0.1"])
        monkeypatch.setitem(FAKE_DNS, "impostor.example.com", ["127.0.0.1"])
        good = register(api, f"https://receiver.example.com:{port}/hook")
        bad = register(api, f"https://impostor.example.com:{port}/hook")
        event = record(WebhookEndpoint.objects.get(pk=good["id"]).account)
        outcomes = {
            str(d.endpoint_id): drive(d)
            for d in event.deliveries.select_related("endpoint")
        }
    finally:
        receiver.close()
    assert outcomes[good["id"]].status == Status.SUCCEEDED
    (got,) = receiver.received
    verify(got, good["secret"])
    assert got.headers["Host"] == f"receiver.example.com:{port}"
    assert "receiver.example.com" in receiver.server_names
    failed = outcomes[bad["id"]]
    assert failed.status == Status.FAILED
    assert "certificate" in failed.attempts.first().error.lower()


def test_the_real_resolver_resolves_localhost_and_literals():
    assert real_resolve("127.0.0.1", 443) == ["127.0.0.1"]
    assert {"127.0.0.1", "::1"} & set(real_resolve("localhost", 443))


# --- Delivery ------------------------------------------------------------------------


def test_a_delivery_is_signed_per_standard_webhooks(api, private_ok, receiver):
    data = register(api, receiver.url)
    endpoint = WebhookEndpoint.objects.get(pk=data["id"])
    event = record(endpoint.account, data={"probe_id": "p-1", "state": "ready"})
    delivery = drive(event.deliveries.get())
    assert delivery.status == Status.SUCCEEDED

    (got,) = receiver.received
    payload = verify(got, data["secret"])  # signature + timestamp tolerance
    assert payload == {
        "type": "image.ready",
        "timestamp": payload["timestamp"],
        "data": {"probe_id": "p-1", "state": "ready"},
    }
    assert payload["timestamp"].endswith("Z")
    assert got.headers["webhook-id"] == event.webhook_id
    assert "." not in event.webhook_id
    timestamp = got.headers["webhook-timestamp"]
    assert timestamp.isdigit() and abs(int(timestamp) - time.time()) < 10
    assert got.headers["Content-Type"] == "application/json"
    assert got.headers["webhook-signature"].startswith("v1,")
    assert " " not in got.headers["webhook-signature"]

    # A wrong secret, a tampered body or an old timestamp fail the same verification.
    with pytest.raises(WebhookVerificationError):
        Webhook(crypto.secret_generate()).verify(got.body, got.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(data["secret"]).verify(got.body.replace(b"p-1", b"p-2"), got.headers)
    stale = dict(got.headers, **{"webhook-timestamp": str(int(timestamp) - 600)})
    with pytest.raises(WebhookVerificationError):
        Webhook(data["secret"]).verify(got.body, stale)

    # The attempt is on record and readable through the API.
    body = api.get(f"/v1/webhooks/{data['id']}/deliveries").json()
    (row,) = body["data"]
    assert row["event_type"] == "image.ready" and row["outcome"] == "succeeded"
    assert row["webhook_id"] == event.webhook_id and row["next_retry_at"] is None
    (attempt,) = row["attempts"]
    assert attempt["status_code"] == 204 and attempt["latency_ms"] is not None


def test_a_500_then_a_2xx_is_retried_with_the_same_webhook_id(
    api, private_ok, receiver, settings
):
    settings.LOREOS_WEBHOOK_RETRY_SCHEDULE = [0, 1, 1]
    receiver.replies = [(500, {}), (500, {}), (200, {})]
    data = register(api, receiver.url)
    event = record(WebhookEndpoint.objects.get(pk=data["id"]).account)
    delivery = drive(event.deliveries.get())
    assert delivery.status == Status.SUCCEEDED

    assert len(receiver.received) == 3
    ids = {r.headers["webhook-id"] for r in receiver.received}
    assert ids == {event.webhook_id}
    for got in receiver.received:
        verify(got, data["secret"])
    gaps = [
        b.at - a.at
        for a, b in zip(receiver.received, receiver.received[1:], strict=False)
    ]
    assert all(gap >= 0.9 for gap in gaps), gaps

    (row,) = api.get(f"/v1/webhooks/{data['id']}/deliveries").json()["data"]
    assert [a["status_code"] for a in row["attempts"]] == [500, 500, 200]
    assert [a["number"] for a in row["attempts"]] == [1, 2, 3]
    assert row["attempts"][0]["error"] == "HTTP 500"
    assert WebhookEndpoint.objects.get(pk=data["id"]).failing_since is None


def test_retries_end_when_the_schedule_is_spent(api, private_ok, receiver, settings):
    settings.LOREOS_WEBHOOK_RETRY_SCHEDULE = [0, 0]
    receiver.replies = [(503, {})]
    data = register(api, receiver.url)
    event = record(WebhookEndpoint.objects.get(pk=data["id"]).account)
    delivery = drive(event.deliveries.get())
    assert delivery.status == Status.FAILED
    assert delivery.attempt_count == 2 and len(receiver.received) == 2
    assert "gave up after 2" in delivery.outcome_reason
    (row,) = api.get(f"/v1/webhooks/{data['id']}/deliveries").json()["data"]
    assert row["outcome"] == "failed"


def test_retry_after_is_honoured(api, private_ok, receiver, settings):
    settings.LOREOS_WEBHOOK_RETRY_SCHEDULE = [0, 0]
    receiver.replies = [(503, {"Retry-After": "2"}), (200, {})]
    data = register(api, receiver.url)
    event = record(WebhookEndpoint.objects.get(pk=data["id"]).account)
    delivery = event.deliveries.get()
    deliver.delay(str(delivery.pk))
    delivery.refresh_from_db()
    assert delivery.status == Status.PENDING
    first = receiver.received[0].at
    waited = delivery.next_attempt_at.timestamp() - first
    assert 1.5 <= waited <= 3, waited
    row = api.get(f"/v1/webhooks/{data['id']}/deliveries").json()["data"][0]
    assert row["next_retry_at"] is not None and row["outcome"] is None
    drive(delivery)
    assert receiver.received[1].at - first >= 1.9


def test_a_410_disables_the_endpoint(api, private_ok, receiver, character):
    receiver.replies = [(410, {})]
    data = register(api, receiver.url)
    endpoint = WebhookEndpoint.objects.get(pk=data["id"])
    delivery = drive(record(endpoint.account).deliveries.get())
    assert delivery.status == Status.FAILED and len(receiver.received) == 1
    endpoint.refresh_from_db()
    assert endpoint.enabled is False and "410" in endpoint.disabled_reason
    detail = api.get(f"/v1/webhooks/{data['id']}").json()["data"]
    assert detail["enabled"] is False and "410" in detail["disabled_reason"]

    # Nothing more is recorded for it, and the readiness says why.
    with transaction.atomic():
        assert (
            services.event_record(
                account_id=endpoint.account_id, type="image.ready", data={}
            )
            is None
        )
    readiness = api.get(f"/v1/characters/{character['slug']}/readiness").json()
    (check,) = [c for c in readiness["checks"] if c["id"] == "webhooks"]
    assert check["status"] == "disabled" and "410" in check["summary"]
    assert readiness["status"] == "ready_with_warnings" or any(
        c["status"] == "missing" for c in readiness["checks"]
    )

    # Replay refuses until it is re-enabled; re-enabling clears the reason.
    replay = f"/v1/webhooks/{data['id']}/deliveries/{delivery.pk}/replay"
    assert_error(api.post(replay), 409, "endpoint_disabled")
    api.patch(f"/v1/webhooks/{data['id']}", {"enabled": True}, format="json")
    endpoint.refresh_from_db()
    assert endpoint.enabled and endpoint.disabled_reason == ""
    readiness = api.get(f"/v1/characters/{character['slug']}/readiness").json()
    (check,) = [c for c in readiness["checks"] if c["id"] == "webhooks"]
    assert check["status"] == "ok"


def test_an_endpoint_failing_for_five_days_is_disabled(
    api, private_ok, receiver, settings, monkeypatch, character
):
    settings.LOREOS_WEBHOOK_RETRY_SCHEDULE = [0, 3600, 3600]
    receiver.replies = [(500, {})]
    data = register(api, receiver.url)
    endpoint = WebhookEndpoint.objects.get(pk=data["id"])
    delivery = record(endpoint.account).deliveries.get()
    deliver.delay(str(delivery.pk))
    endpoint.refresh_from_db()
    started = endpoint.failing_since
    assert started is not None and endpoint.enabled

    later = timezone.now() + timedelta(days=5, seconds=1)
    monkeypatch.setattr("loreos.clock.now", lambda: later)
    deliver.delay(str(delivery.pk))
    endpoint.refresh_from_db()
    delivery.refresh_from_db()
    assert endpoint.enabled is False and "5 day" in endpoint.disabled_reason
    assert delivery.status == Status.FAILED and len(receiver.received) == 2
    readiness = api.get(f"/v1/characters/{character['slug']}/readiness").json()
    (check,) = [c for c in readiness["checks"] if c["id"] == "webhooks"]
    assert check["status"] == "disabled" and "5 day" in check["summary"]


def test_two_signatures_during_rotation(api, private_ok, receiver):
    data = register(api, receiver.url)
    old = data["secret"]
    rotated = api.post(f"/v1/webhooks/{data['id']}/rotate-secret")
    assert rotated.status_code == 200, rotated.content
    new = rotated.json()["data"]["secret"]
    assert new != old and new.startswith("whsec_")
    ends = rotated.json()["data"]["secret_rotation_ends_at"]
    assert ends is not None

    endpoint = WebhookEndpoint.objects.get(pk=data["id"])
    drive(record(endpoint.account).deliveries.get())
    got = receiver.received[-1]
    signatures = got.headers["webhook-signature"].split(" ")
    assert len(signatures) == 2 and all(s.startswith("v1,") for s in signatures)
    verify(got, old)
    verify(got, new)

    # After the 24 hours only the new secret signs.
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        previous_secret_expires_at=timezone.now() - timedelta(seconds=1)
    )
    drive(record(endpoint.account).deliveries.get())
    got = receiver.received[-1]
    assert len(got.headers["webhook-signature"].split(" ")) == 1
    verify(got, new)
    with pytest.raises(WebhookVerificationError):
        verify(got, old)


def test_redirects_are_not_followed(api, private_ok, receiver, settings):
    settings.LOREOS_WEBHOOK_RETRY_SCHEDULE = [0]
    receiver.replies = [(302, {"Location": "http://127.0.0.1:9/elsewhere"})]
    data = register(api, receiver.url)
    delivery = drive(
        record(WebhookEndpoint.objects.get(pk=data["id"]).account).deliveries.get()
    )
    assert delivery.status == Status.FAILED
    assert delivery.attempts.get().status_code == 302


def test_a_slow_receiver_times_out(api, private_ok, receiver, settings):
    settings.LOREOS_WEBHOOK_RETRY_SCHEDULE = [0]
    settings.LOREOS_WEBHOOK_TIMEOUT_SECONDS = 0.5
    receiver.replies = [(200, {}, 1.5)]
    data = register(api, receiver.url)
    delivery = drive(
        record(WebhookEndpoint.objects.get(pk=data["id"]).account).deliveries.get()
    )
    assert delivery.status == Status.FAILED
    assert "timed out" in delivery.attempts.get().error


def test_replay_sends_the_same_event_again(api, private_ok, receiver):
    data = register(api, receiver.url)
    event = record(WebhookEndpoint.objects.get(pk=data["id"]).account)
    first = drive(event.deliveries.get())
    response = api.post(f"/v1/webhooks/{data['id']}/deliveries/{first.pk}/replay")
    assert response.status_code == 202, response.content
    replay = response.json()["data"]
    assert replay["replay_of"] == str(first.pk) and replay["status"] == "pending"
    drive(WebhookDelivery.objects.get(pk=replay["id"]))
    assert len(receiver.received) == 2
    assert {r.headers["webhook-id"] for r in receiver.received} == {event.webhook_id}
    listed = api.get(f"/v1/webhooks/{data['id']}/deliveries").json()["data"]
    assert [d["id"] for d in listed] == [replay["id"], str(first.pk)]  # newest first


def test_a_worker_lost_mid_attempt_is_taken_over_after_its_lease(
    api, private_ok, receiver
):
    """The redelivered task of a dead attempt sends again, with the same webhook-id."""
    data = register(api, receiver.url)
    event = record(WebhookEndpoint.objects.get(pk=data["id"]).account)
    delivery = event.deliveries.get()
    # An attempt claimed the delivery and its worker died before settling it.
    now = timezone.now()
    assert services._claim(delivery, now) == 1
    after = services.delivery_attempt(delivery.pk)
    assert after is not None and after.seconds > 0  # in flight: look again later
    assert receiver.received == []
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        lease_until=now - timedelta(seconds=1)
    )
    assert services.deliveries_enqueue_due() == 1  # the sweep finds it (eager: sent)
    delivery.refresh_from_db()
    assert delivery.status == Status.SUCCEEDED
    attempts = list(delivery.attempts.order_by("number"))
    assert [a.number for a in attempts] == [1, 2]
    assert "worker was lost" in attempts[0].error and attempts[1].status_code == 204
    verify(receiver.received[0], data["secret"])


# --- Recording: the outbox -----------------------------------------------------------


def test_event_record_queues_its_deliveries_on_commit(
    api, private_ok, receiver, django_capture_on_commit_callbacks
):
    data = register(api, receiver.url, events=["image.failed"])
    account = WebhookEndpoint.objects.get(pk=data["id"]).account
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with transaction.atomic():
            services.event_record(
                account_id=account.pk, type="image.failed", data={"x": 1}
            )
            assert receiver.received == []  # nothing is sent inside the transaction
    assert len(callbacks) == 1
    assert len(receiver.received) == 1
    assert verify(receiver.received[0], data["secret"])["data"] == {"x": 1}
    # Unsubscribed types record nothing.
    with transaction.atomic():
        assert (
            services.event_record(account_id=account.pk, type="image.ready", data={})
            is None
        )


def test_a_rolled_back_change_leaves_no_event(api, private_ok, receiver, ready):
    from visuals import assets as asset_services
    from visuals.models import VisualAsset

    register(api, receiver.url)
    asset = VisualAsset.objects.get(pk=ready["identity"]["id"])
    with pytest.raises(RuntimeError):
        with transaction.atomic():
            asset_services.asset_update(asset=asset, asset_status="retired")
            assert WebhookEvent.objects.filter(type="asset.decided").count() == 1
            raise RuntimeError("the change fails after the event was written")
    assert not WebhookEvent.objects.exists()
    assert not WebhookDelivery.objects.exists()
    asset.refresh_from_db()
    assert asset.asset_status == "active"


def test_asset_decisions_are_recorded(api, private_ok, receiver, ready):
    data = register(api, receiver.url, events=["asset.decided"])
    slug, asset_id = ready["slug"], ready["identity"]["id"]
    one = f"/v1/characters/{slug}/visual-assets/{asset_id}"
    assert api.patch(one, {"qa_status": "passed"}, format="json").status_code == 200
    assert not WebhookEvent.objects.exists()  # not a decision
    assert api.patch(one, {"asset_status": "retired"}, format="json").status_code == 200
    assert api.delete(one).status_code == 204
    events = list(WebhookEvent.objects.order_by("created_at"))
    assert [e.payload["decision"] for e in events] == ["retire", "delete"]
    assert {e.payload["asset_id"] for e in events} == {asset_id}
    assert events[0].payload["character"] == slug
    for event in events:
        drive(event.deliveries.get())
    assert [verify(r, data["secret"])["type"] for r in receiver.received] == [
        "asset.decided",
        "asset.decided",
    ]


def test_image_events_carry_the_probe_report_and_never_the_prompt(
    api, private_ok, receiver, ready
):
    from visuals.models import ImageRequest

    data = register(api, receiver.url, events=["image.ready", "image.failed"])
    probe = api.post(
        f"/v1/characters/{ready['slug']}/image-probe",
        {"probe_type": "identity_selfie", "session_id": ready["session_id"]},
        format="json",
    )
    assert probe.status_code == 200, probe.content
    probe_id = probe.json()["data"]["probe_id"]
    image_request = ImageRequest.objects.get(pk=probe_id)
    assert image_request.request_status in ("succeeded", "failed")
    (event,) = WebhookEvent.objects.all()
    assert event.type == (
        "image.ready" if image_request.request_status == "succeeded" else "image.failed"
    )
    report = api.get(f"/v1/characters/{ready['slug']}/image-probe/{probe_id}").json()
    for key, value in report.items():
        assert event.payload[key] == value, key
    assert event.payload["character"] == ready["slug"]

    drive(event.deliveries.get())
    (got,) = receiver.received
    body = got.body.decode()
    verify(got, data["secret"])
    # The brief (the prompt, the anchors it was built from) never leaves.
    brief = image_request.brief
    texts = _strings(
        [brief.get("instruction"), brief.get("anchors"), brief.get("forbidden")]
    )
    assert len(texts) > 3, "the test needs a brief to look for"
    for text in texts:
        assert text not in body, text
    assert "brief" not in json.loads(body)["data"]
    assert "flour-dusted apron" not in body


def _strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def test_batch_completed_is_recorded_once_when_every_item_has_ended(
    api, private_ok, receiver, ready
):
    data = register(api, receiver.url, events=["batch.completed"])
    batch = api.post(
        f"/v1/characters/{ready['slug']}/inventory/generate",
        {
            "categories": ["prop", "place"],
            "count_per_category": 1,
            "session_id": ready["session_id"],
        },
        format="json",
    )
    assert batch.status_code == 200, batch.content
    from visuals.models import ImageRequest

    (batch_id,) = {
        str(b) for b in ImageRequest.objects.values_list("batch_id", flat=True)
    }
    (event,) = WebhookEvent.objects.filter(type="batch.completed")
    assert event.payload["batch_id"] == batch_id
    assert event.payload["total"] == 2 and len(event.payload["items"]) == 2
    assert event.dedupe_key == f"batch.completed:{batch_id}"
    drive(event.deliveries.get())
    assert verify(receiver.received[0], data["secret"])["data"]["batch_id"] == batch_id


# --- Admin ---------------------------------------------------------------------------


def test_the_admin_shows_endpoints_and_deliveries_read_only_without_secrets(
    api, private_ok, receiver, admin_user, client
):
    data = register(api, receiver.url)
    endpoint = WebhookEndpoint.objects.get(pk=data["id"])
    delivery = drive(record(endpoint.account).deliveries.get())
    client.force_login(admin_user)
    for model, pk in (
        ("webhookendpoint", endpoint.pk),
        ("webhookdelivery", delivery.pk),
    ):
        listing = client.get(f"/admin/hooks/{model}/")
        page = client.get(f"/admin/hooks/{model}/{pk}/change/")
        assert listing.status_code == 200 and page.status_code == 200
        for response in (listing, page):
            text = response.content.decode()
            assert data["secret"] not in text
            assert endpoint.secret_encrypted not in text
        assert client.get(f"/admin/hooks/{model}/add/").status_code == 403
    assert (
        "204"
        in client.get(
            f"/admin/hooks/webhookdelivery/{delivery.pk}/change/"
        ).content.decode()
    )


# --- Settings ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [("0, 2,4", "[0, 2, 4]"), ("0,5,soon", "ImproperlyConfigured"), ("", "Improp")],
)
def test_the_retry_schedule_is_read_from_the_environment(value, expected):
    import os
    import subprocess
    import sys

    code = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.LOREOS_WEBHOOK_RETRY_SCHEDULE)"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "loreos.settings",
        "LOREOS_WEBHOOK_RETRY_SCHEDULE": value,
    }
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True
    )
    assert expected in done.stdout + done.stderr
    assert (done.returncode == 0) == expected.startswith("[")


@pytest.mark.parametrize("count", [2, 30])
def test_the_deliveries_page_costs_constant_queries(
    api, count, django_assert_max_num_queries
):
    data = register(api, PUBLIC_URL)
    endpoint = WebhookEndpoint.objects.get(pk=data["id"])
    for _ in range(count):
        delivery = record(endpoint.account).deliveries.get()
        for number in (1, 2):
            delivery.attempts.create(
                number=number, attempted_at=timezone.now(), status_code=500
            )
    # key, endpoint, deliveries with their events, attempts
    with django_assert_max_num_queries(4):
        body = api.get(f"/v1/webhooks/{data['id']}/deliveries?limit=50").json()
    assert len(body["data"]) == count
    assert all(len(d["attempts"]) == 2 for d in body["data"])


def test_curator_decisions_are_recorded_with_who_decided(
    api, private_ok, receiver, ready, admin_user
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.helpers import image_bytes
    from visuals.assets import asset_decide
    from visuals.models import VisualAsset

    register(api, receiver.url, events=["asset.decided"])
    ids = []
    for key in ("coat", "scarf"):
        response = api.post(
            f"/v1/characters/{ready['slug']}/visual-assets",
            {
                "file": SimpleUploadedFile(
                    f"{key}.png", image_bytes(), content_type="image/png"
                ),
                "category": "wardrobe",
                "asset_key": key,
                "label": key,
            },
            format="multipart",
        )
        assert response.status_code == 201, response.content
        ids.append(response.json()["data"]["id"])
    coat, scarf = (VisualAsset.objects.get(pk=pk) for pk in ids)
    asset_decide(asset=coat, decision="approve", actor=admin_user, reason="on model")
    asset_decide(asset=scarf, decision="reject", actor=admin_user, reason="off model")
    events = list(WebhookEvent.objects.order_by("created_at"))
    assert [(e.payload["asset_id"], e.payload["decision"]) for e in events] == [
        (ids[0], "approve"),
        (ids[1], "reject"),
    ]
    assert {e.payload["decided_by"] for e in events} == {admin_user.username}
    assert [e.payload["reason"] for e in events] == ["on model", "off model"]
    assert events[0].payload["promotion_status"] == "approved_keyframe"


def test_an_api_decision_names_the_key_as_the_asset_api_does(
    api, private_ok, receiver, ready
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.helpers import image_bytes

    register(api, receiver.url, events=["asset.decided"])
    base = f"/v1/characters/{ready['slug']}/visual-assets"
    upload = api.post(
        base,
        {
            "file": SimpleUploadedFile(
                "c.png", image_bytes(), content_type="image/png"
            ),
            "category": "wardrobe",
            "asset_key": "coat",
            "label": "coat",
        },
        format="multipart",
    )
    assert upload.status_code == 201, upload.content
    asset_id = upload.json()["data"]["id"]
    patched = api.patch(
        f"{base}/{asset_id}", {"promotion_status": "approved_keyframe"}, format="json"
    )
    assert patched.status_code == 200, patched.content
    decided_by = patched.json()["data"]["decided_by"]
    assert decided_by and api.api_key.prefix in decided_by
    (event,) = WebhookEvent.objects.all()
    assert event.payload["decision"] == "approve"
    assert event.payload["decided_by"] == decided_by


def test_a_batch_whose_last_items_the_broker_refused_completes_with_the_rest(
    api, private_ok, receiver, ready, monkeypatch
):
    """Item 1 ends while item 2 is still queued; the broker then refuses item 2 (its
    row is withdrawn): the batch is complete with its one item, recorded once."""
    from visuals import image_requests as request_services

    register(api, receiver.url, events=["batch.completed"])
    real_send, calls = request_services._send, []

    def send_once(row):
        calls.append(row.pk)
        return real_send(row) if len(calls) == 1 else "could not be queued: refused"

    monkeypatch.setattr(request_services, "_send", send_once)
    batch = api.post(
        f"/v1/characters/{ready['slug']}/inventory/generate",
        {"categories": ["prop", "place"], "session_id": ready["session_id"]},
        format="json",
    )
    assert batch.status_code == 200, batch.content
    assert len(calls) == 2
    (event,) = WebhookEvent.objects.filter(type="batch.completed")
    assert event.payload["total"] == 1
    assert [i["probe_id"] for i in event.payload["items"]] == [str(calls[0])]


def test_a_delivery_does_not_log_the_webhook_url(api, private_ok, receiver, caplog):
    data = register(api, receiver.url + "?token=do-not-log-me")
    endpoint = WebhookEndpoint.objects.get(pk=data["id"])
    assert drive(record(endpoint.account).deliveries.get()).status == Status.SUCCEEDED
    assert "do-not-log-me" not in caplog.text
