"""The brief of one generation: what to draw and what to keep, built from the request
version's identity anchors plus the probe type (or inventory category), the style brief
and the forbidden list. Stored on ImageRequest.brief (internal, never in the API)."""

import re

from characters.anchors import KNOWN_KEYS, usable_visual_anchors

from ..errors import NO_SELF_REFERENCE
from ..models import ImageRequest
from .references import Selection, subject_of

# What each kind asks the backend to draw (the contract's probe table, and the
# inventory categories).
INSTRUCTIONS = {
    "identity_selfie": "a clear front-facing selfie showing the face",
    "full_body_identity": "a full-body photo, head to toe",
    "wardrobe_variation": "the character in a different everyday outfit",
    "accessory_carry_forward": "the character keeping the same signature accessory",
    "same_scene_followup": "another photo in the same place as the previous image",
    "prop_usage": "the character holding or using an everyday personal item",
    "forbidden_visual_check": (
        "an ordinary selfie, used to confirm no forbidden visual traits appear"
    ),
    "wardrobe": "a reusable outfit of the character, worn by the character",
    "accessory": "a reusable signature accessory of the character, as an object shot",
    "prop": "a reusable everyday personal item of the character, as an object shot",
    "place": "a reusable place the character spends time in, without people",
    "scene": "the character in a reusable everyday scene",
    "runtime": "a casual selfie the character sends in conversation",
}

KNOWN_ANCHOR_KEYS = KNOWN_KEYS

# "no heavy makeup" forbids "heavy makeup": a leading negation is not part of the term.
NEGATION = re.compile(r"^(?:no|not|never|avoid|without|don't|do not)\s+", re.IGNORECASE)


class AnchorsMissing(Exception):
    """identity_anchors is not a non-empty object on the request's version."""


def _text(value) -> str:
    return value.strip() if isinstance(value, str) else ""


def _text_list(value) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple):
        return []
    return [item.strip() for item in value if isinstance(item, str) and item.strip()]


def forbidden_term(text: str) -> str:
    """The thing a forbidden or avoid entry names, normalised for matching."""
    return " ".join(NEGATION.sub("", text.strip()).lower().split())


def anchors_of(image_request: ImageRequest) -> dict:
    """The request version's identity anchors: the known keys and the carried extras."""
    anchors = image_request.version.identity_anchors
    if not usable_visual_anchors(anchors):
        raise AnchorsMissing(
            NO_SELF_REFERENCE
            if image_request.origin == ImageRequest.Origin.RUNTIME
            else f"profile.identity_anchors is not a non-empty object on version "
            f"{image_request.version.number}"
        )
    return {
        "visual_summary": _text(anchors.get("visual_summary")),
        "hair": _text(anchors.get("hair")),
        "style_constants": _text_list(anchors.get("style_constants")),
        "avoid_visual_changes": _text_list(anchors.get("avoid_visual_changes")),
        "extra": {k: v for k, v in anchors.items() if k not in KNOWN_ANCHOR_KEYS},
    }


def forbidden_of(image_request: ImageRequest, anchors: dict) -> list[str]:
    """The request's forbidden list plus the anchors' own `forbidden…` keys
    (e.g. forbidden_traits) plus the version's profile.forbidden_visuals, in order,
    without repeats."""
    terms = _text_list(image_request.forbidden)
    for key, value in anchors["extra"].items():
        if key.lower().startswith("forbidden"):
            terms.extend(_text_list(value))
    profile = image_request.version.profile or {}
    terms.extend(_text_list(profile.get("forbidden_visuals")))
    return list(dict.fromkeys(terms))


def prompt_of(brief: dict) -> str:
    """The text prompt for a text-and-reference image model."""
    anchors = brief["anchors"]
    parts = [
        f"Draw {brief['instruction']}.",
        "The person is the one in the reference images: "
        "keep the same face and identity.",
    ]
    if anchors["visual_summary"]:
        parts.append(f"Appearance: {anchors['visual_summary']}.")
    if anchors["hair"]:
        parts.append(f"Hair: {anchors['hair']}.")
    if anchors["style_constants"]:
        parts.append(f"Always keep: {'; '.join(anchors['style_constants'])}.")
    for key, value in anchors["extra"].items():
        if key.lower().startswith("forbidden"):
            continue  # listed under "Never show"
        if isinstance(value, str | int | float):
            parts.append(f"{key.replace('_', ' ').capitalize()}: {value}.")
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            parts.append(f"{key.replace('_', ' ').capitalize()}: {'; '.join(value)}.")
    if brief["has_parent"]:
        parts.append("Continue from the previous image (the last reference).")
    if brief["style_brief"]:
        parts.append(f"Style: {brief['style_brief']}.")
    if anchors["avoid_visual_changes"]:
        parts.append(f"Avoid: {'; '.join(anchors['avoid_visual_changes'])}.")
    if brief["forbidden"]:
        parts.append(f"Never show: {'; '.join(brief['forbidden'])}.")
    return " ".join(parts)


def build(image_request: ImageRequest, selection: Selection) -> dict:
    """The brief of `image_request` given its chosen references."""
    subject = subject_of(image_request)
    anchors = anchors_of(image_request)
    brief = {
        "subject": subject,
        "origin": image_request.origin,
        "image_kind": image_request.image_kind,
        "instruction": INSTRUCTIONS.get(subject, INSTRUCTIONS["runtime"]),
        "anchors": anchors,
        "style_brief": (image_request.style_brief or "").strip(),
        "forbidden": forbidden_of(image_request, anchors),
        "references": [
            {"role": r.role, "category": r.category, "asset_id": r.asset_id}
            for r in selection.all
        ],
        "has_parent": selection.parent is not None,
        "parent_request_id": (
            str(selection.parent_request.pk) if selection.parent_request else None
        ),
        "version": image_request.version.number,
    }
    brief["prompt"] = prompt_of(brief)
    return brief
