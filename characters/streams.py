"""The live session event stream: Server-Sent Events served on the ASGI event loop.

A subscriber costs a coroutine and a socket, not a thread. What tells subscribers that
their session has news is one watcher per process (per event loop): every
``LOREOS_STREAM_POLL_SECONDS`` it reads ``(last_seq, status)`` of every session that
has a subscriber in a single query, and wakes only the subscribers whose session moved.
An idle stream therefore costs no query of its own; a woken one reads its new events
(one query per page of up to ``PAGE`` events).

Database work runs on a small thread pool owned by the watcher, so the stream holds at
most that many database connections in a process however many clients listen, and those
connections persist (``CONN_MAX_AGE``) instead of being opened per request.

Format (docs/api-decisions.md): ``id: <seq>``, ``event: <type>``, ``data: <the event as
the events page returns it>``; a comment line every ``LOREOS_STREAM_HEARTBEAT_SECONDS``;
the stream ends after the session's ``session.exited`` event.
"""

import asyncio
import contextlib
import logging
import time
import weakref
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.db import close_old_connections
from rest_framework.renderers import JSONRenderer

from .models import Session, SessionEvent
from .serializers import event_dict

PAGE = 500
# Sessions per watcher query (well under SQLite's bound-parameter limit).
CHUNK = 900
DB_THREADS = 2

_renderer = JSONRenderer()
logger = logging.getLogger(__name__)


def sse_event(event: SessionEvent) -> str:
    """One event as an SSE message; the JSON is one line (DRF's compact renderer)."""
    data = _renderer.render(event_dict(event)).decode()
    return f"id: {event.seq}\nevent: {event.type}\ndata: {data}\n\n"


def sse_comment(text: str = "keep-alive") -> str:
    return f": {text}\n\n"


@dataclass(frozen=True)
class Head:
    last_seq: int
    exited: bool


def _in_thread(fn: Callable, *args):
    """Run one unit of database work in a watcher thread as a request would: stale or
    broken connections are dropped before and after (kept while CONN_MAX_AGE allows)."""
    close_old_connections()
    try:
        return fn(*args)
    finally:
        close_old_connections()


def session_heads(session_ids: list[str]) -> dict[str, Head]:
    """(last_seq, exited) of these sessions, in one query per CHUNK sessions."""
    heads = {}
    for start in range(0, len(session_ids), CHUNK):
        rows = Session.objects.filter(
            pk__in=session_ids[start : start + CHUNK]
        ).values_list("pk", "last_seq", "status")
        for pk, last_seq, status in rows:
            heads[str(pk)] = Head(last_seq, status == Session.Status.EXITED)
    return heads


def events_after(session_id: str, after: int) -> tuple[list[SessionEvent], bool, bool]:
    """Up to PAGE events with seq > after, whether more follow, and whether the session
    has exited. The status is read first: session_exit() commits the status and the
    session.exited event together, so an exited status means that event is readable."""
    status = (
        Session.objects.filter(pk=session_id).values_list("status", flat=True).first()
    )
    rows = list(
        SessionEvent.objects.filter(session_id=session_id, seq__gt=after).order_by(
            "seq"
        )[: PAGE + 1]
    )
    return rows[:PAGE], len(rows) > PAGE, status in (None, Session.Status.EXITED)


