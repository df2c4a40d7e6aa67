"""A PNG upload that needs no bitmap is proven sound at inflate speed
(visuals/png_stream.py); whatever the proof does not cover is decoded in full, so every
file is refused or stored exactly as a full decode decides."""

import io
import random
import struct
import zlib

import pytest
from PIL import Image, PngImagePlugin

from loreos.api.errors import ApiError
from tests.helpers import image_bytes
from tests.test_hostile_uploads import CORPUS, PNG_IEND, noisy
from visuals import png_stream, uploads


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data)
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def _png(width, height, rows: bytes, *, colour=0, depth=8, interlace=0) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, interlace)
    return (
        png_stream.SIGNATURE
        + _chunk(b"IHDR", ihdr)
        + _chunk(b"IDAT", zlib.compress(rows))
        + _chunk(b"IEND", b"")
    )


def _proven(data: bytes) -> bool:
    return png_stream.proven(io.BytesIO(data), len(data))


def _outcome(data: bytes, keep_image: bool):
    """What check_image decides: the error code, or (stored bytes, size)."""
    try:
        checked = uploads.check_image(io.BytesIO(data), keep_image=keep_image)
    except ApiError as exc:
        return ("refused", exc.code)
    content = checked.content
    content.seek(0)
    return ("stored", content.read(), checked.width, checked.height, checked.sha256)


def _assert_same_decision(data: bytes):
    assert _outcome(data, keep_image=False) == _outcome(data, keep_image=True)


@pytest.mark.parametrize(
    "mode,size,colour",
    [
        ("RGB", (70, 50), (200, 30, 30)),
        ("RGBA", (33, 7), (0, 0, 255, 128)),
        ("L", (1, 1), 100),
        ("P", (64, 3), 7),
        ("1", (9, 5), 1),
    ],
)
def test_sound_pngs_of_every_mode_are_proven(mode, size, colour):
    data = image_bytes("PNG", size, colour, mode=mode)
    assert _proven(data)
    checked = uploads.check_image(io.BytesIO(data), keep_image=False)
    assert checked.content.read() == data
    assert (checked.width, checked.height) == size


def test_a_sixteen_bit_png_is_proven():
    image = Image.new("I;16", (20, 10), 40000)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    assert _proven(buffer.getvalue())


def test_the_proof_holds_no_bitmap(monkeypatch):
    def no_load(self):
        raise AssertionError("a proven PNG was decoded")

    monkeypatch.setattr(PngImagePlugin.PngImageFile, "load", no_load)
    data = noisy("PNG", size=(300, 200))
    checked = uploads.check_image(io.BytesIO(data), keep_image=False)
    assert not checked.reencoded and checked.byte_size == len(data)


def _crc_broken(data: bytes) -> bytes:
    """The CRC of the chunk before IEND flipped: its data intact, only the CRC wrong."""
    at = len(data) - len(PNG_IEND) - 1
    return data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1 :]


def _rows(width, height, filter_byte=0) -> bytes:
    return b"".join(bytes([filter_byte]) + bytes(width) for _ in range(height))


@pytest.mark.parametrize(
    "name,data",
    [
        ("filter byte 5", _png(8, 4, _rows(8, 3) + b"\x05" + bytes(8))),
        ("a row short", _png(8, 4, _rows(8, 3))),
        ("a row too many", _png(8, 4, _rows(8, 5))),
        ("interlaced", _png(8, 4, _rows(8, 4), interlace=1)),
        (
            "text after IDAT",
            noisy("PNG")[: -len(PNG_IEND)] + _chunk(b"tEXt", b"a\0b") + PNG_IEND,
        ),
        ("bytes after IEND", noisy("PNG") + b"PK\x03\x04"),
        (
            "a bit flipped inside IDAT",
            noisy("PNG")[:60] + bytes([noisy("PNG")[60] ^ 1]) + noisy("PNG")[61:],
        ),
        ("the last IDAT's CRC broken", _crc_broken(noisy("PNG"))),
        ("truncated", noisy("PNG")[: len(noisy("PNG")) // 2]),
        ("no IEND", noisy("PNG")[: -len(PNG_IEND)]),
    ],
)
def test_what_the_proof_does_not_cover_is_decided_by_a_full_decode(name, data):
    assert not _proven(data)
    _assert_same_decision(data)


def test_a_sound_file_with_these_shapes_is_proven():
    assert _proven(_png(8, 4, _rows(8, 4, filter_byte=4)))
    assert _proven(_png(3, 2, _rows(1, 2), depth=1))  # 3 one-bit pixels: one byte


@pytest.mark.parametrize("case", sorted(CORPUS))
def test_every_hostile_file_is_decided_the_same_without_the_bitmap(case):
    _assert_same_decision(CORPUS[case].build())


def test_corrupted_pngs_are_decided_the_same_as_by_a_full_decode():
    """Single-byte corruptions anywhere in a PNG: the proof never accepts a file that a
    full decode refuses, nor stores it differently."""
    original = noisy("PNG", size=(48, 32))
    rng = random.Random(15)
    for _ in range(120):
        data = bytearray(original)
        at = rng.randrange(8, len(data))
        data[at] ^= 1 << rng.randrange(8)
        _assert_same_decision(bytes(data))
