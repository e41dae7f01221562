"""`GET /api/v1/events/` (issue 25, item 5): a service client with
`events:read` follows the store event feed by its cursor; the feed's own
rules are tested in tests/stores/test_events_feed.py."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from stores import events, services
from stores.models import StoreEvent
from stores.tasks import prune_events
from tests.api.clients import bearer, service_client
from tests.conftest import ACME_TOKEN
from tests.leaks import assert_no_secret

URL = "/api/v1/events/"


def _event(store, txid: int, *, days_ago: float = 0) -> StoreEvent:
    row = events.new_event(store, StoreEvent.Kind.STATUS_CHANGED, {"old": "connected", "new": "paused", "reason": ""})
    row.txid = txid
    row.created_at = timezone.now() - timedelta(days=days_ago)
    row.save()
    return row


# The feed shows finished transactions only (docs/events.md): these changes
# must commit, not stay in the test's own transaction (PostgreSQL).
@pytest.mark.django_db(transaction=True)
def test_a_reader_follows_the_feed_by_its_cursor_and_sees_every_change(acme_store):
    _, secret = service_client(name="order-sync", scopes=["events:read"])
    api = bearer(secret)
    services.store_pause(store=acme_store, user=None, reason="testing")
    first = api.get(URL, {"limit": "1"})
    assert first.status_code == 200, first.content
    body = first.json()
    assert [event["type"] for event in body["events"]] == ["status_changed"]
    assert body["events"][0]["store_hash"] == "acme123"
    assert body["events"][0]["data"]["new"] == "paused"
    services.store_resume(store=acme_store, user=None)
    second = api.get(URL, {"after": body["next_cursor"]}).json()
    assert [(event["type"], event["data"]["new"]) for event in second["events"]] == [("status_changed", "connected")]
    # Nothing new: the same cursor back, ask again later.
    third = api.get(URL, {"after": second["next_cursor"]}).json()
    assert third == {"events": [], "next_cursor": second["next_cursor"], "has_more": False}
    assert "no-cache" in first["Cache-Control"] or "max-age=0" in first["Cache-Control"]


def test_without_the_scope_a_client_gets_403_and_no_event(acme_store):
    _, secret = service_client(name="catalog", scopes=["stores:read"])
    _event(acme_store, 1)
    response = bearer(secret).get(URL)
    assert response.status_code == 403
    assert "acme123" not in response.content.decode()
    assert bearer("vcs_not-a-secret").get(URL).status_code == 401


def test_a_bad_limit_or_cursor_is_a_400_with_a_clear_message(db):
    _, secret = service_client(name="order-sync", scopes=["events:read"])
    api = bearer(secret)
    for limit in ("0", "1001", "ten", "-1"):
        response = api.get(URL, {"limit": limit})
        assert response.status_code == 400 and "limit" in response.json()["error"]["message"], limit
    response = api.get(URL, {"after": "not a cursor\x00"})
    assert response.status_code == 400 and response.json()["error"]["code"] == "bad_query"


def test_a_cursor_from_before_the_retention_is_410(acme_store, settings):
    settings.STORE_EVENT_RETENTION_DAYS = 30
    _, secret = service_client(name="order-sync", scopes=["events:read"])
    api = bearer(secret)
    for txid in (1, 2, 3):
        _event(acme_store, txid, days_ago=40)
    kept = _event(acme_store, 4)
    stale = api.get(URL, {"limit": "1"}).json()["next_cursor"]
    assert prune_events() == 3
    gone = api.get(URL, {"after": stale})
    assert gone.status_code == 410 and gone.json()["error"]["code"] == "cursor_gone"
    fresh = api.get(URL).json()
    assert [event["id"] for event in fresh["events"]] == [events.event_id_for(kept)]


@pytest.mark.django_db(transaction=True)
def test_the_feed_never_holds_a_secret(acme_store):
    _, secret = service_client(name="order-sync", scopes=["events:read"])
    services.store_pause(store=acme_store, user=None, reason="x")
    body = bearer(secret).get(URL).content.decode()
    assert "status_changed" in body
    assert_no_secret(body)
    assert ACME_TOKEN not in body
