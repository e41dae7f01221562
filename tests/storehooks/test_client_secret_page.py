"""What the merchant's store page and the staff console say about the Client secret."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from config import crypto
from storehooks.models import HookRegistration, JunkDeliveryCount, WebhookDelivery
from stores import services as store_services
from stores.models import Credential
from tests.conftest import ACME_CLIENT_ID, ACME_SECRET, ACME_TOKEN, client_for
from tests.connect.test_wizard import assert_no_secret
from tests.reports import credentials, report
from tests.storehooks.conftest import deliver, deliver_event, event, signed_headers

SECRETS = (ACME_SECRET, ACME_TOKEN, ACME_CLIENT_ID)


@pytest.fixture(autouse=True)
def _no_queue(monkeypatch):
    monkeypatch.setattr("storehooks.tasks.process_delivery.delay", lambda *args: None)
    monkeypatch.setattr("storehooks.tasks.register_hooks.delay", lambda *args: None)


def store_page(user, store) -> str:
    response = client_for(user).get(reverse("connect:store_detail", args=["acme", store.store_hash]))
    assert response.status_code == 200
    body = response.content.decode()
    assert_no_secret(body, SECRETS)
    return body


def bad_delivery(store, *, from_our_hook: bool = True):
    """A delivery signed with another key; from one of Violet's hooks on this
    store's API account (it carries X-Violet-Account), or forged by anyone."""
    from storehooks.services import ACCOUNT_HEADER, account_key

    body = json.dumps(event(store.store_hash)).encode()
    headers = signed_headers("f" * 64, body)
    if from_our_hook:
        headers[ACCOUNT_HEADER] = account_key(Credential.objects.get(store=store).access_token)
    return deliver(store.store_hash, body, headers)


def test_forged_deliveries_never_make_it_look_wrong(alice, acme_store, settings):
    settings.BIGCOMMERCE_WEBHOOKS_ENABLED = True
    for _ in range(5):
        bad_delivery(acme_store, from_our_hook=False)
    assert "looks wrong" not in store_page(alice, acme_store)
    # Counted as junk (anyone can post them), not recorded one by one.
    assert JunkDeliveryCount.objects.get(reason="unattributed").count == 5


def test_without_webhooks_the_secret_is_checked_by_format_only(alice, acme_store, settings):
    settings.BIGCOMMERCE_WEBHOOKS_ENABLED = False
    body = store_page(alice, acme_store)
    assert "Client secret checked by format only: no BigCommerce API call can verify it." in body


def test_with_webhooks_it_waits_for_the_first_signed_delivery(alice, acme_store, settings):
    settings.BIGCOMMERCE_WEBHOOKS_ENABLED = True
    body = store_page(alice, acme_store)
    assert "Client secret checked by format only, until BigCommerce's first signed webhook" in body


@pytest.mark.parametrize("who", ["alice", "bob"])
def test_a_signed_delivery_proves_it_to_owners_and_members(request, who, acme_store, settings):
    settings.BIGCOMMERCE_WEBHOOKS_ENABLED = True
    assert deliver_event(acme_store.store_hash, ACME_SECRET).status_code == 200
    proven_at = Credential.objects.get(store=acme_store).client_secret_verified_at
    body = store_page(request.getfixturevalue(who), acme_store)
    assert "Client secret proven by a signed delivery on" in body
    assert proven_at.isoformat(timespec="seconds")[:16] in body  # <time datetime="...">
    assert "format only" not in body


def test_three_failures_in_a_row_make_it_look_wrong(alice, acme_store, settings):
    settings.BIGCOMMERCE_WEBHOOKS_ENABLED = True
    bad_delivery(acme_store)
    bad_delivery(acme_store)
    assert "looks wrong" not in store_page(alice, acme_store)
    bad_delivery(acme_store)
    body = store_page(alice, acme_store)
    assert "The Client secret looks wrong." in body
    assert "The last 3 webhook deliveries BigCommerce signed for this store do not match it" in body


def test_other_rejections_do_not_count_against_the_secret(alice, acme_store, settings):
    settings.BIGCOMMERCE_WEBHOOKS_ENABLED = True
    for _ in range(3):
        deliver(acme_store.store_hash, b"{}", {})  # unsigned: noise, not a wrong secret
    assert "looks wrong" not in store_page(alice, acme_store)


