"""Choosing and reading the reference images of one generation.

References are: the character's active identity assets (oldest first: the first one
uploaded is the primary portrait), the active inventory assets relevant to the kind of
image (newest first, a few per category), and for continuity the session's previous
succeeded image (the parent). Every file is read through default_storage (local files or
S3 alike) once, and decoded at most once, on first use.
"""

import hashlib
import io
import logging
from dataclasses import dataclass, field

from django.core.files.storage import default_storage
from PIL import Image, ImageOps

from ..models import ImageRequest, VisualAsset
from ..vocab import CONTINUITY_PROBES, Category

logger = logging.getLogger(__name__)

MAX_IDENTITY_REFERENCES = 3
MAX_PER_INVENTORY_CATEGORY = 2

# The inventory categories whose active assets help draw each kind of image.
RELEVANT_CATEGORIES = {
    "identity_selfie": ["style"],
    "full_body_identity": ["wardrobe", "style"],
    "wardrobe_variation": ["wardrobe", "style"],
    "accessory_carry_forward": ["accessory"],
    "same_scene_followup": ["place", "scene"],
    "prop_usage": ["prop"],
    "forbidden_visual_check": ["style"],
    "wardrobe": ["wardrobe", "style"],
    "accessory": ["accessory"],
    "prop": ["prop"],
    "place": ["place", "scene"],
    "scene": ["scene", "place"],
    "runtime": ["wardrobe", "accessory", "style"],
}


def subject_of(image_request: ImageRequest) -> str:
    """What is drawn: the probe type, the inventory category, or `runtime`."""
    if image_request.origin == ImageRequest.Origin.PROBE:
        return image_request.probe_type
    if image_request.origin == ImageRequest.Origin.INVENTORY:
        return image_request.category
    return "runtime"


def follows_parent(image_request: ImageRequest) -> bool:
    """Continuity probes and runtime selfies continue from the session's last image."""
    return (
        image_request.origin == ImageRequest.Origin.RUNTIME
        or image_request.probe_type in CONTINUITY_PROBES
    )


class UnreadableImage(Exception):
    """A stored file could not be read or decoded."""


@dataclass
class Reference:
    """One reference image: its bytes as stored, decoded on first use."""

    role: str  # identity | inventory | parent
    category: str
    name: str
    data: bytes
    asset_id: str | None = None
    request_id: str | None = None
    _image: Image.Image | None = field(default=None, repr=False)
    _sha256: str | None = field(default=None, repr=False)

    @property
    def sha256(self) -> str:
        if self._sha256 is None:
            self._sha256 = hashlib.sha256(self.data).hexdigest()
        return self._sha256

    @property
    def image(self) -> Image.Image:
        """The upright RGB bitmap (decoded once)."""
        if self._image is None:
            self._image = decode(self.data)
        return self._image


def decode(data: bytes) -> Image.Image:
    """Decode image bytes into an upright RGB bitmap, or raise UnreadableImage."""
    try:
        with Image.open(io.BytesIO(data)) as opened:
            opened.load()
            upright = ImageOps.exif_transpose(opened)
            return upright.convert("RGB") if upright.mode != "RGB" else upright.copy()
    except (OSError, ValueError, Image.DecompressionBombError, SyntaxError) as exc:
        raise UnreadableImage(f"{type(exc).__name__}: {exc}") from exc


def read_stored(name: str) -> bytes:
    """The bytes of a stored file, or raise UnreadableImage with the reason."""
    if not name:
        raise UnreadableImage("no file is stored")
    try:
        with default_storage.open(name, "rb") as handle:
            return handle.read()
    except Exception as exc:  # any storage backend's failure (missing file, S3 error …)
        raise UnreadableImage(f"{type(exc).__name__}: {exc}") from exc


@dataclass
class Selection:
    identity: list[Reference]
    inventory: list[Reference]
    parent_request: ImageRequest | None
    parent: Reference | None
    # Why each unreadable identity asset was skipped (asset id → reason).
    identity_problems: dict[str, str]
    parent_problem: str | None = None

    @property
    def assets_sent(self) -> list[str]:
        ids = [r.asset_id for r in (*self.identity, *self.inventory) if r.asset_id]
        if self.parent and self.parent.asset_id:
            ids.append(self.parent.asset_id)
        return list(dict.fromkeys(ids))

    @property
    def all(self) -> list[Reference]:
        return [
            *self.identity,
            *self.inventory,
            *([self.parent] if self.parent else []),
        ]


def previous_image(image_request: ImageRequest) -> ImageRequest | None:
    """The session's most recent succeeded image other than this request."""
    return (
        ImageRequest.objects.filter(
            session_id=image_request.session_id,
            request_status=ImageRequest.Status.SUCCEEDED,
        )
        .exclude(pk=image_request.pk)
        .exclude(image="")
        .select_related("produced_asset")
        .order_by("-completed_at", "-created_at")
        .first()
    )


def previous_reference(image_request: ImageRequest) -> Reference | None:
    """The session's previous image as a reference for the judge only (the outfit
    comparison of wardrobe_variation); None when there is none or it cannot be read."""
    previous = previous_image(image_request)
    if previous is None:
        return None
    try:
        data = read_stored(previous.image.name)
    except UnreadableImage as exc:
        logger.warning("previous image %s unreadable: %s", previous.pk, exc)
        return None
    return Reference(
        "previous", "keyframe", previous.image.name, data, request_id=str(previous.pk)
    )


def choose(image_request: ImageRequest) -> Selection:
    """Choose and read the references of `image_request`, skipping unreadable ones."""
    relevant = RELEVANT_CATEGORIES.get(subject_of(image_request), [])
    rows = list(
        VisualAsset.objects.filter(
            character_id=image_request.character_id,
            asset_status=VisualAsset.Status.ACTIVE,
            category__in=[Category.IDENTITY, *relevant],
        )
        .only("id", "category", "file", "created_at")
        .order_by("created_at")
    )
    identity, problems = [], {}
    for asset in [a for a in rows if a.category == Category.IDENTITY]:
        if len(identity) == MAX_IDENTITY_REFERENCES:
            break
        try:
            data = read_stored(asset.file.name)
        except UnreadableImage as exc:
            problems[str(asset.pk)] = str(exc)
            logger.warning("identity asset %s unreadable: %s", asset.pk, exc)
            continue
        identity.append(
            Reference(
                "identity", Category.IDENTITY, asset.file.name, data, str(asset.pk)
            )
        )

    inventory = []
    for category in relevant:
        newest = [a for a in reversed(rows) if a.category == category]
        for asset in newest[:MAX_PER_INVENTORY_CATEGORY]:
            try:
                data = read_stored(asset.file.name)
            except UnreadableImage as exc:
                logger.warning("inventory asset %s unreadable: %s", asset.pk, exc)
                continue
            inventory.append(
                Reference("inventory", category, asset.file.name, data, str(asset.pk))
            )

    parent_request = (
        previous_image(image_request) if follows_parent(image_request) else None
    )
    parent, parent_problem = None, None
    if parent_request is not None:
        produced = getattr(parent_request, "produced_asset", None)
        try:
            parent = Reference(
                "parent",
                "keyframe",
                parent_request.image.name,
                read_stored(parent_request.image.name),
                str(produced.pk) if produced else None,
                str(parent_request.pk),
            )
        except UnreadableImage as exc:
            parent_problem = str(exc)
    return Selection(
        identity, inventory, parent_request, parent, problems, parent_problem
    )
