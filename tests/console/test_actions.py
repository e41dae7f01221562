"""Every staff action does what it says, through the services, and is logged
(who, what, when) in the admin log and on the store's history page."""

from __future__ import annotations

import pytest
import responses
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core import mail
from django.urls import reverse

from merchants.models import Invitation
from stores.models import Check, Credential, StatusChange, Store
from tests.conftest import ACME_TOKEN, client_for
from tests.console.conftest import assert_no_secret
from tests.fake_bigcommerce import FakeBigCommerce

NEW_TOKEN = "n3wt0k3nabcdefghijklmnopqrstuvw"
NEW_CLIENT_ID = "n3wc1i3ntabcdefghijklmnopqrstu"
NEW_SECRET = "ab" * 32
API_PATH = "https://api.bigcommerce.com/stores/acme123/v3/"


def url(name, *args):
    return reverse(f"admin:{name}", args=args)


def store_log(store: Store) -> list[LogEntry]:
    return list(
        LogEntry.objects.filter(
            content_type=ContentType.objects.get_for_model(Store), object_id=str(store.pk)
        ).order_by("id")
    )


@pytest.fixture
def queued(monkeypatch):
    """What "check now" put on the queue: (store ids, claim token, trigger)."""
    sent = []
    monkeypatch.setattr("stores.tasks.check_stores.delay", lambda *args: sent.append(args))
    return sent


@pytest.fixture
def ops(operations):
    return client_for(operations)


def test_check_now_queues_a_check_with_ids_only_and_is_logged(ops, operations, acme_store, queued):
    response = ops.post(url("stores_store_check", acme_store.pk), follow=True)
    assert "Check of Acme Outfitters queued" in response.content.decode()
    assert len(queued) == 1
    store_ids, claim_token, trigger = queued[0]
    assert (
        store_ids == [acme_store.pk]
        and trigger == Check.Trigger.STAFF
        and isinstance(claim_token, str)
    )
    assert not any(ACME_TOKEN in repr(arg) for arg in queued[0])
    # A second press while the check is in flight queues nothing more.
    response = ops.post(url("stores_store_check", acme_store.pk), follow=True)
    assert "already in flight" in response.content.decode() and len(queued) == 1
    entries = store_log(acme_store)
    assert len(entries) == 1
    assert entries[0].user == operations and entries[0].action_flag == CHANGE
    assert entries[0].change_message == "Queued a check (check now)."


def test_check_now_in_bulk_skips_paused_stores(ops, acme_store, globex_store, queued):
    Store.objects.filter(pk=globex_store.pk).update(status="paused")
    response = ops.post(
        url("stores_store_changelist"),
        {"action": "check_now_action", "_selected_action": [acme_store.pk, globex_store.pk]},
        follow=True,
    )
    body = response.content.decode()
    assert (
        "Queued checks for 1 store." in body
        and "Globex Gadgets is paused: it is not checked." in body
    )
    assert [args[0] for args in queued] == [[acme_store.pk]]


def test_get_never_acts(ops, acme_store, queued):
    for name in ("stores_store_check", "stores_store_pause", "stores_store_disconnect"):
        assert ops.get(url(name, acme_store.pk)).status_code == 200
    acme_store.refresh_from_db()
    assert queued == [] and acme_store.status == "connected"
    assert Credential.objects.filter(store=acme_store).exists()


