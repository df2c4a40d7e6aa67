"""The PNG proof as a stream (visuals/png_stream.py): fed a file in pieces cut anywhere
(inside the signature, a chunk header, a CRC, the IDAT stream) it answers exactly as the
walk of the whole file; while an upload is received it runs on a thread of its own,
whose answer the upload uses instead of reading the file again, and that thread never
outlives the request — a finished, an oversize or a broken upload alike."""

import io
import random
import struct
import threading
import time
import zlib

import pytest
from django.core.files.uploadhandler import FileUploadHandler
from PIL import Image, PngImagePlugin

from tests.helpers import assert_error, image_bytes
from tests.test_hostile_uploads import CORPUS, noisy
from visuals import png_stream
from visuals.models import VisualAsset


def _chunk(kind: bytes, data: bytes, *, crc: int | None = None) -> bytes:
    crc = zlib.crc32(kind + data) if crc is None else crc
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def _ihdr(width, height, *, colour=0, depth=8, interlace=0) -> bytes:
    return _chunk(
        b"IHDR", struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, interlace)
    )


def _rows(width, height, filter_byte=0) -> bytes:
    return b"".join(
        bytes([filter_byte]) + bytes((x * 7 + y) % 256 for x in range(width))
        for y in range(height)
    )


IEND = _chunk(b"IEND", b"")
W, H = 16, 6
ROWS = _rows(W, H, filter_byte=1)
STREAM = zlib.compress(ROWS)


def _png(*middle: bytes, head: bytes | None = None, tail: bytes = IEND) -> bytes:
    return (
        png_stream.SIGNATURE
        + (_ihdr(W, H) if head is None else head)
        + b"".join(middle)
        + tail
    )


def _idat(data: bytes = STREAM) -> bytes:
    return _chunk(b"IDAT", data)


def _split_idat() -> bytes:
    """The stream over four IDAT chunks of uneven sizes, one of them empty."""
    a, b = 5, len(STREAM) // 2
    return _idat(STREAM[:a]) + _idat(b"") + _idat(STREAM[a:b]) + _idat(STREAM[b:])


def _random_png(size=(400, 300)) -> bytes:
    """An RGB PNG of random pixels: about as large as its 3 bytes a pixel, so an
    upload of it arrives in several 64 KiB chunks."""
    pixels = random.Random(size[0]).randbytes(size[0] * size[1] * 3)
    buffer = io.BytesIO()
    Image.frombytes("RGB", size, pixels).save(buffer, "PNG")
    return buffer.getvalue()


def _pillow_png(mode, size, **save) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, 3).save(buffer, "PNG", **save)
    return buffer.getvalue()


SOUND = {
    "one IDAT": _png(_idat()),
    "four IDATs, one empty": _png(_split_idat()),
    "ancillary chunks around the data": _png(
        _chunk(b"gAMA", struct.pack(">I", 45455)),
        _idat(),
        _chunk(b"tIME", bytes(7)),
    ),
    "noisy RGB": noisy("PNG", size=(48, 32)),
    "16-bit grey": _pillow_png("I;16", (20, 10)),
    "palette": _pillow_png("P", (33, 7)),
    "one-bit, 3 wide": _png(
        _idat(zlib.compress(_rows(1, 2))), head=_ihdr(3, 2, depth=1)
    ),
}

