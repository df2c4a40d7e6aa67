"""GET /v1/sessions/{id}/events/stream, consumed by an SSE client library (httpx-sse)
from the real ASGI application (loreos.asgi: the stream router, Django's ASGI handler,
the threaded WSGI side) served by uvicorn on a loopback port.
"""

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import httpx
import pytest
from django.test import Client
from httpx_sse import aconnect_sse, connect_sse

from characters import streams
from characters.keys import api_key_create
from characters.services import session_event_append, session_exit
from tests.factories import AccountFactory, SessionFactory
from tests.live_asgi import free_port, serve

pytestmark = pytest.mark.django_db(transaction=True)

HEARTBEAT = 0.3
POLL = 0.05


@pytest.fixture
def server(settings):
    settings.LOREOS_STREAM_HEARTBEAT_SECONDS = HEARTBEAT
    settings.LOREOS_STREAM_POLL_SECONDS = POLL
    with serve() as base:
        yield base


@pytest.fixture
def session():
    return SessionFactory()


@pytest.fixture
def key(session):
    return api_key_create(account=session.character.account)[1]


def _auth(key):
    return {"Authorization": f"Bearer {key}"}


def _url(base, session, query=""):
    return f"{base}/v1/sessions/{session.pk}/events/stream{query}"


def _page(base, session, key) -> dict:
    """The events page's JSON for every event, by seq."""
    response = httpx.get(
        f"{base}/v1/sessions/{session.pk}/events?since=0&limit=1000",
        headers=_auth(key),
    )
    assert response.status_code == 200
    return {event["seq"]: event for event in response.json()["data"]["events"]}


def _consume(base, url, key, *, headers=None, stop_after=None, on_first=None):
    """(content-type, events) read by httpx-sse until the server ends the
    stream, or until `stop_after` events."""
    events = []
    with (
        httpx.Client(timeout=httpx.Timeout(10.0)) as client,
        connect_sse(
            client, "GET", url, headers={**_auth(key), **(headers or {})}
        ) as es,
    ):
        es.response.raise_for_status()
        for sse in es.iter_sse():
            events.append(sse)
            if on_first is not None and len(events) == 1:
                on_first()
            if stop_after is not None and len(events) == stop_after:
                break
        return es.response.headers["content-type"], events


def _later(work, delay=0.1):
    def run():
        from django.db import connection

        time.sleep(delay)
        try:
            work()
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_events_arrive_in_order_as_the_events_page_has_them_and_the_stream_ends(
    server, session, key
):
    session_event_append(session, "note", {"n": 1})

    def write():
        for n in range(2, 7):
            session_event_append(session, "note", {"n": n})
        session_exit(session=session)

    writer = []
    content_type, events = _consume(
        server,
        _url(server, session),
        key,
        on_first=lambda: writer.append(_later(write)),
    )
    writer[0].join()
    assert content_type.startswith("text/event-stream")
    # session.opened is not in a factory session: 1 note written before, 5 while open.
    assert [int(e.id) for e in events] == list(range(1, 8))
    assert [e.event for e in events] == ["note"] * 6 + ["session.exited"]
    page = _page(server, session, key)
    assert [e.json() for e in events] == [page[seq] for seq in range(1, 8)]
    assert [e.json()["data"].get("n") for e in events[:6]] == [1, 2, 3, 4, 5, 6]


def test_resume_with_last_event_id_loses_nothing_and_repeats_nothing(
    server, session, key
):
    for n in range(1, 11):
        session_event_append(session, "note", {"n": n})
    _, first = _consume(server, _url(server, session), key, stop_after=4)
    assert [int(e.id) for e in first] == [1, 2, 3, 4]
    # Written while the client was away.
    for n in range(11, 14):
        session_event_append(session, "note", {"n": n})
    _later(lambda: session_exit(session=session)).join()
    _, rest = _consume(
        server,
        # ?since is ignored when Last-Event-ID is sent (a reconnecting EventSource
        # keeps the URL it started with).
        _url(server, session, "?since=0"),
        key,
        headers={"Last-Event-ID": first[-1].id},
    )
    seqs = [int(e.id) for e in first + rest]
    assert seqs == list(range(1, 15))
    assert len(set(seqs)) == len(seqs)
    assert rest[-1].event == "session.exited"


def test_since_starts_after_that_seq(server, session, key):
    for n in range(1, 6):
        session_event_append(session, "note", {"n": n})
    session_exit(session=session)
    _, events = _consume(server, _url(server, session, "?since=3"), key)
    assert [int(e.id) for e in events] == [4, 5, 6]
    assert [e.json()["data"].get("n") for e in events[:2]] == [4, 5]


def test_an_exited_session_read_to_its_end_answers_204(server, session, key):
    session_event_append(session, "note", {})
    session_exit(session=session)
    response = httpx.get(_url(server, session, "?since=2"), headers=_auth(key))
    # 204 tells an EventSource to stop reconnecting.
    assert response.status_code == 204
    response = httpx.get(
        _url(server, session), headers={**_auth(key), "Last-Event-ID": "1"}
    )
    assert response.status_code == 200
    assert "id: 2\nevent: session.exited\n" in response.text


def test_a_comment_line_keeps_an_idle_stream_open(server, session, key):
    lines = []
    with httpx.stream(
        "GET", _url(server, session), headers=_auth(key), timeout=10
    ) as response:
        assert response.headers["cache-control"] == "no-cache"
        started = time.monotonic()
        for line in response.iter_lines():
            lines.append(line)
            if lines.count(": keep-alive") == 2:
                break
    assert time.monotonic() - started >= HEARTBEAT
    assert not any(line.startswith("id:") for line in lines)


def _error(response, status, code):
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"detail"} and body["detail"]["code"] == code
    assert body["detail"]["message"] and body["detail"]["fix"]
    return body


