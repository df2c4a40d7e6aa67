"""The compositor: a reference image engine for development, tests and demos.

It is not an image generator. It composes each picture from the reference bitmaps with
Pillow — no GPU, no network, no model — so that every probe type and inventory category
runs end to end on any machine. Every request draws its own picture: the Job's seed (the
one seed rule, backends.seed_of of the request id) drives a Draws stream whose first
draw is the shot's Look — the camera (a zoom on the kind's framing, where the face sits,
a roll of up to 5°), the light (its direction, a warm or cool cast, its strength) and
the side of the frame a second subject or an object takes — and whose later draws place
the backdrop, the pose and the objects. A redelivered request therefore draws the same
bytes, and two items of one batch (two requests) draw two visibly different pictures.
Each kind is built visibly differently:

- identity_selfie: a selfie framed on the identity portrait's detected face;
- full_body_identity: the head on a drawn body, head to toe, on a backdrop, standing
  where and how the draws say;
- wardrobe_variation: the selfie with the clothing below the chin restyled in one other
  outfit (the wardrobe asset's colour, else the complement of the portrait's clothing),
  drawn as a flat dye over the lit shot, so the same outfit reads the same in any shot;
- accessory_carry_forward: the selfie with the signature accessory kept (the accessory
  asset's bitmap, or an emblem derived from the style constants), held up and worn;
- same_scene_followup: the previous image's place from another angle — the whole
  previous picture re-framed (a shifted crop, mirrored when the camera turns round), out
  of focus and in its own light — with the character standing where the previous
  subject stood, lit by the previous shot's light (its seed's look);
- prop_usage: the selfie with a prop held in hand;
- forbidden_visual_check: an ordinary, neutral selfie;
- wardrobe / accessory / prop / place / scene (inventory): an outfit shot, an accessory
  object card, a prop on a table, a new empty room, the character in a place (the
  place asset re-framed and out of focus, else a drawn room);
- runtime: a casual warm-toned selfie.

The image is a plain PNG of the whole canvas: no brief or prompt text is drawn into it
or written into its metadata (what the backend was sent is recorded on the request as
``brief["sent"]``; the engine also strips any metadata a provider writes into its
files, visuals.engine.outputs).

Safety rule (deterministic, so a blocked outcome is reachable offline). The forbidden
terms are the brief's ``forbidden`` list (the request's ``forbidden`` entries and any
anchor key whose name begins with ``forbidden``, e.g. ``forbidden_traits``) plus the
anchors' ``avoid_visual_changes``, each with a leading negation removed ("no heavy
makeup" forbids "heavy makeup"). A generator asked to keep the anchors'
``style_constants`` and to follow the ``style_brief`` depicts them; when a forbidden
term appears as whole words in one of those (a clause starting with a negation such as
"no filters" does not count), the picture would show a forbidden trait. The backend
then reports ``blocked`` with the colliding term, and still returns the image bytes, as
a provider's post-generation safety filter would.
"""

import hashlib
import io
import math
import random
import re
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageOps

from ... import faces
from ...faces import FaceBox
from ..brief import NEGATION, forbidden_term
from ..references import UnreadableImage
from . import Generation, Job, seed_of

WIDTH, HEIGHT = 640, 800
PICTURE = (WIDTH, HEIGHT)

_PALETTE = [
    (58, 95, 160),
    (170, 60, 70),
    (60, 140, 100),
    (200, 150, 60),
    (120, 80, 160),
    (40, 150, 170),
    (190, 100, 140),
    (90, 90, 90),
]


class CompositorBackend:
    name = "compositor"

    def generate(self, job: Job) -> Generation:
        if job.portrait is None:
            return Generation(
                "failed", reason="no readable identity image to compose from"
            )
        block = safety_block(job.brief)
        data = encode(compose(job))
        if block:
            return Generation("blocked", data, block)
        return Generation("ok", data)


# --- The safety rule ----------------------------------------------------------------


def _clauses(text: str) -> list[str]:
    return [c.strip().lower() for c in re.split(r"[,;.]", text) if c.strip()]


def safety_block(brief: dict) -> str | None:
    """The documented collision rule: the reason, or None when nothing collides."""
    anchors = brief["anchors"]
    terms = [
        forbidden_term(t)
        for t in [*brief["forbidden"], *anchors["avoid_visual_changes"]]
    ]
    depicted = [("style_constants", t) for t in anchors["style_constants"]]
    if brief["style_brief"]:
        depicted.append(("style_brief", brief["style_brief"]))
    for term in filter(None, terms):
        pattern = re.compile(rf"(?<!\w){re.escape(term)}(?!\w)")
        for source, text in depicted:
            for clause in _clauses(text):
                if NEGATION.match(clause):
                    continue
                if pattern.search(clause):
                    return (
                        f"safety block: the forbidden term '{term}' would be depicted "
                        f"({source}: '{text}')"
                    )
    return None


