"""A hostile upload corpus: every file is made here, in memory, by the test.

Each case is uploaded as an identity image through the public API. It either gets a
422 ``image_rejected`` envelope and leaves nothing behind (no row, no stored file, no
spooled temporary file), or it is stored under a name the server chose and, fetched
back through its returned URL, served clean: a PNG, JPEG or WebP that Pillow decodes,
with no GPS (no EXIF at all), nothing appended after the image's end (so no archive
rides along), and none of the client's filename (R03, R06, R10).

The last tests send a 100 MB body: refused without the body being read, held in memory
or sent whole (R06).
"""

import http.client
import io
import json
import select
import struct
import tracemalloc
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test.client import ClientHandler, RequestFactory
from PIL import ExifTags, Image

from characters.models import Character
from tests.helpers import assert_error, face_bytes, image_bytes
from visuals.models import VisualAsset

pytestmark = pytest.mark.django_db

MB = 1024 * 1024
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_IEND = b"\x00\x00\x00\x00IEND\xaeB`\x82"


# --- The corpus ----------------------------------------------------------------------


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))


def png_declaring(width: int, height: int, *, rows: int = 1) -> bytes:
    """A PNG header for width × height grey pixels followed by `rows` zero rows only."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\0" * (width + 1) * rows)
    return (
        PNG_SIGNATURE
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )


def png_bomb(side: int = 12_000) -> bytes:
    """A complete, valid grey PNG of side × side zeros: ~144 MP in about 140 KB."""
    compressor = zlib.compressobj(9)
    row = b"\0" * (side + 1)
    idat = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return (
        PNG_SIGNATURE
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )


def noisy(fmt: str, size=(256, 256), **save) -> bytes:
    """An image with real entropy, so truncating it cuts into the compressed data."""
    image = Image.frombytes(
        "RGB", size, bytes((i * 7919) % 251 for i in range(size[0] * size[1] * 3))
    )
    buffer = io.BytesIO()
    image.save(buffer, fmt, **save)
    return buffer.getvalue()


def jpeg_with_gps() -> bytes:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "HostileCam"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps.update(
        {
            ExifTags.GPS.GPSLatitudeRef: "N",
            ExifTags.GPS.GPSLatitude: (48.0, 51.0, 24.0),
            ExifTags.GPS.GPSLongitudeRef: "E",
            ExifTags.GPS.GPSLongitude: (2.0, 21.0, 3.0),
        }
    )
    data = image_bytes("JPEG", size=(96, 96), exif=exif)
    with Image.open(io.BytesIO(data)) as check:  # the corpus itself must carry GPS
        assert check.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    return data


def jpeg_zip_polyglot() -> bytes:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("payload/run.sh", "#!/bin/sh\necho owned\n")
    data = image_bytes("JPEG", size=(64, 64)) + archive.getvalue()
    assert zipfile.is_zipfile(io.BytesIO(data))  # a ZIP reader opens it
    return data


def animated_webp() -> bytes:
    frames = [Image.new("RGB", (64, 64), color) for color in ("red", "green", "blue")]
    buffer = io.BytesIO()
    frames[0].save(
        buffer, "WEBP", save_all=True, append_images=frames[1:], duration=80, loop=0
    )
    with Image.open(io.BytesIO(buffer.getvalue())) as check:
        assert check.n_frames == 3
    return buffer.getvalue()


def sixteen_bit_png() -> bytes:
    image = Image.frombytes("I;16", (64, 64), bytes(range(256)) * 32)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    with Image.open(io.BytesIO(buffer.getvalue())) as check:
        assert check.mode.startswith("I;16")
    return buffer.getvalue()


def over_the_limit() -> bytes:
    """A real PNG padded with a private chunk to exactly one byte past the limit."""
    head = image_bytes("PNG", size=(32, 32))[: -len(PNG_IEND)]
    padding = (
        django_settings.LOREOS_MAX_UPLOAD_BYTES + 1 - len(head) - len(PNG_IEND) - 12
    )
    return head + _png_chunk(b"pAdD", b"\0" * padding) + PNG_IEND


PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)
SVG = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" '
    b'width="64" height="64">'
    b'<script>alert(document.cookie)</script><rect width="64" height="64"/></svg>'
)
HTML = (
    b"<!doctype html><html><body><script>fetch('/v1/characters')</script></body></html>"
)


@dataclass(frozen=True)
class Upload:
    build: object  # () -> bytes
    filename: str
    content_type: str
    outcome: str  # "rejected" | "stored" | "either" (then: stored only if clean)


CORPUS = {
    "zero-bytes": Upload(lambda: b"", "empty.png", "image/png", "rejected"),
    "8-mb-plus-one-byte": Upload(over_the_limit, "big.png", "image/png", "rejected"),
    "declares-20000x20000": Upload(
        lambda: png_declaring(20_000, 20_000), "tiny.png", "image/png", "rejected"
    ),
    "png-bomb": Upload(png_bomb, "bomb.png", "image/png", "rejected"),
    "truncated-jpeg": Upload(
        lambda: noisy("JPEG", quality=95)[: len(noisy("JPEG", quality=95)) // 2],
        "cut.jpg",
        "image/jpeg",
        "rejected",
    ),
    "truncated-png": Upload(
        lambda: noisy("PNG")[: len(noisy("PNG")) // 2],
        "cut.png",
        "image/png",
        "rejected",
    ),
    "gif": Upload(lambda: image_bytes("GIF"), "face.gif", "image/gif", "rejected"),
    "svg": Upload(lambda: SVG, "face.svg", "image/svg+xml", "rejected"),
    "tiff": Upload(lambda: image_bytes("TIFF"), "face.tiff", "image/tiff", "rejected"),
    "pdf-named-png": Upload(lambda: PDF, "face.png", "image/png", "rejected"),
    "html-named-jpg": Upload(lambda: HTML, "face.jpg", "image/jpeg", "rejected"),
    "heic-named-jpeg": Upload(
        lambda: image_bytes("JPEG"), "IMG_0001.HEIC", "image/heic", "stored"
    ),
    "jpeg-zip-polyglot": Upload(jpeg_zip_polyglot, "face.jpg", "image/jpeg", "either"),
    "jpeg-with-gps": Upload(jpeg_with_gps, "holiday.jpg", "image/jpeg", "stored"),
    "cmyk-jpeg": Upload(
        lambda: image_bytes("JPEG", mode="CMYK", color=(0, 80, 160, 10)),
        "print.jpg",
        "image/jpeg",
        "stored",
    ),
    "16-bit-png": Upload(sixteen_bit_png, "deep.png", "image/png", "stored"),
    "animated-webp": Upload(animated_webp, "moving.webp", "image/webp", "either"),
    "traversal-and-control-filename": Upload(
        lambda: image_bytes("PNG"),
        "../../../../tmp/evil\x00\r\n\x1b[31m;rm -rf ~.png",
        "image/png",
        "stored",
    ),
}


# --- What is left behind, and what is served -----------------------------------------


@pytest.fixture
def spool(settings, tmp_path):
    """Uploads past 64 KiB spool to a temporary file here (where leftovers would be)."""
    folder = tmp_path / "spool"
    folder.mkdir()
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024
    settings.FILE_UPLOAD_TEMP_DIR = str(folder)
    return folder


@pytest.fixture
def media_served():
    """Stored files are fetched back through the app's own /media/ route."""
    if not django_settings.LOREOS_SERVE_MEDIA:
        pytest.skip("this configuration serves media from elsewhere (S3)")


