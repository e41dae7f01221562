"""A fleet-wide incident end to end (issue 26): a real worker and beat, Redis,
PostgreSQL and the sandbox. BigCommerce-wide maintenance opens an incident,
the confirming checks are held, maintenance ends, the incident closes by
itself, the held stores are checked again at once, and only the store whose
API account was deleted meanwhile is flagged (and only its owner hears)."""

from __future__ import annotations

import time

import pytest
from django.utils import timezone

from merchants.models import Membership, Merchant, User
from stores import services
from stores.bigcommerce.report import Credentials
from stores.models import Incident, StatusChange, Store
from stores.verification import verify_credentials
from tests.integration.conftest import wait_for
from tests.integration.test_revalidation import REQUIRED, emails, every_second

pytestmark = pytest.mark.integration


def make_all_due() -> None:
    Store.objects.update(next_check_at=timezone.now())


def checked_since(moment) -> int:
    return Store.objects.filter(last_checked_at__gt=moment).count()


def test_maintenance_everywhere_opens_one_incident_holds_every_store_and_catches_up(celery, sandbox):
    celery.env["INCIDENT_CLOSE_WINDOW_MINUTES"] = "1"
    stores, accounts = [], {}
    for m in range(3):
        merchant = Merchant.objects.create(name=f"Shop {m}", slug=f"shop-{m}")
        owner = User.objects.create_user(email=f"owner{m}@shop.test", password="x")
        Membership.objects.create(merchant=merchant, user=owner, role="owner")
        for _ in range(2):
            store_hash = sandbox.control.add_store(profile={"name": f"Shop {m}"})["store_hash"]
            account = sandbox.control.add_account(store_hash, REQUIRED)
            credentials = Credentials(
                store_hash, account["access_token"], account["client_id"], account["client_secret"]
            )
            report, _ = verify_credentials(credentials)
            assert report.ok, report.to_dict()
            stores.append(services.store_connect(merchant=merchant, credentials=credentials, report=report))
            accounts[store_hash] = account
    StatusChange.objects.update(processed_at=timezone.now())  # the connections are old news
    flips_before = StatusChange.objects.count()
    for task in ("stores.dispatch_due_checks", "notifications.dispatch", "stores.review_incidents"):
        every_second(task)
    celery.start_worker()
    celery.start_beat()

    # BigCommerce-wide maintenance: every store answers 503.
    sandbox.control.set_global_maintenance(True)
    make_all_due()
    incident = wait_for(lambda: Incident.objects.filter(kind="unavailable").first(), what="incident", timeout=40)
    # The confirming checks come and are held.
    for _ in range(2):
        moment = timezone.now()
        make_all_due()
        wait_for(lambda moment=moment: checked_since(moment) == len(stores), what="a round of checks", timeout=40)
    assert Store.objects.filter(held_by=incident).count() == len(stores)
    assert StatusChange.objects.count() == flips_before
    assert set(Store.objects.values_list("status", flat=True)) == {"connected"}
    wait_for(lambda: emails(celery, "A fleet-wide incident opened"), what="staff's incident mail", timeout=20)

    # One merchant deletes its API account meanwhile; then BigCommerce comes back.
    gone = stores[3]
    sandbox.control.revoke(accounts[gone.store_hash]["client_id"])
    sandbox.control.set_global_maintenance(False)
    # The review closes the incident once a minute's checks pass (the worker checks the due ones).
    deadline = time.monotonic() + 150
    while not Incident.objects.filter(pk=incident.pk, closed_at__isnull=False).exists():
        assert time.monotonic() < deadline, "the incident never closed"
        make_all_due()
        time.sleep(3)
    # Caught up: the deleted account is flagged, and nothing else.
    wait_for(lambda: Store.objects.get(pk=gone.pk).status == "revoked", what="the deleted account flagged", timeout=40)
    assert set(Store.objects.exclude(pk=gone.pk).values_list("status", flat=True)) == {"connected"}
    assert StatusChange.objects.count() == flips_before + 1
    assert StatusChange.objects.latest("id").store_id == gone.pk
    wait_for(lambda: emails(celery, "Violet lost access"), what="the owner's e-mail", timeout=30)
    owner_mails = [m for m in emails(celery, "Violet lost access") if "owner1@shop.test" in m]
    assert len(owner_mails) == 1
    assert not [m for m in emails(celery, "Violet lost access") if "owner0@shop.test" in m or "owner2@shop.test" in m]
    wait_for(lambda: emails(celery, "closed at"), what="staff's closing mail", timeout=20)
    assert len(emails(celery, "A fleet-wide incident opened")) == 1
