"""Budgets on PostgreSQL: concurrent metered calls never spend past a cap (DESIGN, R36).

Each call runs in its own thread on its own database connection, all released together
by a barrier, and creates its ImageRequest and reserves its unit in one transaction, as
visuals/image_requests.py does (the last test calls
visuals.image_requests.probe_create itself, which also sends each accepted probe to the
real broker). The row locks in characters.budgets
serialise them.
"""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, transaction
from django.db.models import Sum

from characters import budgets
from characters.models import Account, Character, Session, UsageRecord
from characters.services import character_create
from loreos.api.errors import ApiError
from visuals.models import ImageRequest

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

CALLS = 100
# PostgreSQL allows 100 connections here; 32 threads keep the 100 calls contending
# while leaving room for the test's own connection and anything else on the server.
THREADS = 32


def _spend(character, units):
    """Record `units` already spent this month (a past generation each)."""
    for _ in range(units):
        UsageRecord.objects.create(
            account=character.account, character=character, units=1
        )


def _metered_call(character_id, session_id):
    try:
        with transaction.atomic():
            character = Character.objects.select_related("account").get(pk=character_id)
            session = Session.objects.get(pk=session_id)
            request = ImageRequest.objects.create(
                character=character,
                session=session,
                version_id=character.active_version_id,
                origin=ImageRequest.Origin.PROBE,
                probe_type="identity_selfie",
                image_kind="selfie",
                request_status=ImageRequest.Status.QUEUED,
            )
            budgets.reserve(character=character, image_requests=[request])
        return ("accepted", None)
    except ApiError as exc:
        return ("refused", (exc.status_code, str(exc.code)))
    finally:
        connection.close()


def _run_concurrently(character, session):
    barrier = threading.Barrier(THREADS)
    started = threading.local()

    def call(_):
        if not getattr(started, "done", False):
            started.done = True
            barrier.wait(timeout=60)
        return _metered_call(character.pk, session.pk)

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        return list(pool.map(call, range(CALLS)))


def _assert_ten_accepted(results, character, *, spent_before, field):
    accepted = [r for r in results if r[0] == "accepted"]
    refused = [r for r in results if r[0] == "refused"]
    assert len(accepted) == 10, results
    assert len(refused) == 90
    assert {detail for _, detail in refused} == {(402, "budget_exceeded")}
    queued = ImageRequest.objects.filter(character=character)
    assert queued.count() == 10
    ledger = UsageRecord.objects.filter(**field).aggregate(total=Sum("units"))["total"]
    assert ledger == spent_before + 10
    assert UsageRecord.objects.filter(image_request__character=character).count() == 10


def test_r36_character_budget_holds_under_100_concurrent_calls(postgres):
    account = Account.objects.create(name="acme")
    character = character_create(
        account=account, slug="mira", name="Mira", monthly_budget=12
    )
    _spend(character, 2)  # 10 units left
    session = Session.objects.create(character=character)

    results = _run_concurrently(character, session)

    _assert_ten_accepted(
        results, character, spent_before=2, field={"character": character}
    )
    assert budgets.remaining(character)["character"] == 0


def test_r36_account_credit_cap_holds_under_100_concurrent_calls(postgres):
    account = Account.objects.create(name="acme", credit_cap=15)
    other = character_create(account=account, slug="noor", name="Noor")
    _spend(other, 5)  # the account has 10 units left; the character itself is unlimited
    character = character_create(account=account, slug="mira", name="Mira")
    session = Session.objects.create(character=character)

    results = _run_concurrently(character, session)

    _assert_ten_accepted(results, character, spent_before=5, field={"account": account})
    assert budgets.remaining(character) == {"character": None, "account": 0}


def test_r36_concurrent_probes_through_visuals_requests(
    postgres, redis_url, api, make_character
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from loreos.celery import app
    from tests.conftest import IMAGES_ON, face_bytes
    from visuals.image_requests import probe_create

    make_character("mira", thresholds=IMAGES_ON, monthly_budget=10)
    uploaded = api.post(
        "/v1/characters/mira/visual-assets",
        {
            "file": SimpleUploadedFile(
                "face.jpg", face_bytes(), content_type="image/jpeg"
            ),
            "category": "identity",
            "asset_key": "identity-front",
            "label": "front",
        },
        format="multipart",
    )
    assert uploaded.status_code == 201, uploaded.content
    session_id = api.post("/v1/characters/mira/sessions").json()["data"]["session_id"]
    character = Character.objects.get(slug="mira")
    app.control.purge()
    barrier = threading.Barrier(THREADS)
    started = threading.local()

    def call(_):
        if not getattr(started, "done", False):
            started.done = True
            barrier.wait(timeout=60)
        try:
            mine = Character.objects.select_related("account", "active_version").get(
                pk=character.pk
            )
            probe_create(
                character=mine,
                session=Session.objects.get(pk=session_id),
                probe_type="identity_selfie",
            )
            return ("accepted", None)
        except ApiError as exc:
            return ("refused", (exc.status_code, str(exc.code)))
        finally:
            connection.close()

    try:
        with ThreadPoolExecutor(max_workers=THREADS) as pool:
            results = list(pool.map(call, range(CALLS)))
        _assert_ten_accepted(
            results, character, spent_before=0, field={"character": character}
        )
        assert set(ImageRequest.objects.values_list("request_status", flat=True)) == {
            "queued"
        }
    finally:
        app.control.purge()  # nobody consumes these ten tasks