def test_pause_and_resume_change_the_status_write_status_changes_and_are_logged(
    ops, operations, acme_store
):
    response = ops.post(
        url("stores_store_pause", acme_store.pk), {"reason": "Merchant asked us to"}, follow=True
    )
    assert "are paused" in response.content.decode()
    acme_store.refresh_from_db()
    assert acme_store.status == "paused" and acme_store.next_check_at is None
    pause = StatusChange.objects.get(store=acme_store)
    assert (pause.old_status, pause.new_status, pause.reason) == (
        "connected",
        "paused",
        "Merchant asked us to",
    )

    page = ops.get(url("stores_store_change", acme_store.pk)).content.decode()
    assert "Resume checks" in page and "Check now" not in page

    ops.post(url("stores_store_resume", acme_store.pk))
    acme_store.refresh_from_db()
    assert acme_store.status == "connected" and acme_store.next_check_at is not None
    resume = StatusChange.objects.filter(store=acme_store).order_by("-id").first()
    assert (resume.old_status, resume.new_status) == ("paused", "connected")

    messages = [entry.change_message for entry in store_log(acme_store)]
    assert messages == [
        "Paused checks (was Connected). Reason: Merchant asked us to",
        "Resumed checks (status back to Connected; a check is due now).",
    ]
    assert all(entry.user == operations for entry in store_log(acme_store))
    history = ops.get(url("stores_store_history", acme_store.pk)).content.decode()
    assert (
        "Paused checks (was Connected)" in history
        and "Resumed checks" in history
        and "ops@violet.test" in history
    )


def test_pause_and_resume_in_bulk(ops, acme_store, globex_store):
    ops.post(
        url("stores_store_changelist"),
        {"action": "pause_action", "_selected_action": [acme_store.pk, globex_store.pk]},
    )
    assert set(Store.objects.values_list("status", flat=True)) == {"paused"}
    response = ops.post(
        url("stores_store_changelist"),
        {"action": "resume_action", "_selected_action": [acme_store.pk, globex_store.pk]},
        follow=True,
    )
    assert "Resumed checks of 2 stores." in response.content.decode()
    assert set(Store.objects.values_list("status", flat=True)) == {"connected"}
    assert StatusChange.objects.count() == 4 and LogEntry.objects.count() == 4


def test_resuming_a_store_that_is_not_paused_says_so_and_logs_nothing(ops, acme_store):
    response = ops.post(url("stores_store_resume", acme_store.pk), follow=True)
    assert "is not paused" in response.content.decode()
    assert store_log(acme_store) == [] and not StatusChange.objects.exists()


def test_disconnect_asks_first_then_deletes_the_credentials_and_is_logged(
    ops, operations, acme_store
):
    confirmation = ops.get(url("stores_store_disconnect", acme_store.pk)).content.decode()
    assert "cannot be undone" in confirmation and "Yes, disconnect" in confirmation
    assert Credential.objects.filter(store=acme_store).exists()

    response = ops.post(url("stores_store_disconnect", acme_store.pk), follow=True)
    assert "is disconnected and its credentials are deleted" in response.content.decode()
    acme_store.refresh_from_db()
    assert acme_store.status == "disconnected"
    assert not Credential.objects.filter(store=acme_store).exists()
    change = StatusChange.objects.get(store=acme_store)
    assert change.new_status == "disconnected" and change.reason == "Disconnected by Violet staff."
    [entry] = store_log(acme_store)
    assert entry.user == operations
    assert (
        entry.change_message
        == f"Disconnected the store; deleted the credentials (token ending in …{ACME_TOKEN[-4:]})."
    )
    page = ops.get(url("stores_store_change", acme_store.pk)).content.decode()
    assert "No credentials stored" in page and "Reconnect with new credentials" in page


def test_bulk_disconnect_needs_the_confirmation(ops, acme_store, globex_store):
    selected = {"action": "disconnect_action", "_selected_action": [acme_store.pk, globex_store.pk]}
    page = ops.post(url("stores_store_changelist"), selected)
    assert page.status_code == 200 and "Disconnect: 2 stores" in page.content.decode()
    assert set(Store.objects.values_list("status", flat=True)) == {"connected"}
    ops.post(url("stores_store_changelist"), {**selected, "post": "yes"})
    assert set(Store.objects.values_list("status", flat=True)) == {"disconnected"}
    assert not Credential.objects.exists()
    assert LogEntry.objects.count() == 2


# --- replacing credentials: the wizard's validation, live against a fake BigCommerce


@pytest.fixture
def bigcommerce():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        fake = FakeBigCommerce(rsps)
        fake.add_token("acme123", NEW_TOKEN)
        yield fake


