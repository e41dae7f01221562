"""Every staff console page, for a store whose secrets are known: no secret,
and no 8-character slice of one, in any response body or in any LogEntry;
and no admin page ever decrypts a Credential."""

from __future__ import annotations

from datetime import timedelta

import pytest
import responses
from django.contrib.admin.models import LogEntry
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from api.tokens import api_token_issue
from config import crypto
from merchants.models import Invitation
from merchants.services import invitation_create
from storehooks.models import HookRegistration, WebhookDelivery
from stores.models import Check, Credential, StatusChange
from tests.conftest import ACME_CLIENT_ID, ACME_SECRET, ACME_TOKEN, client_for
from tests.console.conftest import assert_no_secret
from tests.fake_bigcommerce import FakeBigCommerce


@pytest.fixture
def decryptions(monkeypatch):
    """The model of every encrypted value decrypted while the test runs."""
    seen: list[str] = []
    original = crypto.EncryptedTextField.from_db_value

    def spy(self, value, expression, connection, *args):
        if value is not None:
            seen.append(self.model.__name__)
        return original(self, value, expression, connection, *args)

    monkeypatch.setattr(crypto.EncryptedTextField, "from_db_value", spy)
    return seen


@pytest.fixture
def world(superuser, history, alice, endpoint, monkeypatch):
    """Everything a page can show: the store's history, staff actions in the
    log, an invitation, an API token."""
    monkeypatch.setattr("stores.tasks.check_stores.delay", lambda *args: None)
    client = client_for(superuser)
    client.post(reverse("admin:stores_store_check", args=[history.pk]))
    client.post(
        reverse("admin:stores_store_pause", args=[history.pk]), {"reason": "Looking into it"}
    )
    client.post(reverse("admin:stores_store_resume", args=[history.pk]))
    invitation_create(
        merchant=history.merchant, email="dana@acme.test", role="member", invited_by=superuser
    )
    token, _raw = api_token_issue(name="Dashboards", created_by=superuser)
    return {
        "store": history,
        "merchant": history.merchant,
        "check": Check.objects.filter(store=history).first(),
        "status_change": StatusChange.objects.filter(store=history).first(),
        "notification": history.status_changes.exclude(notifications=None)
        .first()
        .notifications.first(),
        "endpoint": endpoint,
        "invitation": Invitation.objects.first(),
        "token": token,
        "log_entry": LogEntry.objects.first(),
        "alice": alice,
    }


def admin_url(name: str, *args) -> str:
    return reverse(f"admin:{name}", args=args)


