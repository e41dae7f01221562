"""The event feed's cursor guard, under real concurrency (PostgreSQL).

Sequences hand out ids at insert, rows appear at commit: a transaction that
took the lower id can commit after one that took a higher id. A reader
that read the higher one and then asks for what comes after it must still
get the lower one when it commits. `stores.events` shows only rows whose
transaction is below every running one (`pg_snapshot_xmin`), in (txid, id)
order.

Mutation tried: `events_page` without `.filter(finished())` (plain order by
position, as `id > after` would be): the reader takes B's event and its
cursor while A is still open, and never sees A's.
"""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone

from stores import events
from stores.models import StoreEvent

ROUNDS = 5
WAIT = 10


@pytest.fixture
def postgres(transactional_db):
    if connection.vendor != "postgresql":
        pytest.skip("the race needs PostgreSQL (DATABASE_URL), as in .ci/run's second pass")


def _event(store, reason: str) -> StoreEvent:
    return events.status_changed(store, old="connected", new="revoked", reason=reason, now=timezone.now())


def test_a_reader_following_the_cursor_never_misses_an_event_committed_out_of_id_order(postgres, acme_store):
    cursor = None
    for round_ in range(ROUNDS):
        a_inserted, a_may_commit = threading.Event(), threading.Event()
        written: dict[str, int] = {}
        errors: list[BaseException] = []

        def writer_a(round_=round_, a_inserted=a_inserted, a_may_commit=a_may_commit, written=written, errors=errors):
            """Inserts first (the lower id), then waits with its transaction open."""
            try:
                with transaction.atomic():
                    written["a"] = events.record([_event(acme_store, f"A{round_}")])[0].pk
                    a_inserted.set()
                    assert a_may_commit.wait(WAIT), "A was never told to commit"
            except BaseException as error:  # noqa: BLE001 - re-raised in the main thread
                errors.append(error)
            finally:
                connections.close_all()

        def writer_b(round_=round_, written=written):
            """Inserts after A (a higher id) and commits at once."""
            try:
                with transaction.atomic():
                    written["b"] = events.record([_event(acme_store, f"B{round_}")])[0].pk
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
