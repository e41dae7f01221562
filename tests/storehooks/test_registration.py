"""Registering the hooks through the store's own API account, and removing
them on disconnect: against the sandbox, through the real client."""

from __future__ import annotations

import time

import pytest
import requests
from django.db import connection

from storehooks import services, tasks
from storehooks.models import HookRegistration
from storehooks.services import registration
from stores import services as store_services
from stores.bigcommerce.report import Credentials
from stores.models import Credential, Store
from stores.verification import verify_credentials
from tests.storehooks.conftest import connect_store

SCOPES = {"store/information/updated", "store/app/uninstalled"}


def by_scope(hooks):
    found = {}
    for hook in hooks:
        found.setdefault(hook["scope"], []).append(hook)
    return found


def test_connecting_queues_the_registration_with_the_store_id_only(connected):
    assert connected.registrations_queued == [(connected.store.pk,)]


def test_without_webhooks_nothing_is_queued_or_registered(
    acme, bc, settings, monkeypatch, django_capture_on_commit_callbacks
):
    settings.BIGCOMMERCE_API_URL = bc.url
    settings.BIGCOMMERCE_WEBHOOKS_ENABLED = False
    shop = connect_store(acme, bc, monkeypatch, django_capture_on_commit_callbacks)
    assert shop.registrations_queued == []
    assert services.hooks_register(store_id=shop.store.pk) is None
    assert shop.hooks() == []


def test_the_task_registers_one_active_hook_per_scope(connected):
    tasks.register_hooks(connected.store.pk)
    hooks = by_scope(connected.hooks())
    assert set(hooks) == SCOPES
    destination = services.receiver_url(connected.hash)
    assert destination == f"http://127.0.0.1:9/bigcommerce/webhooks/{connected.hash}/"
    for [hook] in hooks.values():
        assert hook["destination"] == destination and hook["is_active"] is True
        assert hook["client_id"] == connected.account["client_id"]  # the store's own account
        assert hook["headers"] == {services.ACCOUNT_HEADER: services.account_key(connected.account["access_token"])}
    registration = HookRegistration.objects.get(store=connected.store)
    assert registration.hooks == {scope: hook[0]["id"] for scope, hook in hooks.items()}
    assert registration.registered_at is not None and registration.last_error == ""


def test_registering_twice_still_leaves_one_hook_per_scope(connected):
    tasks.register_hooks(connected.store.pk)
    first = {h["id"] for h in connected.hooks()}
    tasks.register_hooks(connected.store.pk)
    assert {h["id"] for h in connected.hooks()} == first
    assert all(len(v) == 1 for v in by_scope(connected.hooks()).values())


def test_a_moved_portal_updates_its_hooks_in_place(connected, settings):
    tasks.register_hooks(connected.store.pk)
    first = {h["id"] for h in connected.hooks()}
    settings.PUBLIC_BASE_URL = "http://127.0.0.2:9"
    tasks.register_hooks(connected.store.pk)
    hooks = connected.hooks()
    assert {h["id"] for h in hooks} == first
    assert {h["destination"] for h in hooks} == {f"http://127.0.0.2:9/bigcommerce/webhooks/{connected.hash}/"}


def test_replacing_the_credentials_registers_through_the_new_account(
    connected, monkeypatch, django_capture_on_commit_callbacks
):
    tasks.register_hooks(connected.store.pk)
    new = connected.sandbox.control.add_account(connected.hash)
    credentials = Credentials(connected.hash, new["access_token"], new["client_id"], new["client_secret"])
    report, _ = verify_credentials(credentials)
    queued = []
    monkeypatch.setattr("storehooks.tasks.register_hooks.delay", lambda *args: queued.append(args))
    with django_capture_on_commit_callbacks(execute=True):
        store_services.store_replace_credentials(store=connected.store, credentials=credentials, report=report)
    assert queued == [(connected.store.pk,)]
    tasks.register_hooks(connected.store.pk)
    mine = [h for h in connected.hooks() if h["client_id"] == new["client_id"]]
    assert {h["scope"] for h in mine} == SCOPES


def test_disconnecting_removes_our_hooks_at_the_sandbox(connected, django_capture_on_commit_callbacks):
    tasks.register_hooks(connected.store.pk)
    own = requests.post(
        f"{connected.sandbox.api(connected.hash)}/hooks",
        timeout=5,
        headers={"X-Auth-Token": connected.account["access_token"]},
        json={"scope": "store/order/created", "destination": "https://merchant.example/h"},
    )
    assert own.status_code == 200
    assert len(connected.hooks()) == 3
    with django_capture_on_commit_callbacks(execute=True):  # the hooks go after the disconnect commits
        store_services.store_disconnect(store=connected.store)
    assert [h["id"] for h in connected.hooks()] == [own.json()["data"]["id"]]  # the merchant's own stays
    assert Store.objects.get(pk=connected.store.pk).status == "disconnected"
    assert HookRegistration.objects.get(store=connected.store).hooks == {}


def test_disconnecting_calls_bigcommerce_only_after_the_row_lock_is_released(
    transactional_db, connected, monkeypatch
):
    """The hooks' removal waits on BigCommerce (up to its timeout): never inside
    the disconnect's transaction, which holds the store's row lock."""
    tasks.register_hooks(connected.store.pk)
    real_run = registration.bigcommerce_api.run
    in_transaction: list[bool] = []

    def watching(*args, **kwargs):
        in_transaction.append(connection.in_atomic_block)
        return real_run(*args, **kwargs)

    monkeypatch.setattr(registration.bigcommerce_api, "run", watching)
    store_services.store_disconnect(store=connected.store)  # no outer transaction: a real commit
    assert in_transaction == [False]
    assert connected.hooks() == []
    assert not Credential.objects.filter(store=connected.store).exists()
    assert HookRegistration.objects.get(store=connected.store).hooks == {}