def files_under(root) -> list[Path]:
    root = Path(root)
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def post_upload(api, slug, name, data, content_type, category="identity"):
    return api.post(
        f"/v1/characters/{slug}/visual-assets",
        {
            "file": SimpleUploadedFile(name, data, content_type=content_type),
            "category": category,
            "asset_key": "identity-front",
            "label": "front-facing portrait",
        },
        format="multipart",
    )


def assert_ends_cleanly(data: bytes, fmt: str):
    """Nothing after the image's own end: no appended archive, script or document."""
    if fmt == "PNG":
        assert data.endswith(PNG_IEND), "bytes follow the PNG's IEND chunk"
    elif fmt == "JPEG":
        assert data.endswith(b"\xff\xd9"), "bytes follow the JPEG's end-of-image marker"
    else:
        assert data[:4] == b"RIFF" and struct.unpack("<I", data[4:8])[0] + 8 == len(
            data
        )
    assert not zipfile.is_zipfile(io.BytesIO(data))


def fetch_served(api, url: str):
    path = urlsplit(url).path
    response = api.get(path)
    assert response.status_code == 200, (url, response.status_code)
    data = (
        b"".join(response.streaming_content) if response.streaming else response.content
    )
    return response, data


@pytest.mark.parametrize("case", sorted(CORPUS))
def test_hostile_upload_is_rejected_or_stored_clean(
    case, api, make_character, spool, media_served
):
    upload = CORPUS[case]
    make_character("mira")
    character = Character.objects.get(slug="mira")
    data = upload.build()
    response = post_upload(api, "mira", upload.filename, data, upload.content_type)

    if response.status_code == 422:
        assert upload.outcome in ("rejected", "either"), response.content
        detail = assert_error(response, 422, "image_rejected")
        assert detail["fix"]
        assert VisualAsset.objects.count() == 0
        assert files_under(django_settings.MEDIA_ROOT) == []
        assert files_under(spool) == []
        return

    assert upload.outcome in ("stored", "either"), (
        response.status_code,
        response.content,
    )
    assert response.status_code == 201, response.content
    asset = response.json()["data"]
    row = VisualAsset.objects.get()
    # The server chose the name: assets/<character>/<asset id>.<its own extension>.
    ext = {"PNG": "png", "JPEG": "jpg", "WEBP": "webp"}[row.format]
    assert row.file.name == f"assets/{character.pk}/{row.pk}.{ext}"
    stored = files_under(django_settings.MEDIA_ROOT)
    assert [p.relative_to(django_settings.MEDIA_ROOT).as_posix() for p in stored] == [
        row.file.name
    ]
    assert files_under(spool) == []
    stem = Path(upload.filename.replace("\\", "/")).stem.split("/")[-1]
    assert stem not in json.dumps(asset) or stem in ("face",)

    served_response, served = fetch_served(api, asset["url"])
    assert served_response["Content-Type"].startswith("image/")
    assert served_response["X-Content-Type-Options"] == "nosniff"
    assert len(served) == row.byte_size == asset["byte_size"]
    with Image.open(io.BytesIO(served)) as image:
        image.load()
        assert image.format in ("PNG", "JPEG", "WEBP")
        assert (image.width, image.height) == (asset["width"], asset["height"])
        exif = image.getexif()
        assert not exif.get_ifd(ExifTags.IFD.GPSInfo), "GPS survived the upload"
        assert ExifTags.Base.GPSInfo not in exif
    assert b"GPS" not in served and b"HostileCam" not in served
    assert_ends_cleanly(served, row.format)


