"""UsageRecord joins the visuals app, which owns metering, keeping its table and rows.

State only: the table characters_usagerecord (created by characters' 0001 and 0002) is
adopted as it is, after characters' 0004 dropped the model from that app's state. The
content type is relabelled too, so permissions granted on the model and the admin's
history of it follow it to visuals.
"""

import django.db.models.deletion
from django.db import migrations, models


def _relabel(apps, schema_editor, *, old, new):
    ContentType = apps.get_model("contenttypes", "ContentType")
    rows = ContentType.objects.using(schema_editor.connection.alias)
    if not rows.filter(app_label=new, model="usagerecord").exists():
        rows.filter(app_label=old, model="usagerecord").update(app_label=new)


def forwards(apps, schema_editor):
    _relabel(apps, schema_editor, old="characters", new="visuals")


def backwards(apps, schema_editor):
    _relabel(apps, schema_editor, old="visuals", new="characters")


class Migration(migrations.Migration):
    dependencies = [
        ("characters", "0004_usagerecord_moves_to_visuals"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("visuals", "0002_inventory_newest_index"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="UsageRecord",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("units", models.PositiveIntegerField()),
                        (
                            "created_at",
                            models.DateTimeField(auto_now_add=True, db_index=True),
                        ),
                        (
                            "account",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="usage",
                                to="characters.account",
                            ),
                        ),
                        (
                            "character",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="usage",
                                to="characters.character",
                            ),
                        ),
                        (
                            "image_request",
                            models.OneToOneField(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="usage",
                                to="visuals.imagerequest",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "characters_usagerecord",
                        "ordering": ["-created_at"],
                        "indexes": [
                            models.Index(
                                fields=["account", "created_at"],
                                name="characters__account_538fc5_idx",
                            ),
                            models.Index(
                                fields=["character", "created_at"],
                                name="characters__charact_055dd9_idx",
                            ),
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(forwards, backwards, elidable=True),
    ]
