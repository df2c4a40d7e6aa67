"""The live report and batch progress as Server-Sent Events (static/curate/progress.js).

Each message is ``event: status`` with ``data:`` the very JSON the page's polling
endpoint answers (reports.report_status, runs.batch_status, called here with the same
request, so the curator's access rules apply to every message). A new message is sent
when the image requests' session gets an event (image.ready / image.failed: the watcher
of characters/streams.py wakes the stream, no query of its own while idle) and, while
something is still in flight, at least every REFRESH_SECONDS (queued → generating is
not an event); the stream ends after the message that says everything has finished.
The page falls back to polling when EventSource fails, and under a WSGI server
(`manage.py runserver`), where these views send the current status once and end.
"""

import asyncio
import contextlib
import json

from django.http import HttpResponse, StreamingHttpResponse

from characters import streams
from loreos.api.ids import is_uuid

from .. import selectors
from ..access import curator_required
from . import reports, runs

REFRESH_SECONDS = 5.0


@curator_required
def _report_sessions(request, pk):
    return [str(selectors.get_visible_request(request.user, pk).session_id)]


@curator_required
def _batch_sessions(request, pk, batch_id):
    character = selectors.get_visible_character(request.user, pk)
    rows = selectors.batch_requests(character, batch_id) if is_uuid(batch_id) else []
    return sorted({str(row.session_id) for row in rows})


async def _push(request, session_ids, status, finished_key: str):
    hub = streams.watcher()
    wake = asyncio.Event()
    async with contextlib.AsyncExitStack() as stack:
        for session_id in session_ids:
            await stack.enter_async_context(hub.subscribe(session_id, wake))
        last = None
        while True:
            wake.clear()
            response = await hub.run(status)
            if response.status_code != 200:
                return  # access withdrawn meanwhile: the page falls back to polling
            if response.content != last:
                last = response.content
                yield f"event: status\ndata: {last.decode()}\n\n"
            if json.loads(last)[finished_key]:
                return
            try:
                await asyncio.wait_for(wake.wait(), REFRESH_SECONDS)
            except TimeoutError:
                yield streams.sse_comment()


def _stream(body) -> StreamingHttpResponse:
    response = StreamingHttpResponse(body, content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response


async def _serve(request, found, status, finished_key: str):
    if isinstance(found, HttpResponse):
        return found  # refused by curator_required
    if streams.served_by_asgi(request):
        return _stream(_push(request, found, status, finished_key))
    # A WSGI server (manage.py runserver) would buffer a live stream whole: the status
    # as it is now, then the end; the page polls from there.
    response = await streams.request_db(request, status)
    return _stream([f"event: status\ndata: {response.content.decode()}\n\n"])


async def report_stream(request, pk):
    found = await streams.request_db(request, _report_sessions, request, pk)
    return await _serve(
        request, found, lambda: reports.report_status(request, pk), "done"
    )


async def batch_stream(request, pk, batch_id):
    found = await streams.request_db(request, _batch_sessions, request, pk, batch_id)
    return await _serve(
        request,
        found,
        lambda: runs.batch_status(request, pk, batch_id),
        "finished",
    )
