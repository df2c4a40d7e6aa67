"""The 8 MB PNG wardrobe upload in-process, with its PNG proof made while the body is
received (as served) and after it (``png_stream.InThread`` replaced by a stand-in that
gives no answer, so ``check_image`` walks the stored file, as before), alternated
request by request, against Pillow's open + load() of the same bytes:

    python -m benchmarks.upload_inprocess [REPS] [--asgi]

``--asgi`` hands each request to ``loreos.asgi.application`` (the path gunicorn's
uvicorn workers take: a2wsgi pulls the body from the event loop 64 KiB at a time) in
place of the WSGI app. Runs on its own PostgreSQL database (BENCH_PG_URL's server,
created and dropped) and a temporary media folder; prints one line a mode and a JSON
object. Timings swing with whatever else runs on the machine: the proof while
receiving needs a free second core to gain.
"""

import asyncio
import io
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from . import images, infra
from .upload_memory import upload_environ

DB = "loreos_upload_inprocess"
PATH = "/v1/characters/uploader/visual-assets"


class _NoProofWhileReceiving:
    """Stands in for png_stream.InThread: no thread, no answer (the walk decides)."""

    def __init__(self, **kwargs):
        pass

    def feed(self, data):
        pass

    def finish(self):
        return None

    def cancel(self):
        pass


def _wsgi_call(application, body, ctype, key):
    status = {}
    environ = upload_environ(PATH, key, io.BytesIO(body), ctype, len(body))
    result = application(
        environ,
        lambda code, headers, exc_info=None: status.update(code=int(code.split()[0])),
    )
    b"".join(result)
    result.close()
    return status["code"]


def _asgi_call(loop, application, body, ctype, key):
    pieces = [body[i : i + 65536] for i in range(0, len(body), 65536)]
    state = {"next": 0, "code": None}
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": PATH,
        "raw_path": PATH.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"127.0.0.1"),
            (b"content-type", ctype.encode()),
            (b"content-length", str(len(body)).encode()),
            (b"authorization", f"Bearer {key}".encode()),
        ],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
    }

    async def receive():
        await asyncio.sleep(0)
        i = state["next"]
        state["next"] += 1
        if i < len(pieces):
            return {
                "type": "http.request",
                "body": pieces[i],
                "more_body": i + 1 < len(pieces),
            }
        await asyncio.sleep(3600)  # the client waits for the answer

    async def send(message):
        if message["type"] == "http.response.start":
            state["code"] = message["status"]

    loop.run_until_complete(application(scope, receive, send))
    return state["code"]


def main() -> int:
    reps = next((int(a) for a in sys.argv[1:] if a.isdigit()), 30)
    asgi = "--asgi" in sys.argv
    var = tempfile.mkdtemp(prefix="loreos-upload-inprocess-")
    os.environ.update(
        DJANGO_SETTINGS_MODULE="loreos.settings",
        DATABASE_URL=infra.database_url(DB),
        LOREOS_VAR_DIR=var,
        MEDIA_ROOT=os.path.join(var, "media"),
        LOG_LEVEL="WARNING",
        LOREOS_METERED_THROTTLE="1000000/min",
        DEBUG="0",
    )
    for sub in ("media", "static"):
        os.makedirs(os.path.join(var, sub), exist_ok=True)
    infra.create_database(DB)
    try:
        import django

        django.setup()
        from django.core.management import call_command
        from PIL import Image

        from visuals import png_stream

        from . import seed

        call_command("migrate", verbosity=0)
        account, key = seed.account_with_key("inprocess")
        seed.generation_character(account, "uploader")
        data = images.eight_mb("PNG")
        if asgi:
            from loreos.asgi import application

            loop = asyncio.new_event_loop()

            def call(body, ctype):
                return _asgi_call(loop, application, body, ctype, key)
        else:
            from loreos.wsgi import application

            def call(body, ctype):
                return _wsgi_call(application, body, ctype, key)

        in_thread = png_stream.InThread
        modes = {"while receiving": in_thread, "after": _NoProofWhileReceiving}
        times = {mode: [] for mode in modes}
        floors = []
        for i in range(reps + 1):  # the first round warms up
            order = list(modes) if i % 2 else list(reversed(modes))
            for mode in order:
                png_stream.InThread = modes[mode]
                body, ctype = images.multipart(
                    {"category": "wardrobe", "asset_key": f"{i}-{mode}", "label": "l"},
                    "photo.png",
                    data,
                    "image/png",
                )
                started = time.perf_counter()
                image = Image.open(io.BytesIO(data))
                image.load()
                floor = time.perf_counter() - started
                started = time.perf_counter()
                code = call(body, ctype)
                took = time.perf_counter() - started
                if code != 201:
                    raise RuntimeError(f"{mode}: answered {code}")
                if i:
                    times[mode].append(took)
                    floors.append(floor)
        png_stream.InThread = in_thread
        floor = statistics.median(floors)
        out = {"path": "asgi" if asgi else "wsgi", "reps": reps, "file": len(data)}
        out["pillow_ms"] = round(floor * 1000, 1)
        for mode, samples in times.items():
            median = statistics.median(samples)
            out[mode] = {
                "ms": round(median * 1000, 1),
                "ratio": round(median / floor, 2),
            }
            print(
                f"proof {mode}: {median * 1000:.1f} ms = {median / floor:.2f} × "
                f"Pillow's open + load ({floor * 1000:.1f} ms), median of {reps}"
            )
        print(json.dumps(out))
    finally:
        from django.db import connections

        connections.close_all()
        infra.drop_database(DB)
        infra.remove_var_dir(Path(var))
    return 0


if __name__ == "__main__":
    sys.exit(main())
