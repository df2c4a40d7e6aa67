"""Migrations: the models need no new one, and UsageRecord's move from characters to
visuals keeps an existing database's ledger rows (and their permissions)."""

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader

BEFORE_THE_MOVE = [
    ("characters", "0003_idempotency"),
    ("visuals", "0002_inventory_newest_index"),
]
AFTER_THE_MOVE = [
    ("characters", "0004_usagerecord_moves_to_visuals"),
    ("visuals", "0003_usagerecord_from_characters"),
]


@pytest.mark.django_db
def test_the_models_need_no_new_migration():
    # makemigrations --check exits with status 1 when a model has no migration.
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


def _migrate(targets):
    """Migrate to `targets`; return the models as the applied migrations leave them."""
    MigrationExecutor(connection).migrate(targets)
    loader = MigrationLoader(connection)
    return loader.project_state(list(loader.applied_migrations)).apps


def _seed_an_existing_deployment(apps):
    """Rows as a deployment before the move holds them, written through its models."""
    Account = apps.get_model("characters", "Account")
    Character = apps.get_model("characters", "Character")
    CharacterVersion = apps.get_model("characters", "CharacterVersion")
    Session = apps.get_model("characters", "Session")
    ImageRequest = apps.get_model("visuals", "ImageRequest")
    UsageRecord = apps.get_model("characters", "UsageRecord")
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")

    account = Account.objects.create(name="upgraded", credit_cap=10)
    character = Character.objects.create(account=account, slug="mira", name="Mira")
    version = CharacterVersion.objects.create(character=character, number=1)
    session = Session.objects.create(character=character)
    request = ImageRequest.objects.create(
        character=character,
        session=session,
        version=version,
        origin="probe",
        image_kind="selfie",
    )
    UsageRecord.objects.create(
        account=account, character=character, image_request=request, units=1
    )
    UsageRecord.objects.create(account=account, character=character, units=2)
    # Before the move the model's content type (and its permissions) is characters':
    # migrating back relabelled the one this test database was made with.
    assert not ContentType.objects.filter(app_label="visuals", model="usagerecord")
    old_type, _ = ContentType.objects.get_or_create(
        app_label="characters", model="usagerecord"
    )
    Permission.objects.get_or_create(
        content_type=old_type,
        codename="view_usagerecord",
        defaults={"name": "Can view usage record"},
    )
    return account, request, old_type


@pytest.mark.django_db(transaction=True)
def test_an_existing_database_keeps_its_usage_rows_when_usagerecord_moves():
    leaves = MigrationExecutor(connection).loader.graph.leaf_nodes()
    try:
        old_apps = _migrate(BEFORE_THE_MOVE)
        account, request, old_type = _seed_an_existing_deployment(old_apps)

        new_apps = _migrate(AFTER_THE_MOVE)
        UsageRecord = new_apps.get_model("visuals", "UsageRecord")
        rows = UsageRecord.objects.filter(account_id=account.pk).order_by("units")
        assert [(r.units, r.image_request_id) for r in rows] == [
            (1, request.pk),
            (2, None),
        ]
        assert UsageRecord._meta.db_table == "characters_usagerecord"
        with pytest.raises(LookupError):
            new_apps.get_model("characters", "UsageRecord")
        ContentType = new_apps.get_model("contenttypes", "ContentType")
        moved = ContentType.objects.get(pk=old_type.pk)
        assert (moved.app_label, moved.model) == ("visuals", "usagerecord")
        Permission = new_apps.get_model("auth", "Permission")
        assert Permission.objects.filter(
            content_type__app_label="visuals", codename="view_usagerecord"
        ).exists()
    finally:
        _migrate(leaves)

    # The current model reads the same table.
    from visuals.models import UsageRecord as Current

    assert Current.objects.filter(account_id=account.pk).count() == 2
