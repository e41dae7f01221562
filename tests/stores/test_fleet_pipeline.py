"""A batch is a pipeline: its stores are read and recorded in chunks, and a
chunk is recorded while later chunks are still being checked."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from stores import claims, fleet
from stores.models import Credential, Store
from stores.services import checks as check_services
from stores.status import StoreStatus
from tests.reports import credentials, report


@pytest.fixture
def due(acme):
    past = timezone.now() - timedelta(minutes=1)
    stores = Store.objects.bulk_create(
        Store(
            merchant=acme,
            store_hash=f"pipe{i}",
            status=StoreStatus.CONNECTED,
            next_check_at=past,
            scopes_verified_at=timezone.now(),
        )  # fmt: skip
        for i in range(5)
    )
    for store in stores:
        creds = credentials(store.store_hash)
        credential = Credential(store=store)
        credential.set_values(
            client_id=creds.client_id, client_secret=creds.client_secret, access_token=creds.access_token
        )
        credential.save()
    yield stores
    fleet.reset_engine()


def test_a_chunk_is_recorded_while_later_chunks_are_still_checked(db, due, settings, monkeypatch):
    """Mutation: gathering every chunk's results before recording any (the
    old batch-at-once shape) leaves the later checks waiting in vain."""
    settings.FLEET_RECORD_CHUNK = 2
    first_chunk = {store.store_hash for store in due[:2]}
    first_recorded = threading.Event()
    saw_it: dict[str, bool] = {}
    recorded_sizes: list[int] = []
    record = check_services.store_record_results

    def recording(*, results, **kwargs):
        recorded_sizes.append(len(results))
        outcome = record(results=results, **kwargs)
        first_recorded.set()
        return outcome

    async def fake_validate(creds, *, client, full):  # no network
        if creds.store_hash not in first_chunk:
            deadline = time.monotonic() + 3
            while not first_recorded.is_set() and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
            saw_it[creds.store_hash] = first_recorded.is_set()
        return report(store_hash=creds.store_hash), full

    monkeypatch.setattr(fleet, "validate_escalating", fake_validate)
    monkeypatch.setattr(fleet.services, "store_record_results", recording)
    claim = claims.claim_due_stores(limit=10)

    assert fleet.check_stores(claim.store_ids, claim_token=claim.token) == 5

    assert saw_it == {store.store_hash: True for store in due[2:]}
    assert sorted(recorded_sizes) == [1, 2, 2]  # one recording per chunk
    assert not Store.objects.exclude(claim_token="").exists()  # every claim released
    assert Store.objects.filter(last_checked_at__isnull=False).count() == 5


def test_checks_in_flight_are_capped_across_the_chunks(db, due, settings, monkeypatch):
    """One gate for the batch: FLEET_CHECKS_IN_FLIGHT holds however the batch
    is chunked. Mutation: a gate per chunk lets 2 + 2 + 1 run at once."""
    settings.FLEET_RECORD_CHUNK = 2
    settings.FLEET_CHECKS_IN_FLIGHT = 2
    running, most = 0, 0

    async def fake_validate(creds, *, client, full):
        nonlocal running, most
        running += 1
        most = max(most, running)
        await asyncio.sleep(0.05)
        running -= 1
        return report(store_hash=creds.store_hash), full

    monkeypatch.setattr(fleet, "validate_escalating", fake_validate)
    claim = claims.claim_due_stores(limit=10)

    assert fleet.check_stores(claim.store_ids, claim_token=claim.token) == 5
    assert most == 2


def test_chunks_are_read_only_to_keep_the_window_full(db, due, settings, monkeypatch):
    """A chunk is read when the checks in flight drop below
    FLEET_CHECKS_IN_FLIGHT, after a finished chunk was recorded: never the
    whole batch up front. Mutation: reading every chunk before waiting on
    any reads the third chunk before the first is recorded."""
    settings.FLEET_RECORD_CHUNK = 2
    settings.FLEET_CHECKS_IN_FLIGHT = 4
    events: list[str] = []
    load, record = fleet.load_batch, check_services.store_record_results

    def loading(store_ids, **kwargs):
        events.append(f"read {len(store_ids)}")
        return load(store_ids, **kwargs)

    def recording(*, results, **kwargs):
        events.append(f"recorded {len(results)}")
        return record(results=results, **kwargs)

    async def fake_validate(creds, *, client, full):
        return report(store_hash=creds.store_hash), full

    monkeypatch.setattr(fleet, "validate_escalating", fake_validate)
    monkeypatch.setattr(fleet, "load_batch", loading)
    monkeypatch.setattr(fleet.services, "store_record_results", recording)
    claim = claims.claim_due_stores(limit=10)

    assert fleet.check_stores(claim.store_ids, claim_token=claim.token) == 5
    assert events[:2] == ["read 2", "read 2"]  # the window (4) is full
    assert events.index("read 1") > events.index("recorded 2")
    assert sorted(events) == ["read 1", "read 2", "read 2", "recorded 1", "recorded 2", "recorded 2"]
