"""Drop the `varchar_pattern_ops` ("_like") indexes Django made for
`Store.status` and `Store.store_hash` (PostgreSQL only).

Django adds one beside every indexed or unique CharField for `LIKE 'abc%'`
lookups. Nothing searches a status by prefix, and store hashes are searched
through the store search's trigram index (0009), so these two only cost
writes: every check updates its store twice (claim, result), each a new row
version that every index takes. Measured on the fleet benchmark's light pass:
~30 µs of PostgreSQL's CPU per check. The plain B-tree on status and the
unique index on store_hash stay.

The model's state does not change (Django makes these indexes itself and
drops them with `DROP INDEX IF EXISTS` if the field ever changes). Dropped
CONCURRENTLY: the fleet keeps updating stores meanwhile; reversed, built again.
"""

from django.db import migrations

COLUMNS = ("status", "store_hash")
TABLE = "stores_store"


def _name(schema_editor, column: str) -> str:
    return schema_editor._create_index_name(TABLE, [column], suffix="_like")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for column in COLUMNS:
        schema_editor.execute(f'DROP INDEX CONCURRENTLY IF EXISTS "{_name(schema_editor, column)}"')


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for column in COLUMNS:
        schema_editor.execute(
            f'CREATE INDEX CONCURRENTLY IF NOT EXISTS "{_name(schema_editor, column)}" '
            f'ON "{TABLE}" ("{column}" varchar_pattern_ops)'
        )


class Migration(migrations.Migration):
    atomic = False  # DROP/CREATE INDEX CONCURRENTLY cannot run in a transaction

    dependencies = [("stores", "0010_drop_per_column_trigram_indexes")]

    operations = [migrations.RunPython(drop, create)]