# --- Encoding: a plain PNG, nothing but the pixels ------------------------------------


def encode(picture: Image.Image) -> bytes:
    """The picture as PNG, with no text chunk, EXIF or XMP (a new bitmap has none)."""
    out = io.BytesIO()
    picture.save(out, "PNG", compress_level=3)
    return out.getvalue()


# --- This request's shot, drawn from its seed ----------------------------------------


@dataclass(frozen=True)
class Look:
    """How one request's picture is shot, drawn from the job's seed: the camera (a
    zoom on each kind's own framing, where the face sits, the roll of the frame), the
    light (the side it comes from, warm or cool, how strong) and the side of the frame
    where a second subject or an object stands. A builder draws the rest (backdrop,
    pose, placement) from the same random stream, after the look."""

    zoom: float
    face_x: float  # the face centre across the frame, 0..1
    face_dy: float  # added to each kind's own face height, a fraction of the frame
    tilt: float  # degrees the camera is rolled
    light_from: float  # the light's direction, degrees (0: from the left)
    warmth: float  # -1 cool … +1 warm
    light: float  # the strength of the light's fall-off, 0..1
    side: int  # -1: left, +1: right


class Draws(random.Random):
    """The request's random stream (seeded by Job.seed) and the look drawn first."""

    def __init__(self, seed: int):
        super().__init__(seed)
        self.look = Look(
            zoom=self.uniform(0.9, 1.12),
            face_x=self.uniform(0.45, 0.55),
            face_dy=self.uniform(-0.04, 0.04),
            tilt=self.uniform(-5.0, 5.0),
            light_from=self.uniform(0.0, 360.0),
            warmth=self.uniform(-1.0, 1.0),
            light=self.uniform(0.3, 1.0),
            side=self.choice((-1, 1)),
        )
        self.lit = False

    def light(self, picture: Image.Image) -> Image.Image:
        """The picture in this shot's light (once: compose leaves a lit one alone)."""
        self.lit = True
        return lit(picture.convert("RGB"), self.look)


WARM, COOL = np.array((255, 196, 140), float), np.array((150, 190, 255), float)


def lit(picture: Image.Image, look: Look) -> Image.Image:
    """The light of the shot: brighter on the side it comes from, darker across, and a
    warm or cool cast."""
    width, height = picture.size
    angle = math.radians(look.light_from)
    xs = np.linspace(-1.0, 1.0, width)[None, :]
    ys = np.linspace(-1.0, 1.0, height)[:, None]
    toward = -(xs * math.cos(angle) + ys * math.sin(angle)) / math.sqrt(2)
    gain = 1.0 + 0.10 * look.light * toward
    pixels = np.asarray(picture, float) * gain[..., None]
    cast = WARM if look.warmth > 0 else COOL
    weight = 0.06 * abs(look.warmth)
    pixels = pixels * (1 - weight) + cast * weight
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")


def _inventory_image(job: Job, *categories) -> Image.Image | None:
    """The first decodable inventory reference of `categories`, or None."""
    for reference in job.inventory:
        if reference.category in categories:
            try:
                return reference.image
            except UnreadableImage:
                continue
    return None


def _text_color(text: str) -> tuple[int, int, int]:
    digest = hashlib.sha256(text.encode()).digest()
    return _PALETTE[digest[0] % len(_PALETTE)]


def _mean_color(image: Image.Image, box=None) -> tuple[int, int, int]:
    region = image.crop(box) if box else image
    return tuple(
        int(c) for c in np.asarray(region.resize((8, 8))).reshape(-1, 3).mean(0)
    )


def _shift_hue(color, amount: float) -> tuple[int, int, int]:
    hsv = Image.new("RGB", (1, 1), tuple(color)).convert("HSV")
    h, s, v = hsv.getpixel((0, 0))
    shifted = Image.new(
        "HSV", (1, 1), ((h + int(amount * 255)) % 256, max(s, 110), max(v, 120))
    )
    return shifted.convert("RGB").getpixel((0, 0))


def gradient(size, top, bottom) -> Image.Image:
    width, height = size
    t = np.linspace(0.0, 1.0, height)[:, None, None]
    rows = (1 - t) * np.array(top, float) + t * np.array(bottom, float)
    return Image.fromarray(np.repeat(rows, width, axis=1).astype(np.uint8), "RGB")


