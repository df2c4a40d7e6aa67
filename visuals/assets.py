"""Visual assets: upload, promote, retire, reject, delete — every write on an asset.

The asset lifecycle is one small explicit table (``ASSET_TRANSITIONS`` and
``PROMOTION_TRANSITIONS``), the same for the API, the admin and the curator pages:

asset_status (what a PATCH may set directly):
    candidate -> rejected            (activation goes through a promotion)
    active    -> retired | rejected
    retired   -> active  | rejected  (restore, or reject for good)
    rejected  -> candidate           (reopen for review; promotion resets to candidate)

promotion_status:
    candidate         -> approved_anchor | approved_keyframe  (the asset becomes active)
    approved_anchor   -> approved_keyframe
    approved_keyframe -> approved_anchor
    Promoting needs asset_status candidate (a fresh or reopened asset). Identity assets
    are anchors: their only approval is approved_anchor.

Setting a value the asset already has is a no-op, never an error. qa_status (unreviewed,
passed, failed) is a reviewer's note and may change freely. Every change records who
(a Django user, or the API key), when and why, on the asset and as one
AssetDecision row of its history.

Two people at once: every reader gets the asset's ETag (``asset_etag``: the API's
``ETag`` header, the state a curator page or the admin changelist showed). A write
that sends one (``if_match``) on an asset that changed meanwhile is refused with 412
precondition_failed naming who decided and when — the API, the curator pages and the
admin alike.
"""

import hashlib
import logging
import uuid

from django.db import transaction

from characters.keys import KEY_PREFIX
from characters.models import ApiKey, Character
from loreos import clock
from loreos.api.errors import ApiError, validation_error

from . import advice as advice_rules
from . import webhook_events
from .errors import (
    invalid_category,
    invalid_transition,
    needs_identity,
    precondition_failed,
    storage_unavailable,
)
from .models import AssetDecision, ImageRequest, VisualAsset
from .selectors import active_identity_assets
from .uploads import check_image
from .vocab import Category, Verdict

logger = logging.getLogger(__name__)

Status = VisualAsset.Status
Promotion = VisualAsset.Promotion

ASSET_TRANSITIONS: dict[str, tuple[str, ...]] = {
    Status.CANDIDATE: (Status.REJECTED,),
    Status.ACTIVE: (Status.RETIRED, Status.REJECTED),
    Status.RETIRED: (Status.ACTIVE, Status.REJECTED),
    Status.REJECTED: (Status.CANDIDATE,),
}
PROMOTION_TRANSITIONS: dict[str, tuple[str, ...]] = {
    Promotion.CANDIDATE: (Promotion.APPROVED_ANCHOR, Promotion.APPROVED_KEYFRAME),
    Promotion.APPROVED_ANCHOR: (Promotion.APPROVED_KEYFRAME,),
    Promotion.APPROVED_KEYFRAME: (Promotion.APPROVED_ANCHOR,),
}
APPROVALS = (Promotion.APPROVED_ANCHOR, Promotion.APPROVED_KEYFRAME)

# The decisions a person takes on one asset (admin actions, curator buttons), each as
# the PATCH body the API would get. Which of them an asset allows now is
# allowed_decisions(asset), read from the tables above.
DECISIONS: dict[str, dict[str, str]] = {
    "approve": {"promotion_status": Promotion.APPROVED_KEYFRAME},
    "approve_anchor": {"promotion_status": Promotion.APPROVED_ANCHOR},
    "reject": {"asset_status": Status.REJECTED},
    "retire": {"asset_status": Status.RETIRED},
    "restore": {"asset_status": Status.ACTIVE},
    "reopen": {"asset_status": Status.CANDIDATE},
    "qa_passed": {"qa_status": VisualAsset.QA.PASSED},
    "qa_failed": {"qa_status": VisualAsset.QA.FAILED},
}


# --- Upload ---------------------------------------------------------------------------


def _required_text(name: str, value) -> str:
    text = (value or "").strip() if isinstance(value, str) else ""
    if not text:
        raise validation_error(name, "must be a non-empty string")
    return text


def upload_fields_check(*, category, asset_key, label, file) -> tuple[str, str]:
    """Check an upload's fields in the contract's order; return the stripped
    (asset_key, label). Used by asset_upload and by the API's upload serializer."""
    if category not in Category.values:
        raise invalid_category(category)
    asset_key = _required_text("asset_key", asset_key)
    label = _required_text("label", label)
    if file is None:
        raise validation_error("file", "is required (a PNG, JPEG or WebP image)")
    return asset_key, label


