"""The event feed's cursor guard, under real concurrency (PostgreSQL).

Sequences hand out ids at insert, rows appear at commit: a transaction that
took the lower id can commit after one that took a higher id. A reader
that read the higher one and then asks for what comes after it must still
get the lower one when it commits. `stores.events` shows only rows whose
transaction is below every one running in this database (FINISHED_BELOW_SQL), in (txid, id)
order. Both writers are the real service (`store_pause`, whose `flip_status`
writes the event); A's pause runs inside a transaction held open.

Mutation tried: `events_page` without `.filter(finished())` (plain order by
position, as `id > after` would be): the reader takes B's event and its
cursor while A is still open, and never sees A's.
"""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, connections, transaction

from stores import events, services
from stores.models import Store, StoreEvent
from stores.status import StoreStatus

ROUNDS = 5
WAIT = 10


@pytest.fixture
def postgres(transactional_db):
    if connection.vendor != "postgresql":
        pytest.skip("the race needs PostgreSQL (DATABASE_URL), as in .ci/run's second pass")


def _pause(store) -> int:
    """Pause the store through the real service (its status_changed event
    written by `flip_status`); the event's id, read in the same transaction."""
    services.store_pause(store=store, reason="race")
    return StoreEvent.objects.filter(store=store).latest("id").pk


def test_a_reader_following_the_cursor_never_misses_an_event_committed_out_of_id_order(postgres, acme):
    cursor = None
    for round_ in range(ROUNDS):
        store_a, store_b = Store.objects.bulk_create(
            Store(merchant=acme, store_hash=f"r{round_}{party}", status=StoreStatus.CONNECTED) for party in "ab"
        )
        a_inserted, a_may_commit = threading.Event(), threading.Event()
        written: dict[str, int] = {}
        errors: list[BaseException] = []

        def writer_a(store_a=store_a, a_inserted=a_inserted, a_may_commit=a_may_commit, written=written, errors=errors):
            """Pauses first (the lower event id), then waits with its transaction open."""
            try:
                with transaction.atomic():
                    written["a"] = _pause(store_a)
                    a_inserted.set()
                    assert a_may_commit.wait(WAIT), "A was never told to commit"
            except BaseException as error:  # noqa: BLE001 - re-raised in the main thread
                errors.append(error)
            finally:
                connections.close_all()

        def writer_b(store_b=store_b, written=written):
            """Pauses another store after A (a higher event id) and commits at once."""
            try:
                written["b"] = _pause(store_b)
            finally:
                connections.close_all()

        a = threading.Thread(target=writer_a)
        a.start()
        assert a_inserted.wait(WAIT), "A never inserted"
        b = threading.Thread(target=writer_b)
        b.start()
        b.join(WAIT)
        assert written["b"] > written["a"], "B should hold the higher id"

        # The reader, while A is still open: B's event is committed, A's not.
        # (The guard holds B back; a feed that showed B now would have to
        # deliver A after it, which no `after` cursor can do.)
        page = events.events_page(after=cursor)
        seen = [row.pk for row in page.events]
        cursor = page.next_cursor

        a_may_commit.set()
        a.join(WAIT)
        assert not a.is_alive() and not errors, errors

        # Following the cursor: both, A's first. (Polled: a transaction still
        # open elsewhere on the server holds the feed back a moment.)
        deadline = time.monotonic() + WAIT
        while {written["a"], written["b"]} - set(seen) and time.monotonic() < deadline:
            page = events.events_page(after=cursor)
            seen += [row.pk for row in page.events]
            cursor = page.next_cursor
            if not page.events:
                time.sleep(0.05)
        missed = sorted({written["a"], written["b"]} - set(seen))
        assert not missed, f"round {round_}: the reader following its cursor missed events {missed} (A: {written['a']})"
        assert seen.index(written["a"]) < seen.index(written["b"])


def test_a_transaction_open_in_another_database_does_not_hold_the_feed_back(postgres, acme_store):
    """A transaction writes to one database only: one left open in another
    database of the server (another app, another test run) cannot add rows
    here, and the feed does not wait for it. Mutation: FINISHED_BELOW_SQL as
    plain `pg_snapshot_xmin(pg_current_snapshot())`: the page is empty until
    that transaction ends. A transaction open in this database still holds
    the feed back (the test above)."""
    import psycopg

    config = connection.settings_dict
    other = psycopg.connect(
        host=config["HOST"],
        port=config["PORT"] or 5432,
        user=config["USER"],
        password=config["PASSWORD"] or None,
        dbname="postgres",  # the server's maintenance database
    )
    try:
        other.execute("SELECT pg_current_xact_id()")  # an open transaction with an id, older than ours
        services.store_pause(store=acme_store)  # commits (transactional_db)
        assert [event.kind for event in events.events_page(after=None).events] == [StoreEvent.Kind.STATUS_CHANGED]
    finally:
        other.rollback()
        other.close()
