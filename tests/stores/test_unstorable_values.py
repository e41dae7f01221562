"""Issue 28, item 3: one store's profile value with U+0000 (its name, from
BigCommerce) made PostgreSQL refuse the batch's `jsonb_to_recordset` statement
(DataError), so every store of the batch stayed unrecorded on every retry.

What BigCommerce sends is made storable where it is parsed
(`stores.bigcommerce.storable`), value by value; and one result the database
still refuses never fails its batch. PostgreSQL only: SQLite stores NUL."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from stores import claims, fleet, services
from stores.bigcommerce.report import Outcome, Report, ScopeState
from stores.bigcommerce.storable import storable, storable_text
from stores.models import Check, Store
from tests.stores.test_check_kinds import account, make_store, sandbox  # noqa: F401 (fixtures)

postgresql_only = pytest.mark.skipif("connection.vendor != 'postgresql'", reason="SQLite stores NUL; PostgreSQL not")


def test_storable_drops_nul_and_replaces_lone_surrogates_value_by_value():
    assert storable_text("Acme\x00 Outfitters") == "Acme Outfitters"
    assert storable_text("half \ud800 pair") == "half \ufffd pair"
    assert storable_text("😀 ünïcode") == "😀 ünïcode"
    profile = {"name": "A\x00B", "id": 7, "plan_is_trial": False, "nested\x00": ["x\udfff", {"k": "\x00"}]}
    assert storable(profile) == {"name": "AB", "id": 7, "plan_is_trial": False, "nested": ["x\ufffd", {"k": ""}]}
    deep: list = []
    for _ in range(1000):
        deep = [deep]
    storable(deep)  # bounded depth, no RecursionError


def add_store(sandbox, acme, name: str) -> Store:  # noqa: F811
    store_hash = sandbox.control.add_store(profile={"name": name})["store_hash"]
    return make_store(
        acme, sandbox.control.add_account(store_hash) | {"store_hash": store_hash}, verified_ago=timedelta(hours=1)
    )


@postgresql_only
def test_a_store_name_with_nul_is_cleaned_and_its_batch_recorded(sandbox, acme):  # noqa: F811
    stores = [add_store(sandbox, acme, name) for name in ("Fine One", "Bad\x00Name", "Fine Two", "Nul\x00\x00")]
    for _ in range(2):  # a full check, then light ones (the jsonb_to_recordset statement)
        claim = claims.claim_due_stores(limit=10)
        assert sorted(claim.store_ids) == sorted(s.pk for s in stores)
        assert fleet.check_stores(claim.store_ids, claim_token=claim.token) == 4
        Store.objects.filter(pk__in=[s.pk for s in stores]).update(next_check_at=timezone.now())
    names = dict(Store.objects.filter(pk__in=[s.pk for s in stores]).values_list("store_hash", "name"))
    assert sorted(names.values()) == ["BadName", "Fine One", "Fine Two", "Nul"]
    assert all("\x00" not in str(s.profile) for s in Store.objects.filter(pk__in=[s.pk for s in stores]))


def report_for(store: Store, **profile) -> Report:
    return Report(
        ok=True,
        store_hash=store.store_hash,
        outcome=Outcome.CONNECTED,
        scopes={"store_v2_information_read_only": ScopeState.GRANTED},
        store={"name": "Fine", **profile},
    )


@postgresql_only
@pytest.mark.parametrize("kind", [Check.Kind.LIGHT, Check.Kind.FULL])
def test_one_unstorable_result_never_fails_its_batch(acme, caplog, kind):
    """Even a value the boundary missed: the batch records the others and names the bad store."""
    now = timezone.now()
    stores = [
        Store.objects.create(merchant=acme, store_hash=f"batch{n}", status="connected", next_check_at=now)
        for n in range(4)
    ]
    claim = claims.claim_due_stores(limit=10)
    # Both paths: healthy light checks (one jsonb_to_recordset statement) and full ones (bulk writes).
    results = [
        services.CheckResult(
            store_id=store.pk,
            report=report_for(store, name="Bad\x00Name" if n == 2 else f"Store {n}"),
            started_at=now,
            duration_ms=5,
            kind=kind,
        )
        for n, store in enumerate(stores)
    ]
    caplog.set_level(logging.INFO)
    batch = services.store_record_results(results=results, trigger="schedule", claim_token=claim.token)
    assert batch.recorded == 3
    rows = {s.store_hash: s for s in Store.objects.filter(pk__in=[s.pk for s in stores])}
    assert {h for h, s in rows.items() if s.last_checked_at is not None} == {"batch0", "batch1", "batch3"}
    bad = rows["batch2"]
    assert bad.last_checked_at is None and bad.claim_token == "" and bad.next_check_at > now  # released, later
    assert "store batch2" in caplog.text and "could not be recorded" in caplog.text
    assert "Bad" not in caplog.text  # the value itself is outside data: never logged
    assert connection.vendor == "postgresql"
