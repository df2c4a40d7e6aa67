"""Serve loreos.asgi.application with uvicorn on a loopback port, in a thread of the
test process (so it shares the test database, as Django's live_server does).

While it serves, database connections are not kept between units of work
(CONN_MAX_AGE 0, as Django's live_server closes its threads' connections): the server's
threads, which outlive the test, must not hold the test database open (PostgreSQL could
neither flush nor drop it)."""

import contextlib
import socket
import threading
import time

import uvicorn


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def serve(app=None):
    """Yield the base URL of loreos.asgi.application (or `app`) served by uvicorn."""
    from django.db import connections

    from loreos.asgi import application

    # Every thread's connection shares this settings dict.
    database = connections["default"].settings_dict
    kept = database.get("CONN_MAX_AGE", 0)
    database["CONN_MAX_AGE"] = 0

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app or application,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="on",
            # Open streams are cut at shutdown, as gunicorn_conf.Worker does.
            timeout_graceful_shutdown=1,
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        database["CONN_MAX_AGE"] = kept