def test_another_accounts_session_is_a_404_before_the_stream_starts(server, session):
    _, other_key = api_key_create(account=AccountFactory())
    response = httpx.get(_url(server, session), headers=_auth(other_key))
    _error(response, 404, "not_found")
    response = httpx.get(
        f"{server}/v1/sessions/not-a-uuid/events/stream", headers=_auth(other_key)
    )
    _error(response, 404, "not_found")


def test_without_a_valid_key_it_is_a_401(server, session):
    response = httpx.get(_url(server, session))
    _error(response, 401, "unauthenticated")
    assert response.headers["www-authenticate"] == 'Bearer realm="api"'
    response = httpx.get(_url(server, session), headers=_auth("lok_0000_nope"))
    _error(response, 401, "unauthenticated")


def test_a_bad_resume_point_is_a_422(server, session, key):
    response = httpx.get(_url(server, session, "?since=-1"), headers=_auth(key))
    assert _error(response, 422, "validation_error")["detail"]["field"] == "since"
    response = httpx.get(
        _url(server, session), headers={**_auth(key), "Last-Event-ID": "x"}
    )
    body = _error(response, 422, "validation_error")
    assert body["detail"]["field"] == "Last-Event-ID"


def test_only_get_is_allowed(server, session, key):
    response = httpx.post(_url(server, session), headers=_auth(key))
    _error(response, 405, "method_not_allowed")
    assert response.headers["allow"] == "GET"


def test_idle_streams_cost_one_query_per_tick_not_one_each(
    server, session, key, monkeypatch
):
    """30 subscribers on 30 sessions: while nothing happens, the process's watcher
    reads all their heads in one query per tick and no stream reads its events."""
    account = session.character.account
    sessions = [SessionFactory(character__account=account) for _ in range(30)]
    calls = {"heads": [], "events": 0}
    heads, events_after = streams.session_heads, streams.events_after

    def counted_heads(ids):
        calls["heads"].append(len(ids))
        return heads(ids)

    def counted_events(*args):
        calls["events"] += 1
        return events_after(*args)

    monkeypatch.setattr(streams, "session_heads", counted_heads)
    monkeypatch.setattr(streams, "events_after", counted_events)
    idle = 1.0

    async def listen(client, session):
        async with aconnect_sse(
            client, "GET", _url(server, session), headers=_auth(key)
        ) as es:
            assert es.response.status_code == 200
            async for _ in es.aiter_sse():
                pass

    async def main():
        async with httpx.AsyncClient(timeout=10) as client:
            tasks = [asyncio.create_task(listen(client, s)) for s in sessions]
            # Settled: every stream has read its (empty) backlog, the watcher's first
            # sight of each session has woken it once more, and nothing reads now.
            deadline = time.monotonic() + 15
            while True:
                assert time.monotonic() < deadline, "the streams never went idle"
                seen = calls["events"]
                await asyncio.sleep(POLL * 6)
                if seen == calls["events"] >= len(sessions) and calls["heads"]:
                    break
            before = (len(calls["heads"]), calls["events"])
            started = time.monotonic()
            await asyncio.sleep(idle)
            elapsed = time.monotonic() - started
            after = (len(calls["heads"]), calls["events"])
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            return before, after, elapsed

    (heads_before, events_before), (heads_after, events_after_), elapsed = asyncio.run(
        main()
    )
    ticks = heads_after - heads_before
    assert events_after_ == events_before, "an idle stream read its events"
    assert 1 <= ticks <= elapsed / POLL + 2
    # Each tick asked for every watched session at once.
    assert max(calls["heads"]) == len(sessions)
    # Clients that went away left nothing behind in the server.
    deadline = time.monotonic() + 5
    while any(w.subscribers for w in list(streams._watchers.values())):
        assert time.monotonic() < deadline, "disconnected streams are still subscribed"
        time.sleep(0.05)


def test_the_production_command_serves_streams_and_the_api(tmp_path):
    """`gunicorn loreos.asgi:application -c loreos/gunicorn_conf.py` (compose.yaml, the
    Dockerfile, `make run`) boots its uvicorn workers and routes both kinds of path."""
    root = Path(__file__).resolve().parent.parent
    port = free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_ALLOW_ASYNC", "PYTEST"))
    }
    env.update(
        GUNICORN_BIND=f"127.0.0.1:{port}",
        GUNICORN_WORKERS="1",
        LOREOS_VAR_DIR=str(tmp_path),
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
    )
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "loreos.asgi:application",
            "-c",
            "loreos/gunicorn_conf.py",
        ],
        cwd=root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
            try:
                health = httpx.get(f"{base}/healthz", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "gunicorn did not answer"
                time.sleep(0.2)
        assert health.status_code == 200
        assert health.headers["server"] == "uvicorn"
        stream = httpx.get(f"{base}/v1/sessions/{uuid.uuid4()}/events/stream")
        _error(stream, 401, "unauthenticated")
        api = httpx.get(f"{base}/v1/characters")
        _error(api, 401, "unauthenticated")
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def test_under_a_wsgi_server_the_stream_still_works(session, key, settings):
    """`manage.py runserver` (WSGI): the blocking variant, same messages and end."""
    settings.LOREOS_STREAM_POLL_SECONDS = 0.01
    for n in range(1, 4):
        session_event_append(session, "note", {"n": n})
    session_exit(session=session)
    client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    response = client.get(
        f"/v1/sessions/{session.pk}/events/stream", HTTP_LAST_EVENT_ID="1"
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "text/event-stream"
    body = b"".join(response.streaming_content).decode()
    assert [line for line in body.splitlines() if line.startswith("id:")] == [
        "id: 2",
        "id: 3",
        "id: 4",
    ]
    assert "event: session.exited" in body
