"""The benchmark counts what the database really runs."""

from django.db import connection
from django.test.utils import CaptureQueriesContext

from bench.figures import executed_statements
from stores.models import Store


def test_an_executemany_counts_once_per_row(acme):
    stores = [Store.objects.create(merchant=acme, store_hash=f"b{i}", status="connected") for i in range(3)]
    table = connection.ops.quote_name(Store._meta.db_table)
    with CaptureQueriesContext(connection) as queries, connection.cursor() as cursor:
        cursor.executemany(f"UPDATE {table} SET name = %s WHERE id = %s", [["x", s.pk] for s in stores])  # noqa: S608
        cursor.execute(f"SELECT COUNT(*) FROM {table}")  # noqa: S608
    assert len(queries.captured_queries) == 2  # what Django's log says
    assert executed_statements(queries.captured_queries) == 4  # what the database ran
