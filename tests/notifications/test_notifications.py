import json
from datetime import timedelta

import pytest
import responses
import time_machine
from django.test import override_settings
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from notifications import services
from notifications.events import event_id_for
from notifications.models import Notification, WebhookEndpoint
from stores import services as store_services
from stores.models import StatusChange
from tests.reports import credentials, report, revoke_by_two_checks

HOOK_URL = "https://hooks.violet.test/stores"


@pytest.fixture
def store(acme, alice, bob):
    store = store_services.store_connect(merchant=acme, credentials=credentials(), report=report())
    StatusChange.objects.update(processed_at=timezone.now())  # the connect is old news here
    return store


@pytest.fixture
def endpoint(db):
    return WebhookEndpoint.objects.create(name="Violet core", url=HOOK_URL)


def revoke(store):
    revoke_by_two_checks(store)
    return StatusChange.objects.get(store=store, new_status="revoked")


@override_settings(STAFF_NOTIFICATION_EMAILS=["oncall@violet.test"])
@responses.activate
def test_revocation_emails_owners_and_staff_and_sends_one_signed_webhook(store, endpoint, mailoutbox):
    responses.post(HOOK_URL, status=204)
    change = revoke(store)
    services.status_changes_process()
    services.notifications_deliver_due()

    owner_mail = next(m for m in mailoutbox if m.to == ["alice@acme.test"])  # owners only, not bob
    assert "Violet lost access" in owner_mail.subject
    assert "Settings → API → Store-level API accounts" in owner_mail.body
    assert "https://store-acme123.mybigcommerce.com/manage/settings/api-accounts" in owner_mail.body
    assert "/m/acme/stores/acme123/" in owner_mail.body
    assert "Checkouts: modify" in owner_mail.body
    assert any(m.to == ["oncall@violet.test"] for m in mailoutbox)
    assert not any("bob@acme.test" in m.to for m in mailoutbox)

    assert len(responses.calls) == 1
    request = responses.calls[0].request
    payload = Webhook(endpoint.secret).verify(request.body, dict(request.headers))
    assert payload["type"] == "store.revoked" and payload["id"] == event_id_for(change)
    assert payload["data"]["store_hash"] == "acme123"
    assert request.headers["webhook-id"] == event_id_for(change)
    assert Notification.objects.filter(state="delivered").count() == 3


@responses.activate
def test_a_change_is_announced_once_even_when_processed_twice(store, endpoint, mailoutbox):
    responses.post(HOOK_URL, status=200)
    revoke(store)
    assert services.status_changes_process() >= 1
    assert services.status_changes_process() == 0
    services.notifications_deliver_due()
    services.notifications_deliver_due()
    assert len(responses.calls) == 1
    assert len([m for m in mailoutbox if "lost access" in m.subject]) == 1


def test_the_event_id_is_stable(store):
    change = revoke(store)
    assert event_id_for(change) == event_id_for(StatusChange.objects.get(pk=change.pk))
    assert event_id_for(change).startswith("evt_")


@responses.activate
def test_failed_webhook_retries_with_backoff_then_delivers(store, endpoint):
    responses.post(HOOK_URL, status=502)
    revoke(store)
    services.status_changes_process()
    with time_machine.travel(timezone.now(), tick=False) as clock:
        services.notifications_deliver_due()
        hook = Notification.objects.get(channel="webhook")
        assert (hook.state, hook.attempts, hook.last_status_code) == ("pending", 1, 502)
        assert hook.next_attempt_at == timezone.now() + timedelta(minutes=1)
        services.notifications_deliver_due()  # not due yet
        assert Notification.objects.get(pk=hook.pk).attempts == 1
        responses.replace(responses.POST, HOOK_URL, status=200)
        clock.shift(timedelta(minutes=1, seconds=1))
        services.notifications_deliver_due()
    hook.refresh_from_db()
    assert (hook.state, hook.attempts) == ("delivered", 2)
    assert len({call.request.headers["webhook-id"] for call in responses.calls}) == 1  # same event id


