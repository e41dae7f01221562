"""Recording traffic signals and queueing the store's confirming check
(stores/services/traffic.py): what is recorded, what queues, what never does."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from prometheus_client import REGISTRY

from api.service_clients import service_client_create
from notifications import receivers
from sandbox import bodies
from stores import fleet
from stores.bigcommerce.report import Outcome
from stores.models import Check, StatusChange, Store, TrafficSignal
from stores.services import CheckResult, store_record_checks, traffic
from stores.services.traffic import SignalCheck, traffic_signal_check, traffic_signal_record, traffic_signals_prune
from stores.status import StoreStatus
from stores.traffic_rule import SignalKind
from tests.reports import report


@pytest.fixture
def queued(monkeypatch):
    """The signal task's messages (args, countdown), instead of a broker."""
    sent: list[tuple[tuple, float | None]] = []
    monkeypatch.setattr(traffic.check_after_signal_task, "delay", lambda *args: sent.append((args, None)))
    monkeypatch.setattr(
        traffic.check_after_signal_task,
        "apply_async",
        lambda args, countdown=None: sent.append((tuple(args), countdown)),
    )
    return sent


def value(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def signal(store, status=401, method="GET", path="/v3/catalog/products", excerpt=bodies.UNAUTHORIZED_BODY, **kw):
    return traffic_signal_record(store, status=status, method=method, path=path, excerpt=excerpt, **kw)


@pytest.mark.django_db(transaction=True)  # the queueing happens on commit
def test_a_401_is_recorded_and_queues_the_stores_check_once_a_minute(acme_store, queued):
    before = value("violet_traffic_signals_total", kind="invalid_token", via="proxy", outcome="queued")
    first = signal(acme_store)
    assert first.recorded and first.kind == SignalKind.INVALID_TOKEN and first.check == SignalCheck.QUEUED
    assert queued == [((acme_store.pk,), None)]
    # A burst of failing calls: each is recorded, none queues a second check.
    again = signal(acme_store, path="/v2/orders")
    assert again.check == SignalCheck.ALREADY_QUEUED and again.check_queued_at == first.check_queued_at
    assert len(queued) == 1
    assert list(TrafficSignal.objects.values_list("queued_check", flat=True).order_by("id")) == [True, False]
    # A signal never flips a status: the check decides.
    assert Store.objects.get(pk=acme_store.pk).status == StoreStatus.CONNECTED
    assert not StatusChange.objects.exists()
    # A minute later, a new signal queues a new check.
    later = signal(acme_store, now=timezone.now() + timedelta(seconds=61))
    assert later.check == SignalCheck.QUEUED and len(queued) == 2
    assert value("violet_traffic_signals_total", kind="invalid_token", via="proxy", outcome="queued") == before + 2


def test_the_interval_is_a_setting(acme_store, queued, settings, django_capture_on_commit_callbacks):
    settings.TRAFFIC_SIGNAL_CHECK_INTERVAL_SECONDS = 5
    with django_capture_on_commit_callbacks(execute=True):
        signal(acme_store)
        assert signal(acme_store, now=timezone.now() + timedelta(seconds=4)).check == SignalCheck.ALREADY_QUEUED
        assert signal(acme_store, now=timezone.now() + timedelta(seconds=6)).check == SignalCheck.QUEUED
    assert len(queued) == 2


def test_an_answer_that_is_not_a_signal_records_nothing(acme_store, queued, django_capture_on_commit_callbacks):
    before = value("violet_traffic_signals_total", kind="none", via="report", outcome="not_a_signal")
    with django_capture_on_commit_callbacks(execute=True):
        for status, body in ((500, b""), (429, bodies.RATE_LIMITED_BODY), (404, bodies.NOT_FOUND_BODY["v3"])):
            outcome = signal(acme_store, status=status, excerpt=body, via="report")
            assert not outcome.recorded and outcome.kind is None and outcome.check == SignalCheck.NOT_A_SIGNAL
        # A 403 that is not BigCommerce's scope error.
        assert not signal(acme_store, status=403, excerpt=bodies.FORBIDDEN_403_BODY, via="report").recorded
    assert not TrafficSignal.objects.exists() and not queued
    assert Store.objects.get(pk=acme_store.pk).signal_check_at is None
    assert value("violet_traffic_signals_total", kind="none", via="report", outcome="not_a_signal") == before + 4


def test_a_scope_the_store_is_known_to_miss_is_no_signal_and_a_new_one_is(acme_store, queued):
    Store.objects.filter(pk=acme_store.pk).update(
        status=StoreStatus.MISSING_SCOPES, missing_scopes=["store_v2_products_read_only"]
    )
    store = Store.objects.get(pk=acme_store.pk)
    known = signal(store, status=403, path="/v3/catalog/products", excerpt=bodies.SCOPE_403_BODY)
    assert not known.recorded
    new = signal(store, status=403, method="POST", path="/v3/carts", excerpt=bodies.SCOPE_403_BODY)
    assert new.kind == SignalKind.MISSING_SCOPE and new.check == SignalCheck.QUEUED


@pytest.mark.parametrize("status", [StoreStatus.PAUSED, StoreStatus.DISCONNECTED])
def test_a_store_violet_does_not_check_is_recorded_without_a_check(acme_store, queued, status):
    """Staff see that Violet's traffic fails for a paused store; nothing is checked while it is paused."""
    Store.objects.filter(pk=acme_store.pk).update(status=status)
    outcome = signal(acme_store)
    assert outcome.recorded and outcome.check == SignalCheck.NOT_CHECKED
    assert not queued and Store.objects.get(pk=acme_store.pk).signal_check_at is None


def test_a_401_for_a_store_already_revoked_queues_nothing(acme_store, queued):
    Store.objects.filter(pk=acme_store.pk).update(status=StoreStatus.REVOKED)
    outcome = signal(acme_store)
    assert outcome.recorded and outcome.check == SignalCheck.ALREADY_KNOWN and not queued


def test_what_is_kept_is_storable_and_short(acme_store, queued):
    client = service_client_create(name="order-sync", scopes=["checks:write"]).client
    excerpt = "Unauthorized\x00" + "é" * 2000
    outcome = signal(acme_store, method="get", path="v3//catalog/products/?limit=1", excerpt=excerpt,
                     source_client=client, via="report")  # fmt: skip
    kept = TrafficSignal.objects.get(pk=outcome.signal.pk)
    assert "\x00" not in kept.excerpt and kept.excerpt.startswith("Unauthorized") and len(kept.excerpt) == 300
    assert kept.path == "/v3/catalog/products?limit=1" and kept.method == "GET"
    assert kept.client == client and kept.via == "report" and kept.status == 401


def test_old_signals_are_pruned(acme_store, queued, settings):
    settings.TRAFFIC_SIGNAL_RETENTION_DAYS = 30
    old = signal(acme_store, now=timezone.now() - timedelta(days=31)).signal
    new = signal(acme_store).signal
    assert traffic_signals_prune() == 1
    assert list(TrafficSignal.objects.values_list("pk", flat=True)) == [new.pk]
    assert old.pk != new.pk


# --- the task: check now, then confirm on time -------------------------------------


@pytest.fixture
def token_refused(monkeypatch):
    """The store's check (fleet.check_stores) sees a 401: recorded through the real services."""
    calls = []

    def check_stores(store_ids, *, claim_token="", trigger="schedule"):
        calls.append(trigger)
        results = [
            CheckResult(store_id, report(Outcome.INVALID_TOKEN), timezone.now(), 5) for store_id in store_ids
        ]
        return len(store_record_checks(results=results, trigger=trigger, claim_token=claim_token))

    monkeypatch.setattr(fleet, "check_stores", check_stores)
    return calls


def test_the_signals_check_suspects_then_confirms_on_time(acme_store, queued, token_refused, settings, monkeypatch):
    settings.STORE_CONFIRM_AFTER_SECONDS = 60
    told = []
    monkeypatch.setattr(receivers.dispatch_task, "delay", lambda: told.append(True))
    assert traffic_signal_check(store_id=acme_store.pk) == "confirming"
    store = Store.objects.get(pk=acme_store.pk)
    assert store.status == StoreStatus.CONNECTED and store.suspected_status == StoreStatus.REVOKED
    assert Check.objects.get().trigger == Check.Trigger.SIGNAL
    # It comes back when the suspicion may be confirmed, not at the dispatcher's next minute.
    [(args, countdown)] = queued
    assert args == (acme_store.pk, 1) and 59 < countdown <= 60 + traffic.CONFIRM_MARGIN_SECONDS
    Store.objects.filter(pk=acme_store.pk).update(suspected_since=timezone.now() - timedelta(seconds=61))
    assert not told
    assert traffic_signal_check(store_id=acme_store.pk, attempt=1) == "flipped"
    assert Store.objects.get(pk=acme_store.pk).status == StoreStatus.REVOKED
    # The flip is an ordinary one: its StatusChange tells the merchant, and the
    # notifications are asked to plan it now rather than at their next run.
    change = StatusChange.objects.get()
    assert (change.old_status, change.new_status, change.processed_at) == ("connected", "revoked", None)
    assert told == [True]
    assert token_refused == ["signal", "signal"]


def test_a_store_in_flight_is_tried_again_shortly_and_then_left_to_the_dispatcher(acme_store, queued, token_refused):
    Store.objects.filter(pk=acme_store.pk).update(claim_token="x", claimed_until=timezone.now() + timedelta(minutes=5))
    assert traffic_signal_check(store_id=acme_store.pk) == "in_flight"
    assert queued == [((acme_store.pk, 1), traffic.IN_FLIGHT_RETRY_SECONDS)]
    last = traffic.MAX_ATTEMPTS - 1
    assert traffic_signal_check(store_id=acme_store.pk, attempt=last) == "in_flight, left to the dispatcher"
    assert len(queued) == 1 and not token_refused


def test_a_store_paused_meanwhile_is_not_checked(acme_store, queued, token_refused):
    Store.objects.filter(pk=acme_store.pk).update(status=StoreStatus.PAUSED)
    assert traffic_signal_check(store_id=acme_store.pk) == "not_checked"
    assert not token_refused and not queued
