"""Receiving an uploaded image: the size limit while receiving, then one decode.

Size. A body is refused before a byte of it is read when its Content-Length is far above
the limit (more than the file limit plus Django's limit for the other form fields), and
refused while receiving when its file part passes ``settings.LOREOS_MAX_UPLOAD_BYTES``:
``UploadLimitHandler`` stops the multipart parser at the first chunk past the limit, so
at most the limit plus one chunk (64 KiB) is ever held in memory or spooled to disk.

Content. The image is decided by decoding it, never by its name or Content-Type: it
must open as PNG, JPEG or WebP and ``load()`` (``verify()`` misses a truncated JPEG;
see Cost for the reduced JPEG decode and the PNG proof that decide the same); its pixel
count must not pass ``settings.LOREOS_MAX_IMAGE_PIXELS`` (checked from the header,
before decoding, so a decompression bomb is never expanded).

Metadata. An upload that carries metadata — EXIF (orientation, GPS location, camera
serials), XMP, IPTC, a JPEG comment or PNG text chunks — is stored without it, and so is
a file with bytes after the image's own end (a JPEG/ZIP polyglot, a camera trailer):
only the image is kept. A JPEG that needs no rotation (no EXIF orientation, or 1) is
rewritten at the segment level, losslessly: its metadata segments (APP1 EXIF/XMP, APP13
IPTC, COM, every APPn but JFIF, the ICC profile and Adobe's colour transform) and
anything after its end-of-image are dropped, and its tables and entropy-coded data are
copied byte for byte, so its pixels are exactly the upload's. A JPEG with an EXIF
orientation (2–8) is turned upright losslessly too: its DCT coefficients are moved
(``jpeg_rotate``: blocks reordered, coefficients transposed and sign-flipped, as
``jpegtran -perfect`` does), and it is written again with a JFIF header and its ICC
profile only, so its pixels are the upload's turned. What that cannot turn without loss
(a partial MCU on an edge that must move, CMYK, arithmetic coding, 12-bit) and a PNG or
WebP with metadata are re-encoded in their own format with the EXIF orientation applied
(the ICC colour profile and transparency kept; JPEG and WebP at quality 95). Anything
else is stored byte for byte.

Cost. The file's SHA-256 is computed while it is received (``UploadLimitHandler``), so a
file stored as uploaded is never read again to hash it. When the caller does not need
the decoded bitmap (every category but identity, whose advice measures faces), a JPEG is
decoded at 1/8 scale (Pillow's ``draft``): the decoder still reads all of its
entropy-coded data, so a truncated or corrupt file is refused the same, while the
bitmap held is 1/64 of the full one. A PNG is not decoded at all then: ``png_stream``
checks its chunks (each CRC), inflates its IDAT stream in bounded pieces and checks its
exact length and every row's filter byte — all that a full decode could refuse, at
about half the cost and with no bitmap; a file that proof does not cover (interlaced,
with text chunks or trailing bytes, or broken) is decoded in full as before, so every
file is refused or stored exactly as a full decode decides. That proof runs while the
file is received: ``UploadLimitHandler`` feeds each chunk of a file that starts with
the PNG signature to ``png_stream.InThread`` (a second thread; ISA-L's inflate and CRC
release the GIL, so it overlaps reading and parsing the body), waits for its answer
when the file ends and ``read_multipart`` attaches it to the uploaded file
(``png_proven``), so the file is not read again for it. The thread is started whatever
the category (the handler runs before the form's fields are known), so an identity
PNG's proof is spare work on the second core; it is joined before the request goes
on, whether the file ended, the upload was stopped or the parse failed.

So a stored, served file never carries a location or a payload, and the stored pixels
are upright, which is what the generator and the face measurements expect. ``sha256``,
``width``, ``height`` and ``byte_size`` describe the stored file.
"""

import dataclasses
import hashlib
import io
import warnings
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile, File
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from PIL import Image, ImageOps, UnidentifiedImageError

from loreos.api.errors import ApiError, ErrorCode

from . import jpeg_rotate, png_stream

FORMATS = ("PNG", "JPEG", "WEBP")
# Non-file form fields are bounded by Django's own limit; anything past both is refused
# from its Content-Length alone.
_FRAMING_SLACK = 64 * 1024

