"""End to end on any database: the sandbox (thread mode) sends signed deliveries
to the portal served by `live_server`; Celery runs eagerly in the receiving
thread. (`tests/integration/test_webhooks.py` does the same with a real
worker on PostgreSQL and Redis.)"""

from __future__ import annotations

import json
import logging
import time

import pytest
from celery.app.task import Task
from django.urls import reverse

from config.celery import app as celery_app
from sandbox.testing import running_sandbox
from storehooks.models import WebhookDelivery
from stores import fleet
from stores import services as store_services
from stores.bigcommerce.report import Credentials
from stores.models import Check, Credential, Store
from stores.verification import verify_credentials
from tests.conftest import client_for
from tests.connect.test_wizard import assert_no_secret

pytestmark = pytest.mark.django_db(transaction=True)


def wait_for(condition, *, timeout: float = 10, what: str = ""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@pytest.fixture
def task_calls(settings, monkeypatch):
    """Celery runs eagerly; every task queued is recorded with its arguments."""
    settings.CELERY_TASK_ALWAYS_EAGER = True
    was_eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    calls: list[tuple[str, tuple, dict]] = []
    original = Task.apply_async

    def recording(self, args=None, kwargs=None, *rest, **options):
        calls.append((self.name, tuple(args or ()), dict(kwargs or {})))
        return original(self, args, kwargs, *rest, **options)

    monkeypatch.setattr(Task, "apply_async", recording)
    yield calls
    celery_app.conf.task_always_eager = was_eager
    # The eager check ran the fleet's engine in this process: close its pooled
    # connections (the transport opens a new session if it is used again).
    if fleet._engine._client is not None:
        fleet._engine.run(lambda client: client.aclose())


@pytest.fixture
def bc():
    with running_sandbox(fixture=None) as sandbox:
        sandbox.control.settings(allow_http_webhooks=True)
        yield sandbox


def test_the_sandbox_changes_the_plan_and_the_portal_follows(
    live_server, bc, task_calls, settings, acme, alice, caplog
):
    caplog.set_level(logging.DEBUG)
    settings.BIGCOMMERCE_API_URL = bc.url
    settings.PUBLIC_BASE_URL = live_server.url
    settings.BIGCOMMERCE_WEBHOOKS_ENABLED = True
    created = bc.control.add_store(
        profile={"name": "Acme Outfitters", "plan_name": "Standard", "plan_level": "Standard"}
    )
    store_hash = created["store_hash"]
    account = bc.control.add_account(store_hash)
    secrets = (account["access_token"], account["client_secret"], account["client_id"])
    credentials = Credentials(store_hash, account["access_token"], account["client_id"], account["client_secret"])
    report, _ = verify_credentials(credentials)
    store = store_services.store_connect(merchant=acme, credentials=credentials, report=report)

    # 1. Connecting registered the hooks (the task ran eagerly after the commit).
    hooks = bc.control.hooks(store_hash)
    assert sorted(h["scope"] for h in hooks) == [
        "store/app/uninstalled",
        "store/information/updated",
    ]
    assert {h["destination"] for h in hooks} == {f"{live_server.url}/bigcommerce/webhooks/{store_hash}/"}

    # 2. The plan changes in BigCommerce; the signed delivery makes the portal follow.
    began = time.monotonic()
    bc.control.update_profile(store_hash, plan_name="Pro", plan_level="Pro")
    wait_for(lambda: Store.objects.get(pk=store.pk).plan_name == "Pro", what="the plan to follow")
    assert time.monotonic() - began < 5
    [sent] = bc.control.wait_for_deliveries(store_hash, 1)
    assert sent["state"] == "delivered" and sent["attempts"][0]["status"] == 200
    delivery = WebhookDelivery.objects.get(webhook_id=sent["webhook_id"])
    assert delivery.outcome == "accepted"
    assert wait_for(lambda: WebhookDelivery.objects.get(pk=delivery.pk).result)["changes"] == {
        "plan_name": ["Standard", "Pro"],
        "plan_level": ["Standard", "Pro"],
    }
    assert Credential.objects.get(store=store).client_secret_verified_at is not None

    # 3. Uninstalled: the portal checks the store at once.
    bc.control.send_webhook(store_hash, "store/app/uninstalled")
    wait_for(
        lambda: Check.objects.filter(store=store, trigger="webhook").exists(),
        what="a webhook check",
    )

    # 4. A delivery signed with another key is recorded, not acted on, and still
    #    answered 200: a refusal would only make BigCommerce retry, then deactivate.
    bc.control.send_webhook(store_hash, "store/information/updated", signature="wrong_secret")
    bc.control.wait_for_deliveries(store_hash, 3)
    forged = bc.control.deliveries(store_hash)[-1]
    assert forged["state"] == "delivered" and [a["status"] for a in forged["attempts"]] == [200]
    # The rejection is recorded after the answer is sent (tests/storehooks/test_receiver_timing.py).
    rejected = WebhookDelivery.objects.filter(store=store, outcome="rejected", reason="bad_signature")
    wait_for(lambda: rejected.count() == 1, what="the forged delivery recorded")

    # 5. The merchant sees the proof.
    page = client_for(alice).get(reverse("connect:store_detail", args=["acme", store_hash])).content.decode()
    assert "Client secret proven by a signed delivery on" in page and "Pro" in page

    # 6. Disconnecting removes the hooks at BigCommerce.
    store_services.store_disconnect(store=store)
    assert bc.control.hooks(store_hash) == []

    # No secret in any log line, page, delivery record or task argument.
    names = {name for name, _, _ in task_calls}
    assert {
        "storehooks.register_hooks",
        "storehooks.process_delivery",
        "stores.check_stores",
    } <= names
    records = json.dumps(list(WebhookDelivery.objects.values()), default=str)
    for text in (caplog.text, page, records, repr(task_calls)):
        assert_no_secret(text, secrets)
    # The sandbox's own record names the API account (client_id), never its token or secret.
    assert_no_secret(json.dumps(bc.control.deliveries()), secrets[:2])
