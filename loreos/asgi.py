"""The web process's application, run by gunicorn's uvicorn workers (gunicorn_conf.py).

Two kinds of request, two ways of serving them, one Django project:

* event streams (any path ending in ``/stream``) go to Django's ASGI handler, where
  their async views wait on the event loop: an idle subscriber holds no thread;
* everything else (the JSON API, curator pages, admin, static files) goes to the WSGI
  application on a fixed pool of ``GUNICORN_THREADS`` threads per process, exactly as
  gunicorn's threaded workers served it before: the same thread reuse, persistent
  database connections (``CONN_MAX_AGE``) and throughput (benchmarks/, "streams").

docs/deployment.md explains the choice.
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loreos.settings")

from a2wsgi import WSGIMiddleware  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.asgi import get_asgi_application  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402

STREAM_SUFFIX = "/stream"

streams = get_asgi_application()
threaded = WSGIMiddleware(get_wsgi_application(), workers=settings.LOREOS_WEB_THREADS)


async def _lifespan(receive, send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def application(scope, receive, send):
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
    elif scope["type"] == "http" and scope["path"].endswith(STREAM_SUFFIX):
        await streams(scope, receive, send)
    else:
        await threaded(scope, receive, send)
