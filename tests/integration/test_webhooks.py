"""Webhooks end to end with real services: the sandbox sends signed deliveries
to the portal (`live_server`), a real Celery worker on Redis registers the
hooks, re-reads the profile and checks the store, all on PostgreSQL."""

from __future__ import annotations

import json
import time

import pytest

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


def test_the_plan_changes_at_bigcommerce_and_the_portal_follows(celery, sandbox, live_server, settings):
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

    # The worker registers the hooks through the store's own API account.
    hooks = wait_for(
        lambda: len(sandbox.control.hooks(store_hash)) == 2 and sandbox.control.hooks(store_hash),
        what="hooks registered by the worker",
    )
    assert sorted(h["scope"] for h in hooks) == SCOPES
    assert HookRegistration.objects.get(store=store).registered_at is not None

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
    for secret in (account["access_token"], account["client_secret"], account["client_id"]):
        for piece in slices(secret):
            assert piece not in worker_log and piece not in records