_REJECT_FIX = (
    "Upload a PNG, JPEG or WebP image of at most {mb} MB that opens in an image viewer."
)


def image_rejected(message: str) -> ApiError:
    mb = settings.LOREOS_MAX_UPLOAD_BYTES / (1024 * 1024)
    return ApiError(
        ErrorCode.IMAGE_REJECTED,
        message,
        _REJECT_FIX.format(mb=f"{mb:g}"),
        field="file",
    )


def _too_large() -> ApiError:
    limit = settings.LOREOS_MAX_UPLOAD_BYTES
    return image_rejected(f"file is larger than the {limit} byte limit")


# --- While receiving -----------------------------------------------------------------


class UploadLimitHandler(FileUploadHandler):
    """Count (and hash) file bytes as they arrive; stop the upload at the first chunk
    past the limit; prove a PNG while it arrives.

    Sits first in the handler chain and passes every chunk on unchanged, so Django's own
    handlers (memory, then a temporary file) still store it — only up to the limit. A
    file that starts with the PNG signature is also fed, chunk by chunk, to
    ``png_stream.InThread``: the proof runs on a second thread while the rest of the
    body is received and parsed, and ends (joined) when the file does, when the upload
    is stopped, or in ``close``.
    """

    def __init__(self, request=None, *, limit: int):
        super().__init__(request)
        self.limit = limit
        self.received = 0
        self.exceeded = False
        self.digests: dict[str, str] = {}  # form field → SHA-256 of its file's bytes
        self.proofs: dict[str, bool] = {}  # form field → its PNG proof's answer
        self._digest = None
        self._head = b""  # a file's first bytes, until there are enough to tell a PNG
        self._proof = None  # png_stream.InThread of the file being received

    def new_file(self, field_name, *args, **kwargs):
        super().new_file(field_name, *args, **kwargs)
        self.close()  # a previous file's proof, should its part never have ended
        self._digest = hashlib.sha256()
        self._head = b""

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > self.limit:
            self.exceeded = True
            self.close()
            # connection_reset: do not read (exhaust) the rest of the body.
            raise StopUpload(connection_reset=True)
        self._digest.update(raw_data)
        if self._proof is not None:
            self._proof.feed(raw_data)
        elif self._head is not None:
            self._head += raw_data
            if len(self._head) >= len(png_stream.SIGNATURE):
                if self._head.startswith(png_stream.SIGNATURE):
                    self._proof = png_stream.InThread(
                        max_pixels=settings.LOREOS_MAX_IMAGE_PIXELS
                    )
                    self._proof.feed(self._head)
                self._head = None
        return raw_data

    def file_complete(self, file_size):
        self.digests[self.field_name] = self._digest.hexdigest()
        if self._proof is not None:
            answer = self._proof.finish()
            self._proof = None
            if answer is not None:
                self.proofs[self.field_name] = answer
        return None

    def upload_interrupted(self):
        self.close()

    def upload_complete(self):
        self.close()

    def close(self):
        """End a proof still running (the upload stopped before its file ended)."""
        if self._proof is not None:
            self._proof.cancel()
            self._proof = None


def read_multipart(request):
    """Parse a multipart upload under the size limit; return DRF's ``request.data``.

    Call before anything touches ``request.data``: the limit handler must be installed
    before the body is parsed.
    """
    limit = settings.LOREOS_MAX_UPLOAD_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit + (settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0) + _FRAMING_SLACK:
        raise _too_large()
    handler = UploadLimitHandler(request, limit=limit)
    request.upload_handlers.insert(0, handler)
    try:
        data = request.data
    finally:
        handler.close()  # whatever the parser raised, no proof thread is left running
    if handler.exceeded:
        raise _too_large()
    # Hashed (and a PNG proven) while received: check_image does not read it again.
    for field, digest in handler.digests.items():
        received = request.FILES.get(field)
        if received is not None:
            received.sha256 = digest
            if field in handler.proofs:
                setattr(received, png_stream.ATTRIBUTE, handler.proofs[field])
    return data


# --- After receiving: decode once ----------------------------------------------------


