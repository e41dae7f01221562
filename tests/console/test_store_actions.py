"""Every staff action on stores (check now, pause, resume, disconnect) does
what it says, through the services, and is logged (who, what, when) in the
admin log and on the store's history page."""

from __future__ import annotations

import re

from django.contrib.admin.models import CHANGE, LogEntry

from stores.models import Check, Credential, StatusChange, Store
from tests.conftest import ACME_TOKEN, client_for
from tests.console.conftest import store_log, url


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
        and "Globex Gadgets was not checked: it is paused, so its checks are paused; resume them first." in body
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


def test_the_store_page_polls_while_a_check_runs_and_says_when_it_ended(ops, support, acme_store, queued):
    """After "Check now" the page says a check is running and polls the
    store's status, as the merchant's store page does; without a check in
    flight it neither says so nor loads the script."""
    page = url("stores_store_change", acme_store.pk)
    status = url("stores_store_status", acme_store.pk)
    body = ops.get(page).content.decode()
    assert "A check is running" not in body and "store-status.js" not in body
    assert ops.get(status).json()["checking"] is False

    ops.post(url("stores_store_check", acme_store.pk))
    body = ops.get(page).content.decode()
    assert f'data-poll="{status}"' in body and "store-status.js" in body
    assert re.search(r"yes \(its lease ends <time [^>]+>in \d+", body) and "until <time" not in body
    answer = ops.get(status)
    assert answer.json() == {"checking": True, "status": "connected", "last_checked_at": None}
    assert "no-store" in answer["Cache-Control"]  # the admin's never_cache
    assert client_for(support).get(status).json()["checking"] is True  # view-only staff poll too

    Store.objects.filter(pk=acme_store.pk).update(claim_token="", claimed_until=None)  # the check ended
    assert ops.get(status).json()["checking"] is False


def test_the_store_status_is_staff_only(client, alice, acme_store):
    status = url("stores_store_status", acme_store.pk)
    assert client.get(status).status_code == 302  # to the console's login
    merchant = client_for(alice).get(status)
    assert merchant.status_code == 302 and "checking" not in merchant.content.decode()
    assert client_for(alice).get(url("stores_store_status", 999_999)).status_code == 302


# --- Issue 28, item 17: a pause's reason is staff's; the merchant reads a public message or a neutral sentence ---


def _merchant_store_page(owner, store) -> str:
    from django.urls import reverse

    return (
        client_for(owner)
        .get(reverse("connect:store_detail", args=[store.merchant.slug, store.store_hash]))
        .content.decode()
    )


def test_a_pause_reason_is_never_shown_to_the_merchant(ops, alice, acme_store):
    ops.post(url("stores_store_pause", acme_store.pk), {"reason": "testing pause"})
    page = _merchant_store_page(alice, acme_store)
    assert "testing pause" not in page
    assert "Violet staff paused the checks of this store." in page
    # Staff still see their note, on the console's store page.
    assert "testing pause" in ops.get(url("stores_store_change", acme_store.pk)).content.decode()


def test_the_merchant_reads_the_public_message_staff_wrote(ops, alice, acme_store):
    confirmation = ops.get(url("stores_store_pause", acme_store.pk)).content.decode()
    assert 'name="public_message"' in confirmation and "csrfmiddlewaretoken" in confirmation
    ops.post(
        url("stores_store_pause", acme_store.pk),
        {"reason": "fraud review, ticket 4411", "public_message": "  We are moving your store   to a new plan. "},
    )
    change = StatusChange.objects.get(store=acme_store)
    assert change.public_reason == "We are moving your store to a new plan."
    page = _merchant_store_page(alice, acme_store)
    assert "We are moving your store to a new plan." in page and "fraud review" not in page
    logged = store_log(acme_store)[0].change_message
    assert "Message for the merchant: We are moving your store to a new plan." in logged


def test_an_unfit_public_message_is_refused_and_nothing_is_paused(ops, acme_store):
    for message, why in (("x" * 301, "keep it to 300"), ("see \u202eevil", "invisible characters")):
        response = ops.post(url("stores_store_pause", acme_store.pk), {"public_message": message}, follow=True)
        assert why in response.content.decode() and "Nothing was paused" in response.content.decode()
        acme_store.refresh_from_db()
        assert acme_store.status == "connected" and not StatusChange.objects.filter(store=acme_store).exists()
