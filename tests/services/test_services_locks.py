"""The budget lock never blocks a worker writing rows that point at the character.

Regression: with FOR UPDATE on the character row, a metered POST and a worker inserting
an asset of that character deadlocked at commit (measured by the benchmarks); FOR NO KEY
UPDATE leaves foreign-key checks free.
"""

import threading

import pytest
from django.db import connection, connections, transaction

from characters.models import Character
from visuals import metering
from visuals.models import VisualAsset

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def test_a_held_budget_lock_does_not_block_inserting_an_asset_of_the_character(
    api, character
):
    assert connection.vendor == "postgresql"
    row = Character.objects.get(slug="mira")
    locked, release, errors = threading.Event(), threading.Event(), []

    def hold_budget_lock():
        try:
            with transaction.atomic():
                metering.check_and_lock(character=row, count=1)
                locked.set()
                release.wait(10)
        finally:
            connections.close_all()

    holder = threading.Thread(target=hold_budget_lock)
    holder.start()
    assert locked.wait(10)
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '2s'")
            VisualAsset.objects.create(
                character=row,
                category="prop",
                asset_key="k",
                label="l",
                file="x.png",
                sha256="0" * 64,
                width=1,
                height=1,
                format="PNG",
                byte_size=1,
            )
    except Exception as exc:  # a lock wait past 2 s is the regression
        errors.append(exc)
    finally:
        release.set()
        holder.join()
    assert not errors, errors