def test_a_slow_bigcommerce_never_blocks_the_disconnect(connected, django_capture_on_commit_callbacks, settings):
    tasks.register_hooks(connected.store.pk)
    settings.BIGCOMMERCE_WEBHOOKS_CLEANUP_TIMEOUT_SECONDS = 0.5
    connected.sandbox.control.add_fault(connected.hash, "slow", seconds=5, count=1)
    began = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True):  # the hooks go after the disconnect commits
        store_services.store_disconnect(store=connected.store)
    assert time.monotonic() - began < 2
    assert Store.objects.get(pk=connected.store.pk).status == "disconnected"
    registration = HookRegistration.objects.get(store=connected.store)
    assert "Removing the hooks failed" in registration.last_error and "timeout" in registration.last_error


def test_a_failing_bigcommerce_never_fails_the_disconnect(connected, django_capture_on_commit_callbacks):
    tasks.register_hooks(connected.store.pk)
    connected.sandbox.control.revoke(connected.account["client_id"])  # 401 from now on
    with django_capture_on_commit_callbacks(execute=True):  # the hooks go after the disconnect commits
        store_services.store_disconnect(store=connected.store)
    assert Store.objects.get(pk=connected.store.pk).status == "disconnected"


def test_disconnect_cleans_up_even_after_webhooks_were_switched_off(
    connected, django_capture_on_commit_callbacks, settings
):
    tasks.register_hooks(connected.store.pk)
    settings.BIGCOMMERCE_WEBHOOKS_ENABLED = False
    with django_capture_on_commit_callbacks(execute=True):  # the hooks go after the disconnect commits
        store_services.store_disconnect(store=connected.store)
    assert connected.hooks() == []


def test_a_revoked_account_is_recorded_and_not_retried(connected):
    connected.sandbox.control.revoke(connected.account["client_id"])
    connected.sandbox.control.clear_log()
    tasks.register_hooks.apply(args=[connected.store.pk])
    registration = HookRegistration.objects.get(store=connected.store)
    assert registration.last_error == "GET /v3/hooks?limit=250&page=1 -> 401"
    assert registration.registered_at is None
    assert len(connected.sandbox.control.log(store_hash=connected.hash)) == 1


def test_a_store_in_maintenance_is_retried(connected):
    connected.sandbox.control.set_maintenance(connected.hash)
    connected.sandbox.control.clear_log()
    tasks.register_hooks.apply(args=[connected.store.pk])  # eager: retries run at once
    assert len(connected.sandbox.control.log(store_hash=connected.hash)) == 1 + tasks.register_hooks.max_retries
    assert "-> 503" in HookRegistration.objects.get(store=connected.store).last_error
    connected.sandbox.control.set_maintenance(connected.hash, False)
    tasks.register_hooks(connected.store.pk)
    assert HookRegistration.objects.get(store=connected.store).last_error == ""


def test_hooks_registered_while_the_store_was_disconnected_are_taken_back(connected, monkeypatch):
    real_ensure = registration.bigcommerce_api.ensure_hooks

    def ensure_then_disconnect(*args, **kwargs):
        result = real_ensure(*args, **kwargs)
        store_services.store_disconnect(store=connected.store)  # races the registration
        return result

    monkeypatch.setattr(registration.bigcommerce_api, "ensure_hooks", ensure_then_disconnect)
    assert services.hooks_register(store_id=connected.store.pk) is None
    assert connected.hooks() == []


@pytest.mark.parametrize("enabled", [True, False])
def test_the_setting_follows_public_base_url(enabled, monkeypatch):
    import importlib

    import config.settings as module

    monkeypatch.setenv("PUBLIC_BASE_URL", "https://connect.violet.io" if enabled else "http://127.0.0.1:8000")
    monkeypatch.delenv("BIGCOMMERCE_WEBHOOKS_ENABLED", raising=False)
    try:
        assert importlib.reload(module).BIGCOMMERCE_WEBHOOKS_ENABLED is enabled
    finally:
        monkeypatch.undo()
        importlib.reload(module)


def test_an_undecryptable_token_is_recorded_not_raised(connected, settings):
    settings.FERNET_KEYS = ["a-key-that-never-encrypted-anything"]
    assert services.hooks_register(store_id=connected.store.pk) is None
    assert HookRegistration.objects.get(store=connected.store).last_error == ("The Access token cannot be decrypted.")
    assert connected.hooks() == []


def test_a_broker_outage_never_fails_a_connect(
    acme, bc, webhooks_on, monkeypatch, caplog, django_capture_on_commit_callbacks
):
    shop = connect_store(acme, bc, monkeypatch, django_capture_on_commit_callbacks)

    def down(*args):
        raise ConnectionError("broker down")

    monkeypatch.setattr("storehooks.tasks.register_hooks.delay", down)
    with django_capture_on_commit_callbacks(execute=True):
        store_services.store_replace_credentials(
            store=shop.store, credentials=shop.credentials, report=verify_credentials(shop.credentials)[0]
        )
    assert "webhook registration not queued: ConnectionError" in caplog.text
