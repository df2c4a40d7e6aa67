"""Identity-image advice: measured, never blocking (the contract's best practice).

The contract enforces no pixel, framing or angle threshold (R11). What it calls a good
identity image — one clear, large, sharp, unobstructed face — is measured here and
returned as advice, a list of ``{"code", "message"}``; an upload is never refused for it
and no readiness status changes because of it.

Codes: ``no_face``, ``multiple_faces`` (a group photo), ``face_too_small``,
``face_cut_off`` (forehead or chin outside the frame), ``blurry``. The thresholds are
module constants, chosen from measurements on real photos (tests/test_assets_advice.py
records them).
"""

import logging

import numpy as np
from PIL import Image

logger = logging.getLogger(__name__)

# A face whose box is narrower than this share of the image's shorter side, or than
# this many pixels, is small (measured: good portraits 0.26–0.49 and 240–325 px).
MIN_FACE_SHARE = 0.15
MIN_FACE_PIXELS = 96
# The detector's box spans brows to chin; a head needs room above and below it.
# Shares of the box height that must lie inside the frame above / below the box.
HEAD_MARGIN_TOP = 0.25
HEAD_MARGIN_BOTTOM = 0.10
# Variance of the Laplacian on the face rescaled to 128x128 grey; below this it is
# blurry (measured: sharp photos 139–408; obama-1 blurred with a Gaussian of radius 1:
# 144, radius 2: 39, radius 3: 16).
BLUR_VARIANCE = 60.0
BLUR_SIDE = 128


def _item(code: str, message: str) -> dict:
    return {"code": code, "message": message}


def sharpness(face: Image.Image) -> float:
    """Variance of a 4-neighbour Laplacian on the face, rescaled to a fixed size."""
    grey = face.convert("L").resize((BLUR_SIDE, BLUR_SIDE), Image.Resampling.BILINEAR)
    a = np.asarray(grey, dtype=np.float32)
    lap = a[:-2, 1:-1] + a[2:, 1:-1] + a[1:-1, :-2] + a[1:-1, 2:] - 4 * a[1:-1, 1:-1]
    return float(lap.var())


def measure(image: Image.Image) -> dict:
    """Measure what the advice rules read: the image size and each face box (pixels)."""
    from . import faces

    rgb = image if image.mode == "RGB" else image.convert("RGB")
    found = []
    for box in faces.detect(rgb):
        inside = (
            max(0, box.left),
            max(0, box.top),
            min(rgb.width, box.right),
            min(rgb.height, box.bottom),
        )
        found.append(
            {
                "left": box.left,
                "top": box.top,
                "right": box.right,
                "bottom": box.bottom,
                "sharpness": sharpness(rgb.crop(inside)),
            }
        )
    return {"width": image.width, "height": image.height, "faces": found}


def rules(measured: dict) -> list[dict]:
    """Turn measurements into advice (pure: no image, no detector)."""
    faces = measured["faces"]
    width, height = measured["width"], measured["height"]
    if not faces:
        return [
            _item(
                "no_face",
                "No face was found. The identity image is the face reference for every "
                "selfie: use a clear, front-facing head-and-shoulders portrait.",
            )
        ]
    if len(faces) > 1:
        return [
            _item(
                "multiple_faces",
                f"{len(faces)} faces were found: in a group photo it is ambiguous "
                "which person is the character. Upload a portrait of the character "
                "alone.",
            )
        ]
    face = faces[0]
    out = []
    box_w = face["right"] - face["left"]
    box_h = face["bottom"] - face["top"]
    if box_w < MIN_FACE_SHARE * min(width, height) or box_w < MIN_FACE_PIXELS:
        out.append(
            _item(
                "face_too_small",
                f"The face is small ({round(box_w)} px wide in a {width}x{height} "
                "image). Crop closer (head and shoulders) or use a larger photo so "
                "the face is large and clearly resolved.",
            )
        )
    if (
        face["left"] < 0
        or face["right"] > width
        or face["top"] - HEAD_MARGIN_TOP * box_h < 0
        or face["bottom"] + HEAD_MARGIN_BOTTOM * box_h > height
    ):
        out.append(
            _item(
                "face_cut_off",
                "The face is cut off by the frame (forehead, chin or a side is "
                "missing). Use a photo with the whole head inside the frame.",
            )
        )
    if face["sharpness"] < BLUR_VARIANCE:
        out.append(
            _item(
                "blurry",
                "The face looks blurry. Use a sharp, well-lit photo so the generator "
                "has clear features to anchor on.",
            )
        )
    return out


def identity_advice(image: Image.Image) -> list[dict]:
    """Advice for an identity image; an empty list when it looks like a good portrait.

    A measurement failure is logged and yields no advice: advice never blocks an upload.
    """
    try:
        return rules(measure(image))
    except Exception:
        logger.exception("identity advice could not be measured")
        return []
