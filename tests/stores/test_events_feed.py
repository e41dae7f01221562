"""The event feed's service (`stores.events.events_page`): order, cursors,
limits, retention and what an event says (never a secret). The endpoint
(`GET /api/v1/events/`) turns InvalidFeedQuery into 400 and CursorGone into 410.

Rows here are written with explicit transaction ids: on PostgreSQL the feed
shows only rows of finished transactions, and the test's own transaction
(pytest-django's) is still running. The race with real transactions is in
tests/integration/test_events_race.py."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest
from django.utils import timezone

from stores import events, services
from stores.models import StoreEvent, StoreEventHorizon
from stores.tasks import prune_events
from tests.leaks import assert_no_secret
from tests.reports import credentials, report

Kind = StoreEvent.Kind


def event(store, txid: int, *, kind=Kind.STATUS_CHANGED, days_ago: float = 0) -> StoreEvent:
    row = events.new_event(store, kind, {"old": "connected", "new": "revoked", "reason": "r"})
    row.txid = txid
    row.created_at = timezone.now() - timedelta(days=days_ago)
    row.save()
    return row


def ids(page: events.EventsPage) -> list[int]:
    return [row.pk for row in page.events]


def test_an_empty_feed_gives_no_events_and_no_cursor(db):
    page = events.events_page(after=None)
    assert (page.events, page.next_cursor, page.has_more) == ([], None, False)


def test_events_come_in_transaction_then_id_order_and_the_cursor_follows_them(acme_store):
    # Ids in insert order, transactions not: the feed's order is (txid, id).
    late, early, early_too, middle = (event(acme_store, t) for t in (30, 10, 10, 20))
    first = events.events_page(after=None, limit=2)
    assert ids(first) == [early.pk, early_too.pk] and first.has_more
    second = events.events_page(after=first.next_cursor, limit=2)
    assert ids(second) == [middle.pk, late.pk] and not second.has_more
    # Nothing new: the same cursor comes back, to ask again later.
    third = events.events_page(after=second.next_cursor, limit=2)
    assert (third.events, third.next_cursor) == ([], second.next_cursor)
    newer = event(acme_store, 40)
    assert ids(events.events_page(after=third.next_cursor)) == [newer.pk]


def test_the_limit_is_bounded(acme_store):
    for txid in range(1, 6):
        event(acme_store, txid)
    assert len(events.events_page(after=None).events) == 5  # default 100
    assert len(events.events_page(after=None, limit=events.MAX_LIMIT).events) == 5
    for bad in (0, -1, events.MAX_LIMIT + 1, "5", 2.5, None):
        with pytest.raises(events.InvalidFeedQuery, match="limit"):
            events.events_page(after=None, limit=bad)


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode()


@pytest.mark.parametrize(
    "cursor",
    [
        "not a cursor",
        "abc\x00",
        "%%%",
        "a" * 65,
        _b64("12"),
        _b64("a:b"),
        _b64("-1:5"),
        _b64("1:5:6"),
        _b64(f"{2**63}:1"),  # beyond a bigint: the database would refuse it
        _b64("1:2\n"),
        "////",
    ],
)
def test_a_malformed_cursor_is_refused_with_a_clear_message(db, cursor):
    with pytest.raises(events.InvalidFeedQuery, match="cursor is not one this feed gave out"):
        events.events_page(after=cursor)


def test_a_cursor_round_trips(db):
    assert events.decode_cursor(events.encode_cursor(2**63 - 1, 7)) == (2**63 - 1, 7)


def test_pruning_deletes_a_prefix_of_the_feed_and_an_older_cursor_is_gone(acme_store, settings):
    settings.STORE_EVENT_RETENTION_DAYS = 30
    old = [event(acme_store, t, days_ago=40) for t in (1, 2, 3)]
    # Younger than the cutoff but placed before an expired one in the feed: it
    # goes too, or a reader past it would have a hole behind its cursor.
    placed_before = event(acme_store, 2, days_ago=1)
    kept = [event(acme_store, t) for t in (4, 5)]
    reader = events.events_page(after=None, limit=1).next_cursor  # a reader who read one event, long ago

    assert prune_events() == 4
    assert list(StoreEvent.objects.values_list("pk", flat=True)) == [row.pk for row in kept]
    horizon = StoreEventHorizon.objects.get()
    assert (horizon.txid, horizon.event_id, horizon.deleted) == (3, old[2].pk, 4)
    assert placed_before.pk not in ids(events.events_page(after=None))

    with pytest.raises(events.CursorGone):
        events.events_page(after=reader)
    # A reader who had read everything pruned misses nothing: not gone.
    caught_up = events.encode_cursor(3, old[2].pk)
    assert ids(events.events_page(after=caught_up)) == [row.pk for row in kept]
    # Without a cursor: from the oldest kept.
    assert ids(events.events_page(after=None)) == [row.pk for row in kept]
    assert prune_events() == 0  # nothing more to prune


def test_pruning_in_batches_moves_the_horizon_with_each(acme_store, settings):
    settings.STORE_EVENT_RETENTION_DAYS = 30
    rows = [event(acme_store, t, days_ago=40) for t in range(1, 6)]
    assert events.store_events_prune(batch_size=2) == 5
    horizon = StoreEventHorizon.objects.get()
    assert (horizon.txid, horizon.event_id, horizon.deleted) == (5, rows[-1].pk, 5)


def test_one_event_as_the_feed_gives_it(acme_store):
    row = event(acme_store, 7)
    as_json = events.event_json(row)
    assert as_json == {
        "id": events.event_id_for(row),
        "cursor": events.encode_cursor(7, row.pk),
        "type": "status_changed",
        "created_at": row.created_at.isoformat(),
        "store_hash": "acme123",
        "merchant_id": acme_store.merchant_id,
        "data": {"old": "connected", "new": "revoked", "reason": "r"},
    }
    assert as_json["id"] == events.event_id_for(StoreEvent.objects.get(pk=row.pk))  # stable
    page = events.events_page(after=None)
    assert events.page_json(page) == {"events": [as_json], "next_cursor": as_json["cursor"], "has_more": False}
    assert json.loads(json.dumps(events.page_json(page))) == events.page_json(page)  # plain JSON


def test_no_event_body_holds_a_secret(acme, acme_store, globex):
    """Every kind, written by the real services with the secrets of
    tests.leaks (the fixture's) and the new credentials: no slice of any."""
    new = credentials()
    services.store_pause(store=acme_store)
    services.store_resume(store=acme_store)
    services.store_replace_credentials(store=acme_store, credentials=new, report=report())
    services.store_move(store=acme_store, to_merchant=globex)
    services.store_disconnect(store=acme_store)
    services.store_connect(merchant=acme, credentials=new, report=report())
    written = StoreEvent.objects.all()
    assert {row.kind for row in written} == {
        Kind.STATUS_CHANGED,
        Kind.CREDENTIALS_REPLACED,
        Kind.MOVED,
        Kind.DISCONNECTED,
        Kind.CONNECTED,
    }
    body = json.dumps([events.event_json(row) for row in written])
    assert_no_secret(body)
    assert_no_secret(body, (new.access_token, new.client_secret, new.client_id), where="the new credentials")
