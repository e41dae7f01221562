"""Traffic signals under real concurrency (PostgreSQL; the pattern is
tests/integration/test_races.py's): a burst of failing calls from many
services queues the store's check once."""

from __future__ import annotations

import threading

from django.utils import timezone

from sandbox import bodies
from stores.models import Store, TrafficSignal
from stores.services import traffic
from stores.services.traffic import SignalCheck, traffic_signal_record
from stores.status import StoreStatus
from tests.integration.test_races import ROUNDS, postgres, race  # noqa: F401 (fixture)

PARTIES = 6


def test_a_burst_of_signals_queues_one_check_per_store(postgres, acme, monkeypatch):  # noqa: F811
    """Six proxy workers see the store's 401 at once: six signals, one check.
    Mutations tried: the `signal_check_at` condition dropped from the update
    (`filter(pk=…)` alone), and the decision taken from the value read at the
    start (`queued_at` older than the interval, then an update by pk) — both
    queue several checks per round."""
    queued: list[int] = []
    lock = threading.Lock()

    def delay(store_id):
        with lock:
            queued.append(store_id)

    monkeypatch.setattr(traffic.check_after_signal_task, "delay", delay)
    store = Store.objects.create(merchant=acme, store_hash="burst1", status=StoreStatus.CONNECTED)
    for round_ in range(ROUNDS):
        queued.clear()
        Store.objects.filter(pk=store.pk).update(signal_check_at=None)
        at = timezone.now()

        def party(store=store, at=at):
            return traffic_signal_record(
                store,
                status=401,
                method="GET",
                path="/v2/orders",
                excerpt=bodies.UNAUTHORIZED_BODY,
                now=at,
            ).check

        outcomes = race(*[party] * PARTIES)
        assert outcomes.count(SignalCheck.QUEUED) == 1, f"round {round_}: {outcomes}"
        assert outcomes.count(SignalCheck.ALREADY_QUEUED) == PARTIES - 1
        assert queued == [store.pk], f"round {round_}: queued {len(queued)} checks"
    assert TrafficSignal.objects.filter(store=store).count() == PARTIES * ROUNDS
    assert TrafficSignal.objects.filter(store=store, queued_check=True).count() == ROUNDS
