"""Trigram indexes for the staff console's store search (PostgreSQL only).

The console searches with `icontains`, which PostgreSQL runs as
`UPPER(col::text) LIKE UPPER('%term%')`: a B-tree cannot serve a leading
wildcard, so at 100,000 stores every search read the whole table. A
`pg_trgm` GIN index on the same expression can. SQLite has no pg_trgm and
keeps scanning (its fleets are small).
"""

from django.db import migrations

COLUMNS = ("store_hash", "name", "domain")


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for column in COLUMNS:
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS "store_{column}_trgm_idx" ON "stores_store" '
            f'USING gin ((UPPER("{column}"::text)) gin_trgm_ops)'
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for column in COLUMNS:
        schema_editor.execute(f'DROP INDEX IF EXISTS "store_{column}_trgm_idx"')


class Migration(migrations.Migration):
    dependencies = [("stores", "0007_light_checks")]

    operations = [migrations.RunPython(create, drop)]
