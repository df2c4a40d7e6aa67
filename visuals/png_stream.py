"""Proving a PNG complete and decodable at inflate speed, without its bitmap.

A PNG decoder does three things: it inflates the IDAT stream, undoes each row's filter,
and unpacks the samples into a bitmap. Only the first can fail on a complete file whose
rows carry a known filter: undoing filters 0–4 and unpacking cannot. So the proof
checks every chunk's CRC, inflates the IDAT stream in pieces of at most 1 MiB (ISA-L's
inflate, about twice zlib's speed, the data never held whole) and checks that it ends
exactly at height × (1 + bytes a row) bytes with a filter byte of 0–4 at the start of
each row, and that IEND closes the file. That is everything a full decode would reject,
in about half of Pillow's ``load()`` time and without its bitmap.

It answers only True (proven: sound, no text or EXIF chunk, nothing after IEND) or
False (anything else, or anything it does not handle: Adam7 interlacing). False is not
a verdict: the caller then decodes the file with Pillow, which refuses or accepts it as
it always has, so every file is refused or stored exactly as a full decode decides.

One implementation of those rules, ``Proof``: a state machine fed the file's bytes in
pieces of any size (a chunk header, a CRC or the IDAT stream split anywhere), whose
answer does not depend on where the pieces were cut. It runs two ways:

* while an upload is received: ``InThread`` feeds it the pieces the upload handler
  receives, through a small queue, on a thread of its own — ISA-L releases the GIL in
  its inflate and CRC, so the proof runs on the second core while the request thread
  reads the body and parses the multipart. The handler attaches the answer to the
  uploaded file (``png_proven``) and ``proven`` returns it without reading the file;
* after the fact (``proven`` of a file without that answer): fed from the file in
  1 MiB reads.
"""

import queue
import threading

from isal import isal_zlib

SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Colour type → samples per pixel (PNG spec, table 11.1).
_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
# Chunks that carry metadata (text, EXIF): a file with any is re-encoded without it.
METADATA_CHUNKS = frozenset({b"tEXt", b"zTXt", b"iTXt", b"eXIf"})
_FILTERS = bytes(range(5))  # the row filter types 0–4
_PIECE = 1 << 20  # most inflated bytes held at once; bytes read at once by ``proven``

# What the next bytes of the file are (the fixed-size fields are gathered whole).
_SIGNATURE, _HEADER, _IHDR, _BODY, _CRC, _END = range(6)
_SIZES = {_SIGNATURE: 8, _HEADER: 8, _IHDR: 13, _CRC: 4}

# Name of the attribute an upload handler sets on a file it proved while receiving it.
ATTRIBUTE = "png_proven"


class Proof:
    """The PNG rules (see the module docstring) as a state machine: ``feed`` it the
    file's bytes in order, in pieces of any size, then ask ``result``.

    ``max_pixels``: a header declaring more pixels ends the proof at once (False): the
    caller refuses such a file from its header anyway, and its IDAT stream is not
    inflated for nothing.
    """

    def __init__(self, *, max_pixels: int | None = None):
        # Set once the file cannot be proven (or on ``abandon``, from another thread):
        # only ever from False to True.
        self.failed = False
        self._max_pixels = max_pixels
        self._step = _SIGNATURE
        self._field = b""  # the part of a fixed-size field received so far
        self._kind = b""  # the current chunk's type
        self._ihdr = b""  # IHDR's data, acted on once its CRC is checked
        self._left = 0  # bytes of the current chunk's data still to come
        self._crc = 0  # CRC of the current chunk so far
        self._inflater = None  # made by IHDR
        self._row = 0  # bytes a row, its filter byte included
        self._total = 0  # inflated bytes the image must have: rows × row
        self._position = 0  # inflated bytes so far

    def feed(self, data) -> bool:
        """Take the next bytes of the file; False once it cannot be proven (nothing
        more need be fed then)."""
        if self.failed:
            return False
        try:
            self._feed(memoryview(data))
        except (isal_zlib.error, ValueError, OverflowError):
            self.failed = True
        return not self.failed

    def result(self) -> bool:
        """At the end of the file: whether it is proven."""
        return not self.failed and self._step == _END

    def abandon(self) -> None:
        """Stop: a ``feed`` under way returns after its current inflated piece."""
        self.failed = True

    def _feed(self, view: memoryview) -> None:
        at, size = 0, len(view)
        while at < size and not self.failed:
            step = self._step
            if step == _BODY:  # chunk data: streamed, never gathered
                take = min(self._left, size - at)
                part = view[at : at + take]
                at += take
                self._left -= take
                self._crc = isal_zlib.crc32(part, self._crc)
                if self._kind == b"IDAT":
                    self._inflate(part)
                if not self._left:
                    self._step = _CRC
            elif step == _END:  # anything after IEND
                self.failed = True
            else:
                want = _SIZES[step] - len(self._field)
                field = self._field + bytes(view[at : at + want])
                at += min(want, size - at)
                if len(field) < _SIZES[step]:
                    self._field = field
                else:
                    self._field = b""
                    self._complete(step, field)

    def _complete(self, step: int, field: bytes) -> None:
        """A fixed-size field is whole: act on it and say what comes next."""
        if step == _SIGNATURE:
            if field != SIGNATURE:
                self.failed = True
            self._step = _HEADER
        elif step == _HEADER:
            length, kind = int.from_bytes(field[:4], "big"), field[4:]
            self._kind, self._crc = kind, isal_zlib.crc32(kind)
            if kind in METADATA_CHUNKS:
                self.failed = True
            elif kind == b"IHDR":
                if length != 13 or self._inflater is not None:
                    self.failed = True
                self._step = _IHDR
                return
            elif kind == b"IDAT":
                if self._inflater is None or self._inflater.eof:
                    self.failed = True
            self._left = length
            self._step = _BODY if length else _CRC
        elif step == _IHDR:
            self._crc = isal_zlib.crc32(field, self._crc)
            self._ihdr = field
            self._step = _CRC
        else:  # _CRC: the chunk is whole
            if int.from_bytes(field, "big") != self._crc:
                self.failed = True
            elif self._kind == b"IHDR":
                self._header(self._ihdr)
            elif self._kind == b"IEND":
                inflater = self._inflater
                if not (
                    inflater is not None
                    and inflater.eof
                    and self._position == self._total
                ):
                    self.failed = True
                self._step = _END
                return
            self._step = _HEADER

    def _header(self, body: bytes) -> None:
        width, height = (int.from_bytes(body[i : i + 4], "big") for i in (0, 4))
        depth, colour, interlace = body[8], body[9], body[12]
        if colour not in _CHANNELS or interlace != 0 or not width or not height:
            self.failed = True
            return
        if self._max_pixels is not None and width * height > self._max_pixels:
            self.failed = True
            return
        self._row = 1 + (width * _CHANNELS[colour] * depth + 7) // 8
        self._total = self._row * height
        self._inflater = isal_zlib.decompressobj()

    def _inflate(self, data) -> None:
        """Inflate IDAT bytes in pieces of at most 1 MiB: the stream must not pass its
        exact length, end inside this data, or start a row with an unknown filter."""
        inflater, row = self._inflater, self._row
        if inflater.eof:  # data after the end of the zlib stream
            self.failed = True
            return
        pending = data
        while not self.failed:
            piece = inflater.decompress(pending, _PIECE)
            pending = inflater.unconsumed_tail
            first = -self._position % row
            self._position += len(piece)
            if (
                self._position > self._total
                or piece[first::row].translate(None, _FILTERS)
                or inflater.unused_data
            ):
                self.failed = True
            # A full piece may leave output inside the inflater even when all the
            # input was taken: ask again until a piece comes back short.
            if not pending and (len(piece) < _PIECE or inflater.eof):
                return


