"""Webhook endpoints and API tokens: each secret is shown once, then only as a
fingerprint or prefix; rotation and revocation work and are logged."""

from __future__ import annotations

import hashlib
import re

from django.contrib.admin.models import LogEntry
from django.urls import reverse
from django.utils import timezone

from api.models import ApiToken
from api.tokens import api_token_authenticate
from notifications.models import Notification, WebhookEndpoint
from stores import events
from tests.conftest import client_for
from tests.console.conftest import assert_no_secret


def url(name, *args):
    return reverse(f"admin:{name}", args=args)


def secret_of(endpoint) -> str:
    return WebhookEndpoint.objects.values_list("secret", flat=True).get(pk=endpoint.pk)


def test_a_new_endpoints_signing_secret_is_shown_once_then_only_its_fingerprint(operations):
    client = client_for(operations)
    response = client.post(
        url("notifications_webhookendpoint_add"),
        {
            "name": "Channels",
            "url": "https://hooks.example.test/violet",
            "events": ["store.revoked", "store.recovered"],
            "is_active": "on",
        },
    )
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    endpoint = WebhookEndpoint.objects.get()
    secret = secret_of(endpoint)
    assert secret.startswith("whsec_") and secret in response.content.decode()
    assert endpoint.events == ["store.revoked", "store.recovered"]

    for page in (
        url("notifications_webhookendpoint_change", endpoint.pk),
        url("notifications_webhookendpoint_changelist"),
        url("notifications_webhookendpoint_history", endpoint.pk),
        url("index"),
    ):
        assert_no_secret(client.get(page).content.decode(), (secret,))
    change = client.get(url("notifications_webhookendpoint_change", endpoint.pk)).content.decode()
    assert "SHA-256 " + hashlib.sha256(secret.encode()).hexdigest()[:12] in change
    for entry in LogEntry.objects.all():
        assert_no_secret(entry.change_message + entry.object_repr, (secret,))
    # the session and its message cookie never held it
    assert_no_secret(str(client.session.items()), (secret,))
    assert_no_secret(str(client.cookies), (secret,))


def test_rotating_the_signing_secret(operations, endpoint):
    client = client_for(operations)
    old = secret_of(endpoint)
    assert client.get(url("notifications_webhookendpoint_rotate", endpoint.pk)).status_code == 200
    assert secret_of(endpoint) == old  # GET changes nothing
    response = client.post(url("notifications_webhookendpoint_rotate", endpoint.pk))
    new = secret_of(endpoint)
    assert new != old and new in response.content.decode() and old not in response.content.decode()
    [entry] = LogEntry.objects.all()
    assert entry.user == operations and entry.change_message.startswith(
        "Rotated the signing secret (new SHA-256 "
    )
    assert_no_secret(entry.change_message, (old, new))
    assert_no_secret(
        client.get(url("notifications_webhookendpoint_change", endpoint.pk)).content.decode(),
        (old, new),
    )


def test_editing_an_endpoint_keeps_its_secret_and_re_enabling_clears_the_disabled_reason(
    operations, endpoint
):
    from django.utils import timezone

    secret = secret_of(endpoint)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        is_active=False,
        disabled_at=timezone.now(),
        disabled_reason="The endpoint answered HTTP 410.",
        last_error="The endpoint answered HTTP 410.",
    )
    client = client_for(operations)
    listing = client.get(url("notifications_webhookendpoint_changelist")).content.decode()
    assert "Disabled" in listing and "HTTP 410" in listing
    index = client.get(url("index")).content.decode()
    assert "Violet core" in index and "HTTP 410" in index
    client.post(
        url("notifications_webhookendpoint_change", endpoint.pk),
        {
            "name": "Violet core",
            "url": "https://hooks.violet.test/bc2",
            "events": [],
            "is_active": "on",
        },
    )
    endpoint.refresh_from_db()
    assert endpoint.url == "https://hooks.violet.test/bc2" and endpoint.events == []
    assert endpoint.is_active and endpoint.disabled_at is None and endpoint.disabled_reason == ""
    assert secret_of(endpoint) == secret


def test_deliveries_are_a_read_only_list_with_filters(support, history, endpoint):
    client = client_for(support)
    body = client.get(
        url("notifications_notification_changelist") + "?channel__exact=webhook"
    ).content.decode()
    assert "Violet core" in body and "HTTP 410" in body and "alice@acme.test" not in body
    failed = Notification.objects.get(channel="webhook")
    assert client.get(url("notifications_notification_change", failed.pk)).status_code == 200
    assert client.post(url("notifications_notification_change", failed.pk), {}).status_code == 403
    assert client.get(url("notifications_notification_delete", failed.pk)).status_code == 403


