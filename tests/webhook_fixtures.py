"""Webhook objects for the matrix and fuzz tests; a loopback receiver for the rest."""

import http.server
import json
import ssl
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
    tls: ssl.SSLContext | None = None  # serve HTTPS with this server context
    server_names: list = field(default_factory=list)  # the SNI of each TLS handshake

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
        if self.tls is not None:
            self.tls.sni_callback = lambda sock, name, ctx: self.server_names.append(
                name
            )
            self.server.socket = self.tls.wrap_socket(
                self.server.socket, server_side=True
            )
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


def tls_pair(tmp_path, host: str) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A test CA and a certificate for `host` signed by it: (server, client) SSL
    contexts."""
    from datetime import UTC, datetime, timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    def name(cn):
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(name("loreos test CA"))
        .issuer_name(name("loreos test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, key_cert_sign=True, crl_sign=True,
                content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False,
                encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(name(host))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), True)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    (tmp_path / "ca.pem").write_bytes(ca.public_bytes(pem))
    (tmp_path / "leaf.pem").write_bytes(leaf.public_bytes(pem))
    (tmp_path / "leaf.key").write_bytes(
        key.private_bytes(
            pem,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(tmp_path / "leaf.pem", tmp_path / "leaf.key")
    client = ssl.create_default_context(cafile=str(tmp_path / "ca.pem"))
    return server, client
