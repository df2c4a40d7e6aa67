"""UsageRecord moves to the visuals app, which owns metering (state only).

The table characters_usagerecord stays where it is, with its rows: visuals'
0003_usagerecord_from_characters adopts it (db_table) right after this migration.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("characters", "0003_idempotency"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="UsageRecord")],
            database_operations=[],
        ),
    ]