@responses.activate
def test_an_endpoint_that_answers_permanently_wrong_is_disabled(store, endpoint):
    responses.post(HOOK_URL, status=410)
    revoke(store)
    services.status_changes_process()
    services.notifications_deliver_due()
    endpoint.refresh_from_db()
    assert not endpoint.is_active and "410" in endpoint.disabled_reason
    assert Notification.objects.get(channel="webhook").state == "failed"


@responses.activate
def test_a_webhook_gives_up_after_max_attempts(store, endpoint):
    responses.post(HOOK_URL, status=500)
    revoke(store)
    services.status_changes_process()
    with time_machine.travel(timezone.now(), tick=False) as clock:
        for _ in range(services.MAX_ATTEMPTS + 2):
            services.notifications_deliver_due()
            clock.shift(timedelta(hours=7))
    hook = Notification.objects.get(channel="webhook")
    assert (hook.state, hook.attempts) == ("failed", services.MAX_ATTEMPTS)


def test_subscribed_events_only(store, db):
    WebhookEndpoint.objects.create(name="only recovered", url=HOOK_URL, events=["store.recovered"])
    revoke(store)
    services.status_changes_process()
    assert not Notification.objects.filter(channel="webhook").exists()


@responses.activate
def test_recovery_is_announced(store, endpoint, mailoutbox):
    responses.post(HOOK_URL, status=200)
    revoke(store)
    store_services.store_record_check(
        store_id=store.pk, report=report(), trigger="schedule", started_at=timezone.now(), duration_ms=1
    )
    services.status_changes_process()
    services.notifications_deliver_due()
    types = [json.loads(call.request.body)["type"] for call in responses.calls]
    assert sorted(types) == ["store.recovered", "store.revoked"]
    assert any("connected to Violet again" in m.subject for m in mailoutbox)


def test_pausing_is_not_announced(store, endpoint):
    store_services.store_pause(store=store)
    services.status_changes_process()
    assert not Notification.objects.filter(status_change__new_status="paused").exists()


def test_the_webhook_secret_is_encrypted_and_never_in_the_body(store, endpoint):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM notifications_webhookendpoint WHERE id = %s", [endpoint.pk])
        raw = bytes(cursor.fetchone()[0])
    assert endpoint.secret.encode() not in raw
    revoke(store)
    services.status_changes_process()
    body = services.webhook_body(Notification.objects.get(channel="webhook"))
    assert endpoint.secret not in body and "access_token" not in body


def test_resuming_a_paused_broken_store_announces_nothing_again(store, endpoint, mailoutbox):
    revoke(store)
    services.status_changes_process()
    announced = Notification.objects.count()
    store_services.store_pause(store=store)
    store_services.store_resume(store=store)
    services.status_changes_process()
    assert Notification.objects.count() == announced


def test_an_endpoint_secret_no_key_decrypts_fails_that_delivery_not_the_loop(store, endpoint, mailoutbox):
    from django.db import connection

    revoke(store)
    services.status_changes_process()
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE notifications_webhookendpoint SET secret = %s WHERE id = %s", [b"gAAAAAbroken", endpoint.pk]
        )
    assert services.notifications_deliver_due() == 2  # the owners' email and the webhook; no staff list set
    hook = Notification.objects.get(channel="webhook", event_type="store.revoked")
    assert hook.state == "pending" and "UndecryptableCredential" in hook.last_error
    assert Notification.objects.get(channel="email").state == "delivered"


@override_settings(STAFF_NOTIFICATION_EMAILS=["oncall@violet.test"])
def test_staff_hear_about_breakages_only_owners_also_about_recoveries(store, mailoutbox):
    revoke(store)
    store_services.store_record_check(
        store_id=store.pk, report=report(), trigger="schedule", started_at=timezone.now(), duration_ms=1
    )
    services.status_changes_process()
    planned = sorted(Notification.objects.values_list("event_type", "audience"))
    assert planned == [
        ("store.recovered", "merchant"),
        ("store.revoked", "merchant"),
        ("store.revoked", "staff"),
    ]
