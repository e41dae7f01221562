"""The keep-alive sweep, against the sandbox: BigCommerce deactivates hooks (90 days
without events, 48 hours of failures); the sweep re-activates them, re-creates
missing ones and removes duplicates, through the store's own API account."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
import requests
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from sandbox.hook_lifecycle import INACTIVITY_SECONDS
from storehooks import bigcommerce_api, services, tasks
from storehooks.models import HookRegistration
from storehooks.services import keepalive
from stores.models import Store
from tests.storehooks.conftest import connect_store

INFO, UNINSTALLED = services.INFORMATION_UPDATED, services.APP_UNINSTALLED


def api(shop, method, path, body=None):
    response = requests.request(
        method,
        f"{shop.sandbox.url}/stores/{shop.hash}/{path}",
        json=body,
        headers={"X-Auth-Token": shop.credentials.access_token, "Accept": "application/json"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return response.json()["data"]


def by_scope(shop):
    found: dict[str, list] = {}
    for hook in shop.hooks():
        found.setdefault(hook["scope"], []).append(hook)
    return found


def ensure(*args) -> str:
    out = []

    class Out:
        def write(self, text):
            out.append(text)

        def flush(self):
            pass

    call_command("webhooks", "--ensure", *args, stdout=Out())
    return "".join(out)


def test_the_sweep_reactivates_recreates_and_dedupes(connected, settings):
    """The whole story: registered, deactivated by BigCommerce for 90 quiet days
    (the owner is e-mailed), one deleted, one duplicated; one sweep repairs all."""
    shop = connected
    tasks.register_hooks(shop.store.pk)
    hooks = by_scope(shop)
    destination = services.receiver_url(shop.hash)
    emails = shop.sandbox.control.advance_clock(INACTIVITY_SECONDS)
    assert sorted(e["scope"] for e in emails if e["store_hash"] == shop.hash) == sorted([INFO, UNINSTALLED])
    assert all(not h["is_active"] for h in shop.hooks())
    api(shop, "DELETE", f"v3/hooks/{hooks[INFO][0]['id']}")  # gone (e.g. deleted in the control panel)
    duplicate = api(  # e.g. left by an older registration, deactivated with the rest
        shop,
        "POST",
        "v3/hooks",
        {
            "scope": UNINSTALLED,
            "destination": destination,
            "is_active": False,
            "headers": hooks[UNINSTALLED][0]["headers"],
        },
    )

    output = ensure("--store", shop.hash)

    assert f"{shop.hash}: re-activated {UNINSTALLED}; re-created {INFO}; removed 1 duplicate(s)" in output
    assert "Swept 1 store(s): 1 changed, 0 failed." in output
    after = by_scope(shop)
    assert {scope: len(found) for scope, found in after.items()} == {INFO: 1, UNINSTALLED: 1}
    assert all(h["is_active"] and h["destination"] == destination for h in shop.hooks())
    assert after[UNINSTALLED][0]["id"] == hooks[UNINSTALLED][0]["id"]  # the oldest is kept, re-activated
    assert duplicate["id"] not in {h["id"] for h in shop.hooks()}
    for hook in shop.hooks():
        assert hook["client_id"] == shop.account["client_id"]  # through the store's own account
    registration = HookRegistration.objects.get(store=shop.store)
    assert registration.hook_states == {INFO: "missing", UNINSTALLED: "inactive"}
    assert registration.sweep_changes == {
        "reactivated": [UNINSTALLED],
        "recreated": [INFO],
        "duplicates_removed": 1,
    }
    assert registration.sweep_error == "" and registration.sweep_claimed_until is None
    assert registration.hooks == {h["scope"]: h["id"] for h in shop.hooks()}
    assert timezone.now() - registration.swept_at < timedelta(minutes=1)


def test_a_healthy_store_costs_one_request_and_changes_nothing(connected):
    tasks.register_hooks(connected.store.pk)
    control = connected.sandbox.control
    before = len(control.log(store_hash=connected.hash))
    output = ensure("--store", connected.hash)
    requests_made = control.log(store_hash=connected.hash)[: len(control.log(store_hash=connected.hash)) - before]
    assert len(control.log(store_hash=connected.hash)) - before == 1, requests_made
    assert "nothing to change (store/app/uninstalled active, store/information/updated active)" in output
    assert HookRegistration.objects.get(store=connected.store).sweep_changes == {}


def test_registering_records_a_sweep(connected):
    tasks.register_hooks(connected.store.pk)
    registration = HookRegistration.objects.get(store=connected.store)
    assert registration.swept_at is not None
    assert registration.hook_states == {INFO: "missing", UNINSTALLED: "missing"}
    assert registration.sweep_changes == {"recreated": [INFO, UNINSTALLED]}


def test_a_failed_sweep_is_recorded_and_reported(connected):
    tasks.register_hooks(connected.store.pk)
    connected.sandbox.control.revoke(connected.account["client_id"])  # 401 from now on
    with pytest.raises(CommandError, match="1 store"):
        ensure("--store", connected.hash)
    registration = HookRegistration.objects.get(store=connected.store)
    assert "401" in registration.sweep_error and registration.sweep_claimed_until is None


def test_the_command_refuses_unknown_or_unconnected_stores_and_webhooks_off(connected, settings):
    with pytest.raises(CommandError, match="No store"):
        ensure("--store", "nosuch1")
    Store.objects.filter(pk=connected.store.pk).update(status="paused")
    with pytest.raises(CommandError, match="paused"):
        ensure("--store", connected.hash)
    settings.BIGCOMMERCE_WEBHOOKS_ENABLED = False
    with pytest.raises(CommandError, match="off"):
        ensure()


def test_which_stores_are_due(connected, acme, bc, monkeypatch, django_capture_on_commit_callbacks, settings):
    settings.BIGCOMMERCE_WEBHOOKS_SWEEP_INTERVAL_DAYS = 7
    now = timezone.now()
    store = connected.store
    assert services.hooks_due(now=now) == [store.pk]  # never swept
    HookRegistration.objects.create(store=store, swept_at=now - timedelta(days=1))
    Store.objects.filter(pk=store.pk).update(status_changed_at=now - timedelta(days=2))
    assert services.hooks_due(now=now) == []  # swept yesterday
    HookRegistration.objects.filter(store=store).update(swept_at=now - timedelta(days=8))
    assert services.hooks_due(now=now) == [store.pk]  # the interval passed
    HookRegistration.objects.filter(store=store).update(swept_at=now - timedelta(days=1))
    Store.objects.filter(pk=store.pk).update(status_changed_at=now - timedelta(hours=1))
    assert services.hooks_due(now=now) == [store.pk]  # recovered to connected since the last sweep
    Store.objects.filter(pk=store.pk).update(status="revoked")
    assert services.hooks_due(now=now) == []  # only connected stores
    Store.objects.filter(pk=store.pk).update(status="connected", status_changed_at=now - timedelta(days=2))
    HookRegistration.objects.filter(store=store).update(sweep_error="GET /v3/hooks -> 503")
    assert services.hooks_due(now=now) == [store.pk]  # a failed sweep is tried again after an hour
    HookRegistration.objects.filter(store=store).update(swept_at=now - timedelta(minutes=10))
    assert services.hooks_due(now=now) == []


def test_the_periodic_task_sweeps_due_stores(connected):
    shop = connected
    tasks.register_hooks(shop.store.pk)
    HookRegistration.objects.filter(store=shop.store).update(swept_at=timezone.now() - timedelta(days=30))
    hook = shop.hooks()[0]
    api(shop, "PUT", f"v3/hooks/{hook['id']}", {"is_active": False})
    assert tasks.keep_hooks_alive() == {"swept": 1, "changed": 1, "failed": 0}
    assert all(h["is_active"] for h in shop.hooks())
    assert tasks.keep_hooks_alive() == {"swept": 0, "changed": 0, "failed": 0}  # not due any more


@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_sweep_a_store_once(acme, bc, webhooks_on, monkeypatch, django_capture_on_commit_callbacks):
    """The claim (`sweep_claimed_until`, a conditional update): two sweeps racing,
    each in its own thread with its own database connection; only one calls BigCommerce."""
    if connection.vendor != "postgresql":
        pytest.skip("races real database connections: PostgreSQL only")
    shops = [connect_store(acme, bc, monkeypatch, django_capture_on_commit_callbacks) for _ in range(3)]
    ids = [s.store.pk for s in shops]
    called: list[int] = []
    real = bigcommerce_api.ensure_hooks_many
    barrier = threading.Barrier(2)

    def slow(jobs, **kwargs):
        called.extend(job.key for job in jobs)
        time.sleep(0.5)  # hold the claim while the other sweep tries
        return real(jobs, **kwargs)

    monkeypatch.setattr(bigcommerce_api, "ensure_hooks_many", slow)
    original_claim = keepalive._claim

    def claim_together(store_id, now):
        if store_id == ids[0]:
            barrier.wait(timeout=10)  # both sweeps reach the claim at once
        return original_claim(store_id, now)

    monkeypatch.setattr(keepalive, "_claim", claim_together)
    results: list = []

    def sweep():
        try:
            results.extend(services.hooks_keep_alive(store_ids=ids))
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(called) == sorted(ids)  # each store swept once
    assert sorted(r.skipped for r in results if r.skipped) == ["claimed by another sweep"] * 3
    for shop in shops:
        assert {h["scope"] for h in shop.hooks()} == {INFO, UNINSTALLED} and len(shop.hooks()) == 2