def asset_upload(
    *,
    character: Character,
    file,
    category: str,
    asset_key: str,
    label: str,
    visual_summary: str = "",
    visual_description: str = "",
) -> VisualAsset:
    """Validate and store one uploaded image as an asset of the character.

    Identity is active at once (approved_anchor); every other category is a candidate
    and needs an active identity asset first (409 needs_identity). The stored name is
    the server's (``asset_upload_to``), never the client's filename.
    """
    asset_key, label = upload_fields_check(
        category=category, asset_key=asset_key, label=label, file=file
    )
    visual_summary = (visual_summary or "").strip()
    visual_description = (visual_description or "").strip() or visual_summary or label

    is_identity = category == Category.IDENTITY
    if not is_identity and not active_identity_assets(character).exists():
        raise needs_identity()

    checked = check_image(file, keep_image=is_identity)
    measured = advice_rules.identity_advice(checked.image) if is_identity else []

    asset = VisualAsset(
        id=uuid.uuid4(),
        character=character,
        category=category,
        asset_key=asset_key,
        label=label,
        visual_summary=visual_summary,
        visual_description=visual_description,
        sha256=checked.sha256,
        width=checked.width,
        height=checked.height,
        format=checked.format,
        byte_size=checked.byte_size,
        asset_status=Status.ACTIVE if is_identity else Status.CANDIDATE,
        promotion_status=Promotion.APPROVED_ANCHOR
        if is_identity
        else Promotion.CANDIDATE,
        source=VisualAsset.Source.UPLOAD,
        advice=measured,
    )
    # Bytes first, row second: a failed insert removes the stored file again.
    filename = f"upload.{checked.format.lower()}"
    try:
        asset.file.save(filename, checked.content, save=False)
    except Exception as exc:  # any storage backend failure (disk, S3, network)
        logger.exception("storing upload for character %s failed", character.pk)
        _remove_partial(asset, filename)
        raise storage_unavailable() from exc
    try:
        with transaction.atomic():
            asset.save(force_insert=True)
    except Exception:
        asset.file.storage.delete(asset.file.name)
        raise
    return asset


def _remove_partial(asset: VisualAsset, filename: str) -> None:
    """Delete what a failed write may have left under the server-chosen name."""
    name = asset.file.field.generate_filename(asset, filename)
    try:
        if asset.file.storage.exists(name):
            asset.file.storage.delete(name)
    except Exception:
        logger.warning("could not remove the partial upload %s", name, exc_info=True)


# --- Lifecycle ------------------------------------------------------------------------


def _not_allowed(field: str, current: str, wanted: str, allowed) -> ApiError:
    allowed = list(allowed)
    listed = ", ".join(allowed) if allowed else "none"
    return invalid_transition(
        field,
        f"{field} cannot go from {current} to {wanted}; "
        f"allowed from {current}: {listed}",
        _TRANSITION_FIXES.get((field, current), "Send one of the allowed values."),
    )


_TRANSITION_FIXES = {
    ("asset_status", Status.CANDIDATE): (
        "Activate a candidate by promoting it: "
        '{"promotion_status": "approved_keyframe"} (or approved_anchor).'
    ),
    ("promotion_status", Promotion.CANDIDATE): (
        'Reopen the asset first with {"asset_status": "candidate"}, then promote it.'
    ),
}


def _promotion_targets(asset: VisualAsset) -> tuple[str, ...]:
    targets = PROMOTION_TRANSITIONS.get(asset.promotion_status, ())
    if asset.category == Category.IDENTITY:
        targets = tuple(t for t in targets if t == Promotion.APPROVED_ANCHOR)
    return targets


def _promotion_allowed(asset: VisualAsset, wanted: str) -> bool:
    if wanted not in _promotion_targets(asset):
        return False
    return (
        asset.promotion_status != Promotion.CANDIDATE
        or asset.asset_status == Status.CANDIDATE
    )


