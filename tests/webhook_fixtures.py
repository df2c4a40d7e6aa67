"""Webhook objects for the matrix and fuzz tests; a loopback receiver for the rest."""

import http.server
import json
import threading
import time
from dataclasses import dataclass, field

from hooks import services
from hooks.models import WebhookDelivery, WebhookEvent

PUBLIC_URL = "https://hooks.example.com/loreos"


def webhook_with_delivery(account) -> dict:
    """An endpoint of `account` with one delivered event (made directly)."""
    endpoint, _secret = services.endpoint_create(
        account=account, url=PUBLIC_URL, events=["image.ready", "asset.decided"]
    )
    event = WebhookEvent.objects.create(
        account=account, type="image.ready", payload={"probe_id": "x"}
    )
    delivery = WebhookDelivery.objects.create(
        event=event, endpoint=endpoint, status=WebhookDelivery.Status.SUCCEEDED
    )
    return {"webhook_id": str(endpoint.pk), "delivery_id": str(delivery.pk)}


@dataclass
class Received:
    headers: dict
    body: bytes
    at: float


@dataclass
class Receiver:
    """A threaded HTTP server on loopback that answers from a script of replies.

    Each reply is (status, headers) or (status, headers, delay seconds); the last one
    repeats. Every request is kept in `received`.
    """

    replies: list = field(default_factory=lambda: [(204, {})])
    received: list = field(default_factory=list)

    def __post_init__(self):
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length)
                receiver.received.append(
                    Received(dict(self.headers.items()), body, time.time())
                )
                index = min(len(receiver.received), len(receiver.replies)) - 1
                reply = receiver.replies[index]
                status, headers = reply[0], reply[1]
                if len(reply) > 2:
                    time.sleep(reply[2])
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def payloads(self) -> list[dict]:
        return [json.loads(r.body) for r in self.received]
