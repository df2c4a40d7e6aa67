"""R06 while receiving: an oversized body is refused without being read or stored whole.

These drive the full Django stack (middleware, URL routing, key auth, the view) through
Django's test WSGI handler with a request body that is produced lazily and counts what
the server reads, so a 2 GB upload costs the test nothing.
"""

import pytest
from django.test.client import ClientHandler, RequestFactory

from tests.helpers import image_bytes

pytestmark = pytest.mark.django_db

BOUNDARY = "loreosboundary"
GIB = 1024**3


class LazyBody:
    """head + `size` filler bytes + tail, made on demand; `read_total` counts reads."""

    def __init__(self, head: bytes, size: int, tail: bytes):
        self.parts = [(head, len(head)), (None, size), (tail, len(tail))]
        self.length = len(head) + size + len(tail)
        self.read_total = 0

    def _byte_range(self, start, stop) -> bytes:
        out, offset = [], 0
        for data, size in self.parts:
            lo, hi = max(start, offset), min(stop, offset + size)
            if lo < hi:
                out.append(
                    data[lo - offset : hi - offset] if data else b"\0" * (hi - lo)
                )
            offset += size
        return b"".join(out)

    def read(self, size=-1):
        if size is None or size < 0:
            size = self.length - self.read_total
        start = self.read_total
        stop = min(self.length, start + size)
        self.read_total = stop
        return self._byte_range(start, stop)

    def readline(self, size=-1):
        return self.read(size)


def _multipart(file_size: int, head_bytes: bytes) -> LazyBody:
    fields = b"".join(
        (
            f"--{BOUNDARY}\r\n"
            f'Content-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        ).encode()
        for name, value in (
            ("category", "identity"),
            ("asset_key", "k"),
            ("label", "l"),
        )
    )
    head = (
        fields
        + (
            f"--{BOUNDARY}\r\n"
            'Content-Disposition: form-data; name="file"; filename="huge.png"\r\n'
            "Content-Type: image/png\r\n\r\n"
        ).encode()
        + head_bytes
    )
    tail = f"\r\n--{BOUNDARY}--\r\n".encode()
    return LazyBody(head, file_size - len(head_bytes), tail)


def _post(api, body: LazyBody, declared: int):
    request = RequestFactory().generic(
        "POST",
        "/v1/characters/mira/visual-assets",
        HTTP_AUTHORIZATION=f"Bearer {api.raw_key}",
    )
    environ = dict(request.environ)
    environ["CONTENT_TYPE"] = f"multipart/form-data; boundary={BOUNDARY}"
    environ["wsgi.input"] = body
    environ["CONTENT_LENGTH"] = str(declared)
    return ClientHandler()(environ)


def _error(response):
    import json

    return response.status_code, json.loads(response.content)["detail"]["code"]


def test_r06_a_2_gb_upload_is_refused_before_a_byte_is_read(api, character):
    body = _multipart(2 * GIB, image_bytes())
    response = _post(api, body, declared=body.length)
    assert _error(response) == (422, "image_rejected")
    assert body.read_total == 0


def test_r06_an_oversized_file_part_is_refused_while_receiving(
    api, character, settings, tmp_path
):
    """Content-Length within reach, file part past the limit: reading stops there."""
    settings.LOREOS_MAX_UPLOAD_BYTES = 256 * 1024
    # Spool to disk past 64 KiB, to see that the partial spool is removed.
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path)
    body = _multipart(2 * 1024 * 1024, image_bytes())
    response = _post(api, body, declared=body.length)
    assert _error(response) == (422, "image_rejected")
    # At most the limit plus one 64 KiB chunk (and the small form head) was read …
    assert body.read_total < 256 * 1024 + 2 * 64 * 1024
    assert body.read_total < body.length / 4
    # … and nothing was left spooled on disk.
    assert list(tmp_path.iterdir()) == []
    assert api.get("/v1/characters/mira/visual-inventory").json()["data"]["total"] == 0


def test_r06_a_body_that_lies_about_its_length_is_still_stopped(
    api, character, settings
):
    """A declared length under the pre-check lets no more than the limit through."""
    settings.LOREOS_MAX_UPLOAD_BYTES = 128 * 1024
    body = _multipart(GIB, image_bytes())
    response = _post(api, body, declared=2 * 1024 * 1024)
    assert _error(response) == (422, "image_rejected")
    assert body.read_total < 128 * 1024 + 2 * 64 * 1024


def test_a_normal_upload_through_the_same_path_is_accepted(api, character):
    content = image_bytes(size=(40, 30))
    body = _multipart(len(content), content)
    response = _post(api, body, declared=body.length)
    assert response.status_code == 201, response.content
    assert body.read_total == body.length
