"""The curator pages' live report and batch progress streams (Server-Sent Events),
consumed with httpx-sse from the real ASGI application on a loopback port, signed in
with a curator's session cookie."""

import re
import threading
import uuid

import httpx
import pytest
from httpx_sse import connect_sse

from characters.services import session_event_append
from curate.views import streams as curate_streams
from tests.curate_helpers import client_for, make_user
from tests.factories import AccountFactory, SessionFactory, make_request
from tests.live_asgi import serve
from visuals.models import ImageRequest

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def server(settings):
    settings.LOREOS_STREAM_HEARTBEAT_SECONDS = 0.3
    settings.LOREOS_STREAM_POLL_SECONDS = 0.05
    with serve() as base:
        yield base


@pytest.fixture
def session():
    return SessionFactory()


def _cookie(user) -> dict:
    client = client_for(user)
    return {"Cookie": f"sessionid={client.cookies['sessionid'].value}"}


@pytest.fixture
def cookie(session):
    return _cookie(make_user("cora", accounts=[session.character.account]))


def _finish(image_request, status="failed"):
    """What the engine does when an image ends: settle the request, append the event."""

    def run():
        from django.db import connection

        try:
            ImageRequest.objects.filter(pk=image_request.pk).update(
                request_status=status, failure_reason="backend said no"
            )
            session_event_append(
                image_request.session,
                "image.failed",
                {"image_request_id": str(image_request.pk)},
            )
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def _follow(url, headers, on_message):
    """Every `status` message's JSON, until the server ends the stream."""
    seen = []
    with (
        httpx.Client(timeout=10) as client,
        connect_sse(client, "GET", url, headers=headers) as source,
    ):
        assert source.response.status_code == 200
        for message in source.iter_sse():
            assert message.event == "status"
            seen.append(message.json())
            on_message(len(seen), seen[-1])
    return seen


def _unmasked_text(text: str) -> str:
    """`text` with each masked CSRF token (JSON-escaped or not) replaced."""
    return re.sub(
        r'(name=\\?"csrfmiddlewaretoken\\?" value=\\?")[^"\\]+',
        r"\1-",
        text,
    )


def _unmasked(message: dict) -> dict:
    """The message with each masked CSRF token replaced by a placeholder."""
    html = re.sub(
        r'name="csrfmiddlewaretoken" value="[^"]+"',
        'name="csrfmiddlewaretoken" value="-"',
        message["html"],
    )
    return {**message, "html": html}


def test_the_report_is_pushed_when_its_image_ends(server, session, cookie, monkeypatch):
    # Only the session's event can bring the final status in time: no refresh.
    monkeypatch.setattr(curate_streams, "REFRESH_SECONDS", 60)
    probe = make_request(session, probe_type="identity_selfie", status="generating")
    page = httpx.get(f"{server}/curate/reports/{probe.pk}/", headers=cookie)
    assert f'data-stream-url="/curate/reports/{probe.pk}/stream"' in page.text
    polled = httpx.get(
        f"{server}/curate/reports/{probe.pk}/status.json", headers=cookie
    ).json()
    writers = []
    seen = _follow(
        f"{server}/curate/reports/{probe.pk}/stream",
        cookie,
        lambda n, _: writers.append(_finish(probe)) if n == 1 else None,
    )
    writers[0].join()
    # The first message is exactly what the page would have polled (but for the
    # CSRF token of the Cancel form, which Django masks anew on every render).
    assert _unmasked(seen[0]) == _unmasked(polled)
    assert (seen[0]["state"], seen[0]["done"]) == ("generating", False)
    assert (seen[-1]["state"], seen[-1]["done"]) == ("failed", True)
    assert "backend said no" in seen[-1]["html"]
    assert len(seen) == 2