def allowed_decisions(asset: VisualAsset) -> list[str]:
    """The DECISIONS that would change this asset and that the lifecycle allows."""
    allowed = []
    for name, change in DECISIONS.items():
        ((field, wanted),) = change.items()
        if field == "promotion_status":
            ok = _promotion_allowed(asset, wanted)
        elif field == "asset_status":
            ok = wanted in ASSET_TRANSITIONS.get(asset.asset_status, ())
        else:
            ok = wanted != asset.qa_status
        if ok:
            allowed.append(name)
    return allowed


def asset_decide(
    *,
    asset: VisualAsset,
    decision: str,
    actor=None,
    reason: str = "",
    if_match: str | None = None,
) -> VisualAsset:
    """Apply one named decision (a key of DECISIONS) through asset_update."""
    return asset_update(
        asset=asset,
        actor=actor,
        reason=reason,
        if_match=if_match,
        **DECISIONS[decision],
    )


# --- Concurrency: the state a client saw ------------------------------------------


def asset_etag(asset: VisualAsset) -> str:
    """The asset's entity tag (quoted, strong): it changes with every write on the
    asset. The one computation the API, the curator pages and the admin share."""
    updated = asset.updated_at.isoformat() if asset.updated_at else ""
    state = ":".join(
        (
            str(asset.pk),
            asset.asset_status,
            asset.promotion_status,
            asset.qa_status,
            updated,
        )
    )
    return '"' + hashlib.sha256(state.encode()).hexdigest()[:20] + '"'


def etag_matches(asset: VisualAsset, if_match: str) -> bool:
    """Whether an If-Match value (``*``, or a comma-separated list of tags) names the
    asset's current tag. A weak prefix (W/) is ignored: the tag itself must match."""
    current = asset_etag(asset)
    for tag in (if_match or "").split(","):
        tag = tag.strip()
        if tag == "*":
            return True
        if tag.startswith("W/"):
            tag = tag[2:]
        if tag == current:
            return True
    return False


def decider_name(asset) -> str:
    """Who took the last decision: the user's username, or the API key's name and
    prefix ("ci-bot (lok_1a2b3c4d)"); empty when nobody has decided. Reads
    decided_by / decided_by_key (select_related them for lists)."""
    if asset.decided_by_id:
        return asset.decided_by.get_username()
    if asset.decided_by_key_id:
        key = asset.decided_by_key
        return decider_label(key_name=key.name, key_prefix=key.prefix)
    return ""


def actor_name(actor) -> str:
    """decider_name for whoever decides now (a Django user or an API key)."""
    fields = _actor_fields(actor)
    if fields["decided_by_key"] is not None:
        key = fields["decided_by_key"]
        return decider_label(key_name=key.name, key_prefix=key.prefix)
    return fields["decided_by"].get_username() if fields["decided_by"] else ""


def decider_label(*, username=None, key_name=None, key_prefix=None) -> str:
    """decider_name from plain columns (the hot reads' ``.values()`` rows)."""
    if username:
        return username
    if key_prefix:
        return f"{key_name or 'API key'} ({KEY_PREFIX}_{key_prefix})"
    return ""


def _check_precondition(locked: VisualAsset, if_match: str | None) -> None:
    if if_match is None or etag_matches(locked, if_match):
        return
    change = (
        f"it is now {locked.asset_status} / {locked.promotion_status}"
        f" / QA {locked.qa_status}"
    )
    at = locked.decided_at.isoformat() if locked.decided_at else ""
    raise precondition_failed(change, decider_name(locked), at)


def _actor_fields(actor) -> dict:
    if isinstance(actor, ApiKey):
        return {"decided_by": None, "decided_by_key": actor}
    return {
        "decided_by": actor if getattr(actor, "pk", None) else None,
        "decided_by_key": None,
    }


def _apply_promotion(asset: VisualAsset, wanted: str) -> None:
    if wanted == asset.promotion_status:
        return
    targets = _promotion_targets(asset)
    if wanted not in targets:
        raise _not_allowed("promotion_status", asset.promotion_status, wanted, targets)
    if asset.promotion_status == Promotion.CANDIDATE:
        if asset.asset_status != Status.CANDIDATE:
            raise invalid_transition(
                "promotion_status",
                f"only a candidate can be promoted; this asset is {asset.asset_status}",
                _TRANSITION_FIXES[("promotion_status", Promotion.CANDIDATE)],
            )
        asset.asset_status = Status.ACTIVE
    asset.promotion_status = wanted


