"""What a generation leaves behind: the stored image and, for probes and inventory, the
visual asset it becomes.

The image is written once, through default_storage (local files or S3 alike); an asset
made from it points at the same stored name, with the same measured facts an upload
records (sha256, width, height, format, byte size).
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


def read_output(data: bytes) -> Output:
    """Decode a backend's bytes once; formats other than PNG/JPEG/WebP become PNG."""
    try:
        with Image.open(io.BytesIO(data)) as opened:
            kind = opened.format
            opened.load()
            bitmap = ImageOps.exif_transpose(opened)
            bitmap = bitmap.convert("RGB") if bitmap.mode != "RGB" else bitmap.copy()
    except (OSError, ValueError, Image.DecompressionBombError, SyntaxError) as exc:
        raise UnreadableImage(f"{type(exc).__name__}: {exc}") from exc
    if kind not in _EXTENSIONS:
        buffer = io.BytesIO()
        bitmap.save(buffer, "PNG")
        data, kind = buffer.getvalue(), "PNG"
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