def portrait_face(job: Job) -> FaceBox:
    """The portrait's face, or an assumed one (upper middle) when none was detected."""
    if job.portrait_face is not None:
        return job.portrait_face
    width, height = job.portrait.image.size
    side = int(min(width, height) * 0.35)
    cx, cy = width // 2, int(height * 0.35)
    return FaceBox(cx - side // 2, cy - side // 2, cx + side // 2, cy + side // 2)


def _crop_padded(image: Image.Image, box) -> Image.Image:
    """`image` cropped to `box`; past the image's edges, its edge pixels drawn out and
    out of focus (a backdrop running on, not a flat band)."""
    width, height = image.size
    if box[0] >= 0 and box[1] >= 0 and box[2] <= width and box[3] <= height:
        return image.crop(box)
    left, top = max(0, -box[0]), max(0, -box[1])
    right, bottom = max(0, box[2] - width), max(0, box[3] - height)
    pixels = np.pad(
        np.asarray(image.convert("RGB")),
        ((top, bottom), (left, right), (0, 0)),
        mode="edge",
    )
    padded = Image.fromarray(pixels, "RGB")
    outside = Image.new("L", padded.size, 255)
    outside.paste(0, (left, top, left + width, top + height))
    padded.paste(padded.filter(ImageFilter.GaussianBlur(12)), (0, 0), outside)
    return padded.crop((box[0] + left, box[1] + top, box[2] + left, box[3] + top))


def _frame(image, face: FaceBox, size, zoom, face_y, face_x, margin):
    """The crop of `image` for frame_on_face: its centre and size. The face sits at
    (face_x, face_y) of the frame, unless that would reach past the image's edge
    while the crop fits: then the crop moves inside rather than show a padded band."""
    width, height = size
    crop_w = face.width * zoom
    crop_h = crop_w * height / width
    cx, cy = face.center
    mid = [cx + crop_w * (0.5 - face_x), cy + crop_h * (0.5 - face_y)]
    for axis, (extent, limit) in enumerate(
        [(crop_w * margin, image.width), (crop_h * margin, image.height)]
    ):
        if extent <= limit:
            mid[axis] = min(max(mid[axis], extent / 2), limit - extent / 2)
    return mid[0], mid[1], crop_w, crop_h


def frame_on_face(
    image,
    face: FaceBox,
    size,
    zoom: float,
    face_y: float = 0.4,
    face_x: float = 0.5,
    tilt: float = 0.0,
):
    """Crop `image` so the face spans 1/zoom of the width and its centre lands near
    (face_x, face_y) of the frame (see _frame), the camera rolled by `tilt` degrees;
    resize to `size`."""
    # A rolled camera: crop wider, rotate about the face (it stays where it was
    # framed), keep the inner frame (at ≤ 5° the inner 1/1.2 keeps clear of the
    # rotated corners).
    margin = 1.2 if tilt else 1.0
    mid_x, mid_y, crop_w, crop_h = _frame(
        image, face, size, zoom, face_y, face_x, margin
    )
    wide_w, wide_h = crop_w * margin, crop_h * margin
    box = tuple(
        round(v)
        for v in (
            mid_x - wide_w / 2,
            mid_y - wide_h / 2,
            mid_x + wide_w / 2,
            mid_y + wide_h / 2,
        )
    )
    region = _crop_padded(image, box)
    if tilt:
        pivot = (face.center[0] - box[0], face.center[1] - box[1])
        region = region.rotate(
            tilt, Image.Resampling.BICUBIC, center=pivot, fillcolor=_mean_color(image)
        )
        inset_x = (region.width - region.width / margin) / 2
        inset_y = (region.height - region.height / margin) / 2
        region = region.crop(
            (
                round(inset_x),
                round(inset_y),
                round(region.width - inset_x),
                round(region.height - inset_y),
            )
        )
    return region.resize(size, Image.Resampling.BICUBIC, reducing_gap=2.0)


def _cutout(job: Job, face_width: int, zoom: float = 1.9):
    """The character's head and shoulders with a feathered oval mask."""
    face = portrait_face(job)
    scale = face_width / face.width
    size = (round(face.width * zoom * scale), round(face.width * zoom * 1.25 * scale))
    head = frame_on_face(job.portrait.image, face, size, zoom, face_y=0.38)
    mask = Image.new("L", size, 0)
    ImageDraw.Draw(mask).ellipse((2, 2, size[0] - 3, size[1] + size[1] // 3), fill=255)
    return head, mask.filter(ImageFilter.GaussianBlur(6))


_FLOORS = [(150, 110, 70), (96, 70, 50), (185, 160, 120), (90, 90, 96), (120, 60, 50)]


def _room(rng: random.Random) -> Image.Image:
    """A drawn room, every part placed by the draws: a wall (a palette colour, its hue
    turned a little), a floor, one to three windows side by side, a sofa and a
    standing lamp."""
    width, height = PICTURE
    wall = _shift_hue(rng.choice(_PALETTE), rng.uniform(-0.06, 0.06))
    room = gradient(PICTURE, _shift_hue(wall, 0.05), tuple(c // 2 for c in wall))
    draw = ImageDraw.Draw(room)
    floor = int(height * rng.uniform(0.66, 0.8))
    draw.rectangle((0, floor, width, height), fill=rng.choice(_FLOORS))
    panes = rng.choice((1, 2, 2, 3))
    pane_w = rng.randint(110, 150)
    gap = rng.randint(16, 40)
    run = panes * pane_w + (panes - 1) * gap
    x0 = rng.randint(20, max(20, width - run - 20))
    top = rng.randint(50, 130)
    bottom = min(floor - 150, top + rng.randint(190, 260))
    for pane in range(panes):
        x = x0 + pane * (pane_w + gap)
        draw.rectangle(
            (x, top, x + pane_w, bottom),
            fill=(225, 235, 245),
            outline=(60, 60, 60),
            width=6,
        )
        draw.line(
            (x + pane_w // 2, top, x + pane_w // 2, bottom), fill=(60, 60, 60), width=4
        )
    sofa = rng.choice(_PALETTE)
    sofa_w = rng.randint(240, 340)
    sofa_x = rng.randint(-40, width - sofa_w + 40)
    seat = floor + rng.randint(10, 40)
    draw.rounded_rectangle(
        (sofa_x, seat - 150, sofa_x + sofa_w, seat - 60), radius=24, fill=sofa
    )
    draw.rounded_rectangle(
        (sofa_x - 20, seat - 80, sofa_x + sofa_w + 20, seat),
        radius=18,
        fill=tuple(c * 4 // 5 for c in sofa),
    )
    lamp_x = rng.randint(40, width - 40)
    draw.line((lamp_x, floor, lamp_x, floor - 260), fill=(40, 40, 40), width=5)
    draw.ellipse(
        (lamp_x - 40, floor - 310, lamp_x + 40, floor - 250), fill=(250, 220, 140)
    )
    return room


def _backdrop(job: Job, rng: random.Random, categories=("place", "scene")):
    """A place: the place/scene asset (framed where the draws say, out of focus) when
    there is one, else a drawn room."""
    place = _inventory_image(job, *categories)
    if place is None:
        return _room(rng)
    centering = (rng.uniform(0.25, 0.75), rng.uniform(0.35, 0.65))
    base = ImageOps.fit(place, PICTURE, Image.Resampling.BICUBIC, centering=centering)
    if rng.random() < 0.5:
        base = ImageOps.mirror(base)
    return base.filter(ImageFilter.GaussianBlur(10))


def _emblem(job: Job, diameter: int) -> Image.Image:
    """The signature accessory: the accessory asset's bitmap, else a drawn emblem."""
    accessory = _inventory_image(job, "accessory")
    if accessory is not None:
        art = ImageOps.fit(accessory, (diameter, diameter), Image.Resampling.BICUBIC)
    else:
        key = (
            job.brief["anchors"]["style_constants"] or [job.brief["anchors"]["hair"]]
        )[0]
        color = _text_color(key)
        art = Image.new("RGB", (diameter, diameter), (245, 240, 230))
        draw = ImageDraw.Draw(art)
        r = diameter // 2
        draw.ellipse(
            (r // 4, r // 4, diameter - r // 4, diameter - r // 4),
            outline=color,
            width=max(4, r // 6),
        )
        draw.ellipse(
            (r - r // 4, r - r // 4, r + r // 4, r + r // 4),
            fill=_shift_hue(color, 0.5),
        )
    mask = Image.new("L", (diameter, diameter), 0)
    ImageDraw.Draw(mask).ellipse((0, 0, diameter - 1, diameter - 1), fill=255)
    framed = Image.new("RGB", (diameter, diameter), (250, 250, 250))
    framed.paste(art, (0, 0), mask)
    return framed


def _emblem_at(canvas, job, center, diameter):
    art = _emblem(job, diameter)
    ring = Image.new("L", art.size, 0)
    ImageDraw.Draw(ring).ellipse((0, 0, diameter - 1, diameter - 1), fill=255)
    canvas.paste(art, (center[0] - diameter // 2, center[1] - diameter // 2), ring)
    ImageDraw.Draw(canvas).ellipse(
        (
            center[0] - diameter // 2,
            center[1] - diameter // 2,
            center[0] + diameter // 2,
            center[1] + diameter // 2,
        ),
        outline=(255, 255, 255),
        width=4,
    )


def _prop(job: Job, size, rng) -> Image.Image:
    """An everyday item: the prop asset's bitmap, else a drawn mug."""
    prop = _inventory_image(job, "prop")
    if prop is not None:
        return ImageOps.fit(prop, size, Image.Resampling.BICUBIC)
    color = rng.choice(_PALETTE)
    art = Image.new("RGB", size, (240, 236, 228))
    draw = ImageDraw.Draw(art)
    w, h = size
    draw.rounded_rectangle(
        (w * 0.18, h * 0.2, w * 0.72, h * 0.92), radius=w // 12, fill=color
    )
    draw.ellipse(
        (w * 0.62, h * 0.38, w * 0.92, h * 0.7), outline=color, width=max(6, w // 16)
    )
    draw.ellipse(
        (w * 0.18, h * 0.14, w * 0.72, h * 0.28), fill=tuple(c // 2 for c in color)
    )
    return art


def dye(color) -> tuple[int, int, int]:
    """The flat dye a drawn outfit is made of: each channel moved to the middle of its
    quarter of the range (32, 96, 160 or 224), so the outfit reads as one colour under
    any light or resampling (the judge bins colours by quarters: docs/judge.md)."""
    return tuple(64 * min(3, int(c) // 64) + 32 for c in color)


def _outfit(canvas, face_on_canvas: FaceBox, color, pattern: str, tilt: float = 0.0):
    """Restyle everything below the chin as an outfit of `color`'s dye with `pattern`;
    the face is where it would be without the camera's roll, and the outfit turns with
    the person by `tilt` degrees about the face's centre (as the camera rolled)."""
    width, height = canvas.size
    fw = face_on_canvas.width
    top = min(height - 1, face_on_canvas.bottom + fw // 8)
    color = dye(color)
    light = tuple(c + 20 for c in color)  # a lighter thread of the same dye
    cloth = Image.new("RGB", (width, height), color)
    draw = ImageDraw.Draw(cloth)
    if pattern == "stripes":
        for x in range(-height, width, 30):
            draw.line((x, 0, x + height, height), fill=light, width=10)
    else:
        for x in range(0, width, 36):
            for y in range(0, height, 36):
                if (x // 36 + y // 36) % 2 == 0:
                    draw.rectangle((x, y, x + 35, y + 35), fill=light)
    mask = Image.new("L", (width, height), 0)
    cx, neck, shoulder = int(face_on_canvas.center[0]), fw // 4, top + fw // 2
    ImageDraw.Draw(mask).polygon(
        [
            (cx - neck, top),
            (cx + neck, top),
            (cx + neck * 3, shoulder),
            (width, shoulder + fw // 6),
            (width, height * 2),
            (0, height * 2),
            (0, shoulder + fw // 6),
            (cx - neck * 3, shoulder),
        ],
        fill=255,
    )
    if tilt:
        pivot = face_on_canvas.center
        mask = mask.rotate(tilt, Image.Resampling.BICUBIC, center=pivot)
        cloth = cloth.rotate(tilt, Image.Resampling.BICUBIC, center=pivot)
    canvas.paste(cloth, (0, 0), mask.filter(ImageFilter.GaussianBlur(3)))


def _turn(point, tilt: float, pivot):
    """Where `point` of the frame lands when the camera rolls by `tilt` degrees about
    `pivot` (the face, which stays put)."""
    x, y = point[0] - pivot[0], point[1] - pivot[1]
    roll = math.radians(tilt)
    return (
        round(pivot[0] + x * math.cos(roll) + y * math.sin(roll)),
        round(pivot[1] - x * math.sin(roll) + y * math.cos(roll)),
    )


def _selfie(job: Job, rng: Draws, zoom: float, face_y: float = 0.4):
    """A selfie of the portrait shot with the request's look, and where its face is
    in the frame (the camera rolls about it: its centre stays, the body below turns by
    rng.look.tilt)."""
    look = rng.look
    zoom, face_y = zoom * look.zoom, face_y + look.face_dy
    image, face = job.portrait.image, portrait_face(job)
    picture = frame_on_face(
        image, face, PICTURE, zoom, face_y, face_x=look.face_x, tilt=look.tilt
    )
    margin = 1.2 if look.tilt else 1.0
    mid_x, mid_y, crop_w, crop_h = _frame(
        image, face, PICTURE, zoom, face_y, look.face_x, margin
    )
    # Where the face is (the roll turns the frame about its centre; see _turn).
    scale = PICTURE[0] / crop_w
    cx = PICTURE[0] / 2 + (face.center[0] - mid_x) * scale
    cy = PICTURE[1] / 2 + (face.center[1] - mid_y) * scale
    half = face.width * scale / 2
    on_canvas = FaceBox(
        round(cx - half), round(cy - half), round(cx + half), round(cy + half)
    )
    return picture, on_canvas


def compose(job: Job) -> Image.Image:
    """The picture of `job`: its kind's builder, shot with the look its seed draws. A
    follow-up in the previous picture's place keeps that picture's light; a builder
    that drew over the shot after lighting it itself is left as it is."""
    rng = Draws(job.seed)
    builder = _BUILDERS.get(job.subject, _runtime)
    picture = builder(job, rng).convert("RGB")
    if picture.size != PICTURE:
        picture = picture.resize(PICTURE)
    if rng.lit or (job.subject == "same_scene_followup" and job.parent is not None):
        return picture
    return rng.light(picture)


def _identity_selfie(job, rng):
    return _selfie(job, rng, zoom=2.4)[0]


def _forbidden_check(job, rng):
    picture, _face = _selfie(job, rng, zoom=3.1, face_y=0.42)
    picture = ImageEnhance.Color(picture).enhance(0.55)
    return ImageEnhance.Contrast(picture).enhance(0.92)


def _runtime(job, rng):
    picture, _face = _selfie(job, rng, zoom=2.2, face_y=0.42)
    warm = Image.new("RGB", PICTURE, (255, 170, 90))
    return Image.blend(picture, warm, 0.12)


def _wardrobe_variation(job, rng):
    """The selfie in another outfit. The compositor knows one other outfit (the
    wardrobe asset's colour, else the complement of the portrait's clothing), drawn
    over the lit shot in its own flat colours: the shot varies by request, the outfit
    does not."""
    picture, face = _selfie(job, rng, zoom=2.6)
    picture = rng.light(picture)
    wardrobe = _inventory_image(job, "wardrobe")
    if wardrobe is not None:
        color = _mean_color(wardrobe)
    else:
        portrait = portrait_face(job)
        below = (
            portrait.left,
            portrait.bottom + portrait.height // 2,
            portrait.right,
            portrait.bottom + portrait.height,
        )
        original = _mean_color(
            job.portrait.image, _clamp(below, job.portrait.image.size)
        )
        color = _shift_hue(original, 0.5)
    _outfit(picture, face, color, "stripes", rng.look.tilt)
    return picture


def _clamp(box, size):
    left, top, right, bottom = box
    width, height = size
    left, right = max(0, min(left, width - 2)), max(1, min(right, width))
    top, bottom = max(0, min(top, height - 2)), max(1, min(bottom, height))
    return (left, top, max(right, left + 1), max(bottom, top + 1))


def _accessory_carry_forward(job, rng):
    picture, face = _selfie(job, rng, zoom=2.5)
    # The accessory held up on the look's side, and worn under the chin.
    x = PICTURE[0] - 125 if rng.look.side > 0 else 125
    _emblem_at(picture, job, (x, PICTURE[1] - rng.randint(130, 190)), 190)
    chin = (face.center[0], face.bottom + face.height // 2)
    chin = _turn(chin, rng.look.tilt, face.center)
    _emblem_at(picture, job, chin, 54)
    return picture


def _same_scene_followup(job, rng):
    """The previous image's place again, from another angle: the whole previous
    picture, re-framed (a shifted 86–94 % crop, mirrored when the draws turn the camera
    round) and out of focus, in its own light; the character stands where the previous
    subject stood, lit by the previous shot's light (its seed's look). Without a
    previous image: the character in a place of its own."""
    if job.parent is None:
        backdrop = _backdrop(job, rng)
        head, mask = _cutout(job, face_width=rng.randint(160, 190))
        x = 30 if rng.look.side < 0 else PICTURE[0] - head.width - 30
        backdrop.paste(head, (x, PICTURE[1] - head.height), mask)
        return backdrop
    width, height = PICTURE
    scene = job.parent.image.convert("RGB").resize(PICTURE)
    keep = rng.uniform(0.86, 0.94)
    left, top = rng.uniform(0, 1 - keep) * width, rng.uniform(0, 1 - keep) * height
    mirrored = rng.random() < 0.5
    backdrop = scene.crop(
        (
            round(left),
            round(top),
            round(left + keep * width),
            round(top + keep * height),
        )
    )
    if mirrored:
        backdrop = ImageOps.mirror(backdrop)
    backdrop = backdrop.resize((width // 8, height // 8))
    backdrop = backdrop.filter(ImageFilter.GaussianBlur(4))
    backdrop = backdrop.resize(PICTURE, Image.Resampling.BICUBIC)
    previous = faces.detect(scene)
    if previous:  # in the previous subject's place, at its size
        face = previous[0]
        cx = (face.center[0] - left) / keep
        cx = width - cx if mirrored else cx
        cy = (face.center[1] - top) / keep
        face_width = round(min(260, max(120, face.width / keep)))
    else:
        face_width = rng.randint(160, 190)
        cx = width * (0.25 if rng.look.side < 0 else 0.75)
        cy = height - face_width * 1.9 * 1.25 * 0.62
    head, mask = _cutout(job, face_width=face_width)
    if job.parent.request_id:
        head = lit(head, Draws(seed_of(job.parent.request_id)).look)
    backdrop.paste(
        head, (round(cx - head.width / 2), round(cy - head.height * 0.38)), mask
    )
    return backdrop


def _prop_usage(job, rng):
    picture, _face = _selfie(job, rng, zoom=2.8, face_y=0.36)
    item_w, item_h = 190, 210
    item = _prop(job, (item_w, item_h), rng)
    # Held low on the look's side of the frame.
    x = 40 if rng.look.side < 0 else PICTURE[0] - item_w - 40
    y = PICTURE[1] - item_h - rng.randint(30, 70)
    picture.paste(item, (x, y))
    face = portrait_face(job)
    inner = (
        face.left + face.width // 4,
        face.top + face.height // 3,
        face.right - face.width // 4,
        face.bottom - face.height // 4,
    )
    skin = _mean_color(job.portrait.image, _clamp(inner, job.portrait.image.size))
    draw = ImageDraw.Draw(picture)
    draw.rectangle(
        (x, y, x + item_w - 1, y + item_h - 1), outline=(255, 255, 255), width=4
    )
    hand_x = x - 20 if rng.look.side < 0 else x + item_w - 120
    draw.ellipse((hand_x, y + 130, hand_x + 140, y + 240), fill=skin)
    return picture


def _arm(draw, shoulder, angle: float, length: int, color):
    """An arm from `shoulder`, `angle` degrees out from hanging straight down."""
    sx, sy = shoulder
    radians = math.radians(angle)
    hx, hy = sx + length * math.sin(radians), sy + length * math.cos(radians)
    draw.line((sx, sy, hx, hy), fill=color, width=30)
    draw.ellipse((hx - 15, hy - 15, hx + 15, hy + 15), fill=color)


def _full_body(job, rng):
    wall = rng.choice(_PALETTE)
    canvas = gradient(PICTURE, (236, 232, 226), _shift_hue(wall, 0.0))
    draw = ImageDraw.Draw(canvas)
    floor = PICTURE[1] - rng.randint(60, 90)
    draw.rectangle((0, floor, PICTURE[0], PICTURE[1]), fill=(120, 100, 80))
    head, mask = _cutout(job, face_width=72, zoom=1.7)
    # Where the person stands and how: a step off-centre, arms at the sides or out.
    cx = PICTURE[0] // 2 + rng.randint(-90, 90)
    top = rng.randint(8, 24)
    wardrobe = _inventory_image(job, "wardrobe")
    outfit = _mean_color(wardrobe) if wardrobe is not None else rng.choice(_PALETTE)
    neck_y = top + int(head.height * 0.82)
    hips = neck_y + 270
    draw.polygon(
        [(cx - 95, neck_y), (cx + 95, neck_y), (cx + 80, hips), (cx - 80, hips)],
        fill=outfit,
    )
    _arm(draw, (cx - 105, neck_y + 25), -rng.uniform(5, 40), 220, outfit)
    _arm(draw, (cx + 105, neck_y + 25), rng.uniform(5, 40), 220, outfit)
    legs = tuple(c // 2 for c in outfit)
    stance = rng.randint(0, 30)
    draw.polygon(
        [(cx - 70, hips), (cx - 12, hips), (cx - 18, floor), (cx - 70 - stance, floor)],
        fill=legs,
    )
    draw.polygon(
        [(cx + 12, hips), (cx + 70, hips), (cx + 70 + stance, floor), (cx + 18, floor)],
        fill=legs,
    )
    draw.ellipse((cx - 95 - stance, floor - 18, cx - 8, floor + 14), fill=(30, 30, 30))
    draw.ellipse((cx + 8, floor - 18, cx + 95 + stance, floor + 14), fill=(30, 30, 30))
    canvas.paste(head, (cx - head.width // 2, top), mask)
    return canvas


def _wardrobe(job, rng):
    canvas = gradient(PICTURE, (248, 246, 240), (200, 196, 190))
    wardrobe = _inventory_image(job, "wardrobe")
    color = _mean_color(wardrobe) if wardrobe is not None else rng.choice(_PALETTE)
    pattern = rng.choice(("checks", "stripes"))
    head, mask = _cutout(job, face_width=rng.randint(140, 165))
    cx = PICTURE[0] // 2 + rng.randint(-40, 40)
    shoulders = 20 + int(head.height * 0.8)
    body = Image.new("RGB", PICTURE, color)
    _outfit(body, FaceBox(cx - 75, 0, cx + 75, shoulders - 25), color, pattern)
    body_mask = Image.new("L", PICTURE, 0)
    ImageDraw.Draw(body_mask).polygon(
        [
            (cx - 60, shoulders),
            (cx + 60, shoulders),
            (cx + 230, shoulders + 90),
            (cx + 200, PICTURE[1]),
            (cx - 200, PICTURE[1]),
            (cx - 230, shoulders + 90),
        ],
        fill=255,
    )
    canvas.paste(body, (0, 0), body_mask)
    canvas.paste(head, (cx - head.width // 2, 20), mask)
    # A mirror frame: an outfit shot.
    frame = rng.choice(((150, 120, 80), (60, 60, 64), (200, 190, 170)))
    ImageDraw.Draw(canvas).rounded_rectangle(
        (12, 12, PICTURE[0] - 12, PICTURE[1] - 12),
        radius=40,
        outline=frame,
        width=10,
    )
    return canvas


def _accessory(job, rng):
    tone = _shift_hue(rng.choice(_PALETTE), 0.0)
    canvas = gradient(PICTURE, (250, 248, 244), tuple((c + 214) // 2 for c in tone))
    diameter = rng.randint(330, 400)
    cx = PICTURE[0] // 2 + rng.randint(-50, 50)
    cy = PICTURE[1] // 2 - rng.randint(0, 60)
    _emblem_at(canvas, job, (cx, cy), diameter)
    shadow = cy + diameter // 2 + 20
    ImageDraw.Draw(canvas).ellipse(
        (cx - diameter * 0.45, shadow, cx + diameter * 0.45, shadow + 40),
        fill=(190, 186, 180),
    )
    return canvas


def _prop_object(job, rng):
    wall = rng.choice(_PALETTE)
    canvas = gradient(PICTURE, _shift_hue(wall, 0.1), wall)
    draw = ImageDraw.Draw(canvas)
    table = int(PICTURE[1] * rng.uniform(0.58, 0.7))
    wood = rng.choice(((140, 96, 60), (96, 70, 50), (180, 150, 110)))
    draw.rectangle((0, table, PICTURE[0], PICTURE[1]), fill=wood)
    draw.line(
        (0, table, PICTURE[0], table), fill=tuple(c * 2 // 3 for c in wood), width=6
    )
    item = _prop(job, (320, 350), rng)
    x = PICTURE[0] // 2 - 160 + rng.randint(-100, 100)
    canvas.paste(item, (x, table - rng.randint(270, 310)))
    return canvas


def _place(job, rng):
    """A new place of the character's: a room of its own for every request (the
    place assets it was sent are where scenes and follow-ups stand the character)."""
    return _room(rng)


def _scene(job, rng):
    scene = _backdrop(job, rng)
    head, mask = _cutout(job, face_width=rng.randint(140, 170))
    x = 40 if rng.look.side < 0 else PICTURE[0] - head.width - 40
    scene.paste(head, (x, PICTURE[1] - head.height), mask)
    return scene


_BUILDERS = {
    "identity_selfie": _identity_selfie,
    "full_body_identity": _full_body,
    "wardrobe_variation": _wardrobe_variation,
    "accessory_carry_forward": _accessory_carry_forward,
    "same_scene_followup": _same_scene_followup,
    "prop_usage": _prop_usage,
    "forbidden_visual_check": _forbidden_check,
    "wardrobe": _wardrobe,
    "accessory": _accessory,
    "prop": _prop_object,
    "place": _place,
    "scene": _scene,
    "runtime": _runtime,
}
