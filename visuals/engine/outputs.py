"""What a generation leaves behind: the stored image and, for probes and inventory, the
visual asset it becomes.

The image is written once, through default_storage (local files or S3 alike); an asset
made from it points at the same stored name, with the same measured facts an upload
records (sha256, width, height, format, byte size).

Nothing but the picture is stored: a provider's file that carries metadata (PNG text
chunks — ComfyUI's SaveImage writes the whole submitted graph, prompt included, into
``prompt``/``workflow`` — EXIF, XMP, IPTC or a comment) is stored without it: PNG text
chunks and JPEG metadata segments are dropped losslessly (the compressed picture is kept
byte for byte, with its colour profile); a WebP, or a file whose EXIF orientation turns
the picture, is re-encoded from the decoded bitmap (WebP losslessly, JPEG at quality
95). The facts (sha256, size) are those of the stored bytes.
"""

import hashlib
import io
import logging
from dataclasses import dataclass

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image, ImageOps

from ..assets import generated_asset_create
from ..models import ImageRequest, VisualAsset
from .references import UnreadableImage

logger = logging.getLogger(__name__)

_EXTENSIONS = {"PNG": "png", "JPEG": "jpg", "WEBP": "webp"}
ORIENTATION = 0x0112  # the EXIF tag exif_transpose turns the bitmap by


@dataclass
class Output:
    """A generated image: its bytes as stored and its bitmap, decoded once."""

    data: bytes
    image: Image.Image
    format: str
    width: int
    height: int
    sha256: str

    @property
    def byte_size(self) -> int:
        return len(self.data)

    @property
    def extension(self) -> str:
        return _EXTENSIONS[self.format]


# Image.info keys that carry text about the picture (the prompt, the camera, the tool).
_METADATA_KEYS = {"exif", "xmp", "XML:com.adobe.xmp", "comment", "photoshop", "iptc"}
# PNG chunks that describe the pixels (everything else — tEXt, zTXt, iTXt, eXIf, tIME,
# private chunks — is dropped).
PNG_PIXEL_CHUNKS = {
    b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"iCCP",
    b"sBIT", b"pHYs", b"bKGD", b"cICP", b"acTL", b"fcTL", b"fdAT",
}  # fmt: skip
# JPEG APPn segments kept, by marker and signature: JFIF, the ICC profile, Adobe's
# colour transform. Other APPn (EXIF, XMP, IPTC …) and comments are dropped.
_JPEG_KEPT = {0xE0: b"JFIF\0", 0xE2: b"ICC_PROFILE\0", 0xEE: b"Adobe"}
_REENCODE = {
    "PNG": {"format": "PNG"},
    "WEBP": {"format": "WEBP", "lossless": True},
    "JPEG": {"format": "JPEG", "quality": 95},
}


def carries_metadata(opened: Image.Image) -> bool:
    """Whether a decoded file carries text beside its pixels (PNG text chunks, EXIF,
    XMP, IPTC, a comment)."""
    if getattr(opened, "text", None):
        return True
    return any(key in opened.info for key in _METADATA_KEYS)


def _png_without_metadata(data: bytes) -> bytes:
    out, offset = bytearray(data[:8]), 8
    while offset + 8 <= len(data):
        length = int.from_bytes(data[offset : offset + 4], "big")
        end = offset + 12 + length
        if data[offset + 4 : offset + 8] in PNG_PIXEL_CHUNKS:
            out += data[offset:end]
        offset = end
    return bytes(out)


def _jpeg_without_metadata(data: bytes) -> bytes | None:
    """The JPEG's segments up to the scan minus metadata, then the scan as it is;
    None when the file does not parse as expected."""
    out, offset = bytearray(data[:2]), 2
    while offset + 4 <= len(data):
        if data[offset] != 0xFF:
            return None
        marker = data[offset + 1]
        if marker == 0xFF:  # fill byte
            offset += 1
            continue
        if marker in (0xDA, 0xD9):  # start of scan / end of image: the rest as is
            return bytes(out + data[offset:])
        length = int.from_bytes(data[offset + 2 : offset + 4], "big")
        segment = data[offset : offset + 2 + length]
        body = segment[4:]
        metadata = marker == 0xFE or (
            0xE0 <= marker <= 0xEF and not body.startswith(_JPEG_KEPT.get(marker, b"-"))
        )
        if not metadata:
            out += segment
        offset += 2 + length
    return None