def new_values(**overrides):
    data = {
        "api_path": API_PATH,
        "client_id": NEW_CLIENT_ID,
        "client_secret": NEW_SECRET,
        "access_token": NEW_TOKEN,
    }
    data.update(overrides)
    return data


def test_replace_credentials_validates_live_and_swaps_them(
    ops, operations, acme_store, bigcommerce
):
    response = ops.post(url("stores_store_replace_credentials", acme_store.pk), new_values())
    assert response.status_code == 302 and response["Location"] == url(
        "stores_store_change", acme_store.pk
    )
    assert bigcommerce.calls > 0
    credential = Credential.objects.get(store=acme_store)
    assert credential.access_token == NEW_TOKEN and credential.client_secret == NEW_SECRET
    assert credential.created_by == operations and credential.access_token_last4 == NEW_TOKEN[-4:]
    check = Check.objects.get(store=acme_store)
    assert check.trigger == Check.Trigger.REPLACE and check.outcome == "connected"
    [entry] = store_log(acme_store)
    assert (
        entry.change_message == "Replaced the credentials after a full live check; "
        f"now token ending in …{NEW_TOKEN[-4:]}."
    )
    page = ops.get(url("stores_store_change", acme_store.pk)).content.decode()
    assert (
        f"token ending in …{NEW_TOKEN[-4:]}" in page
        and "just now</time> by ops@violet.test" in page
    )
    assert_no_secret(page, (NEW_TOKEN, NEW_SECRET, NEW_CLIENT_ID))


def test_replace_credentials_from_the_txt_file(ops, acme_store, bigcommerce):
    from django.core.files.uploadedfile import SimpleUploadedFile

    text = (
        f"ACCESS TOKEN: {NEW_TOKEN}\nCLIENT NAME: Violet\nAPI PATH: {API_PATH}\n"
        f"CLIENT ID: {NEW_CLIENT_ID}\nCLIENT SECRET: {NEW_SECRET}\n"
    )
    upload = SimpleUploadedFile("violet.txt", text.encode(), content_type="text/plain")
    response = ops.post(
        url("stores_store_replace_credentials", acme_store.pk), {"credentials_file": upload}
    )
    assert response.status_code == 302
    assert Credential.objects.get(store=acme_store).access_token == NEW_TOKEN


def test_replace_credentials_refused_shows_the_problems_and_keeps_the_old_ones(
    ops, acme_store, bigcommerce
):
    bad_token = "zz" + NEW_TOKEN[2:]
    response = ops.post(
        url("stores_store_replace_credentials", acme_store.pk), new_values(access_token=bad_token)
    )
    assert response.status_code == 422
    body = response.content.decode()
    assert "BigCommerce did not accept this access token for store acme123" in body
    assert_no_secret(body, (bad_token, NEW_SECRET, NEW_CLIENT_ID))
    assert Credential.objects.get(store=acme_store).access_token == ACME_TOKEN
    # What was fine is kept for the next try, shown only by its last four characters.
    again = ops.get(url("stores_store_replace_credentials", acme_store.pk)).content.decode()
    assert f"…{NEW_SECRET[-4:]}" in again and "Forget the kept values" in again
    [entry] = store_log(acme_store)
    assert entry.change_message == "Tried to replace the credentials; refused: invalid_token."
    # Then the right token alone completes the replacement.
    response = ops.post(
        url("stores_store_replace_credentials", acme_store.pk),
        {"api_path": API_PATH, "access_token": NEW_TOKEN},
    )
    assert response.status_code == 302
    assert Credential.objects.get(store=acme_store).access_token == NEW_TOKEN


def test_replace_credentials_for_another_store_is_refused_before_any_call(
    ops, acme_store, bigcommerce
):
    response = ops.post(
        url("stores_store_replace_credentials", acme_store.pk),
        new_values(api_path="https://api.bigcommerce.com/stores/other77/v3/"),
    )
    assert (
        response.status_code == 422 and "for another store (other77)" in response.content.decode()
    )
    assert bigcommerce.calls == 0
    assert Credential.objects.get(store=acme_store).access_token == ACME_TOKEN


