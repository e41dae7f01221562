"""Webhooks end to end with real services: the sandbox sends signed deliveries
to the portal (`live_server`), a real Celery worker on Redis registers the
hooks, re-reads the profile and checks the store, all on PostgreSQL."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from celery import current_app
from django.utils import timezone

from merchants.models import Membership, Merchant, User
from storehooks.models import HookRegistration, WebhookDelivery
from stores import services
from stores.bigcommerce.report import Credentials
from stores.models import Check, Credential, Store
from stores.verification import verify_credentials
from tests.integration.conftest import wait_for

pytestmark = pytest.mark.integration

SCOPES = ["store/app/uninstalled", "store/information/updated"]


def slices(secret: str) -> list[str]:
    return [secret[i : i + 8] for i in range(len(secret) - 7)]


def _connected_with_hooks(celery, sandbox, live_server, settings) -> tuple[Store, str, dict]:
    """A real worker with webhooks on, and a store connected through it: the
    worker registers the store's hooks through its own API account. The
    store, its hash and its API account."""
    sandbox.control.settings(allow_http_webhooks=True)
    settings.PUBLIC_BASE_URL = live_server.url
    settings.BIGCOMMERCE_WEBHOOKS_ENABLED = True
    celery.env.update(PUBLIC_BASE_URL=live_server.url, BIGCOMMERCE_WEBHOOKS_ENABLED="true")
    celery.start_worker()

    merchant = Merchant.objects.create(name="Acme", slug="acme")
    owner = User.objects.create_user(email="alice@acme.test", password="x")
    Membership.objects.create(merchant=merchant, user=owner, role="owner")
    created = sandbox.control.add_store(
        profile={"name": "Acme Outfitters", "plan_name": "Standard", "plan_level": "Standard"}
    )
    store_hash = created["store_hash"]
    account = sandbox.control.add_account(store_hash)
    credentials = Credentials(store_hash, account["access_token"], account["client_id"], account["client_secret"])
    report, _ = verify_credentials(credentials)
    store = services.store_connect(merchant=merchant, credentials=credentials, report=report)

    hooks = wait_for(
        lambda: len(sandbox.control.hooks(store_hash)) == 2 and sandbox.control.hooks(store_hash),
        what="hooks registered by the worker",
    )
    assert sorted(h["scope"] for h in hooks) == SCOPES
    # The worker records the registration after BigCommerce answered: the hooks
    # can be seen at the sandbox a moment before that row commits.
    wait_for(
        lambda: HookRegistration.objects.filter(store=store, registered_at__isnull=False).exists(),
        what="the worker's record of the registration",
    )
    return store, store_hash, account


def _assert_no_secret_in(account: dict, *texts: str) -> None:
    """No 8-character slice of the account's token, secret or client id in any of `texts`."""
    for secret in (account["access_token"], account["client_secret"], account["client_id"]):
        for piece in slices(secret):
            assert not any(piece in text for text in texts)


def test_the_plan_changes_at_bigcommerce_and_the_portal_follows(celery, sandbox, live_server, settings):
    store, store_hash, account = _connected_with_hooks(celery, sandbox, live_server, settings)

    # The plan changes at BigCommerce: the portal's profile follows within seconds.
    began = time.monotonic()
    sandbox.control.update_profile(store_hash, plan_name="Pro", plan_level="Pro")
    wait_for(
        lambda: Store.objects.get(pk=store.pk).plan_name == "Pro",
        timeout=15,
        what="the profile to follow",
    )
    assert time.monotonic() - began < 15
    delivery = wait_for(
        lambda: WebhookDelivery.objects.filter(
            store=store, scope="store/information/updated", processed_at__isnull=False
        ).first(),
        what="the delivery's processing to be recorded",
    )
    assert delivery.outcome == "accepted"
    assert delivery.result["changes"]["plan_name"] == ["Standard", "Pro"]
    assert Credential.objects.get(store=store).client_secret_verified_at is not None

    # Uninstalled: the worker checks the store at once.
    sandbox.control.send_webhook(store_hash, "store/app/uninstalled")
    wait_for(
        lambda: Check.objects.filter(store=store, trigger="webhook").exists(),
        timeout=20,
        what="a check triggered by the webhook",
    )

    # Disconnecting removes the hooks at BigCommerce.
    services.store_disconnect(store=store)
    assert sandbox.control.hooks(store_hash) == []

    # Nothing secret in the worker's log or the delivery records.
    records = json.dumps(list(WebhookDelivery.objects.values()), default=str)
    worker_log = celery.log("worker")
    assert "storehooks.process_delivery" in worker_log
    _assert_no_secret_in(account, worker_log, records)


def test_the_keep_alive_sweep_on_a_real_worker_revives_hooks_bigcommerce_switched_off(
    celery, sandbox, live_server, settings
):
    """90 days without events: BigCommerce deactivates both hooks and e-mails the
    owner, not us. Beat's `storehooks.keep_hooks_alive`, run by a real worker
    from Redis, re-activates them through the store's own API account."""
    store, store_hash, account = _connected_with_hooks(celery, sandbox, live_server, settings)
    registered = {h["scope"]: h["id"] for h in sandbox.control.hooks(store_hash)}
    emails = sandbox.control.advance_clock(91 * 24 * 3600)
    assert sorted(e["scope"] for e in emails if e["store_hash"] == store_hash) == SCOPES
    assert not any(h["is_active"] for h in sandbox.control.hooks(store_hash))
    # Its last sweep (at registration) is older than the sweep interval.
    long_ago = timezone.now() - timedelta(days=settings.BIGCOMMERCE_WEBHOOKS_SWEEP_INTERVAL_DAYS + 1)
    HookRegistration.objects.filter(store=store).update(swept_at=long_ago)

    current_app.send_task("storehooks.keep_hooks_alive")  # what beat sends every 15 minutes

    wait_for(
        lambda: all(h["is_active"] for h in sandbox.control.hooks(store_hash)),
        what="the worker's sweep to re-activate the hooks",
    )
    registration = wait_for(
        lambda: HookRegistration.objects.filter(store=store, swept_at__gt=long_ago, sweep_claimed_until=None).first(),
        what="the sweep to be recorded",
    )
    assert registration.hook_states == dict.fromkeys(SCOPES, "inactive")
    changes = registration.sweep_changes
    assert sorted(changes.pop("reactivated")) == SCOPES and changes == {}  # nothing else changed
    assert registration.sweep_error == ""
    # The same hooks, re-activated: none re-created, none left over.
    assert {h["scope"]: h["id"] for h in sandbox.control.hooks(store_hash)} == registered
    worker_log = celery.log("worker")
    assert "storehooks.keep_hooks_alive" in worker_log
    _assert_no_secret_in(account, worker_log)
