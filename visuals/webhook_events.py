"""What visuals tells the webhooks outbox (hooks.services.event_record).

Each function runs inside the transaction of the change it reports, so the event
commits or rolls back with it. Image events carry the redacted probe report
(visuals.reports.report: never a brief or a prompt) plus the character, origin,
category, batch and produced asset.
"""

from django.db import connection, transaction

from hooks.models import EventType
from hooks.services import event_record
from loreos import clock

from .models import ImageRequest, VisualAsset
from .reports import report

TERMINAL = (
    ImageRequest.Status.SUCCEEDED,
    ImageRequest.Status.FAILED,
    ImageRequest.Status.BLOCKED,
)
Promotion = VisualAsset.Promotion
Status = VisualAsset.Status


def _image_data(image_request: ImageRequest, asset) -> dict:
    # Read back in this transaction: the caller's instance may hold only some fields.
    image_request = ImageRequest.objects.select_related("character").get(
        pk=image_request.pk
    )
    data = report(image_request)
    data.update(
        {
            "character": image_request.character.slug,
            "origin": image_request.origin,
            "category": image_request.category or None,
            "batch_id": str(image_request.batch_id) if image_request.batch_id else None,
            "asset_id": str(asset.pk) if asset is not None else None,
        }
    )
    return data


def image_settled(image_request: ImageRequest, *, asset=None) -> None:
    """Record image.ready or image.failed, and batch.completed when it ends a batch."""
    account_id = image_request.character.account_id
    ready = image_request.request_status == ImageRequest.Status.SUCCEEDED
    event_record(
        account_id=account_id,
        type=EventType.IMAGE_READY if ready else EventType.IMAGE_FAILED,
        data=lambda: _image_data(image_request, asset),
    )
    if image_request.batch_id:
        _batch_settled(image_request.batch_id, account_id, image_request.character.slug)


def batch_refused(*, character, batch_id) -> None:
    """After the broker refused part of a batch (those rows are gone): the items that
    were sent may all have ended already, which makes the batch complete."""
    with transaction.atomic():
        _batch_settled(batch_id, character.account_id, character.slug)


def _batch_settled(batch_id, account_id, slug: str) -> None:
    if connection.vendor == "postgresql":
        # Serialise the batch's last checks: of two items ending at once, the second
        # to take the lock sees the first committed, so one of them records the event
        # (SQLite's IMMEDIATE transactions already serialise every writer).
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(hashtext(%s))", [f"batch:{batch_id}"]
            )
    items = list(
        ImageRequest.objects.filter(batch_id=batch_id)
        .order_by("created_at", "pk")
        .values("pk", "category", "request_status")
    )
    if not items or any(item["request_status"] not in TERMINAL for item in items):
        return

    def data():
        counts = {status: 0 for status in TERMINAL}
        for item in items:
            counts[item["request_status"]] += 1
        return {
            "batch_id": str(batch_id),
            "character": slug,
            "total": len(items),
            "succeeded": counts[ImageRequest.Status.SUCCEEDED],
            "failed": counts[ImageRequest.Status.FAILED],
            "blocked": counts[ImageRequest.Status.BLOCKED],
            "items": [
                {
                    "probe_id": str(item["pk"]),
                    "category": item["category"] or None,
                    "request_status": item["request_status"],
                    "state": ImageRequest.state_of(item["request_status"]),
                }
                for item in items
            ],
        }

    event_record(
        account_id=account_id,
        type=EventType.BATCH_COMPLETED,
        data=data,
        dedupe_key=f"batch.completed:{batch_id}",
    )


def _decision(before: tuple[str, str], asset: VisualAsset) -> str | None:
    """approve, reject or retire, from the (asset_status, promotion_status) change."""
    status, promotion = before
    if asset.promotion_status != promotion and asset.promotion_status in (
        Promotion.APPROVED_ANCHOR,
        Promotion.APPROVED_KEYFRAME,
    ):
        return "approve"
    if asset.asset_status != status and asset.asset_status == Status.REJECTED:
        return "reject"
    if asset.asset_status != status and asset.asset_status == Status.RETIRED:
        return "retire"
    return None


def asset_decided(
    asset: VisualAsset, *, before: tuple[str, str] | None, actor=None
) -> None:
    """Record asset.decided for an approval, a rejection, a retirement or, with
    `before` None, a deletion (call it before the row goes)."""
    # visuals.assets records its decisions through this module: import it late.
    from .assets import actor_name

    decision = "delete" if before is None else _decision(before, asset)
    if decision is None:
        return
    character = asset.character
    event_record(
        account_id=character.account_id,
        type=EventType.ASSET_DECIDED,
        data=lambda: {
            "asset_id": str(asset.pk),
            "character": character.slug,
            "category": asset.category,
            "asset_key": asset.asset_key,
            "decision": decision,
            "asset_status": asset.asset_status,
            "promotion_status": asset.promotion_status,
            "reason": getattr(asset, "decision_reason", "") or "",
            "decided_by": actor_name(actor) or None,
            "decided_at": clock.now().isoformat().replace("+00:00", "Z"),
        },
    )