BROKEN = {
    "not a PNG": b"\x89PNG\r\n\x1a\x0b" + _png(_idat())[8:],
    "IHDR's CRC broken": _png(
        _idat(), head=_ihdr(W, H)[:-1] + bytes([_ihdr(W, H)[-1] ^ 1])
    ),
    "an IDAT's CRC broken": _png(_chunk(b"IDAT", STREAM, crc=zlib.crc32(b"x"))),
    "IEND's CRC broken": _png(_idat(), tail=_chunk(b"IEND", b"", crc=1)),
    "a bit flipped in the stream": _png(
        _idat(STREAM[:12] + bytes([STREAM[12] ^ 4]) + STREAM[13:])
    ),
    "truncated in IDAT": _png(_idat())[:40],
    "truncated in the last CRC": _png(_idat())[:-1],
    "no IEND": _png(_idat(), tail=b""),
    "a byte after IEND": _png(_idat()) + b"\0",
    "a ZIP after IEND": _png(_idat()) + b"PK\x03\x04",
    "tEXt before IDAT": _png(_chunk(b"tEXt", b"a\0b"), _idat()),
    "zTXt after IDAT": _png(_idat(), _chunk(b"zTXt", b"a\0\0x")),
    "iTXt": _png(_idat(), _chunk(b"iTXt", b"a\0\0\0\0\0b")),
    "eXIf": _png(_chunk(b"eXIf", b"MM\0*"), _idat()),
    "Adam7": _png(_idat(), head=_ihdr(W, H, interlace=1)),
    "filter byte 5": _png(_idat(zlib.compress(_rows(W, H - 1) + b"\x05" + bytes(W)))),
    "a row short": _png(_idat(zlib.compress(_rows(W, H - 1)))),
    "a byte short": _png(_idat(zlib.compress(ROWS[:-1]))),
    "a row too many": _png(_idat(zlib.compress(_rows(W, H + 1)))),
    "bytes after the stream's end in its IDAT": _png(_idat(STREAM + b"\0\0")),
    "an IDAT after the stream ended": _png(_idat(), _idat(b"")),
    "IDAT before IHDR": png_stream.SIGNATURE + _idat() + _ihdr(W, H) + IEND,
    "two IHDRs": _png(_ihdr(W, H), _idat()),
    "IHDR of 14 bytes": _png(
        _idat(),
        head=_chunk(b"IHDR", struct.pack(">IIBBBBB", W, H, 8, 0, 0, 0, 0) + b"\0"),
    ),
    "colour type 5": _png(_idat(), head=_ihdr(W, H, colour=5)),
    "width 0": _png(_idat(), head=_ihdr(0, H)),
    "a chunk longer than the file": _png(_idat())[:33]
    + b"\x7f\xff\xff\xff"
    + _png(_idat())[37:],
}


def _fed(data: bytes, cuts) -> bool:
    """The stream's answer for `data` fed in the pieces between `cuts`."""
    proof = png_stream.Proof()
    start = 0
    for cut in [*cuts, len(data)]:
        proof.feed(data[start:cut])
        start = cut
    return proof.result()


def _walked(data: bytes) -> bool:
    return png_stream.walk(io.BytesIO(data), len(data))


def _random_cuts(size: int, rng: random.Random) -> list[int]:
    if size < 2:
        return []
    return sorted(rng.sample(range(1, size), min(size - 1, rng.randrange(1, 40))))


@pytest.mark.parametrize("name", sorted(SOUND))
def test_a_sound_png_is_proven_however_it_is_cut(name):
    data = SOUND[name]
    with Image.open(io.BytesIO(data)) as image:
        image.load()  # sound: Pillow decodes it
    assert _walked(data)
    assert _fed(data, range(1, len(data)))  # one byte at a time
    assert all(_fed(data, [cut]) for cut in range(len(data)))  # two pieces, any cut
    rng = random.Random(name)
    assert all(_fed(data, _random_cuts(len(data), rng)) for _ in range(50))


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_what_the_proof_does_not_cover_is_refused_at_any_cut(name):
    data = BROKEN[name]
    assert not _walked(data)
    assert not _fed(data, range(1, len(data)))
    assert not any(_fed(data, [cut]) for cut in range(len(data)))
    rng = random.Random(name)
    assert not any(_fed(data, _random_cuts(len(data), rng)) for _ in range(50))


@pytest.mark.parametrize("case", sorted(CORPUS))
def test_every_hostile_file_is_answered_as_the_walk_answers_it(case):
    data = CORPUS[case].build()
    walked = _walked(data)
    rng = random.Random(case)
    for _ in range(10):
        assert _fed(data, _random_cuts(len(data), rng)) == walked


