"""The compositor: a reference image engine for development, tests and demos.

It is not an image generator. It composes each picture deterministically from the
reference bitmaps with Pillow — no GPU, no network, no model — so that every probe type
and inventory category runs end to end on any machine, and the same inputs always give
the same bytes. Each kind is built visibly differently:

- identity_selfie: a selfie framed on the identity portrait's detected face;
- full_body_identity: the head on a drawn body, head to toe, on a backdrop;
- wardrobe_variation: the selfie with the clothing below the chin restyled;
- accessory_carry_forward: the selfie with the signature accessory kept (the accessory
  asset's bitmap, or an emblem derived from the style constants);
- same_scene_followup: the previous image's scene again, from another angle, with the
  character cut in;
- prop_usage: the selfie with a prop held in hand;
- forbidden_visual_check: an ordinary, neutral selfie;
- wardrobe / accessory / prop / place / scene (inventory): an outfit shot, an accessory
  object card, a prop on a table, an empty place, the character in a place;
- runtime: a casual warm-toned selfie.

What it writes into every image so tests can read the brief back (the API never shows
it): a caption strip at the bottom (kind, style brief, forbidden list, avoid list, style
constants) and the same facts as JSON in a PNG text chunk ``loreos:brief``.

Safety rule (deterministic, so a blocked outcome is reachable offline). The forbidden
terms are the brief's ``forbidden`` list (the request's ``forbidden`` entries and any
anchor key whose name begins with ``forbidden``, e.g. ``forbidden_traits``) plus the
anchors' ``avoid_visual_changes``, each with a leading negation removed ("no heavy
makeup" forbids "heavy makeup"). The compositor draws the anchors' ``style_constants``
and the ``style_brief``; when a forbidden term appears as whole words in one of those (a
clause starting with a negation such as "no filters" does not count), the picture would
show a forbidden trait. The backend then reports ``blocked`` with the colliding term,
and still returns the image bytes, as a provider's post-generation safety filter would.
"""

import hashlib
import io
import json
import random
import re

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageFont, ImageOps
from PIL.PngImagePlugin import PngInfo

from ...faces import FaceBox
from ..brief import NEGATION, forbidden_term
from ..references import UnreadableImage
from . import Generation, Job

WIDTH, HEIGHT = 640, 800
CAPTION = 128
PICTURE = (WIDTH, HEIGHT - CAPTION)
TEXT_KEY = "loreos:brief"

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
        picture = compose(job)
        data = encode(picture, job.brief, block)
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


# --- Encoding: PNG with the brief in a text chunk and a caption strip -----------------


def _font(size: int):
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):  # a Pillow without FreeType: the bitmap font
        return ImageFont.load_default()


def _fit_lines(draw, text: str, font, width: int) -> list[str]:
    words, lines, line = text.split(), [], ""
    for word in words:
        trial = f"{line} {word}".strip()
        if draw.textlength(trial, font=font) <= width or not line:
            line = trial
        else:
            lines.append(line)
            line = word
    if line:
        lines.append(line)
    return lines


def caption_lines(brief: dict, block: str | None) -> list[str]:
    anchors = brief["anchors"]
    lines = [
        f"{brief['subject']}: {brief['instruction']}",
        f"style: {brief['style_brief'] or '-'}",
        f"forbidden: {'; '.join(brief['forbidden']) or '-'}",
        f"avoid: {'; '.join(anchors['avoid_visual_changes']) or '-'}",
        f"keeps: {'; '.join(anchors['style_constants']) or '-'}",
    ]
    if block:
        lines.insert(0, block.upper())
    return lines


def encode(picture: Image.Image, brief: dict, block: str | None) -> bytes:
    canvas = Image.new("RGB", (WIDTH, HEIGHT), (24, 24, 28))
    canvas.paste(picture, (0, 0))
    draw = ImageDraw.Draw(canvas)
    font = _font(13)
    y, bottom = PICTURE[1] + 6, HEIGHT - 4
    for index, line in enumerate(caption_lines(brief, block)):
        color = (255, 120, 110) if block and index == 0 else (230, 230, 230)
        for part in _fit_lines(draw, line, font, WIDTH - 16):
            if y + 15 > bottom:
                break
            draw.text((8, y), part, fill=color, font=font)
            y += 15
    info = PngInfo()
    info.add_text(TEXT_KEY, json.dumps(brief_text(brief, block), sort_keys=True))
    out = io.BytesIO()
    canvas.save(out, "PNG", pnginfo=info, compress_level=3)
    return out.getvalue()