@dataclass
class CheckedImage:
    format: str  # PNG | JPEG | WEBP
    width: int
    height: int
    image: Image.Image  # decoded and upright, for measurements (advice)
    content: File  # what to store
    sha256: str
    byte_size: int
    reencoded: bool

    @classmethod
    def as_uploaded(cls, fmt, width, height, image, upload, *, data=None):
        """A checked image stored as the upload's own bytes (hashed while received
        where the upload handler did, else now: from `data`, its bytes, when read)."""
        sha256 = getattr(upload, "sha256", None)
        if sha256 is None:
            sha256 = (
                hashlib.sha256(data).hexdigest()
                if data is not None
                else _sha256_of(upload)
            )
        return cls(
            format=fmt,
            width=width,
            height=height,
            image=image,
            content=upload,
            sha256=sha256,
            byte_size=upload.size,
            reencoded=False,
        )

    @classmethod
    def of_bytes(cls, fmt, width, height, image, data: bytes, *, reencoded: bool):
        """A checked image stored as `data` (not the upload's own file)."""
        return cls(
            format=fmt,
            width=width,
            height=height,
            image=image,
            content=ContentFile(data),
            sha256=hashlib.sha256(data).hexdigest(),
            byte_size=len(data),
            reencoded=reencoded,
        )


def _carries_metadata(image: Image.Image) -> bool:
    info = image.info
    if {"exif", "comment", "photoshop"} & set(info):
        return True
    if any(
        "xmp" in str(key).lower() or str(key).startswith("Raw profile") for key in info
    ):
        return True
    # JPEG APP1 holds EXIF and XMP, APP13 IPTC (which has place names), COM free text.
    if any(m in ("APP1", "APP13", "COM") for m, _ in getattr(image, "applist", [])):
        return True
    return bool(getattr(image, "text", None))


def _jpeg_end(data: bytes) -> int | None:
    """Offset just past the first image's end-of-image marker, or None if not found."""
    return _jpeg_walk(data, _JpegLayout())


def _is_metadata_segment(marker: int, body: bytes) -> bool:
    """APP1 (EXIF, XMP), APP13 (IPTC), COM, and every APPn but APP0 (JFIF), an APP2
    ICC profile and APP14 (Adobe: how to read the colour channels)."""
    if marker == 0xFE:
        return True
    if 0xE0 <= marker <= 0xEF:
        if marker in (0xE0, 0xEE):
            return False
        return not _is_icc_segment(marker, body)
    return False


def _is_icc_segment(marker: int, body: bytes) -> bool:
    return marker == 0xE2 and body.startswith(b"ICC_PROFILE\0")


@dataclass
class _JpegLayout:
    """What a walk of a JPEG's segments found (see ``_jpeg_walk``)."""

    # (start, end) of the segments to drop, and of its ICC profile's segments
    dropped: list = dataclasses.field(default_factory=list)
    icc: list = dataclasses.field(default_factory=list)
    frame: int | None = None  # SOFn marker
    precision: int | None = None  # bits per sample
    adobe: bool = False  # an APP14 Adobe segment (how to read the channels)


def _jpeg_walk(data: bytes, layout: _JpegLayout, *, bare: bool = False) -> int | None:
    """Walk a JPEG's segments; return the offset just past its first end-of-image
    marker (None if the structure breaks) and note in `layout` each metadata segment
    (with ``bare``: each APPn and COM segment), its ICC segments and its frame type."""
    i, n = 2, len(data)
    while i < n:
        if data[i] != 0xFF:
            return None
        start = i
        while i < n and data[i] == 0xFF:  # fill bytes
            i += 1
        if i >= n:
            return None
        marker = data[i]
        i += 1
        if marker == 0xD9:
            return i
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:
            continue
        if i + 2 > n:
            return None
        length = (data[i] << 8) | data[i + 1]
        head = data[i + 2 : i + 2 + 12]
        if bare and (0xE0 <= marker <= 0xEF or marker == 0xFE):
            layout.dropped.append((start, i + length))
        elif _is_metadata_segment(marker, head):
            layout.dropped.append((start, i + length))
        if _is_icc_segment(marker, head):
            layout.icc.append((start, i + length))
        elif marker == 0xEE and head.startswith(b"Adobe"):
            layout.adobe = True
        elif 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            if layout.frame is None and i + 2 < n:
                layout.frame, layout.precision = marker, data[i + 2]
        i += length
        if marker == 0xDA:  # entropy-coded data runs to the next real marker
            while True:
                i = data.find(b"\xff", i)
                if i < 0 or i + 1 >= n:
                    return None
                follower = data[i + 1]
                if follower == 0x00 or 0xD0 <= follower <= 0xD7:
                    i += 2
                    continue
                break
    return None


