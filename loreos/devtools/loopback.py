"""What every loopback stand-in shares: a quiet request handler that answers JSON or
raw bytes, a threaded server started in the background, and the foreground loop of
``python -m loreos.devtools.<stand-in>``."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):  # quiet: tests read the recorded calls, not stderr
        pass

    def reply(self, status, body=None, raw=None, content_type="application/json", **h):
        """Answer `body` as JSON (or `raw` bytes); ``h`` are extra headers, ``_`` in
        their names written as ``-``."""
        data = raw if raw is not None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in h.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(data)

    def raw_body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))


def start(handler: type[Handler], host: str, port: int) -> ThreadingHTTPServer:
    """Serve `handler` on host:port (0: any free port) in a daemon thread;
    ``server.shutdown()`` stops it."""
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def run_until_interrupted(server: ThreadingHTTPServer, banner: str) -> None:
    print(banner, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.shutdown()
