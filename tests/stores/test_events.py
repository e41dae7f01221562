"""Every store change writes its event in its own transaction: the event is
there with the change, and a change rolled back leaves no event (issue 25,
item 5: "no change without its event, no event without its change")."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from stores import services
from stores.bigcommerce.report import Outcome
from stores.models import Check, StatusChange, Store, StoreEvent
from stores.services.checks import CheckResult
from stores.status import StoreStatus
from tests.conftest import ACME_TOKEN
from tests.reports import credentials, report, revoke_by_two_checks
from tests.stores.test_services import record

Kind = StoreEvent.Kind


class Rollback(Exception):
    pass


def connect(merchant, token="n3wt0k3nabcdefghijklmnopqrstuvw"):
    return services.store_connect(merchant=merchant, credentials=credentials(token=token), report=report())


def kinds(store=None) -> list[str]:
    events = StoreEvent.objects.order_by("id")
    if store is not None:
        events = events.filter(store=store)
    return list(events.values_list("kind", flat=True))


def rolled_back(change: Callable[[], object]) -> None:
    """Run `change` inside a transaction that is then rolled back."""
    with pytest.raises(Rollback), transaction.atomic():
        change()
        raise Rollback


# --- connect ------------------------------------------------------------------------------


def test_connecting_writes_status_changed_and_connected_with_the_first_credentials_version(acme):
    store = connect(acme)
    store.refresh_from_db()
    assert store.credentials_version == 1
    assert kinds(store) == [Kind.STATUS_CHANGED, Kind.CONNECTED]
    flip, connected = StoreEvent.objects.filter(store=store).order_by("id")
    assert flip.payload == {
        "old": "pending",
        "new": "connected",
        "reason": "Connected: every required scope is granted.",
    }
    assert connected.payload == {"credentials_version": 1, "status": "connected"}
    assert (connected.store_hash, connected.merchant_id) == ("acme123", acme.pk)


def test_a_connect_rolled_back_leaves_no_event(acme):
    rolled_back(lambda: connect(acme))
    assert not Store.objects.exists() and not StoreEvent.objects.exists()


def test_connecting_a_store_disconnected_under_another_merchant_is_a_move_too(acme, globex):
    store = connect(acme)
    services.store_disconnect(store=store)
    before = StoreEvent.objects.count()
    connect(globex, token="g10b3xt0k3nabcdefghijklmnopqrst")
    new = StoreEvent.objects.order_by("id")[before:]
    assert [event.kind for event in new] == [Kind.MOVED, Kind.STATUS_CHANGED, Kind.CONNECTED]
    assert new[0].payload == {"previous_merchant_id": acme.pk, "merchant_id": globex.pk}
    # The reconnect stores credentials again: a new version, never an old one.
    assert new[2].payload["credentials_version"] == 2 and new[2].merchant_id == globex.pk


def test_keeping_a_store_with_missing_scopes_is_connected_with_its_scopes(acme):
    store = services.store_keep_missing_scopes(
        merchant=acme,
        credentials=credentials(),
        report=report(Outcome.MISSING_SCOPES, missing=["store_v2_orders"]),
    )
    assert kinds(store) == [Kind.STATUS_CHANGED, Kind.CONNECTED, Kind.SCOPES_CHANGED]
    scopes = StoreEvent.objects.get(kind=Kind.SCOPES_CHANGED)
    assert scopes.payload == {"missing_scopes": ["store_v2_orders"], "previous_missing_scopes": []}


# --- replace ------------------------------------------------------------------------------


def test_replacing_credentials_moves_the_version_on_and_says_so(acme_store):
    version = acme_store.credentials_version
    services.store_replace_credentials(store=acme_store, credentials=credentials(), report=report())
    acme_store.refresh_from_db()
    assert acme_store.credentials_version == version + 1
    event = StoreEvent.objects.get(store=acme_store, kind=Kind.CREDENTIALS_REPLACED)
    assert event.payload == {"credentials_version": version + 1, "status": "connected"}


def test_a_replacement_rolled_back_leaves_no_event_and_the_old_version(acme_store):
    version = acme_store.credentials_version
    rolled_back(
        lambda: services.store_replace_credentials(store=acme_store, credentials=credentials(), report=report())
    )
    acme_store.refresh_from_db()
    assert acme_store.credentials_version == version and acme_store.credential.access_token == ACME_TOKEN
    assert not StoreEvent.objects.exists()


def test_replacing_the_credentials_of_a_store_missing_scopes_says_the_scopes_changed(acme):
    store = services.store_keep_missing_scopes(
        merchant=acme, credentials=credentials(), report=report(Outcome.MISSING_SCOPES, missing=["store_v2_orders"])
    )
    services.store_replace_credentials(store=store, credentials=credentials(), report=report())
    event = StoreEvent.objects.filter(kind=Kind.SCOPES_CHANGED).latest("id")
    assert event.payload == {"missing_scopes": [], "previous_missing_scopes": ["store_v2_orders"]}


# --- status changes, one by one and in a batch ----------------------------------------------


def test_a_flip_always_has_its_event_and_none_without_it(acme_store):
    """flip_status writes the event next to the StatusChange; a flip lost to
    another writer (the guard's `updated != 1`) writes neither."""
    now = timezone.now()
    with transaction.atomic():
        change = services.controls.flip_status(acme_store, StoreStatus.REVOKED, reason="test", check=None, now=now)
    event = StoreEvent.objects.get()
    assert (event.kind, event.payload) == (
        Kind.STATUS_CHANGED,
        {"old": "connected", "new": "revoked", "reason": "test"},
    )
    assert change is not None and event.created_at == change.created_at
    stale = Store.objects.get(pk=acme_store.pk)
    stale.status = StoreStatus.CONNECTED  # what a slower writer believed
    with transaction.atomic():
        assert services.controls.flip_status(stale, StoreStatus.PAUSED, reason="x", check=None, now=now) is None
    assert StoreEvent.objects.count() == StatusChange.objects.count() == 1


def test_a_flip_whose_status_change_fails_leaves_no_event(acme_store, monkeypatch):
    """The event is written before the StatusChange row: when that insert
    fails, the event goes with the rest of the transaction."""

    def refuse(**kwargs):
        raise Rollback

    monkeypatch.setattr(StatusChange.objects, "create", refuse)
    with pytest.raises(Rollback):
        services.store_pause(store=acme_store)
    acme_store.refresh_from_db()
    assert acme_store.status == StoreStatus.CONNECTED and not StoreEvent.objects.exists()


def test_recorded_checks_write_a_status_changed_event_per_flip(acme_store):
    revoke_by_two_checks(acme_store)
    event = StoreEvent.objects.get(store=acme_store)
    assert event.kind == Kind.STATUS_CHANGED
    assert (event.payload["old"], event.payload["new"]) == ("connected", "revoked")
    assert event.payload["reason"] == StatusChange.objects.get(store=acme_store).reason


def test_a_recorded_batch_rolled_back_leaves_no_event(acme_store):
    record(acme_store, Outcome.INVALID_TOKEN)  # the first refusal: suspected, no flip yet
    rolled_back(lambda: record(acme_store, Outcome.INVALID_TOKEN))
    acme_store.refresh_from_db()
    assert acme_store.status == StoreStatus.CONNECTED and not StoreEvent.objects.exists()


def test_a_check_that_finds_other_missing_scopes_says_the_scopes_changed(acme):
    store = services.store_keep_missing_scopes(
        merchant=acme, credentials=credentials(), report=report(Outcome.MISSING_SCOPES, missing=["store_v2_orders"])
    )
    before = StoreEvent.objects.count()
    record(store, Outcome.MISSING_SCOPES, missing=["store_v2_orders", "store_v2_customers"])
    record(store, Outcome.MISSING_SCOPES, missing=["store_v2_orders", "store_v2_customers"])  # the same: nothing
    new = list(StoreEvent.objects.order_by("id")[before:])
    assert [(e.kind, e.payload) for e in new] == [
        (
            Kind.SCOPES_CHANGED,
            {
                "missing_scopes": ["store_v2_customers", "store_v2_orders"],  # BigCommerce's order
                "previous_missing_scopes": ["store_v2_orders"],
            },
        )
    ]


def test_a_batch_writes_its_events_in_one_insert_and_none_without_changes(acme):
    """The cost on the fleet's record path: one INSERT per batch that changed a
    status or missing scopes, none for a batch that changed neither."""
    stores = Store.objects.bulk_create(
        Store(merchant=acme, store_hash=f"b{i}", status=StoreStatus.CONNECTED) for i in range(10)
    )

    def batch(outcome):
        results = [CheckResult(s.pk, report(outcome, store_hash=s.store_hash), timezone.now(), 5) for s in stores]
        with CaptureQueriesContext(connection) as queries:
            services.store_record_results(results=results, trigger=Check.Trigger.SCHEDULE)
        return [q["sql"] for q in queries if "stores_storeevent" in q["sql"]]

    assert batch(Outcome.CONNECTED) == []  # nothing changed: no event, no statement
    inserts = batch(Outcome.STORE_NOT_FOUND) + batch(Outcome.STORE_NOT_FOUND)  # suspected, then confirmed
    assert len(inserts) == 1 and inserts[0].startswith("INSERT")
    assert StoreEvent.objects.filter(kind=Kind.STATUS_CHANGED).count() == 10


# --- controls: pause, resume, disconnect, move ------------------------------------------------


def test_pause_and_resume_write_their_status_changes(acme_store):
    services.store_pause(store=acme_store, reason="testing pause")
    services.store_resume(store=acme_store)
    assert [(e.payload["old"], e.payload["new"]) for e in StoreEvent.objects.order_by("id")] == [
        ("connected", "paused"),
        ("paused", "connected"),
    ]


def test_a_pause_rolled_back_leaves_no_event(acme_store):
    rolled_back(lambda: services.store_pause(store=acme_store))
    acme_store.refresh_from_db()
    assert acme_store.status == StoreStatus.CONNECTED and not StoreEvent.objects.exists()


def test_disconnecting_writes_status_changed_and_disconnected_once(acme_store):
    services.store_disconnect(store=acme_store, reason="Disconnected by the merchant.")
    services.store_disconnect(store=acme_store)  # already disconnected: nothing changes, nothing said
    assert kinds(acme_store) == [Kind.STATUS_CHANGED, Kind.DISCONNECTED]
    assert StoreEvent.objects.get(kind=Kind.DISCONNECTED).payload == {"reason": "Disconnected by the merchant."}


def test_a_disconnect_rolled_back_leaves_no_event_and_the_credentials(acme_store):
    rolled_back(lambda: services.store_disconnect(store=acme_store))
    acme_store.refresh_from_db()
    assert acme_store.status == StoreStatus.CONNECTED and acme_store.credential.access_token == ACME_TOKEN
    assert not StoreEvent.objects.exists()


def test_staff_moving_a_store_writes_moved_with_both_merchants(acme_store, acme, globex):
    services.store_move(store=acme_store, to_merchant=globex)
    event = StoreEvent.objects.get()
    assert event.kind == Kind.MOVED and event.merchant_id == globex.pk
    assert event.payload == {"previous_merchant_id": acme.pk, "merchant_id": globex.pk}


def test_a_move_rolled_back_or_refused_leaves_no_event(acme_store, acme, globex):
    rolled_back(lambda: services.store_move(store=acme_store, to_merchant=globex))
    with pytest.raises(services.StoreMoveRefused):
        services.store_move(store=acme_store, to_merchant=acme)
    acme_store.refresh_from_db()
    assert acme_store.merchant == acme and not StoreEvent.objects.exists()


def test_keeping_a_store_with_missing_scopes_rolled_back_leaves_no_event(acme):
    rolled_back(
        lambda: services.store_keep_missing_scopes(
            merchant=acme, credentials=credentials(), report=report(Outcome.MISSING_SCOPES, missing=["store_v2_orders"])
        )
    )
    assert not Store.objects.exists() and not StoreEvent.objects.exists()


def test_a_resume_rolled_back_leaves_only_the_pauses_event(acme_store):
    services.store_pause(store=acme_store)
    rolled_back(lambda: services.store_resume(store=acme_store))
    acme_store.refresh_from_db()
    assert acme_store.status == StoreStatus.PAUSED
    assert [e.payload["new"] for e in StoreEvent.objects.all()] == ["paused"]