# Every page: name → (url builder, expected status). 403 pages are rendered too.
PAGES = {
    "index": (lambda w: admin_url("index"), 200),
    "stores app": (lambda w: admin_url("app_list", "stores"), 200),
    "store list": (lambda w: admin_url("stores_store_changelist"), 200),
    "store list, filtered": (
        lambda w: (
            admin_url("stores_store_changelist")
            + "?status__exact=connected&plan=Plus&checked=day&broken=now&q=acme"
        ),
        200,
    ),
    "store list, broken for a day": (
        lambda w: admin_url("stores_store_changelist") + "?broken=day",
        200,
    ),
    "store list, never checked": (
        lambda w: admin_url("stores_store_changelist") + "?checked=never",
        200,
    ),
    "store list, by merchant": (
        lambda w: admin_url("stores_store_changelist") + f"?merchant__id__exact={w['merchant'].pk}",
        200,
    ),
    "store list, show all": (lambda w: admin_url("stores_store_changelist") + "?all=", 200),
    "store CSV export": (lambda w: admin_url("stores_store_export"), 200),
    "store CSV export, filtered": (
        lambda w: admin_url("stores_store_export") + "?status__exact=connected",
        200,
    ),
    "store change": (lambda w: admin_url("stores_store_change", w["store"].pk), 200),
    "store history": (lambda w: admin_url("stores_store_history", w["store"].pk), 200),
    "store add (not allowed)": (lambda w: admin_url("stores_store_add"), 403),
    "store delete (not allowed)": (lambda w: admin_url("stores_store_delete", w["store"].pk), 403),
    "store check now confirmation": (lambda w: admin_url("stores_store_check", w["store"].pk), 200),
    "store pause confirmation": (lambda w: admin_url("stores_store_pause", w["store"].pk), 200),
    "store resume confirmation": (lambda w: admin_url("stores_store_resume", w["store"].pk), 200),
    "store disconnect confirmation": (
        lambda w: admin_url("stores_store_disconnect", w["store"].pk),
        200,
    ),
    "store replace credentials": (
        lambda w: admin_url("stores_store_replace_credentials", w["store"].pk),
        200,
    ),
    "check list": (lambda w: admin_url("stores_check_changelist"), 200),
    "check list, filtered": (
        lambda w: (
            admin_url("stores_check_changelist")
            + f"?store__id__exact={w['store'].pk}&outcome=missing_scopes"
        ),
        200,
    ),
    "check change": (lambda w: admin_url("stores_check_change", w["check"].pk), 200),
    "check history": (lambda w: admin_url("stores_check_history", w["check"].pk), 200),
    "status change list": (lambda w: admin_url("stores_statuschange_changelist"), 200),
    "status change change": (
        lambda w: admin_url("stores_statuschange_change", w["status_change"].pk),
        200,
    ),
    "merchant list": (lambda w: admin_url("merchants_merchant_changelist"), 200),
    "merchant list, search by store hash": (
        lambda w: admin_url("merchants_merchant_changelist") + "?q=acme123",
        200,
    ),
    "merchant list, search by owner": (
        lambda w: admin_url("merchants_merchant_changelist") + "?q=alice@acme",
        200,
    ),
    "merchant change": (lambda w: admin_url("merchants_merchant_change", w["merchant"].pk), 200),
    "merchant history": (lambda w: admin_url("merchants_merchant_history", w["merchant"].pk), 200),
    "merchant add": (lambda w: admin_url("merchants_merchant_add"), 200),
    "merchant delete confirmation": (
        lambda w: admin_url("merchants_merchant_delete", w["merchant"].pk),
        200,
    ),
    "merchant invite": (lambda w: admin_url("merchants_merchant_invite", w["merchant"].pk), 200),
    "user list": (lambda w: admin_url("merchants_user_changelist"), 200),
    "user add": (lambda w: admin_url("merchants_user_add"), 200),
    "user history": (lambda w: admin_url("merchants_user_history", w["alice"].pk), 200),
    "invitation add (not allowed)": (lambda w: admin_url("merchants_invitation_add"), 403),
    "check delete (not allowed)": (lambda w: admin_url("stores_check_delete", w["check"].pk), 403),
    "api token delete (not allowed)": (
        lambda w: admin_url("api_apitoken_delete", w["token"].pk),
        403,
    ),
    "api token history": (lambda w: admin_url("api_apitoken_history", w["token"].pk), 200),
    "user change": (lambda w: admin_url("merchants_user_change", w["alice"].pk), 200),
    "invitation list": (lambda w: admin_url("merchants_invitation_changelist"), 200),
    "invitation change": (
        lambda w: admin_url("merchants_invitation_change", w["invitation"].pk),
        200,
    ),
    "webhook endpoint list": (lambda w: admin_url("notifications_webhookendpoint_changelist"), 200),
    "webhook endpoint add": (lambda w: admin_url("notifications_webhookendpoint_add"), 200),
    "webhook endpoint change": (
        lambda w: admin_url("notifications_webhookendpoint_change", w["endpoint"].pk),
        200,
    ),
    "webhook endpoint history": (
        lambda w: admin_url("notifications_webhookendpoint_history", w["endpoint"].pk),
        200,
    ),
    "webhook endpoint delete confirmation": (
        lambda w: admin_url("notifications_webhookendpoint_delete", w["endpoint"].pk),
        200,
    ),
    "webhook endpoint rotate confirmation": (
        lambda w: admin_url("notifications_webhookendpoint_rotate", w["endpoint"].pk),
        200,
    ),
    "notification list": (lambda w: admin_url("notifications_notification_changelist"), 200),
    "notification list, failed webhooks": (
        lambda w: (
            admin_url("notifications_notification_changelist")
            + f"?state__exact=failed&endpoint={w['endpoint'].pk}"
        ),
        200,
    ),
    "notification change": (
        lambda w: admin_url("notifications_notification_change", w["notification"].pk),
        200,
    ),
    "api token list": (lambda w: admin_url("api_apitoken_changelist"), 200),
    "api token add": (lambda w: admin_url("api_apitoken_add"), 200),
    "api token change": (lambda w: admin_url("api_apitoken_change", w["token"].pk), 200),
    "api token revoke confirmation": (
        lambda w: admin_url("api_apitoken_revoke", w["token"].pk),
        200,
    ),
    "staff action log": (lambda w: admin_url("admin_logentry_changelist"), 200),
    "staff action log entry": (
        lambda w: admin_url("admin_logentry_change", w["log_entry"].pk),
        200,
    ),
    "beat schedule": (lambda w: admin_url("django_celery_beat_periodictask_changelist"), 200),
    "groups": (lambda w: admin_url("auth_group_changelist"), 200),
}