def _apply_status(asset: VisualAsset, wanted: str) -> None:
    if wanted == asset.asset_status:
        return
    allowed = ASSET_TRANSITIONS.get(asset.asset_status, ())
    if wanted not in allowed:
        raise _not_allowed("asset_status", asset.asset_status, wanted, allowed)
    asset.asset_status = wanted
    if wanted == Status.CANDIDATE:
        asset.promotion_status = Promotion.CANDIDATE


def asset_update(
    *,
    asset: VisualAsset,
    actor=None,
    promotion_status: str | None = None,
    asset_status: str | None = None,
    qa_status: str | None = None,
    reason: str = "",
    if_match: str | None = None,
) -> VisualAsset:
    """Move an asset through the lifecycle table, else raise 422 invalid_transition.

    A promotion is applied first; an asset_status sent with an approval must then be
    ``active`` (promoting activates). The row is locked for the change. `if_match`
    (an If-Match value) refuses the change with 412 when the asset changed meanwhile.
    `actor` is a Django user or an ApiKey.
    """
    for name, value, choices in (
        ("promotion_status", promotion_status, Promotion.values),
        ("asset_status", asset_status, Status.values),
        ("qa_status", qa_status, VisualAsset.QA.values),
    ):
        if value is not None and value not in choices:
            raise validation_error(name, f"must be one of {', '.join(choices)}")
    if promotion_status is None and asset_status is None and qa_status is None:
        raise validation_error(
            "promotion_status",
            "send at least one of promotion_status, asset_status, qa_status",
        )
    if (
        promotion_status in APPROVALS
        and asset_status is not None
        and asset_status != Status.ACTIVE
    ):
        raise invalid_transition(
            "asset_status",
            f"promoting to {promotion_status} makes the asset active; "
            f"asset_status cannot be {asset_status} in the same request",
            "Send the promotion alone, or the asset_status change alone.",
        )

    with transaction.atomic():
        locked = (
            VisualAsset.objects.select_for_update(of=("self",))
            .select_related("decided_by", "decided_by_key")
            .get(pk=asset.pk)
        )
        _check_precondition(locked, if_match)
        before = (locked.asset_status, locked.promotion_status, locked.qa_status)
        if promotion_status is not None:
            _apply_promotion(locked, promotion_status)
        if asset_status is not None:
            _apply_status(locked, asset_status)
        if qa_status is not None:
            locked.qa_status = qa_status
        if (locked.asset_status, locked.promotion_status, locked.qa_status) != before:
            who = _actor_fields(actor)
            locked.decided_by = who["decided_by"]
            locked.decided_by_key = who["decided_by_key"]
            locked.decided_at = clock.now()
            locked.decision_reason = reason or ""
            locked.save(
                update_fields=[
                    "asset_status",
                    "promotion_status",
                    "qa_status",
                    "decided_by",
                    "decided_by_key",
                    "decided_at",
                    "decision_reason",
                    "updated_at",
                ]
            )
            webhook_events.asset_decided(locked, before=before[:2], actor=actor)
            AssetDecision.objects.create(
                asset=locked,
                decided_at=locked.decided_at,
                reason=locked.decision_reason,
                before=list(before),
                after=[locked.asset_status, locked.promotion_status, locked.qa_status],
                **who,
            )
    return locked


