"""Serve loreos.asgi.application with uvicorn on a loopback port, in a thread of the
test process (so it shares the test database, as Django's live_server does).

While it serves, database connections are not kept between units of work
(CONN_MAX_AGE 0, as Django's live_server closes its threads' connections): the server's
threads, which outlive the test, must not hold the test database open (PostgreSQL could
neither flush nor drop it).

On SQLite the test database is in memory with a shared cache, where a table a
transaction is writing is locked for everyone else: a reader in another thread (an
event stream, while a test appends events) fails at once with "database table is
locked", which neither PostgreSQL nor a file database does (they wait or read the last
committed rows). While serving, SQLite connections read without those table locks
(PRAGMA read_uncommitted), as readers of a real database would not be refused."""

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
    from django.db.backends.signals import connection_created

    from loreos.asgi import application

    def unlocked_reads(sender, connection, **kwargs):
        if connection.vendor == "sqlite" and connection.is_in_memory_db():
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA read_uncommitted = 1")

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
    connection_created.connect(unlocked_reads)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 15
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        database["CONN_MAX_AGE"] = kept
        connection_created.disconnect(unlocked_reads)
