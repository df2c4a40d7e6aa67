"""Gunicorn settings; GUNICORN_* environment variables override each value.

Workers are uvicorn's (an event loop per process) serving loreos.asgi:application: event
streams wait on the loop, every other request runs on GUNICORN_THREADS threads per
worker (read by the settings, see loreos/asgi.py and docs/deployment.md).
"""

import os

from uvicorn_worker import UvicornWorker


class Worker(UvicornWorker):
    # On shutdown, open event streams (which never finish on their own) are cut after
    # this many seconds, so a restart is not held up to gunicorn's graceful_timeout;
    # clients reconnect with Last-Event-ID and lose nothing.
    CONFIG_KWARGS = {**UvicornWorker.CONFIG_KWARGS, "timeout_graceful_shutdown": 10}


bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
worker_class = "loreos.gunicorn_conf.Worker"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 20
keepalive = 5
accesslog = os.environ.get("GUNICORN_ACCESSLOG", "-") or None
errorlog = "-"
# Header lines up to 16 KB where gunicorn parses requests itself (--worker-class
# gthread); uvicorn's workers use httptools' limits. Upload bodies past 2.5 MB
# spool to a temporary file in Django either way.
limit_request_field_size = 16384
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
