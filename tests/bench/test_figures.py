"""The benchmark counts what the database really runs."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bench.figures import _make_due, executed_statements
from stores.models import Store


def test_an_executemany_counts_once_per_row(acme):
    stores = [Store.objects.create(merchant=acme, store_hash=f"b{i}", status="connected") for i in range(3)]
    table = connection.ops.quote_name(Store._meta.db_table)
    with CaptureQueriesContext(connection) as queries, connection.cursor() as cursor:
        cursor.executemany(f"UPDATE {table} SET name = %s WHERE id = %s", [["x", s.pk] for s in stores])  # noqa: S608
        cursor.execute(f"SELECT COUNT(*) FROM {table}")  # noqa: S608
    assert len(queries.captured_queries) == 2  # what Django's log says
    assert executed_statements(queries.captured_queries) == 4  # what the database ran


def _vacuums_of_stores() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT vacuum_count FROM pg_stat_user_tables WHERE relname = %s", [Store._meta.db_table])
        return cursor.fetchone()[0]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="VACUUM is PostgreSQL's")
@pytest.mark.django_db(transaction=True)  # VACUUM cannot run inside a transaction
def test_a_pass_starts_on_vacuumed_stores(acme):
    """This machine's PostgreSQL runs without autovacuum: every pass must
    start without the dead row versions of the passes before it."""
    store = Store.objects.create(merchant=acme, store_hash="vac1", status="connected")
    before = _vacuums_of_stores()
    _make_due([store.pk])
    store.refresh_from_db()
    assert store.next_check_at <= timezone.now() and store.claim_token == ""
    assert _vacuums_of_stores() == before + 1