class Watcher:
    """One per event loop: the single query that wakes every subscriber."""

    def __init__(self, poll_seconds: float):
        self.poll_seconds = poll_seconds
        self.executor = ThreadPoolExecutor(DB_THREADS, thread_name_prefix="stream-db")
        self._waiters: dict[str, set[asyncio.Event]] = defaultdict(set)
        self._heads: dict[str, Head] = {}
        self._task: asyncio.Task | None = None
        # Counters for tests and benchmarks: how much the watcher costs.
        self.ticks = 0
        self.queries = 0

    async def run(self, fn: Callable, *args):
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, _in_thread, fn, *args)

    @property
    def subscribers(self) -> int:
        return sum(len(waiters) for waiters in self._waiters.values())

    @contextlib.asynccontextmanager
    async def subscribe(
        self, session_id: str, wake: asyncio.Event | None = None
    ) -> AsyncIterator[asyncio.Event]:
        """Set `wake` (a new event unless given: one may serve several sessions)
        whenever the session gets an event or changes status."""
        wake = wake or asyncio.Event()
        self._waiters[session_id].add(wake)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._loop())
        try:
            yield wake
        finally:
            waiters = self._waiters.get(session_id)
            if waiters is not None:
                waiters.discard(wake)
                if not waiters:
                    del self._waiters[session_id]
                    self._heads.pop(session_id, None)

    async def _loop(self) -> None:
        while self._waiters:
            await asyncio.sleep(self.poll_seconds)
            await self.tick()

    async def tick(self) -> None:
        ids = list(self._waiters)
        if not ids:
            return
        self.ticks += 1
        self.queries += (len(ids) + CHUNK - 1) // CHUNK
        try:
            heads = await self.run(session_heads, ids)
        except Exception:
            # A database hiccup must not end every stream: the next tick tries again.
            logger.warning(
                "event stream watcher: reading session heads failed", exc_info=True
            )
            return
        for session_id in ids:
            head = heads.get(session_id, Head(0, True))
            if self._heads.get(session_id) != head:
                self._heads[session_id] = head
                for wake in self._waiters.get(session_id, ()):
                    wake.set()


_watchers: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Watcher]" = (
    weakref.WeakKeyDictionary()
)


def watcher() -> Watcher:
    loop = asyncio.get_running_loop()
    found = _watchers.get(loop)
    if found is None:
        found = _watchers[loop] = Watcher(settings.LOREOS_STREAM_POLL_SECONDS)
    return found


async def session_stream(session_id: str, after: int) -> AsyncIterator[str]:
    """The SSE body: the events after `after`, then each new one as it is appended,
    a comment every heartbeat, and the end after the session exits."""
    heartbeat = settings.LOREOS_STREAM_HEARTBEAT_SECONDS
    hub = watcher()
    async with hub.subscribe(session_id) as wake:
        while True:
            wake.clear()
            events, more, exited = await hub.run(events_after, session_id, after)
            for event in events:
                yield sse_event(event)
                after = event.seq
            if more:
                continue
            if exited:
                return
            # Idle: no query of its own until the watcher says the session moved.
            while True:
                try:
                    await asyncio.wait_for(wake.wait(), heartbeat)
                    break
                except TimeoutError:
                    yield sse_comment()


async def request_db(request, fn: Callable, *args):
    """Database work of a stream request before it streams (authentication, access).
    Under ASGI it runs on the watcher's threads (bounded, persistent connections);
    under WSGI (manage.py runserver, Django's test client) in the request's own
    thread, where its connection, and a test's transaction, live."""
    if served_by_asgi(request):
        return await watcher().run(fn, *args)
    return await sync_to_async(fn, thread_sensitive=True)(*args)


def served_by_asgi(request) -> bool:
    """Whether an ASGI server serves this request (loreos.asgi: production, `make
    run`). Under a WSGI server Django would buffer an async stream whole."""
    return isinstance(request, ASGIRequest)


def session_stream_blocking(session_id: str, after: int) -> Iterator[str]:
    """The same stream for a WSGI server (`manage.py runserver`): it holds a thread and
    reads its own session every poll interval, on the request's own database
    connection (the WSGI handler manages it). For development only."""
    poll = settings.LOREOS_STREAM_POLL_SECONDS
    heartbeat = settings.LOREOS_STREAM_HEARTBEAT_SECONDS
    quiet = 0.0
    while True:
        events, more, exited = events_after(session_id, after)
        for event in events:
            yield sse_event(event)
            after = event.seq
            quiet = 0.0
        if more:
            continue
        if exited:
            return
        time.sleep(poll)
        quiet += poll
        if quiet >= heartbeat:
            yield sse_comment()
            quiet = 0.0
