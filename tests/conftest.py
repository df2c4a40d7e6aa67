"""Shared fixtures: accounts with keys, API clients, characters, images made in memory."""

import io
import os
from pathlib import Path

import pytest
from PIL import Image
from rest_framework.test import APIClient

FACES = Path(__file__).parent / "fixtures" / "faces"


def pytest_collection_modifyitems(config, items):
    """Run `services` tests only when LOREOS_SERVICES=1 (.ci/run's second pass)."""
    if os.environ.get("LOREOS_SERVICES") == "1":
        return
    skip = pytest.mark.skip(
        reason="needs real services: runs in .ci/run's services pass"
    )
    for item in items:
        if "services" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _isolated_media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.LOREOS_PUBLIC_BASE_URL = "http://testserver"


@pytest.fixture(autouse=True)
def _eager_celery(request):
    """Run tasks in-process unless a test drives a real worker (marker `services`)."""
    from loreos.celery import app

    eager = "services" not in request.keywords
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = eager
    yield
    app.conf.task_always_eager = previous


# Webhook URLs are resolved by hooks.ssrf._resolve; tests resolve from this table (IP
# literals resolve to themselves, unknown names fail), so no test depends on DNS.
FAKE_DNS = {
    "localhost": ["127.0.0.1"],
    "hooks.example.com": ["93.184.216.34"],
}


def fake_resolve(host: str, port: int) -> list[str]:
    import ipaddress
    import socket

    try:
        return [str(ipaddress.ip_address(host.strip("[]")))]
    except ValueError:
        pass
    if host.lower() in FAKE_DNS:
        return list(FAKE_DNS[host.lower()])
    raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")


@pytest.fixture(autouse=True)
def _offline_dns(monkeypatch):
    monkeypatch.setattr("hooks.ssrf._resolve", fake_resolve)


@pytest.fixture
def account(db):
    from characters.models import Account

    return Account.objects.create(name="acme")


@pytest.fixture
def other_account(db):
    from characters.models import Account

    return Account.objects.create(name="rival")


def _client_for(account, kind="developer"):
    from characters.keys import create_api_key

    api_key, raw = create_api_key(account=account, kind=kind)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    client.raw_key = raw
    client.api_key = api_key
    return client


@pytest.fixture
def api(account):
    return _client_for(account)


@pytest.fixture
def demo_api(account):
    return _client_for(account, kind="demo")


@pytest.fixture
def other_api(other_account):
    return _client_for(other_account)


@pytest.fixture
def anon():
    return APIClient()


ANCHORS = {
    "visual_summary": "late-20s woman, warm but tired-eyed, often in a flour-dusted apron",
    "hair": "shoulder-length dark hair, usually tied back",
    "eyes": "dark brown",
    "style_constants": [
        "round wire glasses",
        "simple earth-tone clothes",
        "a thin silver ring",
    ],
    "avoid_visual_changes": ["no drastic hair color changes", "no heavy makeup"],
}

IMAGES_ON = {"image_proactivity": 0.5, "selfie_comfort": 0.5, "daily_image_cap": 5}


@pytest.fixture
def make_character(api):
    def make(slug="mira", *, anchors=ANCHORS, thresholds=None, client=None, **extra):
        body = {"slug": slug, "name": slug.title(), "profile": {}}
        if anchors is not None:
            body["profile"]["identity_anchors"] = anchors
        if thresholds is not None:
            body["behavioral_thresholds"] = thresholds
        body.update(extra)
        response = (client or api).post("/v1/characters", body, format="json")
        assert response.status_code == 201, response.content
        return response.json()["data"]

    return make


@pytest.fixture
def character(make_character):
    return make_character()


def image_bytes(
    fmt="PNG", size=(64, 64), color=(200, 120, 90), mode="RGB", **save
) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, color).save(buffer, fmt, **save)
    return buffer.getvalue()


def face_bytes(name="obama-1.jpg") -> bytes:
    return (FACES / name).read_bytes()


def assert_error(response, status, code):
    assert response.status_code == status, (response.status_code, response.content)
    body = response.json()
    assert set(body) == {"detail"}, body
    detail = body["detail"]
    assert detail["code"] == code, detail
    assert detail["message"] and isinstance(detail["message"], str)
    assert isinstance(detail["fix"], str)
    return detail