def asset_decision_undo(
    *, asset: VisualAsset, actor, if_match: str | None = None
) -> VisualAsset:
    """Undo the actor's last decision on a held candidate: reopen the asset for review.

    Allowed only when that decision was the asset's last one and was taken on a
    candidate (an approval or a rejection from the review queue); it goes through
    asset_update (rejected -> candidate), or — for an approval — puts the asset back to
    candidate/candidate itself, recorded in the history like any other change.
    """
    with transaction.atomic():
        locked = (
            VisualAsset.objects.select_for_update(of=("self",))
            .select_related("decided_by", "decided_by_key")
            .get(pk=asset.pk)
        )
        _check_precondition(locked, if_match)
        last = locked.decisions.order_by("-decided_at", "-id").first()
        who = _actor_fields(actor)
        held = [Status.CANDIDATE, Promotion.CANDIDATE]
        current = [locked.asset_status, locked.promotion_status, locked.qa_status]
        if (
            last is None
            or last.decided_by_id != getattr(who["decided_by"], "pk", None)
            or last.decided_by_key_id != getattr(who["decided_by_key"], "pk", None)
            or list(last.before[:2]) != held
            or list(last.after) != current
        ):
            raise invalid_transition(
                "asset_status",
                "only your own last decision on a held candidate can be undone",
                "Use the asset page to move the asset on instead.",
            )
        if locked.asset_status == Status.REJECTED:
            return asset_update(
                asset=locked, actor=actor, asset_status=Status.CANDIDATE, reason="undo"
            )
        before = tuple(current)
        locked.asset_status = Status.CANDIDATE
        locked.promotion_status = Promotion.CANDIDATE
        locked.decided_by = who["decided_by"]
        locked.decided_by_key = who["decided_by_key"]
        locked.decided_at = clock.now()
        locked.decision_reason = "undo"
        locked.save(
            update_fields=[
                "asset_status",
                "promotion_status",
                "decided_by",
                "decided_by_key",
                "decided_at",
                "decision_reason",
                "updated_at",
            ]
        )
        AssetDecision.objects.create(
            asset=locked,
            decided_at=locked.decided_at,
            reason="undo",
            before=list(before),
            after=[locked.asset_status, locked.promotion_status, locked.qa_status],
            **who,
        )
    return locked


def generated_asset_create(
    *,
    image_request: ImageRequest,
    file_name: str,
    sha256: str,
    width: int,
    height: int,
    format: str,
    byte_size: int,
    visual_summary: str,
    visual_description: str,
    verdict: str | None,
) -> VisualAsset | None:
    """Record the asset a succeeded probe or inventory image becomes (runtime: none).

    It points at the request's stored image (no second write). A probe image is a
    candidate keyframe a curator may promote. An inventory image is an asset of its
    category: active (approved_keyframe) unless hold_for_review, or unless the
    consistency verdict failed — then it is held as a candidate, because an image that
    measurably does not show the character must not go live unreviewed.
    """
    short = str(image_request.pk)[:8]
    common = {
        "character_id": image_request.character_id,
        "visual_summary": visual_summary,
        "visual_description": visual_description,
        "sha256": sha256,
        "width": width,
        "height": height,
        "format": format,
        "byte_size": byte_size,
        "image_request": image_request,
        "file": file_name,
    }
    if image_request.origin == ImageRequest.Origin.PROBE:
        asset = VisualAsset(
            category=Category.KEYFRAME,
            asset_key=f"probe-{image_request.probe_type}-{short}",
            label=f"{image_request.probe_type} probe image",
            source=VisualAsset.Source.PROBE,
            asset_status=Status.CANDIDATE,
            promotion_status=Promotion.CANDIDATE,
            **common,
        )
    elif image_request.origin == ImageRequest.Origin.INVENTORY:
        go_live = not image_request.hold_for_review and verdict != Verdict.FAILED
        if go_live:
            why = "activated on generation (hold_for_review is false)"
        elif image_request.hold_for_review:
            why = "held for review (hold_for_review is true)"
        else:
            why = "held for review: the consistency verdict failed"
        asset = VisualAsset(
            category=image_request.category,
            asset_key=f"generated-{image_request.category}-{short}",
            label=f"Generated {image_request.category}",
            source=VisualAsset.Source.INVENTORY,
            asset_status=Status.ACTIVE if go_live else Status.CANDIDATE,
            promotion_status=(
                Promotion.APPROVED_KEYFRAME if go_live else Promotion.CANDIDATE
            ),
            decided_at=clock.now() if go_live else None,
            decision_reason=why,
            **common,
        )
    else:
        return None
    asset.save()
    return asset


def asset_delete(
    *, asset: VisualAsset, actor=None, if_match: str | None = None
) -> None:
    """Delete the asset; its stored file leaves storage once the deletion commits.
    `if_match` refuses the deletion with 412 when the asset changed meanwhile."""
    with transaction.atomic():
        if if_match is not None:
            locked = (
                VisualAsset.objects.select_for_update(of=("self",))
                .select_related("decided_by", "decided_by_key")
                .get(pk=asset.pk)
            )
            _check_precondition(locked, if_match)
        logger.info(
            "visual asset deleted",
            extra={"asset_id": str(asset.pk), "by": getattr(actor, "pk", None)},
        )
        webhook_events.asset_decided(asset, before=None, actor=actor)
        asset.delete()