def test_replace_credentials_with_missing_scopes_names_them(ops, acme_store, bigcommerce):
    scopes = {
        "store_v2_customers",
        "store_v2_information_read_only",
        "store_v2_orders",
        "store_v2_products_read_only",
        "store_cart",
    }
    bigcommerce.add_token("acme123", NEW_TOKEN, scopes=scopes)
    response = ops.post(url("stores_store_replace_credentials", acme_store.pk), new_values())
    assert response.status_code == 422
    assert "Checkouts: modify" in response.content.decode()
    assert Credential.objects.get(store=acme_store).access_token == ACME_TOKEN


def test_forget_the_kept_values(ops, operations, acme_store, bigcommerce):
    from connect.models import CredentialDraft

    ops.post(
        url("stores_store_replace_credentials", acme_store.pk),
        new_values(access_token="zz" + NEW_TOKEN[2:]),
    )
    assert CredentialDraft.objects.filter(user=operations).exists()
    ops.post(url("stores_store_replace_credentials", acme_store.pk), {"start_over": "1"})
    assert not CredentialDraft.objects.filter(user=operations).exists()


def test_a_disconnected_store_can_be_reconnected_by_staff(ops, acme_store, bigcommerce):
    ops.post(url("stores_store_disconnect", acme_store.pk))
    response = ops.post(url("stores_store_replace_credentials", acme_store.pk), new_values())
    assert response.status_code == 302
    acme_store.refresh_from_db()
    assert acme_store.status == "connected"
    assert Credential.objects.get(store=acme_store).access_token == NEW_TOKEN
    assert store_log(acme_store)[-1].change_message.startswith(
        "Reconnected the store with new credentials"
    )


# --- inviting people ------------------------------------------------------------------


def test_invite_sends_the_email_and_is_logged(ops, operations, acme_store):
    merchant = acme_store.merchant
    page = ops.get(url("merchants_merchant_change", merchant.pk)).content.decode()
    assert "Invite someone" in page
    response = ops.post(
        url("merchants_merchant_invite", merchant.pk),
        {"email": "Dana@Acme.test", "role": "owner"},
        follow=True,
    )
    assert "Invitation sent to dana@acme.test (owner)." in response.content.decode()
    invitation = Invitation.objects.get()
    assert (
        invitation.email == "dana@acme.test"
        and invitation.role == "owner"
        and invitation.invited_by == operations
    )
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["dana@acme.test"]
    assert "/invitations/" in mail.outbox[0].body or "http" in mail.outbox[0].body
    entry = LogEntry.objects.get(
        content_type=ContentType.objects.get_for_model(merchant), object_id=str(merchant.pk)
    )
    assert entry.user == operations and entry.change_message == "Invited dana@acme.test as owner."


def test_invite_with_a_bad_address_sends_nothing(ops, acme_store):
    response = ops.post(
        url("merchants_merchant_invite", acme_store.merchant_id),
        {"email": "not-an-address", "role": "member"},
    )
    assert (
        response.status_code == 400 and "Enter a valid email address" in response.content.decode()
    )
    assert mail.outbox == [] and not Invitation.objects.exists() and not LogEntry.objects.exists()


def test_the_staff_action_log_lists_every_action_read_only(ops, superuser, acme_store, queued):
    ops.post(url("stores_store_check", acme_store.pk))
    ops.post(url("stores_store_pause", acme_store.pk))
    client = client_for(superuser)
    body = client.get(url("admin_logentry_changelist")).content.decode()
    assert (
        "Queued a check (check now)." in body
        and "Paused checks" in body
        and "ops@violet.test" in body
    )
    entry = LogEntry.objects.first()
    assert client.post(url("admin_logentry_change", entry.pk), {}).status_code == 403
    assert client.get(url("admin_logentry_delete", entry.pk)).status_code == 403