def body_of(response) -> str:
    if response.streaming:
        return b"".join(response.streaming_content).decode()
    return response.content.decode()


@pytest.mark.parametrize("page", PAGES)
def test_every_admin_page_renders_without_any_secret(page, world, superuser, decryptions):
    build, expected = PAGES[page]
    decryptions.clear()
    response = client_for(superuser).get(build(world))
    assert response.status_code == expected, page
    body = body_of(response)
    assert_no_secret(body)
    assert "Credential" not in decryptions, f"{page} decrypted a credential"
    if expected == 200 and not response.streaming:
        assert "Violet Connect" in body  # our admin, not an error page


@pytest.mark.parametrize("who", ["support", "operations"])
def test_every_page_for_each_staff_role_has_no_secret(request, who, world, decryptions):
    client = client_for(request.getfixturevalue(who))
    for page, (build, _expected) in PAGES.items():
        response = client.get(build(world))
        assert response.status_code in (200, 403), page
        assert_no_secret(body_of(response))
    assert "Credential" not in decryptions


def test_the_store_page_shows_fingerprints_scopes_and_recent_history(world, superuser):
    body = (
        client_for(superuser)
        .get(admin_url("stores_store_change", world["store"].pk))
        .content.decode()
    )
    assert f"token ending in …{ACME_TOKEN[-4:]}" in body
    assert f"client ID ending in …{ACME_CLIENT_ID[-4:]}" in body
    assert f"client secret ending in …{ACME_SECRET[-4:]}" in body
    assert (
        "Carts: modify" in body and "vc-bad" in body and "Missing" in body
    )  # the latest check's scopes
    assert "Recent checks" in body and "Recent status changes" in body
    assert (
        "Check now" in body
        and "Pause checks" in body
        and "Disconnect" in body
        and "Replace credentials" in body
    )
    assert_no_secret(body)


def test_the_bulk_disconnect_confirmation_has_no_secret(world, superuser):
    response = client_for(superuser).post(
        admin_url("stores_store_changelist"),
        {"action": "disconnect_action", "_selected_action": [world["store"].pk]},
    )
    assert response.status_code == 200 and "Yes, disconnect" in response.content.decode()
    assert_no_secret(response.content.decode())
    assert Credential.objects.filter(store=world["store"]).exists()  # nothing done yet


@pytest.fixture
def bigcommerce():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        fake = FakeBigCommerce(rsps)
        fake.add_token("acme123", "n3wt0k3nabcdefghijklmnopqrstuvw")
        yield fake