def brief_text(brief: dict, block: str | None) -> dict:
    anchors = brief["anchors"]
    return {
        "subject": brief["subject"],
        "instruction": brief["instruction"],
        "style_brief": brief["style_brief"],
        "forbidden": brief["forbidden"],
        "avoid_visual_changes": anchors["avoid_visual_changes"],
        "style_constants": anchors["style_constants"],
        "safety": block or "ok",
    }


def read_brief(data: bytes) -> dict | None:
    """The brief a compositor image carries in its text chunk (for tests and demos)."""
    with Image.open(io.BytesIO(data)) as image:
        raw = getattr(image, "text", {}).get(TEXT_KEY)
    return json.loads(raw) if raw else None


# --- Composition ---------------------------------------------------------------------


def _seed(job: Job) -> int:
    facts = {
        "subject": job.subject,
        "anchors": job.brief["anchors"],
        "style": job.brief["style_brief"],
        "forbidden": job.brief["forbidden"],
        "refs": [r.sha256 for r in job.references],
    }
    digest = hashlib.sha256(
        json.dumps(facts, sort_keys=True, default=str).encode()
    ).digest()
    return int.from_bytes(digest[:8], "big")


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


def frame_on_face(image, face: FaceBox, size, zoom: float, face_y: float = 0.4):
    """Crop `image` around `face` so the face spans 1/zoom of the width, then resize."""
    width, height = size
    crop_w = face.width * zoom
    crop_h = crop_w * height / width
    cx, cy = face.center
    left = cx - crop_w / 2
    top = cy - crop_h * face_y
    box = tuple(round(v) for v in (left, top, left + crop_w, top + crop_h))
    if box[0] < 0 or box[1] < 0 or box[2] > image.width or box[3] > image.height:
        padded = Image.new(
            "RGB", (box[2] - box[0], box[3] - box[1]), _mean_color(image)
        )
        padded.paste(image, (-box[0], -box[1]))
        cropped = padded
    else:
        cropped = image.crop(box)
    return cropped.resize(size, Image.Resampling.BICUBIC, reducing_gap=2.0)


