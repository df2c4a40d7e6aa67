"""Launch readiness: persona, voice and delivery, plus the checks other apps add.

The visuals app adds the budget check (after voice: metering lives there) and its
visual checks (at the end).

Each check is ``{"id", "status", "summary", "fix"?}``; status is ok, or one of missing
(blocks), weak or disabled (warnings). The aggregate follows the contract's rule for
visual readiness: needs_attention if anything is missing, ready_with_warnings if
anything is weak or disabled, else ready.
"""

from collections.abc import Callable

from django.db import models

from .anchors import non_empty_anchors
from .models import Character

Provider = Callable[[Character], list[dict]]

# Providers of the checks other apps own, each with the id of the check theirs follow
# (None: at the end). The visuals app registers the budget check and its four visual
# checks in AppConfig.ready.
_providers: list[tuple[Provider, str | None]] = []


def register_checks(provider: Provider, *, after: str | None = None) -> None:
    """Add the checks `provider` makes after the check with id `after` (None: last)."""
    if all(known is not provider for known, _ in _providers):
        _providers.append((provider, after))


def check(id_: str, status: str, summary: str, fix: str | None = None) -> dict:
    out = {"id": id_, "status": status, "summary": summary}
    if status != "ok" and fix:
        out["fix"] = fix
    return out


class ReadinessStatus(models.TextChoices):
    """The aggregate of a list of checks (the contract's rule, in aggregate)."""

    NEEDS_ATTENTION = "needs_attention", "Needs attention"
    READY_WITH_WARNINGS = "ready_with_warnings", "Ready with warnings"
    READY = "ready", "Ready"


def aggregate(checks: list[dict]) -> str:
    statuses = {c["status"] for c in checks}
    if "missing" in statuses:
        return ReadinessStatus.NEEDS_ATTENTION
    if statuses & {"weak", "disabled"}:
        return ReadinessStatus.READY_WITH_WARNINGS
    return ReadinessStatus.READY


def authoring_checks(character: Character) -> list[dict]:
    version = character.active_version
    profile = version.profile or {}
    thresholds = version.behavioral_thresholds or {}
    checks = []

    # persona: who the character is — profile.persona, or anchors (a list or a dict).
    if (
        isinstance(profile.get("persona"), str) and profile["persona"].strip()
    ) or non_empty_anchors(profile.get("identity_anchors")):
        checks.append(check("persona", "ok", "Persona defined."))
    else:
        checks.append(
            check(
                "persona",
                "missing",
                "No persona: profile.persona and profile.identity_anchors are both "
                "empty.",
                "Set profile.persona (text) or profile.identity_anchors in "
                f"PATCH /v1/characters/{character.slug}.",
            )
        )

    # voice: how it speaks — profile.voice, or text anchors (a list doubles as voice).
    if (
        isinstance(profile.get("voice"), str) and profile["voice"].strip()
    ) or non_empty_anchors(profile.get("identity_anchors")):
        checks.append(check("voice", "ok", "Voice anchors set."))
    else:
        checks.append(
            check(
                "voice",
                "weak",
                "No voice guidance (profile.voice or identity_anchors).",
                "Set profile.voice, or author profile.identity_anchors.",
            )
        )

    # delivery: daily_image_cap > 0, without which no image is ever sent (R01).
    cap = thresholds.get("daily_image_cap", 0) or 0
    if cap > 0:
        checks.append(check("delivery", "ok", f"Up to {cap} image(s) a day."))
    else:
        checks.append(
            check(
                "delivery",
                "disabled",
                "daily_image_cap is 0: the character never sends an image.",
                "Set behavioral_thresholds.daily_image_cap > 0.",
            )
        )
    return checks


def launch_readiness(character: Character) -> dict:
    checks = authoring_checks(character)
    for provider, after in _providers:
        at = (
            len(checks) if after is None else [c["id"] for c in checks].index(after) + 1
        )
        checks[at:at] = provider(character)
    return {
        "status": aggregate(checks),
        "checks": checks,
        "active_version_id": str(character.active_version_id),
    }
