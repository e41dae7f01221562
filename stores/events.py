"""The store event feed: what happened to stores, for Violet's services to follow.

1. Writing. The services that change a store build the event here and save
   it in their own transaction (`record`): no change without its event, no
   event without its change. Payloads hold ids, statuses, scope names and
   versions, never a secret.
2. Reading (`events_page`). Events come in (txid, id) order, and only those
   whose transaction is below every transaction still running, so a reader
   that follows the cursor never misses one. Why: ids come from a sequence
   when a row is inserted, but rows become visible when their transaction
   commits, and a transaction that took id 10 may commit after one that
   took id 11. A reader that saw 11 and then asked for "after 11" would
   never see 10. Here a row is shown only once its transaction's id is below
   that of every transaction still running in this database (in effect
   `pg_snapshot_xmin(pg_current_snapshot())`, see FINISHED_BELOW_SQL): every
   transaction below it has finished, so no row can ever appear before the
   cursor later (the rule PgQ's snapshots and other PostgreSQL outbox
   readers use). The price: the feed waits for the oldest running write
   transaction of this database, typically milliseconds. On SQLite (one writer at a time, so rows
   commit in id order) txid is 0 and the order is the id's.
3. Pruning (`store_events_prune`): events older than STORE_EVENT_RETENTION_DAYS
   go; a cursor from before what was pruned raises `CursorGone` (HTTP 410).
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

from .models import Store, StoreEvent, StoreEventHorizon

Kind = StoreEvent.Kind

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000

# --- 1. writing --------------------------------------------------------------------------


def new_event(store: Store, kind: str, payload: dict[str, Any], *, now: datetime | None = None) -> StoreEvent:
    """An unsaved event about `store` (its merchant as of now)."""
    return StoreEvent(
        store=store,
        store_hash=store.store_hash,
        merchant_id=store.merchant_id,
        kind=kind,
        payload=payload,
        created_at=now or timezone.now(),
    )


def status_changed(store: Store, *, old: str, new: str, reason: str, now: datetime) -> StoreEvent:
    return new_event(store, Kind.STATUS_CHANGED, {"old": old, "new": new, "reason": reason}, now=now)


def scopes_changed(store: Store, *, missing_before: list[str], now: datetime) -> StoreEvent:
    """The scopes the store's API account lacks changed (`missing_scopes`)."""
    return new_event(
        store,
        Kind.SCOPES_CHANGED,
        {"missing_scopes": list(store.missing_scopes), "previous_missing_scopes": list(missing_before)},
        now=now,
    )


def credentials_stored(store: Store, *, kind: str, now: datetime) -> StoreEvent:
    """`connected` or `credentials_replaced`, with the credentials' new version."""
    return new_event(
        store,
        kind,
        {"credentials_version": store.credentials_version, "status": store.status},
        now=now,
    )


def disconnected(store: Store, *, reason: str, now: datetime) -> StoreEvent:
    return new_event(store, Kind.DISCONNECTED, {"reason": reason}, now=now)


def moved(store: Store, *, from_merchant_id: int, now: datetime) -> StoreEvent:
    return new_event(
        store,
        Kind.MOVED,
        {"previous_merchant_id": from_merchant_id, "merchant_id": store.merchant_id},
        now=now,
    )


def record(events: list[StoreEvent]) -> list[StoreEvent]:
    """Save events (one INSERT, none when there are none). Call it inside the
    transaction that makes the change."""
    return StoreEvent.objects.bulk_create(events) if events else []


# --- 2. reading --------------------------------------------------------------------------


class InvalidFeedQuery(ValueError):
    """A malformed cursor or a limit out of range (HTTP 400); says which."""


class CursorGone(Exception):
    """The cursor is from before events that were pruned (HTTP 410): the reader
    missed them and must start again (without a cursor)."""


