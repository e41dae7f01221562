"""One trigram index for the staff console's store search (PostgreSQL only).

The console looks for each search word in a store's hash, name and domain at
once, and in the merchant's stores. With one index per column (0008) that is
an OR of three GIN scans and the merchant's, which the planner priced above a
sequential scan: counting "bench-007" (a merchant's 2,000 stores among
100,000) read every store, 30 ms on an idle machine. One index on the three
columns joined by spaces answers a word with one scan, and a word's start
("% 12%", the rule for words of one or two characters) with the same scan.
The expression is the one `console.admin.store_search.SearchText` writes,
character for character (tests/console/test_store_search.py holds them
together).

Its pending list (GIN's fast-update buffer, which every check's UPDATE of a
store feeds and every search reads through) is kept to 1 MB instead of the
server's 4 MB: PostgreSQL prices each pending page as a random read, and a
full 4 MB list (500 pages) made the index look dearer than reading the table
(a merchant's stores, "bench-007": 30 ms by sequential scan, 5 ms by the
index). Updates cost ~5% more for it (flushed more often); fastupdate = off
made them 3-4 × dearer.

Built CONCURRENTLY: the fleet's checks keep updating stores while it builds.
0008's per-column indexes stayed, for the other lists that searched one store
column, until those lists searched through this expression too (0010).
"""

from django.db import migrations

INDEX = "store_search_trgm_idx"
SEARCH_TEXT = """(' ' || "store_hash" || ' ' || "name" || ' ' || "domain")"""
PENDING_LIST_KB = 1024


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(
        f'CREATE INDEX CONCURRENTLY IF NOT EXISTS "{INDEX}" ON "stores_store" '
        f"USING gin ((UPPER({SEARCH_TEXT}::text)) gin_trgm_ops) WITH (gin_pending_list_limit = {PENDING_LIST_KB})"
    )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f'DROP INDEX CONCURRENTLY IF EXISTS "{INDEX}"')


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run in a transaction

    dependencies = [("stores", "0008_store_search_trigram")]

    operations = [migrations.RunPython(create, drop)]