def test_single_byte_corruptions_are_answered_as_the_walk_answers_them():
    original = noisy("PNG", size=(40, 24))
    rng = random.Random(5)
    for _ in range(150):
        data = bytearray(original)
        at = rng.randrange(len(data))
        data[at] ^= 1 << rng.randrange(8)
        data = bytes(data)
        assert _fed(data, _random_cuts(len(data), rng)) == _walked(data)


@pytest.mark.parametrize("width", [1023, 1024, 2047])
def test_a_stream_that_inflates_a_whole_piece_at_a_time_is_proven_at_any_cut(width):
    """Highly compressible rows: an inflated piece fills its 1 MiB while the input is
    all taken, and the rest of the output waits inside the inflater; the proof drains
    it, so the answer does not depend on where the input was cut."""
    height = 1024
    data = (
        png_stream.SIGNATURE
        + _ihdr(width, height)
        + _idat(zlib.compress(bytes((width + 1) * height), 9))
        + IEND
    )
    assert _walked(data)
    rng = random.Random(width)
    assert all(_fed(data, _random_cuts(len(data), rng)) for _ in range(20))


def test_a_header_over_the_pixel_limit_ends_the_proof():
    data = SOUND["one IDAT"]
    exact = png_stream.Proof(max_pixels=W * H)
    assert exact.feed(data) and exact.result()
    over = png_stream.Proof(max_pixels=W * H - 1)
    assert not over.feed(data[:40])  # known from IHDR, before any IDAT byte
    assert not over.result()


# --- The thread ----------------------------------------------------------------------


def _pieces(data: bytes, size: int = 64 * 1024):
    return [data[i : i + size] for i in range(0, len(data), size)]


def test_the_thread_answers_as_the_walk_and_is_gone_when_it_has():
    sound = _random_png()
    assert len(sound) > 4 * 64 * 1024
    for data, expected in ((sound, True), (sound + b"\0", False)):
        proof = png_stream.InThread()
        for piece in _pieces(data):
            proof.feed(piece)
        assert proof.finish() is expected
        assert not proof.running


def test_a_cancelled_proof_ends_its_thread_and_has_no_answer():
    data = _random_png()
    proof = png_stream.InThread()
    for piece in _pieces(data)[:2]:
        proof.feed(piece)
    proof.cancel()
    assert not proof.running
    assert proof.finish() is None


def test_the_queue_holds_at_most_a_few_pieces(monkeypatch):
    """While the proof is held up the feeder waits: the file is never queued whole."""
    gate = threading.Event()
    held = png_stream.Proof.feed

    def slow_feed(self, data):
        gate.wait(5)
        return held(self, data)

    monkeypatch.setattr(png_stream.Proof, "feed", slow_feed)
    data = _random_png()
    pieces = _pieces(data, 1024)
    assert len(pieces) > 3 * png_stream._QUEUED
    proof = png_stream.InThread()
    fed = []
    feeder = threading.Thread(
        target=lambda: [fed.append(proof.feed(piece)) for piece in pieces]
    )
    feeder.start()
    time.sleep(0.3)
    # One piece in the proof's hands, the queue full, the feeder waiting.
    assert len(fed) == png_stream._QUEUED + 1
    assert proof._queue.qsize() == png_stream._QUEUED
    gate.set()
    feeder.join(5)
    assert proof.finish() is True
    assert not proof.running


def test_a_failed_proof_takes_no_more_pieces():
    proof = png_stream.InThread()
    proof.feed(b"GIF89a\0\0" + bytes(100))
    deadline = time.monotonic() + 5
    while not proof._proof.failed and time.monotonic() < deadline:
        time.sleep(0.01)
    for _ in range(10 * png_stream._QUEUED):  # would block on a full queue
        proof.feed(bytes(1024))
    assert proof.finish() is False
    assert not proof.running


# --- The upload path -----------------------------------------------------------------


@pytest.fixture
def proofs(monkeypatch):
    """Every InThread made while the test runs."""
    made = []
    original = png_stream.InThread.__init__

    def spy(self, *args, **kwargs):
        original(self, *args, **kwargs)
        made.append(self)

    monkeypatch.setattr(png_stream.InThread, "__init__", spy)
    return made