def without_metadata(data: bytes, kind: str, bitmap: Image.Image, rotated: bool):
    """The file with nothing but its picture: PNG chunks and JPEG segments dropped
    losslessly; a WebP, or a file whose EXIF orientation turned the bitmap, re-encoded
    from the (turned) bitmap."""
    stripped = None
    if kind == "PNG" and not rotated:
        stripped = _png_without_metadata(data)
    elif kind == "JPEG" and not rotated:
        stripped = _jpeg_without_metadata(data)
    if stripped is not None:
        return stripped
    buffer = io.BytesIO()
    bitmap.save(buffer, **_REENCODE[kind])
    return buffer.getvalue()


def read_output(data: bytes) -> Output:
    """Decode a backend's bytes once; formats other than PNG/JPEG/WebP become PNG, and
    a file carrying metadata is stored without it (see without_metadata)."""
    try:
        with Image.open(io.BytesIO(data)) as opened:
            kind = opened.format
            opened.load()
            strip = carries_metadata(opened)
            rotated = opened.getexif().get(ORIENTATION, 1) != 1
            bitmap = ImageOps.exif_transpose(opened)
            bitmap = bitmap.convert("RGB") if bitmap.mode != "RGB" else bitmap.copy()
    except (OSError, ValueError, Image.DecompressionBombError, SyntaxError) as exc:
        raise UnreadableImage(f"{type(exc).__name__}: {exc}") from exc
    if kind not in _EXTENSIONS:
        buffer = io.BytesIO()
        bitmap.save(buffer, "PNG")
        data, kind = buffer.getvalue(), "PNG"
    elif strip:
        data = without_metadata(data, kind, bitmap, rotated)
    return Output(
        data=data,
        image=bitmap,
        format=kind,
        width=bitmap.width,
        height=bitmap.height,
        sha256=hashlib.sha256(data).hexdigest(),
    )


def store(image_request: ImageRequest, output: Output) -> str:
    """Write the image once; return the stored name (storage may alter it if taken).

    A write that fails half-way (a full disk, a dropped connection) leaves nothing:
    the name is reserved first, and whatever landed under it is removed again.
    """
    name = default_storage.get_available_name(
        f"generated/{image_request.character_id}/{image_request.pk}.{output.extension}"
    )
    try:
        return default_storage.save(name, ContentFile(output.data))
    except Exception:
        try:
            if default_storage.exists(name):
                default_storage.delete(name)
        except Exception:
            logger.warning("could not remove the partial image %s", name, exc_info=True)
        raise


def discard(name: str | None) -> None:
    if name:
        default_storage.delete(name)


def produce_asset(
    image_request: ImageRequest,
    output: Output,
    name: str,
    *,
    verdict: str | None,
    brief: dict,
) -> VisualAsset | None:
    """The asset a succeeded probe or inventory image becomes (runtime images: none),
    made by the asset service from the stored image's measured facts."""
    return generated_asset_create(
        image_request=image_request,
        file_name=name,
        sha256=output.sha256,
        width=output.width,
        height=output.height,
        format=output.format,
        byte_size=output.byte_size,
        visual_summary=brief.get("instruction", ""),
        visual_description=_description(brief),
        verdict=verdict,
    )


def _description(brief: dict) -> str:
    parts = [f"Generated: {brief.get('instruction', _subject_text(brief))}."]
    if brief.get("style_brief"):
        parts.append(f"Style: {brief['style_brief']}.")
    return " ".join(parts)


def _subject_text(brief: dict) -> str:
    return str(brief.get("subject", "image"))
