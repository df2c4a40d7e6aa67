"""The one provider HTTP client (visuals.engine.backends.http): where its timeout and
retries come from, what it retries, and that no backend builds HTTP by hand."""

import ast
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Thread

import pytest

from visuals.engine.backends import http as web

ROOT = Path(__file__).resolve().parent.parent


def test_a_provider_with_its_own_settings_uses_them_the_others_share_http(settings):
    settings.LOREOS_HTTP_TIMEOUT_SECONDS = 7.0
    settings.LOREOS_HTTP_RETRIES = 2
    settings.LOREOS_HTTP_BACKOFF_SECONDS = 0.25
    settings.LOREOS_OPENAI_TIMEOUT_SECONDS = 90.0
    settings.LOREOS_OPENAI_MAX_RETRIES = 5
    settings.LOREOS_OPENAI_BACKOFF_SECONDS = 2.0
    openai = web.policy("openai")
    assert (openai.timeout, openai.retries, openai.backoff) == (90.0, 5, 2.0)
    for provider in ("comfyui", "fal", "replicate", ""):
        shared = web.policy(provider)
        assert (shared.timeout, shared.retries, shared.backoff) == (7.0, 2, 0.25)
    assert web.client("http://x", using=openai).timeout.read == 90.0


@pytest.fixture
def flaky():
    """Answers the scripted statuses in order (then 200), counting the requests."""
    script: list[int] = []
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            seen.append(self.path)
            status = script.pop(0) if script else 200
            self.send_response(status)
            if status == 429:
                self.send_header("Retry-After", "3")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", script, seen
    server.shutdown()
    server.server_close()


def test_send_retries_429_and_5xx_then_reports_the_last_answer(settings, flaky):
    base, script, seen = flaky
    settings.LOREOS_HTTP_RETRIES = 2
    settings.LOREOS_HTTP_BACKOFF_SECONDS = 0.5
    waits = []
    using = web.policy(sleep=waits.append)
    script.extend([503, 429])
    with web.client(base, using=using) as http:
        answer = web.send(http, "GET", "/a", using=using)
        assert answer.response.status_code == 200 and answer.retries == 2
        assert waits == [0.5, 3.0]  # backoff, then Retry-After over 0.5 × 2
        script.extend([500, 500, 502])
        with pytest.raises(web.Exhausted) as exhausted:
            web.send(http, "GET", "/b", using=using)
    assert exhausted.value.retries == 2
    assert exhausted.value.response.status_code == 502
    assert exhausted.value.problem == "HTTP 502"
    assert len(seen) == 6


def test_a_404_is_returned_at_once(settings, flaky):
    base, script, seen = flaky
    script.append(404)
    waits = []
    using = web.policy(sleep=waits.append)
    with web.client(base, using=using) as http:
        answer = web.send(http, "GET", "/missing", using=using)
    assert answer.response.status_code == 404 and answer.retries == 0
    assert waits == [] and seen == ["/missing"]


def test_a_refused_connection_is_exhausted_without_an_answer(settings):
    settings.LOREOS_HTTP_RETRIES = 1
    waits = []
    using = web.policy(sleep=waits.append)
    with web.client("http://127.0.0.1:9", using=using) as http:  # discard: refused
        with pytest.raises(web.Exhausted) as exhausted:
            web.send(http, "GET", "/", using=using)
    assert exhausted.value.response is None and len(waits) == 1
    assert exhausted.value.problem.startswith("ConnectError")


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_no_application_module_speaks_http_by_hand():
    """Provider calls (the backends, the vision judge) go through backends.http; the
    only other outbound client is webhook delivery to users' URLs (hooks/sending.py),
    behind its SSRF guard."""
    clients = {"visuals/engine/backends/http.py", "hooks/sending.py"}
    offenders = []
    for app in ("loreos", "characters", "hooks", "visuals", "curate"):
        for path in (ROOT / app).rglob("*.py"):
            relative = path.relative_to(ROOT).as_posix()
            if "/devtools/" in relative or "/migrations/" in relative:
                continue  # the stand-ins are servers, not clients
            imports = _imports(path)
            if imports & {"urllib.request", "http.client", "requests"}:
                offenders.append(relative)
            if "httpx.Client" in path.read_text() and relative not in clients:
                offenders.append(relative)
    assert offenders == []


@pytest.mark.parametrize("method, attempts", [("POST", 1), ("GET", 4)])
def test_a_connection_broken_mid_answer_is_retried_only_if_idempotent(
    settings, method, attempts
):
    """A POST may have reached the provider: a second attempt could be billed."""
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    accepted = []

    def half_answer():
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            accepted.append(conn)
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npart")
            conn.close()

    Thread(target=half_answer, daemon=True).start()
    settings.LOREOS_HTTP_RETRIES = 3
    waits = []
    using = web.policy(sleep=waits.append)
    base = f"http://127.0.0.1:{listener.getsockname()[1]}"
    try:
        with web.client(base, using=using) as http:
            with pytest.raises(web.Exhausted) as exhausted:
                web.send(http, method, "/images/edits", using=using)
    finally:
        listener.close()
    assert exhausted.value.response is None
    assert exhausted.value.problem.startswith("RemoteProtocolError")
    assert exhausted.value.retries == attempts - 1
    assert len(waits) == attempts - 1 and len(accepted) == attempts
