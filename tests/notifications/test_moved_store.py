"""A store that changed merchant: what was the previous merchant's to hear
about is never planned for, nor sent to, the new one; staff and webhook
endpoints still get it; the new merchant hears about what happens after."""

from datetime import timedelta

import pytest
import time_machine
from django.test import override_settings
from django.utils import timezone

from notifications import services
from notifications.models import Notification
from stores import services as store_services
from stores.models import StatusChange
from tests.reports import credentials, report, revoke_by_two_checks


@pytest.fixture
def store(acme, alice, charlie):
    store = store_services.store_connect(merchant=acme, credentials=credentials(), report=report())
    StatusChange.objects.update(processed_at=timezone.now())  # the connect is old news here
    return store


def revoke(store):
    revoke_by_two_checks(store)
    return StatusChange.objects.get(store=store, new_status="revoked")


def later(hours=1):
    return time_machine.travel(timezone.now() + timedelta(hours=hours))


@override_settings(STAFF_NOTIFICATION_EMAILS=["oncall@violet.test"])
def test_a_change_from_before_the_move_is_not_planned_for_the_new_merchant(store, globex, mailoutbox):
    change = revoke(store)  # not yet processed when staff move the store
    with later():
        store_services.store_move(store=store, to_merchant=globex)
        assert services.status_changes_process() == 1
        services.notifications_deliver_due()
    assert list(Notification.objects.filter(status_change=change).values_list("audience", flat=True)) == ["staff"]
    assert [m.to for m in mailoutbox] == [["oncall@violet.test"]]


def test_a_pending_email_for_the_previous_merchant_is_not_sent_after_the_move(store, globex, mailoutbox):
    change = revoke(store)
    services.status_changes_process()  # planned for Acme's owners, not sent yet
    notification = Notification.objects.get(status_change=change, audience="merchant")
    assert notification.recipients == ["alice@acme.test"] and notification.state == "pending"
    with later():
        store_services.store_move(store=store, to_merchant=globex)
        services.notifications_deliver_due()
    notification.refresh_from_db()
    assert mailoutbox == []
    assert notification.state == "failed" and "moved to another merchant" in notification.last_error


def test_the_new_merchant_hears_about_what_happens_after_the_move(store, globex, mailoutbox):
    with later():
        store_services.store_move(store=store, to_merchant=globex)
    with later(2):
        revoke(store)
        services.status_changes_process()
        services.notifications_deliver_due()
    assert [m.to for m in mailoutbox] == [["charlie@globex.test"]]
    assert "/m/globex/stores/acme123/" in mailoutbox[0].body
