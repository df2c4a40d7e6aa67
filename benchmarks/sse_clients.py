"""Idle event-stream subscribers for the `streams` scenario, in a process of their own.

    python -m benchmarks.sse_clients BASE_URL KEY < session ids (one a line)

Opens one GET /v1/sessions/{id}/events/stream per session id on stdin (one asyncio
loop, raw sockets: the cheapest client there is, so the load generator keeps the CPU),
prints `open <n> failed <m>` once every stream has answered, then reads them until
killed, printing `event <index> <seq> <unix time>` for every `id:` line and counting the
keep-alive comments (`comments <n>` on SIGTERM).
"""

import asyncio
import signal
import sys
import time
from urllib.parse import urlsplit


async def _subscribe(host, port, key, session_id, index, opened, counts):
    try:
        reader, writer = await asyncio.open_connection(host, port)
    except OSError:
        opened.put_nowait(False)
        return
    writer.write(
        (
            f"GET /v1/sessions/{session_id}/events/stream HTTP/1.1\r\n"
            f"Host: {host}:{port}\r\nAuthorization: Bearer {key}\r\n"
            "Accept: text/event-stream\r\n\r\n"
        ).encode()
    )
    await writer.drain()
    status = await reader.readline()
    opened.put_nowait(b" 200 " in status)
    if b" 200 " not in status:
        writer.close()
        return
    while line := await reader.readline():
        if line.startswith(b"id:"):
            seq = int(line[3:])
            print(f"event {index} {seq} {time.time():.6f}", flush=True)
        elif line.startswith(b":"):
            counts["comments"] += 1


async def main(base: str, key: str, session_ids: list[str]) -> None:
    parts = urlsplit(base)
    opened: asyncio.Queue = asyncio.Queue()
    counts = {"comments": 0}
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    tasks = [
        asyncio.create_task(
            _subscribe(parts.hostname, parts.port, key, sid, i, opened, counts)
        )
        for i, sid in enumerate(session_ids)
    ]
    ok = failed = 0
    for _ in session_ids:
        if await opened.get():
            ok += 1
        else:
            failed += 1
    print(f"open {ok} failed {failed}", flush=True)
    await stop.wait()
    print(f"comments {counts['comments']}", flush=True)
    for task in tasks:
        task.cancel()


if __name__ == "__main__":
    ids = [line.strip() for line in sys.stdin if line.strip()]
    asyncio.run(main(sys.argv[1], sys.argv[2], ids))
