"""Proving a PNG complete and decodable at inflate speed, without its bitmap.

A PNG decoder does three things: it inflates the IDAT stream, undoes each row's filter,
and unpacks the samples into a bitmap. Only the first can fail on a complete file whose
rows carry a known filter: undoing filters 0–4 and unpacking cannot. So ``proven``
walks every chunk (its CRC checked), inflates the IDAT stream in pieces of at most
1 MiB (ISA-L's inflate, about twice zlib's speed, the data never held whole) and
checks that it ends exactly at height × (1 + bytes a row) bytes with a filter byte of
0–4 at the start of each row, and that IEND closes the file. That is everything a full
decode would reject, in about half of Pillow's ``load()`` time and without its bitmap.

It answers only True (proven: sound, no text or EXIF chunk, nothing after IEND) or
False (anything else, or anything it does not handle: Adam7 interlacing). False is not
a verdict: the caller then decodes the file with Pillow, which refuses or accepts it as
it always has, so every file is refused or stored exactly as a full decode decides.
"""

from isal import isal_zlib

SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Colour type → samples per pixel (PNG spec, table 11.1).
_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
# Chunks that carry metadata (text, EXIF): a file with any is re-encoded without it.
METADATA_CHUNKS = frozenset({b"tEXt", b"zTXt", b"iTXt", b"eXIf"})
_PIECE = 1 << 20


def proven(upload, size: int) -> bool:
    """Whether the PNG in `upload` (a binary file of `size` bytes) is complete, sound
    and free of metadata and trailing bytes (see the module docstring)."""
    upload.seek(0)
    try:
        return _walk(upload, size)
    except (isal_zlib.error, ValueError, OverflowError):
        return False
    finally:
        upload.seek(0)


def _walk(upload, size: int) -> bool:
    if upload.read(8) != SIGNATURE:
        return False
    at, row, rows = 8, 0, 0
    inflater = None
    position = 0  # inflated bytes so far
    while at + 12 <= size:
        header = upload.read(8)
        length, kind = int.from_bytes(header[:4], "big"), header[4:8]
        if length > size - at - 12:
            return False
        body = upload.read(length)
        if int.from_bytes(upload.read(4), "big") != isal_zlib.crc32(
            body, isal_zlib.crc32(kind)
        ):
            return False
        at += 12 + length
        if kind == b"IHDR":
            if length != 13 or inflater is not None:
                return False
            width, height = (int.from_bytes(body[i : i + 4], "big") for i in (0, 4))
            depth, colour, interlace = body[8], body[9], body[12]
            if colour not in _CHANNELS or interlace != 0 or not width or not height:
                return False
            row = 1 + (width * _CHANNELS[colour] * depth + 7) // 8
            rows = height
            inflater = isal_zlib.decompressobj()
        elif kind == b"IDAT":
            if inflater is None or inflater.eof:
                return False
            pending = body
            while pending:
                piece = inflater.decompress(pending, _PIECE)
                pending = inflater.unconsumed_tail
                first = -position % row
                position += len(piece)
                if position > row * rows or max(piece[first::row], default=0) > 4:
                    return False
            if inflater.unused_data:
                return False
        elif kind == b"IEND":
            return (
                inflater is not None
                and inflater.eof
                and position == row * rows
                and at == size
            )
        elif kind in METADATA_CHUNKS:
            return False
    return False