def _png_end(upload, size: int) -> int | None:
    """Walk the chunk headers with seeks: no chunk data is read into memory."""
    i = 8
    while i + 8 <= size:
        upload.seek(i)
        header = upload.read(8)
        length, kind = int.from_bytes(header[:4], "big"), header[4:8]
        i += 12 + length
        if kind == b"IEND":
            return i
    return None


def _has_trailing_bytes(upload, fmt: str) -> bool:
    """Whether the file goes on past the end of the image it holds.

    PNG and WebP are answered from their chunk headers alone; a JPEG's end is only
    found by scanning its entropy-coded data, so that one is read.
    """
    size = upload.size
    try:
        if fmt == "JPEG":
            upload.seek(0)
            end = _jpeg_end(upload.read())
        elif fmt == "PNG":
            end = _png_end(upload, size)
        else:  # WEBP: one RIFF container, its size in the header (chunks pad to even)
            upload.seek(4)
            riff = int.from_bytes(upload.read(4), "little")
            end = 8 + riff + (riff & 1)
    finally:
        upload.seek(0)
    return end is None or end < size


def _jpeg_stripped(data: bytes) -> bytes | None:
    """The JPEG up to its end-of-image without its metadata segments, every other byte
    (tables, frame, entropy-coded data) copied as is; None if it cannot be walked."""
    layout = _JpegLayout()
    end = _jpeg_walk(data, layout)
    if end is None:
        return None
    return _jpeg_cut(data, layout.dropped, end)


def _jpeg_cut(data: bytes, dropped: list, end: int) -> bytes:
    parts, at = [], 0
    for start, stop in dropped:
        parts.append(data[at:start])
        at = stop
    parts.append(data[at:end])
    return b"".join(parts)


def _jpeg_upright(data: bytes, orientation: int) -> bytes | None:
    """The JPEG turned upright losslessly (``jpeg_rotate``) with its ICC profile and
    nothing else of its segments; None when that cannot be done losslessly."""
    layout = _JpegLayout()
    end = _jpeg_walk(data, layout, bare=True)
    if (
        end is None
        or layout.frame not in jpeg_rotate.HUFFMAN_FRAMES
        or layout.precision != 8
        or layout.adobe  # channels it names (RGB, CMYK) are not JFIF's: re-encode
    ):
        return None
    done = jpeg_rotate.rotated(_jpeg_cut(data, layout.dropped, end), orientation)
    if done is None:
        return None
    upright = done[0]
    # The encoder wrote SOI and a JFIF APP0; the ICC profile goes right after them.
    after_jfif = 2
    if upright[2:4] == b"\xff\xe0":
        after_jfif = 4 + int.from_bytes(upright[4:6], "big")
    icc = b"".join(data[start:stop] for start, stop in layout.icc)
    return upright[:after_jfif] + icc + upright[after_jfif:]


def _reencode(image: Image.Image, fmt: str) -> bytes:
    upright = ImageOps.exif_transpose(image)
    params = {}
    if image.info.get("icc_profile"):
        params["icc_profile"] = image.info["icc_profile"]
    if fmt == "PNG" and "transparency" in image.info:
        params["transparency"] = image.info["transparency"]
    if fmt in ("JPEG", "WEBP"):
        params["quality"] = 95
    # Only what is passed here is written: Pillow's encoders take EXIF and XMP from the
    # save() arguments, never from the decoded image's info.
    upright.info = {}
    buffer = io.BytesIO()
    upright.save(buffer, fmt, **params)
    return buffer.getvalue()


def _sha256_of(file) -> str:
    digest = hashlib.sha256()
    file.seek(0)
    for chunk in iter(lambda: file.read(1024 * 1024), b""):
        digest.update(chunk)
    file.seek(0)
    return digest.hexdigest()