def proven(upload, size: int) -> bool:
    """Whether the PNG in `upload` (a binary file of `size` bytes) is complete, sound
    and free of metadata and trailing bytes (see the module docstring).

    A file that carries the answer of a proof made while it was received (its
    ``png_proven`` attribute, set by the upload handler) is not read again.
    """
    known = getattr(upload, ATTRIBUTE, None)
    if known is not None:
        return known
    return walk(upload, size)


def walk(upload, size: int) -> bool:
    """The proof of the first `size` bytes of `upload`, read from the file."""
    proof = Proof()
    upload.seek(0)
    try:
        left = size
        while left > 0:
            data = upload.read(min(_PIECE, left))
            if not data:  # shorter than it said
                return False
            left -= len(data)
            if not proof.feed(data):
                return False
        return proof.result()
    finally:
        upload.seek(0)


# --- While receiving -----------------------------------------------------------------

_QUEUED = 16  # pieces waiting for the proof (the upload handler's are 64 KiB each)
_WAIT = 10.0  # seconds to wait for the proof to take a piece, or to finish
_IDLE = 60.0  # seconds without a piece after which the thread gives up by itself


class InThread:
    """A ``Proof`` on a thread of its own, fed through a small bounded queue.

    ``feed`` hands a piece over (it waits only while the queue is full, so at most
    ``_QUEUED`` pieces are ever held); ``finish`` ends the proof at the file's end and
    returns its answer; ``cancel`` ends it without one. Both join the thread, so it
    never outlives its caller's request; None means no answer (the thread gave up, or
    was cancelled): the caller then proves the file from its bytes.
    """

    def __init__(self, *, max_pixels: int | None = None):
        self._proof = Proof(max_pixels=max_pixels)
        self._queue = queue.Queue(_QUEUED)
        self._lost = False  # no answer will come
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="png-proof", daemon=True)
        self._thread.start()

    def feed(self, data) -> None:
        if not (self._proof.failed or self._lost or self._closed):
            self._put(data)

    def finish(self) -> bool | None:
        """The answer for the bytes fed: True, False, or None if there is none."""
        self._close()
        if self._lost or self._thread.is_alive():
            return None
        return self._proof.result()

    def cancel(self) -> None:
        """End the proof now (the upload stopped); its answer is dropped."""
        self._lost = True
        self._proof.abandon()
        self._close()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def _put(self, item) -> None:
        try:
            self._queue.put(item, timeout=_WAIT)
        except queue.Full:  # the thread is gone or stuck: no answer
            self._lost = True
            self._proof.abandon()

    def _close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._thread.is_alive():
            self._put(None)
            self._thread.join(_WAIT)
        if self._thread.is_alive():  # cannot happen short of a stuck inflate
            self._lost = True
            self._proof.abandon()
            self._thread.join(1.0)

    def _run(self) -> None:
        proof = self._proof
        while True:
            try:
                data = self._queue.get(timeout=_IDLE)
            except queue.Empty:  # its feeder went away without a word
                self._lost = True
                return
            if data is None:
                return
            try:
                proof.feed(data)  # a no-op once it failed: the queue is only drained
            except Exception:  # anything unforeseen: no proof, Pillow decides
                proof.abandon()