# Below this transaction id, every transaction that could have written to
# this database had finished when the statement's snapshot was taken: the
# snapshot's oldest running transaction (`pg_snapshot_xip`), leaving out those
# running in another database of the server (a transaction writes to one
# database only; an xid's database never changes, so a possibly older view of
# pg_stat_activity is still right about it), else the snapshot's xmax. Without
# the leaving out it is `pg_snapshot_xmin(pg_current_snapshot())`, which a
# transaction held open in any other database on the server would hold back.
# pg_stat_activity's `backend_xid` has 32 bits, the snapshot's 64 (with the
# epoch): compared modulo 2^32 (running transactions span less than 2^31).
# A role that may not read other sessions' `backend_xid` leaves nothing out:
# the feed then waits for every database's transactions, and loses nothing.
# The reader's own transaction is not in its snapshot's xip: LEAST adds it
# (when it has an id), so a reader never shows its own uncommitted events.
FINISHED_BELOW_SQL = """LEAST(
    COALESCE(
        (SELECT min(x::text::bigint) FROM pg_snapshot_xip(pg_current_snapshot()) AS x
         WHERE mod(x::text::bigint, 4294967296) NOT IN (
            SELECT a.backend_xid::text::bigint FROM pg_stat_activity AS a
            WHERE a.backend_xid IS NOT NULL AND a.datname IS NOT NULL AND a.datname <> current_database())),
        pg_snapshot_xmax(pg_current_snapshot())::text::bigint),
    pg_current_xact_id_if_assigned()::text::bigint)"""


class FinishedBelow(models.Func):
    """Every transaction with a lower id that could have written here has
    finished (PostgreSQL, FINISHED_BELOW_SQL); elsewhere no row is held back
    (SQLite commits in id order)."""

    output_field = models.BigIntegerField()
    template = "9223372036854775807"

    def as_postgresql(self, compiler, connection, **extra_context):
        return FINISHED_BELOW_SQL, []


_CURSOR_TEXT = re.compile(r"[A-Za-z0-9_-]{1,64}")
_CURSOR_POSITION = re.compile(r"(\d{1,19}):(\d{1,19})")
_BIGINT_MAX = 2**63 - 1


def encode_cursor(txid: int, event_id: int) -> str:
    return base64.urlsafe_b64encode(f"{txid}:{event_id}".encode()).rstrip(b"=").decode()


def decode_cursor(cursor: str) -> tuple[int, int]:
    """(txid, event id) from a cursor; InvalidFeedQuery for anything else."""
    if not _CURSOR_TEXT.fullmatch(cursor):
        raise InvalidFeedQuery("The cursor is not one this feed gave out.")
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidFeedQuery("The cursor is not one this feed gave out.") from None
    match = _CURSOR_POSITION.fullmatch(text)
    if not match or max(int(match[1]), int(match[2])) > _BIGINT_MAX:
        raise InvalidFeedQuery("The cursor is not one this feed gave out.")
    return int(match[1]), int(match[2])


def cursor_of(event: StoreEvent) -> str:
    return encode_cursor(event.txid, event.pk)


_EVENT_NAMESPACE = uuid.UUID("0c6f9d0e-3b61-4f3e-9a53-2f8d5b7e41a9")


def event_id_for(event: StoreEvent) -> str:
    """Stable for ever (the webhook id too): receivers deduplicate on it."""
    return "evt_" + uuid.uuid5(_EVENT_NAMESPACE, f"store-event:{event.pk}").hex


def event_json(event: StoreEvent) -> dict[str, Any]:
    """One event as the feed and the webhooks give it (docs/events.md)."""
    return {
        "id": event_id_for(event),
        "cursor": cursor_of(event),
        "type": event.kind,
        "created_at": event.created_at.isoformat(),
        "store_hash": event.store_hash,
        "merchant_id": event.merchant_id,
        "data": event.payload,
    }


@dataclass(frozen=True)
class EventsPage:
    """A page of the feed. `next_cursor` is what to pass as `after` next time
    (the last event's cursor, or the same `after` when there was nothing new);
    `has_more`: ask again at once."""

    events: list[StoreEvent]
    next_cursor: str | None
    has_more: bool