def test_an_api_token_is_shown_once_stored_hashed_and_revocable(operations):
    client = client_for(operations)
    response = client.post(url("api_apitoken_add"), {"name": "Ops dashboard"})
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    token = ApiToken.objects.get()
    body = response.content.decode()
    start = body.index('value="vc_') + len('value="')
    raw = body[start : body.index('"', start)]
    assert token.token_hash == hashlib.sha256(raw.encode()).hexdigest() and raw.startswith(
        token.prefix
    )
    assert token.created_by == operations
    assert api_token_authenticate(raw) == token
    for page in (
        url("api_apitoken_changelist"),
        url("api_apitoken_change", token.pk),
        url("api_apitoken_history", token.pk),
    ):
        assert_no_secret(client.get(page).content.decode(), (raw,))
    for entry in LogEntry.objects.all():
        assert_no_secret(entry.change_message + entry.object_repr, (raw,))
    listing = client.get(url("api_apitoken_changelist")).content.decode()
    assert "column-last_used" in listing and "column-expires" in listing  # staff see both
    assert f'datetime="{token.expires_at.isoformat()}"' in listing

    assert client.get(url("api_apitoken_revoke", token.pk)).status_code == 200
    client.post(url("api_apitoken_revoke", token.pk))
    token.refresh_from_db()
    assert token.revoked_at is not None and token.revoked_by == operations
    assert api_token_authenticate(raw) is None
    assert (
        LogEntry.objects.filter(change_message__startswith="Revoked the API token vc_").count() == 1
    )


# Issue 29, item 13: the shown-once token had no copy button.
def test_the_shown_once_token_has_a_copy_button_with_no_inline_script(operations):
    body = client_for(operations).post(url("api_apitoken_add"), {"name": "Ops dashboard"}).content.decode()
    assert re.search(r'<input id="vc-secret"[^>]*readonly value="vc_', body)
    # Hidden until static/js/copy.js shows it: without the script, no dead button.
    assert '<button type="button" class="button" data-copy="vc-secret" hidden>Copy</button>' in body
    assert re.search(r'<script src="[^"]*/js/copy(\.[0-9a-f]+)?\.js" defer></script>', body)
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", body)  # the CSP allows no inline script


def test_revoking_tokens_in_bulk(operations, superuser):
    from api.tokens import api_token_issue

    tokens = [api_token_issue(name=f"t{i}", created_by=superuser)[0] for i in range(3)]
    client_for(operations).post(
        url("api_apitoken_changelist"),
        {"action": "revoke_action", "_selected_action": [t.pk for t in tokens[:2]]},
    )
    assert ApiToken.objects.active().get() == tokens[2]


def test_an_endpoint_subscribes_to_store_events_and_their_deliveries_are_listed(operations, support, acme_store):
    """The store event feed's kinds are a setting of their own (none by
    default); a store event's delivery shows in the list with its store hash."""
    client = client_for(operations)
    client.post(
        url("notifications_webhookendpoint_add"),
        {
            "name": "Order sync",
            "url": "https://hooks.example.test/events",
            "store_events": ["moved"],
            "is_active": "on",
        },
    )
    endpoint = WebhookEndpoint.objects.get()
    assert (endpoint.events, endpoint.store_events) == ([], ["moved"])
    assert "store events: moved" in client.get(url("notifications_webhookendpoint_changelist")).content.decode()
    refused = client.post(
        url("notifications_webhookendpoint_change", endpoint.pk),
        {"name": "Order sync", "url": endpoint.url, "store_events": ["store.revoked"], "is_active": "on"},
    )
    assert refused.status_code == 200 and WebhookEndpoint.objects.get().store_events == ["moved"]

    event = events.record([events.moved(acme_store, from_merchant_id=acme_store.merchant_id, now=timezone.now())])[0]
    delivery = Notification.objects.create(
        store_event=event,
        endpoint=endpoint,
        channel="webhook",
        audience=f"endpoint:{endpoint.pk}",
        event_type="store_event.moved",
        event_id=events.event_id_for(event),
    )
    support_client = client_for(support)
    listed = support_client.get(url("notifications_notification_changelist")).content.decode()
    assert "store_event.moved" in listed and "acme123" in listed
    assert support_client.get(url("notifications_notification_change", delivery.pk)).status_code == 200