def test_a_change_without_an_event_arrives_with_the_refresh(
    server, session, cookie, monkeypatch
):
    monkeypatch.setattr(curate_streams, "REFRESH_SECONDS", 0.1)
    probe = make_request(session, probe_type="identity_selfie", status="queued")

    def step(n, message):
        if n == 1:
            ImageRequest.objects.filter(pk=probe.pk).update(request_status="generating")
        elif n == 2:
            ImageRequest.objects.filter(pk=probe.pk).update(
                request_status="failed", failure_reason="timed out"
            )

    seen = _follow(f"{server}/curate/reports/{probe.pk}/stream", cookie, step)
    assert [m["state"] for m in seen] == ["queued", "generating", "failed"]


def test_batch_progress_is_pushed_item_by_item_until_it_finishes(
    server, session, cookie, monkeypatch
):
    monkeypatch.setattr(curate_streams, "REFRESH_SECONDS", 60)
    batch = uuid.uuid4()
    items = [
        make_request(session, category=c, status="generating", batch_id=batch)
        for c in ("wardrobe", "prop")
    ]
    character = session.character
    page = httpx.get(f"{server}/curate/characters/{character.pk}/?batch={batch}")
    url = f"{server}/curate/characters/{character.pk}/batches/{batch}/stream"
    writers = []

    def step(n, message):
        if n <= len(items):
            writers.append(_finish(items[n - 1]))

    seen = _follow(url, cookie, step)
    for writer in writers:
        writer.join()
    assert [(m["done"], m["total"], m["finished"]) for m in seen] == [
        (0, 2, False),
        (1, 2, False),
        (2, 2, True),
    ]
    polled = httpx.get(
        f"{server}/curate/characters/{character.pk}/batches/{batch}.json",
        headers=cookie,
    ).json()
    assert seen[-1] == polled
    assert page.status_code == 302  # no cookie: the page itself asks for a sign-in
    page = httpx.get(
        f"{server}/curate/characters/{character.pk}/?batch={batch}", headers=cookie
    )
    assert f'data-stream-url="/curate/characters/{character.pk}/batches/' in page.text


def test_the_curator_access_rules_apply_to_the_streams(server, session):
    probe = make_request(session, probe_type="identity_selfie", status="generating")
    batch = uuid.uuid4()
    make_request(session, category="prop", status="generating", batch_id=batch)
    urls = [
        f"{server}/curate/reports/{probe.pk}/stream",
        f"{server}/curate/characters/{session.character.pk}/batches/{batch}/stream",
    ]
    granted_elsewhere = _cookie(make_user("otto", accounts=[AccountFactory()]))
    not_a_curator = _cookie(
        make_user("nick", curator=False, accounts=[session.character.account])
    )
    for url in urls:
        anonymous = httpx.get(url)
        assert anonymous.status_code == 302
        assert anonymous.headers["location"].startswith("/accounts/login/")
        assert httpx.get(url, headers=granted_elsewhere).status_code == 404
        assert httpx.get(url, headers=not_a_curator).status_code == 403


def test_under_a_wsgi_server_a_stream_sends_the_status_once(session):
    """`manage.py runserver` (WSGI) would buffer a live stream whole: the status as it
    is now, then the end (the page polls from there)."""
    probe = make_request(session, probe_type="identity_selfie", status="generating")
    client = client_for(make_user("cora", accounts=[session.character.account]))
    character = session.character.pk
    for polled_url, url in (
        (f"/curate/reports/{probe.pk}/status.json", f"/curate/reports/{probe.pk}"),
        (
            f"/curate/characters/{character}/batches/{probe.pk}.json",
            f"/curate/characters/{character}/batches/{probe.pk}",
        ),
    ):
        polled = client.get(polled_url)
        response = client.get(f"{url}/stream")
        assert response.status_code == 200
        assert response["Content-Type"] == "text/event-stream"
        body = b"".join(response.streaming_content).decode()
        expected = f"event: status\ndata: {polled.content.decode()}\n\n"
        assert _unmasked_text(body) == _unmasked_text(expected)