def _stored_as(
    data: bytes,
    fmt: str,
    *,
    keep_image: bool = True,
    reencoded: bool = False,
) -> CheckedImage:
    """What to store when it is not the upload's own bytes: `data`, decoded again (in
    full, or with ``keep_image=False`` at a reduced scale) for its size and pixels."""
    stored = Image.open(io.BytesIO(data))
    width, height = stored.size
    if fmt == "JPEG" and not keep_image:
        stored.draft(stored.mode, (max(1, width // 8), max(1, height // 8)))
    stored.load()
    return CheckedImage.of_bytes(fmt, width, height, stored, data, reencoded=reencoded)


def check_image(upload, *, keep_image: bool = True) -> CheckedImage:
    """Decode an uploaded file fully; raise 422 image_rejected unless it is a sound
    image.

    ``upload`` is a Django (uploaded) File or any binary file object; a ``sha256``
    attribute on it (set by read_multipart while receiving) saves reading it again, and
    so does a ``png_proven`` one (the PNG proof made while receiving).
    With ``keep_image=False`` the returned ``image`` may be a reduced-scale decode (a
    JPEG) or not decoded at all (a PNG proven sound by ``png_stream``).
    """
    if not isinstance(upload, File):
        upload = File(upload, name=getattr(upload, "name", None) or "upload")
    if upload.size is not None and upload.size > settings.LOREOS_MAX_UPLOAD_BYTES:
        raise _too_large()
    if not upload.size:
        raise image_rejected("file is empty")
    upload.seek(0)
    try:
        with warnings.catch_warnings():
            # Pillow warns above its own default; our pixel limit is the one enforced.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(upload, formats=["PNG", "JPEG", "WEBP"])
            # A multi-picture JPEG (cameras) opens as MPO; its bytes are a JPEG.
            fmt = "JPEG" if image.format == "MPO" else image.format
            width, height = image.size
            if width * height > settings.LOREOS_MAX_IMAGE_PIXELS:
                raise image_rejected(
                    f"image is {width}x{height} pixels; the limit is "
                    f"{settings.LOREOS_MAX_IMAGE_PIXELS} pixels "
                    "(decompression bomb guard)"
                )
            orientation = image.getexif().get(0x0112, 1) if fmt == "JPEG" else 1
            rotated = orientation in jpeg_rotate.OPERATIONS
            if fmt == "JPEG" and not keep_image:
                # A 1/8-scale decode still reads every entropy-coded byte.
                image.draft(image.mode, (max(1, width // 8), max(1, height // 8)))
            # A PNG is proven sound without its bitmap when none is needed; anything
            # the proof does not cover is decoded in full, as always.
            proven_png = not keep_image and fmt == "PNG"
            proven_png = proven_png and png_stream.proven(upload, upload.size)
            if not proven_png:
                image.load()
    except ApiError:
        raise
    except UnidentifiedImageError:
        raise image_rejected("file is not a PNG, JPEG or WebP image") from None
    except Image.DecompressionBombError:
        raise image_rejected(
            "image has too many pixels (decompression bomb guard)"
        ) from None
    except Exception as exc:  # any decoder failure on untrusted bytes is "unreadable"
        raise image_rejected(f"image is unreadable or truncated ({exc})") from None
    if fmt not in FORMATS:
        raise image_rejected("file is not a PNG, JPEG or WebP image")

    if proven_png:  # sound, no metadata, nothing after IEND: stored as received
        return CheckedImage.as_uploaded(fmt, width, height, image, upload)
    if fmt == "JPEG" and rotated:
        upload.seek(0)
        upright = _jpeg_upright(upload.read(), orientation)
        upload.seek(0)
        if upright is not None:
            return _stored_as(upright, fmt, keep_image=keep_image)
    elif fmt == "JPEG":
        upload.seek(0)
        data = upload.read()
        upload.seek(0)
        end = _jpeg_end(data)
        if end is None or end < len(data) or _carries_metadata(image):
            stripped = _jpeg_stripped(data)
            if stripped is not None:
                return CheckedImage.of_bytes(
                    fmt, width, height, image, stripped, reencoded=False
                )
        else:
            return CheckedImage.as_uploaded(
                fmt,
                width,
                height,
                image,
                upload,
                data=data,
            )
    if rotated or _carries_metadata(image) or _has_trailing_bytes(upload, fmt):
        if image.size != (width, height):  # a reduced decode: re-encode the full one
            upload.seek(0)
            image = Image.open(upload)
            image.load()
        return _stored_as(_reencode(image, fmt), fmt, reencoded=True)
    return CheckedImage.as_uploaded(fmt, image.width, image.height, image, upload)
