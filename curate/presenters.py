"""Small projections the pages and JSON endpoints share: verdicts and decisions."""

import re

from django.conf import settings
from django.utils import timezone
from django.utils.formats import date_format

from visuals.assets import allowed_decisions, asset_etag, decider_name
from visuals.vocab import Verdict

NOT_EVALUATED = "Not evaluated"

# The judge writes its measured score into `reason` ("face distance 0.31 …").
_SCORE = re.compile(
    r"(?:distance|score|similarity)\D{0,12}?(\d+(?:\.\d+)?)", re.IGNORECASE
)


def verdict_of(image_request) -> dict:
    """The consistency verdict of the request that produced an asset (or none)."""
    consistency = (image_request.consistency if image_request else None) or {}
    status = consistency.get("status")
    score = consistency.get("score", consistency.get("distance"))
    reason = consistency.get("reason") or ""
    if score is None:
        score = _measures(image_request).get("identity_distance")
    if score is None and reason:
        match = _SCORE.search(reason)
        score = float(match.group(1)) if match else None
    return {
        "status": status or "none",
        "label": Verdict(status).label if status in Verdict.values else NOT_EVALUATED,
        "score": score,
        "reason": reason,
        "continuity_relation": consistency.get("continuity_relation"),
    }


def checks_of(image_request) -> list[dict]:
    """The judge's checks one by one, each {text, status, label, measure, detail}.

    A verdict that lists its checks (``consistency.checks``) is shown as it is; an
    older verdict shows what it measured: the face distance to the identity portrait
    with its pass/fail band, and the continuity distance when there was a parent.
    """
    consistency = (image_request.consistency if image_request else None) or {}
    if not consistency:
        return []
    listed = consistency.get("checks")
    if isinstance(listed, list):
        return [
            {
                "text": c.get("text") or c.get("id", ""),
                "status": c.get("status", ""),
                "label": _status_label(c.get("status")),
                "measure": c.get("measure"),
                "detail": c.get("detail", ""),
            }
            for c in listed
            if isinstance(c, dict)
        ]
    measures = _measures(image_request)
    status = consistency.get("status", "")
    checks = []
    distance = measures.get("identity_distance")
    if distance is not None:
        passes = settings.LOREOS_FACE_PASS_DISTANCE
        fails = settings.LOREOS_FACE_FAIL_DISTANCE
        band = (
            "passed"
            if distance <= passes
            else "failed"
            if distance >= fails
            else "manual_required"
        )
        checks.append(
            {
                "text": "Face distance to the identity portrait",
                "status": band,
                "label": _status_label(band),
                "measure": distance,
                "detail": f"pass ≤ {passes}, fail ≥ {fails}",
            }
        )
    if measures.get("parent_distance") is not None:
        checks.append(
            {
                "text": "Face distance to the previous image",
                "status": "",
                "label": "Measured",
                "measure": measures["parent_distance"],
                "detail": consistency.get("continuity_relation") or "",
            }
        )
    if not checks:
        checks.append(
            {
                "text": "Overall verdict",
                "status": status,
                "label": _status_label(status),
                "measure": None,
                "detail": consistency.get("reason", ""),
            }
        )
    return checks


def _measures(image_request) -> dict:
    """What the judge measured (brief["judge"]), unless the list deferred the brief
    (reading it would cost a query per row)."""
    if image_request is None or "brief" in image_request.get_deferred_fields():
        return {}
    return (image_request.brief or {}).get("judge") or {}


def _status_label(status) -> str:
    if status in Verdict.values:
        return Verdict(status).label
    return (status or "not checked").replace("_", " ").capitalize()


# How each of the asset service's decisions shows as a button: label and style.
_BUTTONS = {
    "approve": ("Approve as keyframe", "primary"),
    "approve_anchor": ("Approve as anchor", ""),
    "reject": ("Reject", "danger"),
    "retire": ("Retire", ""),
    "restore": ("Restore", ""),
    "reopen": ("Reopen for review", ""),
    "qa_passed": ("QA passed", "quiet"),
    "qa_failed": ("QA failed", "quiet"),
}


def decision_buttons(asset) -> list[dict]:
    """The buttons for the decisions the asset service allows on this asset now."""
    allowed = allowed_decisions(asset)
    buttons = []
    for name in allowed:
        label, style = _BUTTONS[name]
        if name == "approve_anchor" and "approve" not in allowed:
            style = "primary"  # an identity asset's only approval
        buttons.append({"value": name, "label": label, "style": style})
    return buttons


def when(value) -> str:
    if not value:
        return ""
    return date_format(timezone.localtime(value), "DATETIME_FORMAT")


def decided_by_name(asset) -> str:
    """The curator's username, or the API key's name and prefix (the API's own
    `decided_by`)."""
    return decider_name(asset)


def decision_of(asset) -> dict:
    return {
        "asset_status": asset.asset_status,
        "promotion_status": asset.promotion_status,
        "qa_status": asset.qa_status,
        "decided_by": decided_by_name(asset),
        "decided_at": asset.decided_at.isoformat() if asset.decided_at else None,
        "decided_at_display": when(asset.decided_at),
        "decision_reason": asset.decision_reason,
        "etag": asset_etag(asset),
    }