def test_the_gps_photo_is_stored_upright_and_without_any_exif(
    api, make_character, media_served
):
    """A stronger look at the GPS case: the served bytes carry no EXIF block at all."""
    make_character("mira")
    response = post_upload(api, "mira", "holiday.jpg", jpeg_with_gps(), "image/jpeg")
    assert response.status_code == 201, response.content
    _, served = fetch_served(api, response.json()["data"]["url"])
    assert b"Exif\0\0" not in served
    with Image.open(io.BytesIO(served)) as image:
        assert "exif" not in image.info and not image.getexif()


def test_a_real_portrait_is_stored_and_served_byte_for_byte_when_clean(
    api, make_character, media_served
):
    """The guard is not a blanket re-encode: a clean photo is served as uploaded."""
    make_character("mira")
    original = image_bytes("PNG", size=(80, 60))
    response = post_upload(api, "mira", "face.png", original, "image/png")
    assert response.status_code == 201
    _, served = fetch_served(api, response.json()["data"]["url"])
    assert served == original


def test_a_rejected_upload_to_a_character_with_assets_leaves_them_untouched(
    api, make_character, spool
):
    make_character("mira")
    first = post_upload(api, "mira", "face.jpg", face_bytes(), "image/jpeg")
    assert first.status_code == 201
    before = files_under(django_settings.MEDIA_ROOT)
    for case in ("png-bomb", "truncated-jpeg", "html-named-jpg"):
        upload = CORPUS[case]
        response = post_upload(
            api,
            "mira",
            upload.filename,
            upload.build(),
            upload.content_type,
            "wardrobe",
        )
        assert_error(response, 422, "image_rejected")
    assert VisualAsset.objects.count() == 1
    assert files_under(django_settings.MEDIA_ROOT) == before
    assert files_under(spool) == []


# --- A 100 MB body -------------------------------------------------------------------

BOUNDARY = "hostileboundary"


