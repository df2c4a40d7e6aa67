"""Fixtures shared by every test: accounts with keys, API clients, characters, a
character ready for images, curators. Plain helpers are in tests/helpers.py.

A fixture that more than one test module uses belongs here (or in the conftest.py of
the package that uses it), never in a module the tests star-import or import by name.
"""

import os

import pytest
from rest_framework.test import APIClient

from tests.helpers import (
    ANCHORS,
    IMAGES_ON,
    api_client_for,
    fake_resolve,
    open_session,
    upload_identity,
)


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


@pytest.fixture(autouse=True)
def _fresh_shared_cache(settings):
    """Each test sees a shared cache of its own (API keys, read tokens, slug mappings:
    a rolled-back test database reuses ids) and no kept read answers."""
    import uuid

    from characters import read_cache

    settings.CACHES = {
        **settings.CACHES,
        "shared": {**settings.CACHES["shared"], "KEY_PREFIX": uuid.uuid4().hex[:12]},
    }
    read_cache.clear()
    yield
    read_cache.clear()


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


@pytest.fixture
def api(account):
    return api_client_for(account)


@pytest.fixture
def demo_api(account):
    return api_client_for(account, kind="demo")


@pytest.fixture
def other_api(other_account):
    return api_client_for(other_account)


@pytest.fixture
def anon():
    return APIClient()


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


@pytest.fixture
def ready(api, make_character):
    """Contract steps 1–3 done: identity uploaded, anchors a dict, images enabled."""
    make_character("mira", thresholds=IMAGES_ON)
    identity = upload_identity(api)
    return {"slug": "mira", "identity": identity, "session_id": open_session(api)}


@pytest.fixture
def curator(account):
    from tests.curate_helpers import make_user

    return make_user("cora", accounts=[account])


@pytest.fixture
def curator_client(curator):
    from tests.curate_helpers import client_for

    return client_for(curator)