def test_a_proven_secret_is_not_unproven_by_later_forgeries(alice, acme_store, settings):
    settings.BIGCOMMERCE_WEBHOOKS_ENABLED = True
    deliver_event(acme_store.store_hash, ACME_SECRET)
    for _ in range(5):
        bad_delivery(acme_store)
    assert "Client secret proven by a signed delivery" in store_page(alice, acme_store)


def test_failures_before_the_credentials_were_replaced_do_not_count(
    alice, acme_store, settings, django_capture_on_commit_callbacks
):
    settings.BIGCOMMERCE_WEBHOOKS_ENABLED = True
    for _ in range(3):
        bad_delivery(acme_store)
    assert "looks wrong" in store_page(alice, acme_store)
    WebhookDelivery.objects.update(received_at=timezone.now() - timedelta(minutes=1))
    with django_capture_on_commit_callbacks(execute=True):
        store_services.store_replace_credentials(
            store=acme_store,
            credentials=credentials("acme123"),
            report=report(store_hash="acme123"),
        )
    assert "Client secret checked by format only" in store_page(alice, acme_store)


def test_replacing_the_credentials_forgets_the_old_proof(
    alice, acme_store, settings, django_capture_on_commit_callbacks
):
    settings.BIGCOMMERCE_WEBHOOKS_ENABLED = True
    deliver_event(acme_store.store_hash, ACME_SECRET)
    with django_capture_on_commit_callbacks(execute=True):
        store_services.store_replace_credentials(
            store=acme_store,
            credentials=credentials("acme123"),
            report=report(store_hash="acme123"),
        )
    assert Credential.objects.get(store=acme_store).client_secret_verified_at is None
    assert "Client secret checked by format only" in store_page(alice, acme_store)
    # The new secret is proven by its own first delivery.
    deliver_event(acme_store.store_hash, "ab" * 32)
    assert "Client secret proven by a signed delivery" in store_page(alice, acme_store)


def test_a_disconnected_store_says_nothing_about_a_secret(alice, acme_store):
    store_services.store_disconnect(store=acme_store)
    assert "Client secret" not in store_page(alice, acme_store)


@pytest.fixture
def decrypted(monkeypatch):
    """The models whose encrypted values were decrypted."""
    seen: list[str] = []
    original = crypto.EncryptedTextField.from_db_value

    def spy(self, value, *args):
        if value is not None:
            seen.append(self.model.__name__)
        return original(self, value, *args)

    monkeypatch.setattr(crypto.EncryptedTextField, "from_db_value", spy)
    return seen


def test_the_pages_never_decrypt_a_credential(alice, acme_store, settings, decrypted):
    settings.BIGCOMMERCE_WEBHOOKS_ENABLED = True
    decrypted.clear()
    store_page(alice, acme_store)
    assert decrypted == []


def test_staff_see_registrations_deliveries_and_the_secrets_state(acme_store, settings, decrypted):
    from merchants.models import User

    settings.BIGCOMMERCE_WEBHOOKS_ENABLED = True
    root = User.objects.create_superuser(email="root@violet.test", password="x")
    HookRegistration.objects.create(
        store=acme_store,
        destination="https://c.test/bigcommerce/webhooks/acme123/",
        hooks={"store/app/uninstalled": 7},
        registered_at=timezone.now(),
    )
    deliver_event(acme_store.store_hash, ACME_SECRET)
    bad_delivery(acme_store)
    staff = client_for(root)
    registrations = staff.get(reverse("admin:storehooks_hookregistration_changelist")).content.decode()
    assert "proven by a signed delivery on" in registrations
    listing = staff.get(reverse("admin:storehooks_webhookdelivery_changelist")).content.decode()
    assert "store/information/updated" in listing and "Signed with another key" in listing
    delivery = WebhookDelivery.objects.filter(outcome="rejected").get()
    page = staff.get(reverse("admin:storehooks_webhookdelivery_change", args=[delivery.pk]))
    assert page.status_code == 200
    assert "Credential" in decrypted  # the receiver decrypted the secret to verify...
    decrypted.clear()
    for url in (
        reverse("admin:storehooks_hookregistration_changelist"),
        reverse("admin:storehooks_webhookdelivery_changelist"),
    ):
        assert staff.get(url).status_code == 200
    assert decrypted == []  # ...the staff pages never do
    for text in (registrations, listing, page.content.decode()):
        assert_no_secret(text, SECRETS)
