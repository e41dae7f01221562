"""Webhook endpoints subscribe to the store event feed's kinds: each event is
planned once per subscribed endpoint, by a planner that follows the feed with
its own cursor, and delivered signed (Standard Webhooks) with the feed's JSON
for that event as the body.

transactional_db: on PostgreSQL the feed shows only events of finished
transactions, and pytest-django's `db` keeps the whole test in one."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest
import responses
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from notifications import services
from notifications.models import FeedPosition, Notification, WebhookEndpoint
from notifications.tasks import dispatch
from stores import events
from stores import services as store_services
from stores.models import StatusChange, StoreEvent
from tests.leaks import assert_no_secret
from tests.reports import credentials, report

HOOK_URL = "https://hooks.violet.test/events"
OTHER_URL = "https://hooks.violet.test/status"


@pytest.fixture
def subscribed(transactional_db):
    return WebhookEndpoint.objects.create(
        name="Order sync", url=HOOK_URL, events=["store.revoked"], store_events=["credentials_replaced", "moved"]
    )


@pytest.fixture
def not_subscribed(transactional_db):
    return WebhookEndpoint.objects.create(name="Status only", url=OTHER_URL)


@responses.activate
def test_subscribed_kinds_are_delivered_once_signed_in_the_feeds_shape(subscribed, not_subscribed, acme_store, globex):
    responses.post(HOOK_URL, status=204)
    new = credentials()
    store_services.store_replace_credentials(store=acme_store, credentials=new, report=report())
    store_services.store_pause(store=acme_store)  # status_changed: not subscribed
    store_services.store_move(store=acme_store, to_merchant=globex)
    StatusChange.objects.update(processed_at=timezone.now())  # only the store events here

    dispatch()
    assert services.store_events_process() == 0  # the cursor moved on: nothing planned twice

    planned = Notification.objects.filter(store_event__isnull=False)
    assert sorted(planned.values_list("event_type", "endpoint__name", "state")) == [
        ("store_event.credentials_replaced", "Order sync", "delivered"),
        ("store_event.moved", "Order sync", "delivered"),
    ]
    assert len(responses.calls) == 2
    bodies = []
    for call in responses.calls:
        payload = Webhook(subscribed.secret).verify(call.request.body, dict(call.request.headers))
        event = StoreEvent.objects.get(kind=payload["type"])
        # The same JSON as the feed's, the same id as the receiver's dedup key.
        assert payload == events.event_json(event)
        assert call.request.headers["webhook-id"] == events.event_id_for(event)
        bodies.append(call.request.body)
    assert [json.loads(body)["type"] for body in bodies] == ["credentials_replaced", "moved"]
    assert_no_secret(b"".join(bodies))
    assert_no_secret(b"".join(bodies), (new.access_token, new.client_secret, new.client_id))


def test_an_endpoint_that_subscribes_to_nothing_gets_no_store_event(not_subscribed, acme_store):
    store_services.store_disconnect(store=acme_store)
    assert services.store_events_process() == 2  # status_changed and disconnected read, none planned
    assert not Notification.objects.filter(store_event__isnull=False).exists()
    assert FeedPosition.objects.get(name=services.WEBHOOKS_FEED).cursor


def test_a_planner_behind_what_was_pruned_goes_on_from_the_oldest_kept(
    subscribed, acme, acme_store, globex, settings, caplog
):
    settings.STORE_EVENT_RETENTION_DAYS = 1
    store_services.store_move(store=acme_store, to_merchant=globex)
    assert services.store_events_process() == 1  # planned; the planner's cursor is at this move
    store_services.store_replace_credentials(store=acme_store, credentials=credentials(), report=report())
    StoreEvent.objects.update(created_at=timezone.now() - timedelta(days=2))
    store_services.store_move(store=acme_store, to_merchant=acme)
    # The planner stopped for longer than the retention: the replacement was
    # pruned before it was planned, and the cursor is behind the horizon.
    assert events.store_events_prune() == 2
    with caplog.at_level(logging.WARNING, logger="notifications.services"):
        assert services.store_events_process() == 1
    assert "pruned before webhooks were planned" in caplog.text
    # The first move's notification went with its event; the second is planned.
    moved_back = StoreEvent.objects.get()
    assert list(Notification.objects.values_list("store_event", flat=True)) == [moved_back.pk]
