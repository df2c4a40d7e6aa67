"""Metering: reserve units for a call or refuse it with 402, never spending past a cap.

Reservation locks the account row, then the character row (always in that order), sums
this calendar month's ledger and writes the new records in the same transaction, so
concurrent calls serialise on the lock and cannot both pass the check.

The locks are FOR NO KEY UPDATE: they serialise writers of these rows but do not block
the foreign-key checks of rows that point at them (a worker inserting an asset of this
character), which FOR UPDATE would — a lock-order deadlock measured under load.
"""

from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Sum

from characters.models import Account, Character
from characters.readiness import check
from loreos import clock
from loreos.api.errors import ApiError, ErrorCode

from .models import UsageRecord


def month_start(now: datetime | None = None) -> datetime:
    now = now or clock.now()
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def units_per_image() -> int:
    return settings.LOREOS_UNITS_PER_IMAGE


def spent(*, account=None, character=None, since=None) -> int:
    rows = UsageRecord.objects.filter(created_at__gte=since or month_start())
    if account is not None:
        rows = rows.filter(account=account)
    if character is not None:
        rows = rows.filter(character=character)
    return rows.aggregate(total=Sum("units"))["total"] or 0


def remaining(character: Character) -> dict:
    """Return the units left this month for the character and its account (None:
    unlimited)."""
    account = character.account
    return {
        "character": None
        if character.monthly_budget is None
        else max(0, character.monthly_budget - spent(character=character)),
        "account": None
        if account.credit_cap is None
        else max(0, account.credit_cap - spent(account=account)),
    }


def check_and_lock(*, character: Character, count: int) -> Account:
    """Lock the account and character rows and raise budget_exceeded (402) unless
    `count` more images fit under both caps this month. Needs an open transaction."""
    assert transaction.get_connection().in_atomic_block, "needs transaction.atomic()"
    needed = count * units_per_image()
    account = Account.objects.select_for_update(no_key=True).get(
        pk=character.account_id
    )
    locked = Character.objects.select_for_update(no_key=True).get(pk=character.pk)
    since = month_start()
    left_account = (
        None
        if account.credit_cap is None
        else account.credit_cap - spent(account=account, since=since)
    )
    left_character = (
        None
        if locked.monthly_budget is None
        else locked.monthly_budget - spent(character=locked, since=since)
    )
    short = [
        (name, left)
        for name, left in (
            ("character monthly_budget", left_character),
            ("account credit_cap", left_account),
        )
        if left is not None and left < needed
    ]
    if short:
        parts = ", ".join(f"{name} has {max(0, left)} left" for name, left in short)
        raise ApiError(
            ErrorCode.BUDGET_EXCEEDED,
            f"this call needs {needed} unit(s); {parts} this month",
            "Raise the character's monthly_budget "
            f"(PATCH /v1/characters/{character.slug}) or the "
            "account's credit_cap, or wait for the next calendar month.",
        )
    return account


def reserve(*, character: Character, image_requests) -> list[UsageRecord]:
    """Meter one image per request, or raise budget_exceeded (402) and write nothing.

    Runs inside the caller's transaction, the same one that creates the requests, so a
    request and its unit are committed together or not at all.
    """
    image_requests = list(image_requests)
    account = check_and_lock(character=character, count=len(image_requests))
    return UsageRecord.objects.bulk_create(
        [
            UsageRecord(
                account=account,
                character_id=character.pk,
                image_request=request,
                units=units_per_image(),
            )
            for request in image_requests
        ]
    )


def refund(image_request_ids) -> int:
    """Remove the units of requests that never used them (e.g. never queued)."""
    deleted, _ = UsageRecord.objects.filter(
        image_request_id__in=list(image_request_ids)
    ).delete()
    return deleted


def budget_checks(character: Character) -> list[dict]:
    """The launch-readiness budget check: units left this month for the character and
    its account (registered with characters.readiness in AppConfig.ready)."""
    left = remaining(character)
    finite = [v for v in left.values() if v is not None]
    if finite and min(finite) <= 0:
        return [
            check(
                "budget",
                "missing",
                "No metered units left this month.",
                f"Raise monthly_budget (PATCH /v1/characters/{character.slug}) "
                "or the account's credit_cap.",
            )
        ]
    if not finite:
        return [check("budget", "ok", "Unlimited budget.")]
    return [check("budget", "ok", f"{min(finite)} unit(s) left this month.")]
