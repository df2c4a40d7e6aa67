"""Load-balancer probes: /healthz and /readyz (database, broker, storage), and JSON logs
that carry the request id."""

import io
import json
import logging
import socket

import pytest

from loreos.logging import JsonFormatter

pytestmark = pytest.mark.django_db


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def broker_url(monkeypatch):
    """Point the Celery app at another broker for one test, then restore it."""
    from loreos.celery import app

    previous = app.conf.broker_url

    def point_at(url):
        # Celery reads CELERY_BROKER_URL from the environment before its own setting.
        monkeypatch.setenv("CELERY_BROKER_URL", url)
        app.conf.broker_url = url

    yield point_at
    monkeypatch.undo()
    app.conf.broker_url = previous


@pytest.fixture
def json_log():
    """The configured console handler, writing to a buffer: one JSON object a line."""
    handler = next(
        h
        for h in logging.getLogger().handlers
        if isinstance(h.formatter, JsonFormatter)
    )
    buffer = io.StringIO()
    previous = handler.setStream(buffer)

    def lines():
        return [
            json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()
        ]

    yield lines
    handler.setStream(previous)


def test_healthz_checks_the_database(anon):
    response = anon.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["ok"] is True


def test_readyz_is_200_when_database_broker_and_storage_answer(anon):
    response = anon.get("/readyz")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "broker", "storage"}
    assert all(check["ok"] for check in body["checks"].values()), body


def test_readyz_is_503_naming_the_broker_when_it_is_unreachable(anon, broker_url):
    broker_url(f"redis://127.0.0.1:{closed_port()}/0")
    response = anon.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    failing = [name for name, check in body["checks"].items() if not check["ok"]]
    assert failing == ["broker"]
    assert body["checks"]["broker"]["error"]


def test_readyz_is_503_naming_the_storage_when_it_fails(anon, settings):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "tests.test_ops_health.UnreachableStorage"},
    }
    response = anon.get("/readyz")
    assert response.status_code == 503
    failing = [
        name for name, check in response.json()["checks"].items() if not check["ok"]
    ]
    assert failing == ["storage"]


class UnreachableStorage:
    """A storage whose backend cannot be reached (as with a wrong S3 endpoint)."""

    def exists(self, name):
        raise ConnectionError("storage endpoint refused the connection")


def test_every_response_carries_a_request_id_and_echoes_a_safe_one(anon):
    generated = anon.get("/healthz")["X-Request-ID"]
    assert len(generated) == 32
    assert (
        anon.get("/healthz", HTTP_X_REQUEST_ID="lb-1234.abc")["X-Request-ID"]
        == "lb-1234.abc"
    )
    unsafe = anon.get("/healthz", HTTP_X_REQUEST_ID="bad id\nwith newline")[
        "X-Request-ID"
    ]
    assert unsafe != "bad id\nwith newline" and len(unsafe) == 32


def test_log_line_of_a_failing_request_carries_its_request_id(
    anon, broker_url, json_log
):
    broker_url(f"redis://127.0.0.1:{closed_port()}/0")
    response = anon.get("/readyz", HTTP_X_REQUEST_ID="req-ops-42")
    assert response.status_code == 503
    lines = [line for line in json_log() if line["logger"] == "django.request"]
    assert lines, json_log()
    assert lines[-1]["request_id"] == "req-ops-42"
    assert lines[-1]["level"] == "ERROR"
    assert "/readyz" in lines[-1]["message"]


def test_probes_answer_over_plain_http_when_https_is_enforced(settings):
    from rest_framework.test import APIClient

    settings.SECURE_SSL_REDIRECT = True
    client = APIClient()
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200
    redirected = client.get("/v1/characters")
    assert redirected.status_code == 301
    assert redirected["Location"].startswith("https://")
