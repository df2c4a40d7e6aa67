"""Thumbnails: made once per image and size, kept in default storage, served by URL.

A thumbnail is stored as ``thumbs/<id>-<size>.webp`` next to the originals (local files
or S3, whatever default_storage is), keyed by the id of the asset or image request it
shows. Pages link to a small view that makes the thumbnail on first use and redirects
to its storage URL, so rendering a page never touches storage and stays fast however
many images it shows.
"""

import io
import logging

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image, ImageOps

logger = logging.getLogger(__name__)

# The only sizes made (longest side, pixels): list strips, review cards, report pages.
SIZES = (96, 240, 640)
QUALITY = 80


def thumbnail_name(key, size: int) -> str:
    return f"thumbs/{key}-{size}.webp"


def _render(field_file, size: int) -> bytes:
    with field_file.open("rb") as source:
        image = Image.open(source)
        image.draft("RGB", (size, size))  # JPEG: decode at a reduced scale when it can
        image = ImageOps.exif_transpose(image)
        image = image.convert("RGBA" if image.mode in ("RGBA", "LA", "P") else "RGB")
        image.thumbnail((size, size), Image.Resampling.LANCZOS)
        out = io.BytesIO()
        image.save(out, "WEBP", quality=QUALITY, method=4)
    return out.getvalue()


def thumbnail_ensure(*, key, field_file, size: int) -> str:
    """Return the storage name of the thumbnail, making it when it does not exist."""
    if size not in SIZES:
        raise ValueError(f"thumbnail size must be one of {SIZES}")
    name = thumbnail_name(key, size)
    if default_storage.exists(name):
        return name
    saved = default_storage.save(name, ContentFile(_render(field_file, size)))
    if saved != name:
        # Another request made the same thumbnail meanwhile; keep theirs, drop ours.
        default_storage.delete(saved)
    return name


def thumbnail_url(*, key, field_file, size: int) -> str:
    return default_storage.url(
        thumbnail_ensure(key=key, field_file=field_file, size=size)
    )


def thumbnails_delete(key) -> None:
    """Remove every size made for `key` (missing ones are fine)."""
    for size in SIZES:
        try:
            default_storage.delete(thumbnail_name(key, size))
        except Exception:  # storage unreachable: an orphan thumbnail is harmless
            logger.warning("could not delete thumbnail %s-%s", key, size)
