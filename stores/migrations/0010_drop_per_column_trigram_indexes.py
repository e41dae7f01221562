"""Drop 0008's per-column trigram indexes (PostgreSQL only).

Every other list that searched one store column (checks, status changes,
webhook registrations and deliveries, notifications, merchants by store hash)
now finds its stores through the store search's one indexed expression
(0009, `console.admin.store_search.search_by_store`). The three indexes only
cost writes: a check updates its store twice (claim, result), each a new row
version that every index of the table takes, and GIN entries are the dearest.
Measured on the fleet benchmark's light pass (10,000 stores, 2 processes):
PostgreSQL's CPU per check ~420 → ~320 µs with them gone.

Dropped CONCURRENTLY: the fleet's checks keep updating stores meanwhile.
Reversed, they are built again as 0008 built them.
"""

from django.db import migrations

COLUMNS = ("store_hash", "name", "domain")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for column in COLUMNS:
        schema_editor.execute(f'DROP INDEX CONCURRENTLY IF EXISTS "store_{column}_trgm_idx"')


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for column in COLUMNS:
        schema_editor.execute(
            f'CREATE INDEX CONCURRENTLY IF NOT EXISTS "store_{column}_trgm_idx" ON "stores_store" '
            f'USING gin ((UPPER("{column}"::text)) gin_trgm_ops)'
        )


class Migration(migrations.Migration):
    atomic = False  # DROP/CREATE INDEX CONCURRENTLY cannot run in a transaction

    dependencies = [("stores", "0009_store_search_text_trgm")]

    operations = [migrations.RunPython(drop, create)]
