"""Fleet-wide incidents in the staff console (issue 26): the banner on every
page while one is open, the Incidents page, closing by hand (Operations only,
logged), and marking reference stores."""

from __future__ import annotations

from django.contrib.admin.models import LogEntry
from django.urls import reverse
from django.utils import timezone

from stores.models import Incident, Store
from tests.conftest import client_for
from tests.console.conftest import store_log, url


def open_incident(**extra) -> Incident:
    return Incident.objects.create(
        kind="unavailable",
        reason="38 stores of 8 merchants, 95% of the 40 checks in the last 10 minutes (normally 0.10%).",
        stores_at_open=38,
        checks_at_open=40,
        examples=[{"store_hash": "abc123", "at": "2026-12-07T09:00:00+00:00", "outcome": "store_unavailable",
                   "statuses": [503], "problem": "<script>alert(1)</script> BigCommerce says unavailable"}],
        **extra,
    )


def test_every_console_page_shows_the_banner_while_an_incident_is_open(ops, support, acme_store):
    assert "Fleet-wide incident open" not in ops.get(reverse("admin:index")).content.decode()
    incident = open_incident()
    for page in (
        reverse("admin:index"),
        reverse("admin:stores_store_changelist"),
        reverse("admin:stores_store_change", args=[acme_store.pk]),
    ):
        html = client_for(support).get(page).content.decode()
        assert "Fleet-wide incident open since" in html, page
        assert reverse("admin:stores_incident_change", args=[incident.pk]) in html
    Incident.objects.filter(pk=incident.pk).update(closed_at=timezone.now())
    assert "Fleet-wide incident open" not in ops.get(reverse("admin:index")).content.decode()


def test_the_incidents_page_lists_history_and_shows_what_was_seen_escaped(support):
    incident = open_incident()
    Incident.objects.create(kind="invalid_token", reason="earlier", closed_at=timezone.now(), close_reason="Back.")
    listing = client_for(support).get(reverse("admin:stores_incident_changelist")).content.decode()
    assert "stores answer 503" in listing and "access tokens are refused (401)" in listing
    page = client_for(support).get(reverse("admin:stores_incident_change", args=[incident.pk])).content.decode()
    assert "38 stores of 8 merchants" in page
    assert "&lt;script&gt;" in page and "<script>alert(1)" not in page
    assert "Close incident" not in page  # Support may not close it


def test_operations_close_an_incident_by_hand_and_it_is_logged(ops, operations, acme_store):
    incident = open_incident()
    Store.objects.filter(pk=acme_store.pk).update(held_by=incident, next_check_at=None)
    page = ops.get(reverse("admin:stores_incident_change", args=[incident.pk])).content.decode()
    close = reverse("admin:stores_incident_close", args=[incident.pk])
    assert close in page
    assert ops.get(close).status_code == 200  # asks first
    assert Incident.objects.get(pk=incident.pk).is_open
    response = ops.post(close, {"reason": "BigCommerce's status page says resolved"}, follow=True)
    assert "The incident is closed" in response.content.decode()
    incident.refresh_from_db()
    assert incident.closed_by == operations
    assert incident.close_reason == "Closed by hand: BigCommerce's status page says resolved"
    store = Store.objects.get(pk=acme_store.pk)
    assert store.held_by is None and store.next_check_at <= timezone.now()
    entry = LogEntry.objects.get(object_id=str(incident.pk))
    assert entry.user == operations and "Closed the incident by hand" in entry.change_message


def test_support_cannot_close_an_incident(support):
    incident = open_incident()
    close = reverse("admin:stores_incident_close", args=[incident.pk])
    assert client_for(support).post(close, {"reason": "x"}).status_code == 403
    assert Incident.objects.get(pk=incident.pk).is_open


def test_operations_mark_a_reference_store_and_unmark_it(ops, support, acme_store):
    page = ops.get(reverse("admin:stores_store_change", args=[acme_store.pk])).content.decode()
    assert "Make it a reference store" in page
    assert "Make it a reference store" not in client_for(support).get(
        reverse("admin:stores_store_change", args=[acme_store.pk])
    ).content.decode()
    assert client_for(support).post(url("stores_store_reference", acme_store.pk)).status_code == 403
    assert ops.get(url("stores_store_reference", acme_store.pk)).status_code == 200  # asks first
    assert not Store.objects.get(pk=acme_store.pk).is_reference
    response = ops.post(url("stores_store_reference", acme_store.pk), follow=True)
    assert "is a reference store: it is checked every minute" in response.content.decode()
    store = Store.objects.get(pk=acme_store.pk)
    assert store.is_reference
    assert store.next_check_at <= timezone.now() + timezone.timedelta(minutes=1)
    assert "Made it a reference store" in store_log(acme_store)[0].change_message
    ops.post(url("stores_store_unreference", acme_store.pk))
    assert not Store.objects.get(pk=acme_store.pk).is_reference


def test_the_store_page_says_when_an_incident_holds_the_store(ops, acme_store):
    incident = open_incident()
    Store.objects.filter(pk=acme_store.pk).update(held_by=incident)
    page = ops.get(reverse("admin:stores_store_change", args=[acme_store.pk])).content.decode()
    assert f"incident #{incident.pk}" in page
    listing = ops.get(reverse("admin:stores_store_changelist") + f"?held_by__id__exact={incident.pk}")
    assert listing.status_code == 200 and "Acme Outfitters" in listing.content.decode()


def test_an_incidents_notifications_show_in_the_console(ops, settings):
    from notifications import services as notifications
    from notifications.models import Notification

    settings.STAFF_NOTIFICATION_EMAILS = ["oncall@violet.test"]
    incident = open_incident()
    notifications.incidents_process()
    notification = Notification.objects.get(incident=incident)
    assert notification.event_type == "incident.opened" and notification.status_change is None
    listing = ops.get(reverse("admin:notifications_notification_changelist")).content.decode()
    assert f"incident #{incident.pk}" in listing
    page = ops.get(reverse("admin:notifications_notification_change", args=[notification.pk]))
    assert page.status_code == 200 and f"incident #{incident.pk}" in page.content.decode()
