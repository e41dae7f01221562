"""The `refused` status (BigCommerce refuses our requests, not for a scope) reaches
everywhere statuses are listed: staff and merchant e-mails, the store page's
guidance, the console's badges, the JSON API."""

import pytest
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from api.tokens import api_token_issue
from connect.guidance import for_store
from console.display import OUTCOME_TONE, STATUS_TONE
from merchants.models import User
from notifications import services
from notifications.events import EVENT_BY_STATUS, EVENT_TYPES
from stores import services as store_services
from stores.bigcommerce.report import Outcome
from stores.models import StatusChange, Store
from stores.status import BROKEN_STATUSES, StoreStatus
from tests.conftest import client_for
from tests.reports import credentials, report


@pytest.fixture
def store(acme, alice, bob):
    store = store_services.store_connect(merchant=acme, credentials=credentials(), report=report())
    StatusChange.objects.update(processed_at=timezone.now())
    return store


def refuse(store, outcome=Outcome.FORBIDDEN):
    for _ in range(2):  # seen, then confirmed by the re-check
        store_services.store_record_check(
            store_id=store.pk, report=report(outcome), trigger="schedule", started_at=timezone.now(), duration_ms=1
        )
    return Store.objects.get(pk=store.pk)


@override_settings(STAFF_NOTIFICATION_EMAILS=["oncall@violet.test"])
@pytest.mark.parametrize("outcome", [Outcome.FORBIDDEN, Outcome.CREDENTIALS_REJECTED])
def test_a_confirmed_refusal_tells_staff_and_never_sends_the_merchant_for_a_new_account(store, mailoutbox, outcome):
    refused = refuse(store, outcome)
    assert refused.status == StoreStatus.REFUSED
    services.status_changes_process()
    services.notifications_deliver_due()

    staff_mail = next(m for m in mailoutbox if m.to == ["oncall@violet.test"])
    assert "Refused by BigCommerce" in staff_mail.body and "[acme123]" in staff_mail.subject
    owner_mail = next(m for m in mailoutbox if m.to == ["alice@acme.test"])
    assert "refuses Violet's requests" in owner_mail.subject
    assert "a new API account would not help" in owner_mail.body
    assert "Create an API account" not in owner_mail.body
    assert "Settings → API → Store-level API accounts" not in owner_mail.body


def test_the_store_page_says_what_to_try_without_a_new_account(store, alice):
    refused = refuse(store)
    guidance = for_store(refused)
    assert not guidance.needs_new_account
    assert "another reason than a missing scope" in guidance.headline
    assert "A new API account would not help" in guidance.what_to_do
    assert "Create a new API account" not in guidance.what_to_do
    body = client_for(alice).get(reverse("connect:store_detail", args=["acme", "acme123"])).content.decode()
    assert "another reason than a missing scope" in body
    assert "badge-refused" in body


def test_every_status_is_listed_everywhere():
    for status in StoreStatus:
        assert status in STATUS_TONE, status
    assert StoreStatus.REFUSED in BROKEN_STATUSES
    assert EVENT_BY_STATUS[StoreStatus.REFUSED] == "store.refused" and "store.refused" in EVENT_TYPES
    assert "store.refused" in services.MERCHANT_EVENTS and "store.refused" in services.STAFF_EVENTS
    for outcome in Outcome:
        assert str(outcome) in OUTCOME_TONE, outcome


def test_the_json_api_filters_refused_stores(store, db):
    refuse(store)
    # A token works while its creator may create tokens (a superuser here).
    staff = User.objects.create_superuser(email="ops@violet.test", password="x")
    _, raw = api_token_issue(name="Dashboards", created_by=staff)
    api = Client(headers={"Authorization": f"Bearer {raw}"})
    listed = api.get(reverse("api:store_list"), {"status": "refused"}).json()
    assert [s["store_hash"] for s in listed["results"]] == ["acme123"]
    assert listed["results"][0]["status_label"] == "Refused by BigCommerce"
    broken = api.get(reverse("api:store_list"), {"status": "broken"}).json()
    assert [s["store_hash"] for s in broken["results"]] == ["acme123"]
