"""Visual readiness: the contract's four deterministic checks and their aggregate.

| id                 | ok when                                              | else     |
| identity_asset     | >= 1 active identity asset (character-global)        | missing  |
| identity_anchors   | the active version's profile.identity_anchors is a   | missing  |
|                    | usable visual dict (characters.anchors; not a list)  |          |
| inventory_coverage | >= 1 active asset in an inventory category (global)  | weak     |
| image_generation   | the active version's image_proactivity or            | disabled |
|                    | selfie_comfort > 0 (images_enabled)                  |          |

The body is the contract's bare object (no v0 envelope) plus one extra key,
``advice``: measured, never-blocking hints (identity-image advice, an identity image
the generator cannot fetch, anchor values the pipeline cannot read, a daily_image_cap of
0) that never change a check's status.
Two queries, whatever the number of assets.
"""

from django.db.models import Count, Q

from characters.anchors import unusable_reason, value_problems
from characters.models import Character
from characters.readiness import aggregate, check

from .models import VisualAsset
from .storage import absolute_url, is_fetchable
from .vocab import INVENTORY_CATEGORIES, Category

SCOPE_NOTE = (
    "identity_anchors + image_generation reflect the ACTIVE character version "
    "(active_version_id); identity_asset + inventory_coverage are character-global and "
    "persist across versions. A PATCH that sends a new profile replaces it wholesale: "
    "always include identity_anchors in it."
)

Status = VisualAsset.Status


def _positive(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0


def images_enabled(thresholds: dict | None) -> bool:
    """The image_generation check: image_proactivity or selfie_comfort above 0."""
    thresholds = thresholds or {}
    return _positive(thresholds.get("image_proactivity")) or _positive(
        thresholds.get("selfie_comfort")
    )


def _facts(character: Character) -> dict:
    identity = list(
        VisualAsset.objects.filter(
            character=character, category=Category.IDENTITY, asset_status=Status.ACTIVE
        )
        .only("id", "file", "advice", "sha256")
        .order_by("created_at", "id")
    )
    counts = VisualAsset.objects.filter(
        character=character, category__in=INVENTORY_CATEGORIES
    ).aggregate(
        active=Count("id", filter=Q(asset_status=Status.ACTIVE)),
        candidate=Count("id", filter=Q(asset_status=Status.CANDIDATE)),
    )
    return {"identity": identity, "inventory": counts}


def _checks(character: Character, facts: dict) -> list[dict]:
    slug = character.slug
    version = character.active_version
    thresholds = version.behavioral_thresholds or {}
    out = []

    identity = facts["identity"]
    if identity:
        out.append(
            check("identity_asset", "ok", f"{len(identity)} active identity asset(s).")
        )
    else:
        out.append(
            check(
                "identity_asset",
                "missing",
                "No active identity image: selfies have no face reference.",
                f"Upload identity first: POST /v1/characters/{slug}/visual-assets "
                "(category=identity).",
            )
        )

    unusable = unusable_reason(version.identity_anchors)
    if unusable is None:
        out.append(check("identity_anchors", "ok", "Visual identity anchors set."))
    else:
        out.append(
            check(
                "identity_anchors",
                "missing",
                unusable,
                f"PATCH /v1/characters/{slug} with profile.identity_anchors as an "
                "object (visual_summary, hair, style_constants, avoid_visual_changes "
                "…); send the whole profile.",
            )
        )

    inventory = facts["inventory"]
    if inventory["active"]:
        out.append(
            check(
                "inventory_coverage",
                "ok",
                f"{inventory['active']} active inventory asset(s).",
            )
        )
    elif inventory["candidate"]:
        out.append(
            check(
                "inventory_coverage",
                "weak",
                f"No active inventory assets; {inventory['candidate']} candidate(s) "
                "await review.",
                f"Promote one: PATCH /v1/characters/{slug}/visual-assets/{{asset_id}} "
                'with {"promotion_status": "approved_keyframe"}.',
            )
        )
    else:
        out.append(
            check(
                "inventory_coverage",
                "weak",
                "No inventory assets.",
                "Add wardrobe/accessory/prop/place for consistent images.",
            )
        )

    proactivity = thresholds.get("image_proactivity", 0)
    comfort = thresholds.get("selfie_comfort", 0)
    if images_enabled(thresholds):
        out.append(
            check(
                "image_generation",
                "ok",
                f"Image generation on (image_proactivity {proactivity}, "
                f"selfie_comfort {comfort}).",
            )
        )
    else:
        out.append(
            check(
                "image_generation",
                "disabled",
                "Image generation off (default).",
                "Set behavioral_thresholds.image_proactivity / selfie_comfort.",
            )
        )
    return out


def _advice(character: Character, facts: dict) -> list[dict]:
    out = []
    identity = facts["identity"]
    for asset in identity:
        for item in asset.advice or []:
            out.append({**item, "asset_id": str(asset.pk)})
    if identity and not any(is_fetchable(absolute_url(a.file)) for a in identity):
        out.append(
            {
                "code": "identity_not_fetchable",
                "message": (
                    "No active identity image is reachable at an https:// URL, so "
                    "the generator cannot fetch it as the reference. Serve media over "
                    "HTTPS (LOREOS_PUBLIC_BASE_URL or the S3 custom domain)."
                ),
            }
        )
    problems = value_problems(character.active_version.identity_anchors)
    if problems:
        out.append(
            {
                "code": "identity_anchors_values",
                "message": (
                    "The pipeline skips what it cannot read in "
                    "profile.identity_anchors: " + "; ".join(problems) + "."
                ),
            }
        )
    out.extend(_identity_disagreement(identity))
    thresholds = character.active_version.behavioral_thresholds or {}
    if not _positive(thresholds.get("daily_image_cap", 0)):
        out.append(
            {
                "code": "daily_image_cap_zero",
                "message": (
                    "behavioral_thresholds.daily_image_cap is 0: even when ready, the "
                    "character never sends an image. Set it above 0."
                ),
            }
        )
    return out


def _identity_disagreement(identity) -> list[dict]:
    """Advice when two active identity images look like different people (their face
    distance is in the judge's failed band). The faces are measured once per set of
    files (the judge's cache, keyed by the files' hashes)."""
    if len(identity) < 2:
        return []
    from .engine import judge as judging
    from .engine.references import Reference, UnreadableImage, read_stored

    baseline = judging.cached_baseline([a.sha256 for a in identity])
    if baseline is None:
        references = []
        for asset in identity:
            try:
                data = read_stored(asset.file.name)
            except UnreadableImage:
                continue
            references.append(
                Reference("identity", "identity", asset.file.name, data, str(asset.pk))
            )
        baseline = judging.identity_baseline(references)
    limit = judging.global_bands().high
    return [
        {
            "code": "identity_images_disagree",
            "message": (
                f"Identity images {a} and {b} look like different people (face "
                f"distance {d:.2f}; the judge fails a face at {limit:.2f} or more). "
                "Generated images are judged against the first identity image with a "
                "face: retire the one that is not the character."
            ),
            "asset_id": b,
        }
        for a, b, d in baseline.pairs
        if d >= limit
    ]


def visual_checks(character: Character) -> list[dict]:
    """The four checks (for launch readiness, which adds its own)."""
    return _checks(character, _facts(character))


def visual_readiness(character: Character) -> dict:
    """The contract's GET .../visual-readiness body, plus ``advice``."""
    facts = _facts(character)
    checks = _checks(character, facts)
    return {
        "status": aggregate(checks),
        "checks": checks,
        "active_version_id": str(character.active_version_id),
        "scope_note": SCOPE_NOTE,
        "advice": _advice(character, facts),
    }
