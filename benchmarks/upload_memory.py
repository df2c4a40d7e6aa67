"""Peak memory of one upload request, measured in a fresh process:

    python -m benchmarks.upload_memory BODY_FILE CONTENT_TYPE PATH KEY \\
        WARMUP_BODY WARMUP_TYPE

The request is handed to the project's WSGI application exactly as gunicorn would hand
it (the body read from a file), after a warm-up request with a small image has imported
and connected everything. The kernel's peak-RSS mark is reset (/proc/self/clear_refs)
just before the measured request; the figure is VmHWM after it minus VmRSS before it.
`python -m benchmarks.upload_memory pillow IMAGE_FILE` measures the same way around
Pillow's own Image.open + load() of the file, for comparison. Prints one JSON object.
"""

import gc
import io
import json
import os
import sys
import time
from pathlib import Path


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def upload_environ(path, key, stream, content_type, size) -> dict:
    """The WSGI environ of a multipart POST to `path` with `key`, its body read from
    `stream` (as gunicorn hands the app a request)."""
    return {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "CONTENT_TYPE": content_type,
        "CONTENT_LENGTH": str(size),
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "127.0.0.1",
        "HTTP_AUTHORIZATION": f"Bearer {key}",
        "wsgi.input": stream,
        "wsgi.errors": sys.stderr,
        "wsgi.url_scheme": "http",
        "wsgi.version": (1, 0),
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }


def _call(application, path, key, body_file, content_type):
    size = os.path.getsize(body_file)
    status = {}

    def start_response(code, headers, exc_info=None):
        status["code"] = int(code.split()[0])

    with open(body_file, "rb") as stream:
        environ = upload_environ(path, key, stream, content_type, size)
        result = application(environ, start_response)
        body = io.BytesIO()
        for chunk in result:
            body.write(chunk)
        if hasattr(result, "close"):
            result.close()
    return status.get("code"), body.getvalue()


def pillow_only(image_file: str) -> int:
    """The same measure around Pillow's own Image.open + load() of the file."""
    from PIL import Image

    Image.open(image_file).close()  # imports the plugins before the measure
    gc.collect()
    Path("/proc/self/clear_refs").write_text("5")
    before_kb = _status_kb("VmRSS")
    with Image.open(image_file) as image:
        image.load()
        peak_kb = _status_kb("VmHWM")
    print(json.dumps({"peak_bytes": (peak_kb - before_kb) * 1024}))
    return 0


def main() -> int:
    if sys.argv[1] == "pillow":
        return pillow_only(sys.argv[2])
    body_file, content_type, path, key, warm_file, warm_type = sys.argv[1:7]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loreos.settings")
    from loreos.wsgi import application

    warm_status, warm_body = _call(application, path, key, warm_file, warm_type)
    gc.collect()
    Path("/proc/self/clear_refs").write_text("5")
    before_kb = _status_kb("VmRSS")
    started = time.perf_counter()
    status, body = _call(application, path, key, body_file, content_type)
    seconds = [time.perf_counter() - started]
    peak_kb = _status_kb("VmHWM")
    for _ in range(2):  # two more, for a steadier time
        started = time.perf_counter()
        _call(application, path, key, body_file, content_type)
        seconds.append(time.perf_counter() - started)
    print(
        json.dumps(
            {
                "status": status,
                "warmup_status": warm_status,
                "rss_before_bytes": before_kb * 1024,
                "peak_bytes": (peak_kb - before_kb) * 1024,
                "seconds": sorted(seconds)[1],
                "response": body[:300].decode("utf-8", "replace"),
                "warmup_response": warm_body[:300].decode("utf-8", "replace"),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