class LazyMultipart:
    """A multipart body of `size` file bytes, produced on read; never held whole."""

    def __init__(self, size: int):
        head = "".join(
            f"--{BOUNDARY}\r\n"
            f'Content-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
            for name, value in (
                ("category", "identity"),
                ("asset_key", "k"),
                ("label", "l"),
            )
        )
        head += (
            f"--{BOUNDARY}\r\n"
            'Content-Disposition: form-data; name="file"; filename="huge.png"\r\n'
            "Content-Type: image/png\r\n\r\n"
        )
        self.head = head.encode() + PNG_SIGNATURE
        self.tail = f"\r\n--{BOUNDARY}--\r\n".encode()
        self.filler = size - len(PNG_SIGNATURE)
        self.length = len(self.head) + self.filler + len(self.tail)
        self.position = 0

    def read(self, size=-1):
        if size is None or size < 0:
            size = self.length - self.position
        start, stop = self.position, min(self.length, self.position + size)
        self.position = stop
        out = []
        head_end, filler_end = len(self.head), len(self.head) + self.filler
        if start < head_end:
            out.append(self.head[start : min(stop, head_end)])
        lo, hi = max(start, head_end), min(stop, filler_end)
        if lo < hi:
            out.append(b"\xa5" * (hi - lo))
        lo, hi = max(start, filler_end), stop
        if lo < hi:
            out.append(self.tail[lo - filler_end : hi - filler_end])
        return b"".join(out)

    readline = read


def _wsgi_post(api, body: LazyMultipart, declared: int):
    request = RequestFactory().generic(
        "POST",
        "/v1/characters/mira/visual-assets",
        HTTP_AUTHORIZATION=f"Bearer {api.raw_key}",
    )
    environ = dict(request.environ)
    environ["CONTENT_TYPE"] = f"multipart/form-data; boundary={BOUNDARY}"
    environ["CONTENT_LENGTH"] = str(declared)
    environ["wsgi.input"] = body
    return ClientHandler()(environ)


@pytest.mark.parametrize(
    "declared",
    ["honest", "under-the-precheck"],
    ids=["declares-100-mb", "declares-just-under-the-precheck"],
)
def test_a_100_mb_body_is_refused_without_being_held_in_memory(
    declared, api, make_character, spool
):
    """Peak memory of the whole request stays far below the body, whatever it declares.

    Declaring its real length, the body is refused from its Content-Length before a
    byte is read. Declaring just under the pre-check (so the server must read), reading
    stops one chunk past the 8 MB limit, and the part read is spooled to disk, not held.
    """
    make_character("mira")
    body = LazyMultipart(100 * MB)
    limit = django_settings.LOREOS_MAX_UPLOAD_BYTES
    if declared == "honest":
        length = body.length
    else:
        length = limit + django_settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 60 * 1024
    tracemalloc.start()
    try:
        baseline, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        response = _wsgi_post(api, body, length)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert response.status_code == 422
    assert json.loads(response.content)["detail"]["code"] == "image_rejected"
    growth = peak - baseline
    assert growth < 4 * MB, (
        f"peak memory grew by {growth / MB:.1f} MB for a 100 MB body"
    )
    if declared == "honest":
        assert body.position == 0
    else:
        assert body.position <= limit + 64 * 1024 + 4096
    assert VisualAsset.objects.count() == 0
    assert files_under(django_settings.MEDIA_ROOT) == []
    assert files_under(spool) == []


@pytest.mark.django_db(transaction=True)
def test_a_live_server_answers_422_before_a_100_mb_body_is_sent(live_server, settings):
    """Over a real socket: the refusal arrives while most of the body is unsent."""
    from characters.keys import api_key_create
    from characters.models import Account
    from characters.services import character_create

    account = Account.objects.create(name="streamer")
    character_create(account=account, slug="mira", name="Mira")
    _, raw = api_key_create(account=account)
    body = LazyMultipart(100 * MB)
    host, port = urlsplit(live_server.url).netloc.split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    connection.putrequest("POST", "/v1/characters/mira/visual-assets")
    connection.putheader("Authorization", f"Bearer {raw}")
    connection.putheader("Content-Type", f"multipart/form-data; boundary={BOUNDARY}")
    connection.putheader("Content-Length", str(body.length))
    connection.endheaders()
    sock = connection.sock
    sent = 0
    try:
        while sent < body.length:
            readable, _, _ = select.select([sock], [], [], 0)
            if readable:
                break  # the answer is in: stop sending
            chunk = body.read(256 * 1024)
            sock.sendall(chunk)
            sent += len(chunk)
    except (BrokenPipeError, ConnectionResetError, TimeoutError):
        pass  # the server stopped reading: that is the point
    response = connection.getresponse()
    detail = json.loads(response.read())["detail"]
    connection.close()
    assert response.status == 422 and detail["code"] == "image_rejected"
    assert sent < body.length / 4, (
        f"{sent / MB:.0f} MB of 100 MB sent before the answer"
    )
    assert not VisualAsset.objects.exists()
