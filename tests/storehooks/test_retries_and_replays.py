"""BigCommerce's retries (up to ~48 h after the first attempt) and replays: how the
timestamp window and the remembered delivery ids work together (the decision is
written in `storehooks.signatures`)."""

from __future__ import annotations

import json
import statistics
import time
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from storehooks import services, signatures
from storehooks.models import JunkDeliveryCount, SeenWebhook, WebhookDelivery
from tests.conftest import ACME_SECRET
from tests.storehooks.conftest import deliver, event, signed_headers

HOUR = 3600


@pytest.fixture
def store(acme_store, monkeypatch):
    monkeypatch.setattr("storehooks.services.receiving.transaction.on_commit", lambda callback, **kw: callback())
    return acme_store


@pytest.fixture
def queued(monkeypatch):
    sent = []
    monkeypatch.setattr("storehooks.tasks.process_delivery.delay", lambda *args: sent.append(args))
    return sent


def body_for(store) -> bytes:
    return json.dumps(event(store.store_hash)).encode()


def outcomes():
    return [(d.outcome, d.reason) for d in WebhookDelivery.objects.order_by("id")]


def stale_counted() -> int:
    """Stale deliveries are junk anyone could post: counted, not recorded one by one."""
    return sum(JunkDeliveryCount.objects.filter(reason="stale").values_list("count", flat=True))


def test_the_documented_retry_schedule_adds_up_to_48_hours():
    assert signatures.RETRY_WINDOW == timedelta(seconds=173_040)  # 48 h 4 min
    assert signatures.MAX_AGE >= signatures.RETRY_WINDOW + timedelta(hours=12)


def test_ids_are_remembered_longer_than_any_timestamp_can_pass():
    # The invariant the replay protection rests on.
    assert services.SEEN_RETENTION >= signatures.MAX_AGE + signatures.FUTURE_TOLERANCE


@pytest.mark.parametrize("age_hours", [0.2, 6, 47, 48.1, 60])
def test_a_late_retry_with_its_first_timestamp_and_a_fresh_id_is_accepted(store, queued, age_hours):
    body = body_for(store)
    first_sent = int(time.time() - age_hours * HOUR)
    response = deliver(store.store_hash, body, signed_headers(ACME_SECRET, body, timestamp=first_sent))
    assert response.status_code == 200
    assert outcomes() == [("accepted", "")]
    assert len(queued) == 1


def test_older_than_the_retry_window_and_margin_is_stale_but_answered(store, queued):
    body = body_for(store)
    too_old = int(time.time() - signatures.MAX_AGE.total_seconds() - 60)
    assert deliver(store.store_hash, body, signed_headers(ACME_SECRET, body, timestamp=too_old)).status_code == 200
    assert outcomes() == [] and stale_counted() == 1 and queued == []


def test_a_timestamp_from_the_future_is_stale(store, queued):
    body = body_for(store)
    ahead = int(time.time() + signatures.FUTURE_TOLERANCE.total_seconds() + 60)
    deliver(store.store_hash, body, signed_headers(ACME_SECRET, body, timestamp=ahead))
    assert outcomes() == [] and stale_counted() == 1 and queued == []


def test_a_replay_of_a_known_id_is_answered_and_not_acted_on(store, queued):
    body = body_for(store)
    sent = int(time.time() - 40 * HOUR)
    headers = signed_headers(ACME_SECRET, body, msg_id="msg_retry", timestamp=sent)
    assert deliver(store.store_hash, body, headers).status_code == 200
    # The same delivery again (a retry after our 200 was lost, or a captured replay),
    # with its old timestamp or re-signed with a new one.
    assert deliver(store.store_hash, body, headers).status_code == 200
    resigned = signed_headers(ACME_SECRET, body, msg_id="msg_retry")
    assert deliver(store.store_hash, body, resigned).status_code == 200
    assert outcomes() == [("accepted", ""), ("replayed", ""), ("replayed", "")]
    assert len(queued) == 1


def test_the_housekeeping_keeps_ids_as_long_as_a_replay_could_pass(store, queued):
    """A delivery seen now, replayed just before its timestamp goes stale, is still caught;
    its id is forgotten only once no replay of it can pass the timestamp check."""
    body = body_for(store)
    headers = signed_headers(ACME_SECRET, body, msg_id="msg_kept")
    deliver(store.store_hash, body, headers)
    seen_at = SeenWebhook.objects.get().seen_at
    latest_replay = seen_at + signatures.MAX_AGE - timedelta(minutes=1)
    services.webhooks_sweep(now=latest_replay)
    assert SeenWebhook.objects.filter(webhook_id="msg_kept").exists()
    verdict = signatures.verify(ACME_SECRET, body, headers, now=latest_replay.timestamp())
    assert verdict.ok  # the timestamp would still pass...
    # ...so the remembered id is what stops it:
    assert services.delivery_receive(store_hash=store.store_hash, body=body, headers=headers).outcome == "replayed"

    after_window = seen_at + services.SEEN_RETENTION + timedelta(minutes=1)
    assert services.webhooks_sweep(now=after_window)["seen_pruned"] == 1
    assert not SeenWebhook.objects.exists()
    assert signatures.verify(ACME_SECRET, body, headers, now=after_window.timestamp()).reason == "stale"


def test_a_recent_id_is_not_pruned(store, queued):
    SeenWebhook.objects.create(store=store, webhook_id="recent", seen_at=timezone.now() - timedelta(hours=50))
    services.webhooks_sweep()
    assert SeenWebhook.objects.filter(webhook_id="recent").exists()


def test_unknown_and_known_stores_take_about_as_long(store, queued):
    """Same answer and the same timing class: a delivery for a store hash the portal
    does not know does the work a rejected one does (`receiving._same_work_as_a_known_store`)."""
    client = Client()
    body = b'{"scope":"store/information/updated"}'
    headers = signed_headers("9" * 64, body)
    known, unknown = [], []
    for _ in range(3):  # warm up
        deliver(store.store_hash, body, headers, client=client)
        deliver("nosuch1", body, headers, client=client)
    for _ in range(80):  # interleaved, so a noisy machine slows both alike
        for target, samples in ((store.store_hash, known), ("nosuch1", unknown)):
            started = time.perf_counter()
            assert deliver(target, body, headers, client=client).content == b"OK.\n"
            samples.append(time.perf_counter() - started)
    ratio = statistics.median(known) / statistics.median(unknown)
    assert 0.4 < ratio < 2.5, (ratio, statistics.median(known), statistics.median(unknown))
