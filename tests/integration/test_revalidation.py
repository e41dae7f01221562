"""Revalidation end to end: a real worker and beat, Redis, PostgreSQL and the sandbox."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask
from standardwebhooks.webhooks import Webhook

from merchants.models import Membership, Merchant, User
from notifications.models import Notification, WebhookEndpoint
from stores import services
from stores.bigcommerce.report import Credentials
from stores.models import Check, StatusChange, Store
from stores.verification import verify_credentials
from tests.integration.conftest import wait_for

pytestmark = pytest.mark.integration

REQUIRED = [
    "store_v2_customers",
    "store_v2_information_read_only",
    "store_v2_orders",
    "store_v2_products_read_only",
    "store_cart",
    "store_checkout",
]


def every_second(task: str) -> None:
    schedule, _ = IntervalSchedule.objects.get_or_create(every=1, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.filter(task=task).update(interval=schedule)


@pytest.fixture
def world(celery, sandbox, webhook_receiver):
    """A connected store, a webhook endpoint, worker and beat running."""
    merchant = Merchant.objects.create(name="Acme", slug="acme")
    owner = User.objects.create_user(email="alice@acme.test", password="x")
    Membership.objects.create(merchant=merchant, user=owner, role="owner")
    created = sandbox.control.add_store(profile={"name": "Acme Outfitters", "plan_name": "Plus"})
    store_hash = created["store_hash"]
    account = sandbox.control.add_account(store_hash, REQUIRED)
    credentials = Credentials(store_hash, account["access_token"], account["client_id"], account["client_secret"])
    report, _ = verify_credentials(credentials)
    assert report.ok, report.to_dict()
    store = services.store_connect(merchant=merchant, credentials=credentials, report=report)
    StatusChange.objects.update(processed_at=timezone.now())  # the connection is old news
    endpoint = WebhookEndpoint.objects.create(name="core", url=webhook_receiver.url)
    every_second("stores.dispatch_due_checks")
    every_second("notifications.dispatch")
    celery.start_worker()
    celery.start_beat()
    return {"store": store, "account": account, "credentials": credentials, "endpoint": endpoint}


def make_due(store: Store) -> None:
    Store.objects.filter(pk=store.pk).update(next_check_at=timezone.now())


def make_scopes_due(store: Store) -> None:
    """Due, and its scopes due for a full check (as a day after the last one):
    a light check (GET /v2/store) cannot see a removed Checkouts scope."""
    Store.objects.filter(pk=store.pk).update(next_check_at=timezone.now(), scopes_verified_at=None)


def last_checked(store: Store):
    return Store.objects.values_list("last_checked_at", flat=True).get(pk=store.pk)


def status_of(store: Store) -> str:
    return Store.objects.values_list("status", flat=True).get(pk=store.pk)


def checks_of(store: Store) -> int:
    return Check.objects.filter(store=store).count()


def emails(celery, needle: str) -> list[str]:
    """The messages (not the files) that contain `needle`. Django's file
    backend writes each connection's messages to one file, and two connections
    opened in the same second may share a file name (it ends with the
    backend's id()): one file can then hold the owner's and staff's e-mails."""
    texts = [path.read_text() for path in celery.mail_dir.glob("*.log")]
    return [message for text in texts for message in text.split("-" * 79) if needle in message]


def test_revocation_recovery_scopes_maintenance_and_outage(world, celery, sandbox, webhook_receiver):
    store, account, endpoint = world["store"], world["account"], world["endpoint"]

    # 1. The API account is deleted: revoked, confirmed by a re-check, announced once.
    sandbox.control.revoke(account["client_id"])
    make_due(store)
    wait_for(lambda: status_of(store) == "revoked", what="revoked", timeout=40)
    revoked = wait_for(lambda: webhook_receiver.events("store.revoked"), what="revoked webhook")
    assert Check.objects.filter(store=store, outcome="invalid_token").count() >= 2  # confirmed
    request = next(r for r in webhook_receiver.received if b"store.revoked" in r.body)
    verified = Webhook(endpoint.secret).verify(request.body, request.headers)
    assert verified["data"]["store_hash"] == store.store_hash
    wait_for(lambda: len(emails(celery, "Violet lost access")) >= 2, what="owner and staff emails")
    time.sleep(3)  # any duplicate would have arrived by now
    assert len(webhook_receiver.events("store.revoked")) == 1 == len(revoked)
    owner_mails = [m for m in emails(celery, "Violet lost access") if "alice@acme.test" in m]
    assert len(owner_mails) == 1
    assert world["credentials"].access_token not in "".join(emails(celery, ""))

    # 2. The token comes back (same values): the store recovers.
    sandbox.control.add_account(
        store.store_hash,
        REQUIRED,
        access_token=account["access_token"],
        client_id=account["client_id"],
        client_secret=account["client_secret"],
    )
    make_due(store)
    wait_for(lambda: status_of(store) == "connected", what="recovered")
    wait_for(lambda: webhook_receiver.events("store.recovered"), what="recovered webhook")

    # 3. A scope is removed: missing_scopes, naming it.
    sandbox.control.set_scopes(account["client_id"], [s for s in REQUIRED if s != "store_checkout"])
    make_scopes_due(store)
    wait_for(lambda: status_of(store) == "missing_scopes", what="missing scopes")
    assert Store.objects.get(pk=store.pk).missing_scopes == ["store_checkout"]
    event = wait_for(lambda: webhook_receiver.events("store.missing_scopes"), what="missing scopes webhook")[0]
    assert event["data"]["missing_scopes"] == [{"scope": "store_checkout", "label": "Checkouts: modify"}]
    sandbox.control.set_scopes(account["client_id"], REQUIRED)
    make_due(store)
    wait_for(lambda: status_of(store) == "connected", what="connected again")

    # 4. Maintenance: store_unavailable, not revoked.
    sandbox.control.set_maintenance(store.store_hash, True)
    make_due(store)
    wait_for(lambda: status_of(store) == "store_unavailable", what="unavailable")
    sandbox.control.set_maintenance(store.store_hash, False)
    make_due(store)
    wait_for(lambda: status_of(store) == "connected", what="back from maintenance")

    # 5. A passing outage (every request fails for two checks) flags nothing.
    changes_before = StatusChange.objects.filter(store=store).count()
    sandbox.control.add_fault(store.store_hash, "error", status=502, count=10_000)
    for _ in range(2):
        before = checks_of(store)
        make_due(store)
        wait_for(lambda before=before: checks_of(store) > before, what="a failed check", timeout=60)
    assert Check.objects.filter(store=store).first().outcome == "unreachable"
    assert Store.objects.get(pk=store.pk).failure_count == 2
    sandbox.control.clear_faults(store.store_hash)
    before = checks_of(store)
    make_due(store)
    wait_for(lambda: checks_of(store) > before, what="a good check")
    fresh = Store.objects.get(pk=store.pk)
    assert fresh.status == "connected" and fresh.failure_count == 0
    assert StatusChange.objects.filter(store=store).count() == changes_before

    # Nothing was announced twice, and no probe ever created anything.
    time.sleep(2)
    ids = [r.headers.get("webhook-id") for r in webhook_receiver.received]
    assert len(ids) == len(set(ids))
    assert Notification.objects.filter(state="delivered").count() == Notification.objects.count()
    assert sandbox.control.created(store.store_hash) == []


@pytest.mark.parametrize("victim", ["pool child", "whole worker"])
def test_a_worker_killed_mid_check_loses_no_check_and_leaves_no_store_stuck(world, celery, sandbox, victim):
    """Two nets catch a lost check: the broker redelivers an unacknowledged
    message (late acks), and failing that, the claim's lease runs out and the
    dispatcher claims the store again. Either way the check is redone."""
    store = world["store"]
    sandbox.control.set_latency(store.store_hash, 4000)
    # A healthy light check writes no Check row: "checked" is the store's
    # last_checked_at moving on.
    before = last_checked(store)
    make_due(store)
    # Wait until the check is in flight at the sandbox, then kill.
    wait_for(lambda: sandbox.control.stats()["in_flight"] > 0, what="a check in flight")
    time.sleep(1.5)
    assert last_checked(store) == before  # still in flight
    if victim == "pool child":
        for pid in celery.children("worker"):
            import os
            import signal

            os.kill(pid, signal.SIGKILL)
    else:
        celery.kill("worker")
        celery.start_worker("worker2")
    sandbox.control.set_latency(store.store_hash, 0)
    wait_for(lambda: last_checked(store) != before, what="the check redone after the kill", timeout=90)
    fresh = Store.objects.get(pk=store.pk)
    assert fresh.claim_token == "" and fresh.claimed_until is None
    # The next regular check (15 minutes ± jitter), not a retry (2 minutes).
    assert fresh.next_check_at > timezone.now() + timedelta(minutes=10)
    assert fresh.status == "connected"
    assert StatusChange.objects.filter(store=store, processed_at__isnull=True).count() == 0