def _cutout(job: Job, face_width: int, zoom: float = 1.9):
    """The character's head and shoulders with a feathered oval mask."""
    face = portrait_face(job)
    scale = face_width / face.width
    size = (round(face.width * zoom * scale), round(face.width * zoom * 1.25 * scale))
    head = frame_on_face(job.portrait.image, face, size, zoom, face_y=0.38)
    mask = Image.new("L", size, 0)
    ImageDraw.Draw(mask).ellipse((2, 2, size[0] - 3, size[1] + size[1] // 3), fill=255)
    return head, mask.filter(ImageFilter.GaussianBlur(6))


def _backdrop(job: Job, rng: random.Random, categories=("place", "scene")):
    """A place: the place/scene asset blurred when there is one, else a drawn room."""
    place = _inventory_image(job, *categories)
    if place is not None:
        base = ImageOps.fit(place, PICTURE, Image.Resampling.BICUBIC)
        return base.filter(ImageFilter.GaussianBlur(10))
    wall = rng.choice(_PALETTE)
    room = gradient(PICTURE, _shift_hue(wall, 0.05), tuple(c // 2 for c in wall))
    draw = ImageDraw.Draw(room)
    floor = int(PICTURE[1] * 0.72)
    draw.rectangle((0, floor, PICTURE[0], PICTURE[1]), fill=tuple(c // 3 for c in wall))
    for _ in range(2):
        x = rng.randint(30, PICTURE[0] - 190)
        draw.rectangle(
            (x, 70, x + 150, 260), fill=(225, 235, 245), outline=(60, 60, 60), width=6
        )
        draw.line((x + 75, 70, x + 75, 260), fill=(60, 60, 60), width=4)
    lamp_x = rng.randint(60, PICTURE[0] - 60)
    draw.line((lamp_x, floor, lamp_x, floor - 220), fill=(40, 40, 40), width=5)
    draw.ellipse(
        (lamp_x - 40, floor - 270, lamp_x + 40, floor - 210), fill=(250, 220, 140)
    )
    return room


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


def _outfit(canvas, face_on_canvas: FaceBox, color, pattern: str):
    """Restyle everything below the chin as an outfit of `color` with `pattern`."""
    width, height = canvas.size
    fw = face_on_canvas.width
    top = min(height - 1, face_on_canvas.bottom + fw // 8)
    cloth = Image.new("RGB", (width, height - top), color)
    draw = ImageDraw.Draw(cloth)
    light = _shift_hue(color, 0.12)
    if pattern == "stripes":
        for x in range(-height, width, 30):
            draw.line((x, 0, x + height, height), fill=light, width=10)
    else:
        for x in range(0, width, 36):
            for y in range(0, height - top, 36):
                if (x // 36 + y // 36) % 2 == 0:
                    draw.rectangle((x, y, x + 35, y + 35), fill=light)
    mask = Image.new("L", (width, height - top), 0)
    cx, neck, shoulder = int(face_on_canvas.center[0]), fw // 4, fw // 2
    ImageDraw.Draw(mask).polygon(
        [
            (cx - neck, 0),
            (cx + neck, 0),
            (cx + neck * 3, shoulder),
            (width, shoulder + fw // 6),
            (width, height),
            (0, height),
            (0, shoulder + fw // 6),
            (cx - neck * 3, shoulder),
        ],
        fill=235,
    )
    canvas.paste(cloth, (0, top), mask.filter(ImageFilter.GaussianBlur(3)))


def _face_on(size, zoom, face_y=0.4) -> FaceBox:
    """Where frame_on_face puts the face on a canvas of `size`."""
    width, height = size
    fw = width / zoom
    left = (width - fw) / 2
    # The crop puts the face centre at face_y of the height.
    cy = height * face_y
    return FaceBox(
        round(left), round(cy - fw / 2), round(left + fw), round(cy + fw / 2)
    )


def _selfie(job, zoom, face_y=0.4):
    return frame_on_face(job.portrait.image, portrait_face(job), PICTURE, zoom, face_y)


def compose(job: Job) -> Image.Image:
    rng = random.Random(_seed(job))
    subject = job.subject
    builder = _BUILDERS.get(subject, _runtime)
    picture = builder(job, rng)
    if picture.size != PICTURE:
        picture = picture.resize(PICTURE)
    return picture


def _identity_selfie(job, rng):
    return _selfie(job, zoom=2.4)


def _forbidden_check(job, rng):
    picture = _selfie(job, zoom=3.1, face_y=0.42)
    picture = ImageEnhance.Color(picture).enhance(0.55)
    return ImageEnhance.Contrast(picture).enhance(0.92)


def _runtime(job, rng):
    picture = _selfie(job, zoom=2.2, face_y=0.42)
    warm = Image.new("RGB", PICTURE, (255, 170, 90))
    return Image.blend(picture, warm, 0.12)


def _wardrobe_variation(job, rng):
    picture = _selfie(job, zoom=2.6)
    wardrobe = _inventory_image(job, "wardrobe")
    if wardrobe is not None:
        color = _mean_color(wardrobe)
    else:
        face = portrait_face(job)
        below = (
            face.left,
            face.bottom + face.height // 2,
            face.right,
            face.bottom + face.height,
        )
        original = _mean_color(
            job.portrait.image, _clamp(below, job.portrait.image.size)
        )
        color = _shift_hue(original, 0.5)
    _outfit(picture, _face_on(PICTURE, 2.6), color, "stripes")
    return picture


def _clamp(box, size):
    left, top, right, bottom = box
    width, height = size
    left, right = max(0, min(left, width - 2)), max(1, min(right, width))
    top, bottom = max(0, min(top, height - 2)), max(1, min(bottom, height))
    return (left, top, max(right, left + 1), max(bottom, top + 1))


def _accessory_carry_forward(job, rng):
    picture = _selfie(job, zoom=2.5)
    _emblem_at(picture, job, (PICTURE[0] - 120, PICTURE[1] - 130), 190)
    face = _face_on(PICTURE, 2.5)
    _emblem_at(picture, job, (int(face.center[0]), face.bottom + face.height // 2), 54)
    return picture


def _same_scene_followup(job, rng):
    if job.parent is not None:
        scene = job.parent.image
        w, h = scene.size
        # Another angle in the same place: a shifted, tighter crop, out of focus.
        # The previous subject dissolves into the out-of-focus background.
        box = (int(w * 0.08), int(h * 0.02), int(w * 0.98), int(h * 0.74))
        backdrop = scene.crop(box).resize((PICTURE[0] // 4, PICTURE[1] // 4))
        backdrop = backdrop.filter(ImageFilter.GaussianBlur(6))
        backdrop = backdrop.resize(PICTURE, Image.Resampling.BICUBIC)
    else:
        backdrop = _backdrop(job, rng)
    head, mask = _cutout(job, face_width=170)
    backdrop.paste(head, (40, PICTURE[1] - head.height), mask)
    return backdrop


def _prop_usage(job, rng):
    picture = _selfie(job, zoom=2.8, face_y=0.36)
    item = _prop(job, (190, 210), rng)
    x, y = 40, PICTURE[1] - 250
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
    draw.rectangle((x, y, x + 189, y + 209), outline=(255, 255, 255), width=4)
    draw.ellipse((x - 20, y + 130, x + 120, y + 240), fill=skin)
    return picture


def _full_body(job, rng):
    wall = rng.choice(_PALETTE)
    canvas = gradient(PICTURE, (236, 232, 226), _shift_hue(wall, 0.0))
    draw = ImageDraw.Draw(canvas)
    floor = PICTURE[1] - 70
    draw.rectangle((0, floor, PICTURE[0], PICTURE[1]), fill=(120, 100, 80))
    head, mask = _cutout(job, face_width=84, zoom=1.7)
    cx = PICTURE[0] // 2
    wardrobe = _inventory_image(job, "wardrobe")
    outfit = _mean_color(wardrobe) if wardrobe is not None else rng.choice(_PALETTE)
    neck_y = 10 + int(head.height * 0.82)
    draw.polygon(
        [
            (cx - 95, neck_y),
            (cx + 95, neck_y),
            (cx + 80, neck_y + 250),
            (cx - 80, neck_y + 250),
        ],
        fill=outfit,
    )
    draw.rectangle((cx - 125, neck_y + 10, cx - 95, neck_y + 220), fill=outfit)
    draw.rectangle((cx + 95, neck_y + 10, cx + 125, neck_y + 220), fill=outfit)
    legs = tuple(c // 2 for c in outfit)
    draw.rectangle((cx - 70, neck_y + 250, cx - 12, floor), fill=legs)
    draw.rectangle((cx + 12, neck_y + 250, cx + 70, floor), fill=legs)
    draw.ellipse((cx - 90, floor - 18, cx - 4, floor + 14), fill=(30, 30, 30))
    draw.ellipse((cx + 4, floor - 18, cx + 90, floor + 14), fill=(30, 30, 30))
    canvas.paste(head, (cx - head.width // 2, 10), mask)
    return canvas


def _wardrobe(job, rng):
    canvas = gradient(PICTURE, (248, 246, 240), (200, 196, 190))
    wardrobe = _inventory_image(job, "wardrobe")
    color = _mean_color(wardrobe) if wardrobe is not None else rng.choice(_PALETTE)
    head, mask = _cutout(job, face_width=150)
    cx = PICTURE[0] // 2
    shoulders = 20 + int(head.height * 0.8)
    body = Image.new("RGB", PICTURE, color)
    _outfit(body, FaceBox(cx - 75, 0, cx + 75, shoulders - 25), color, "checks")
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
    ImageDraw.Draw(canvas).rounded_rectangle(
        (12, 12, PICTURE[0] - 12, PICTURE[1] - 12),
        radius=40,
        outline=(150, 120, 80),
        width=10,
    )
    return canvas


def _accessory(job, rng):
    canvas = gradient(PICTURE, (250, 248, 244), (214, 210, 204))
    diameter = 380
    _emblem_at(canvas, job, (PICTURE[0] // 2, PICTURE[1] // 2 - 20), diameter)
    draw = ImageDraw.Draw(canvas)
    draw.ellipse(
        (
            PICTURE[0] // 2 - 170,
            PICTURE[1] // 2 + 190,
            PICTURE[0] // 2 + 170,
            PICTURE[1] // 2 + 230,
        ),
        fill=(190, 186, 180),
    )
    return canvas


def _prop_object(job, rng):
    wall = rng.choice(_PALETTE)
    canvas = gradient(PICTURE, _shift_hue(wall, 0.1), wall)
    draw = ImageDraw.Draw(canvas)
    table = int(PICTURE[1] * 0.62)
    draw.rectangle((0, table, PICTURE[0], PICTURE[1]), fill=(140, 96, 60))
    draw.line((0, table, PICTURE[0], table), fill=(90, 60, 36), width=6)
    item = _prop(job, (320, 350), rng)
    canvas.paste(item, (PICTURE[0] // 2 - 160, table - 290))
    return canvas


def _place(job, rng):
    return _backdrop(job, rng)


def _scene(job, rng):
    scene = _backdrop(job, rng)
    head, mask = _cutout(job, face_width=150)
    scene.paste(head, (PICTURE[0] - head.width - 40, PICTURE[1] - head.height), mask)
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