@pytest.fixture
def no_walk(monkeypatch):
    """The file is not read again for the proof: walking it fails the test."""

    def walk(upload, size):
        raise AssertionError("the PNG proof walked the received file again")

    monkeypatch.setattr(png_stream, "walk", walk)


def _no_proof_thread_left(made) -> bool:
    return not any(p.running for p in made) and not any(
        t.name == "png-proof" for t in threading.enumerate()
    )


def _upload(api, data: bytes, *, category="wardrobe", name="coat.png"):
    file = io.BytesIO(data)
    file.name = name
    return api.post(
        "/v1/characters/mira/visual-assets",
        {"file": file, "category": category, "asset_key": "coat", "label": "coat"},
        format="multipart",
    )


def _stored(response) -> bytes:
    asset = VisualAsset.objects.get(pk=response.json()["data"]["id"])
    with asset.file.open("rb") as stored:
        return stored.read()


@pytest.mark.django_db
def test_a_png_upload_is_proven_while_received_not_read_again(
    api, ready, proofs, no_walk, monkeypatch
):
    def no_load(self):
        raise AssertionError("a proven PNG was decoded")

    monkeypatch.setattr(PngImagePlugin.PngImageFile, "load", no_load)
    data = _random_png()
    assert len(data) > 4 * 64 * 1024  # received in several chunks
    response = _upload(api, data)
    assert response.status_code == 201, response.content
    assert _stored(response) == data
    assert len(proofs) == 1
    assert _no_proof_thread_left(proofs)


@pytest.mark.django_db
def test_a_png_the_stream_does_not_prove_is_decided_by_a_full_decode(
    api, ready, proofs, no_walk
):
    data = _random_png()
    response = _upload(api, data + b"PK\x03\x04trailer")
    assert response.status_code == 201, response.content
    stored = _stored(response)
    assert b"PK\x03\x04" not in stored
    with Image.open(io.BytesIO(stored)) as kept, Image.open(io.BytesIO(data)) as sent:
        assert kept.tobytes() == sent.tobytes()
    truncated = _upload(api, data[: len(data) // 2])
    assert_error(truncated, 422, "image_rejected")
    assert len(proofs) == 2
    assert _no_proof_thread_left(proofs)


@pytest.mark.django_db
def test_no_thread_for_a_file_that_is_not_a_png(api, ready, proofs):
    response = _upload(api, image_bytes("JPEG", (300, 200)), name="coat.jpg")
    assert response.status_code == 201, response.content
    assert_error(_upload(api, b"\x89PNG"), 422, "image_rejected")  # 4 bytes
    assert proofs == []


@pytest.mark.django_db
def test_an_oversize_png_upload_leaves_no_thread(api, ready, proofs, settings):
    settings.LOREOS_MAX_UPLOAD_BYTES = 128 * 1024
    data = _random_png()
    assert len(data) > 2 * settings.LOREOS_MAX_UPLOAD_BYTES
    response = _upload(api, data)
    assert_error(response, 422, "image_rejected")
    assert len(proofs) == 1
    assert _no_proof_thread_left(proofs)
    assert not VisualAsset.objects.filter(asset_key="coat").exists()


class _Broken(FileUploadHandler):
    """A handler after ours that fails in the middle of the file."""

    def receive_data_chunk(self, raw_data, start):
        if start >= 128 * 1024:
            raise OSError("disk gone")
        return raw_data

    def file_complete(self, file_size):
        return None


@pytest.mark.django_db
def test_a_parse_that_fails_mid_file_leaves_no_thread(api, ready, proofs, settings):
    settings.FILE_UPLOAD_HANDLERS = [
        "tests.test_png_stream._Broken",
        *settings.FILE_UPLOAD_HANDLERS,
    ]
    api.raise_request_exception = False
    response = _upload(api, _random_png())
    assert response.status_code == 500
    assert len(proofs) == 1
    assert _no_proof_thread_left(proofs)