@pytest.mark.parametrize(
    "data",
    [
        # the known secrets, typed correctly, but BigCommerce no longer accepts the token
        {
            "api_path": "https://api.bigcommerce.com/stores/acme123/v3/",
            "client_id": ACME_CLIENT_ID,
            "client_secret": ACME_SECRET,
            "access_token": ACME_TOKEN,
        },
        # a secret pasted into the API path box, which is the one box shown back
        {
            "api_path": ACME_TOKEN,
            "client_id": ACME_CLIENT_ID,
            "client_secret": ACME_SECRET,
            "access_token": ACME_TOKEN,
        },
        # the .txt pasted, with the token in the wrong line
        {
            "credentials_text": f"ACCESS TOKEN: {ACME_SECRET}\nCLIENT ID: {ACME_CLIENT_ID}\n"
            f"CLIENT SECRET: {ACME_TOKEN}\n"
            "API PATH: https://api.bigcommerce.com/stores/acme123/v3/\n"
        },
        # values swapped between boxes
        {
            "api_path": "https://api.bigcommerce.com/stores/acme123/v3/",
            "client_id": ACME_SECRET,
            "client_secret": ACME_CLIENT_ID,
            "access_token": ACME_TOKEN,
        },
    ],
    ids=["refused-token", "secret-in-api-path", "bad-txt", "swapped"],
)
def test_replace_credentials_after_a_failed_attempt_shows_no_secret(
    world, superuser, bigcommerce, data, decryptions
):
    client = client_for(superuser)
    url = admin_url("stores_store_replace_credentials", world["store"].pk)
    response = client.post(url, data)
    assert response.status_code in (400, 422)
    assert_no_secret(response.content.decode())
    # and the page afterwards, which mentions what was kept from the attempt
    again = client.get(url)
    assert_no_secret(again.content.decode())
    assert "Credential" not in decryptions
    credential = Credential.objects.get(store=world["store"])
    assert credential.access_token == ACME_TOKEN  # unchanged


def test_no_log_entry_ever_holds_a_secret(world, superuser, operations, bigcommerce, monkeypatch):
    monkeypatch.setattr("stores.tasks.check_stores.delay", lambda *args: None)
    store = world["store"]
    client = client_for(operations)
    client.post(
        admin_url("stores_store_replace_credentials", store.pk),
        {"access_token": ACME_TOKEN, "client_id": ACME_CLIENT_ID, "client_secret": ACME_SECRET},
    )
    client.post(admin_url("stores_store_check", store.pk))
    client.post(
        admin_url("merchants_merchant_invite", store.merchant.pk),
        {"email": "erin@acme.test", "role": "owner"},
    )
    client.post(admin_url("stores_store_disconnect", store.pk))
    client_for(superuser).post(
        admin_url("merchants_user_change", world["alice"].pk),
        {"email": "alice@acme.test", "is_active": "on"},
    )
    entries = list(LogEntry.objects.all())
    assert len(entries) >= 7
    for entry in entries:
        assert_no_secret(entry.change_message)
        assert_no_secret(entry.object_repr)
        assert_no_secret(str(entry.get_change_message()))
    assert any(
        "Disconnected the store; deleted the credentials (token ending in …" in e.change_message
        for e in entries
    )
    assert all(ACME_TOKEN not in m.body for m in mail.outbox)


def test_the_decryption_spy_sees_a_credential_being_decrypted(acme_store, decryptions):
    """The guard above is real: loading a whole Credential is noticed."""
    Credential.objects.fingerprints_only().get(store=acme_store)
    assert decryptions == []
    Credential.objects.get(store=acme_store)
    assert decryptions.count("Credential") == 3


def test_the_store_page_shows_the_hooks_state_last_sweep_and_last_delivery(world, superuser, settings):
    settings.BIGCOMMERCE_WEBHOOKS_ENABLED = True
    store = world["store"]
    url = admin_url("stores_store_change", store.pk)
    assert "never" in client_for(superuser).get(url).content.decode()  # not swept yet
    HookRegistration.objects.create(
        store=store,
        swept_at=timezone.now() - timedelta(days=2),
        hook_states={"store/information/updated": "inactive", "store/app/uninstalled": "missing"},
        sweep_changes={"reactivated": ["store/information/updated"], "recreated": ["store/app/uninstalled"]},
    )
    WebhookDelivery.objects.create(store=store, outcome="rejected", reason="bad_signature")
    body = client_for(superuser).get(url).content.decode()
    assert "BigCommerce webhooks" in body
    assert 'class="hook-inactive">inactive' in body and 'class="hook-missing">missing' in body
    assert "changed: re-activated store/information/updated; re-created store/app/uninstalled." in body
    assert "[" not in body.split("Last sweep:")[1].split("</p>")[0]  # no Python list
    assert "Last delivery received" in body and "rejected (bad_signature)" in body
    assert_no_secret(body)