def page_json(page: EventsPage) -> dict[str, Any]:
    """The page as `GET /api/v1/events/` returns it (docs/events.md)."""
    return {
        "events": [event_json(event) for event in page.events],
        "next_cursor": page.next_cursor,
        "has_more": page.has_more,
    }


def after_position(position: tuple[int, int]) -> Q:
    txid, event_id = position
    # `txid >= t` lets the planner walk the (txid, id) index from the cursor.
    return Q(txid__gte=txid) & (Q(txid__gt=txid) | Q(id__gt=event_id))


def finished() -> Q:
    """Events whose transaction has finished (see the module's docstring)."""
    return Q(txid__lt=FinishedBelow())


def events_page(*, after: str | None = None, limit: int = DEFAULT_LIMIT) -> EventsPage:
    """The events after the cursor `after` (from the oldest kept, without one),
    at most `limit` (1 to MAX_LIMIT). InvalidFeedQuery for a malformed cursor or
    limit; CursorGone for a cursor from before pruned events. Two queries:
    the page, then the prune horizon (read after the page, so a prune that
    commits in between is noticed rather than silently skipped)."""
    if not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise InvalidFeedQuery(f"The limit must be a whole number from 1 to {MAX_LIMIT}.")
    position = decode_cursor(after) if after else None
    events = StoreEvent.objects.filter(finished())
    if position is not None:
        events = events.filter(after_position(position))
    rows = list(events.order_by("txid", "id")[: limit + 1])
    if position is not None:
        horizon = StoreEventHorizon.objects.filter(pk=1).values_list("txid", "event_id").first()
        if horizon is not None and position < horizon:
            raise CursorGone("Events after this cursor were pruned; start again without a cursor.")
    page = rows[:limit]
    return EventsPage(
        events=page,
        next_cursor=cursor_of(page[-1]) if page else after,
        has_more=len(rows) > limit,
    )


# --- 3. pruning --------------------------------------------------------------------------


def store_events_prune(*, now: datetime | None = None, batch_size: int = 5000) -> int:
    """Delete events older than STORE_EVENT_RETENTION_DAYS, in batches, in feed
    order; how many went.

    What goes is a prefix of the feed: every finished event up to the newest
    one older than the cutoff (an event a little younger but placed before it
    goes too: the feed must never have a hole a cursor could skip). Each
    batch moves the horizon forward in its own transaction, under the
    horizon row's lock, so a reader never finds events gone without the
    horizon saying so, and two prunes take turns.
    """
    cutoff = (now or timezone.now()) - timedelta(days=settings.STORE_EVENT_RETENTION_DAYS)
    last = (
        StoreEvent.objects.filter(finished(), created_at__lt=cutoff)
        .order_by("-txid", "-id")
        .values_list("txid", "id")
        .first()
    )
    if last is None:
        return 0
    deleted = 0
    while True:
        with transaction.atomic():
            horizon, _ = StoreEventHorizon.objects.get_or_create(pk=1, defaults={"txid": 0, "event_id": 0})
            horizon = StoreEventHorizon.objects.select_for_update().get(pk=1)
            batch = list(
                StoreEvent.objects.filter(Q(txid__lt=last[0]) | Q(txid=last[0], id__lte=last[1]))
                .order_by("txid", "id")
                .values_list("txid", "id")[:batch_size]
            )
            if not batch:
                return deleted
            # (Not delete()[0]: that counts the rows deleted with them too, e.g. their webhook deliveries.)
            count = StoreEvent.objects.filter(id__in=[event_id for _, event_id in batch]).delete()[1][
                StoreEvent._meta.label
            ]
            deleted += count
            if batch[-1] > (horizon.txid, horizon.event_id):
                horizon.txid, horizon.event_id = batch[-1]
            horizon.deleted += count
            horizon.pruned_at = timezone.now()
            horizon.save()
