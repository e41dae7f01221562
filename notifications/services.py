"""Announcing status changes: plan who hears about each, then deliver.

1. `status_changes_process()` claims unprocessed StatusChange rows one by one
   (`filter(id=..., processed_at=None).update(...)`; if it did not update one
   row, someone else took it) and, in the same transaction, writes one
   Notification per destination. A change is therefore announced once, even
   with two dispatchers, and a crash loses nothing.
2. `notifications_deliver_due()` claims pending notifications whose time has
   come (a lease, as for store checks), sends each, and records the attempt:
   delivered, retried later with backoff, or failed. A webhook endpoint that
   answers permanently wrong is disabled, with the reason, for staff to see.
1b. `store_events_process()` follows the store event feed (`stores.events`,
   with its own cursor in a FeedPosition row, locked while it plans) and
   writes one Notification per event and endpoint that subscribed to its
   kind (`WebhookEndpoint.store_events`); step 2 delivers them like the
   others, with the feed's JSON for one event as the body.
3. Staff configure the endpoints in the console: `webhook_endpoint_save()`
   (which enables again an endpoint Violet disabled) and
   `webhook_endpoint_rotate_secret()`.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import requests
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables
from standardwebhooks.webhooks import Webhook

from config import metrics
from config.mail import header_text
from merchants.models import Membership
from stores import events as store_events
from stores.bigcommerce.scopes import REQUIRED_SCOPES, scope_label
from stores.incident_rule import KIND_WORDS, IncidentKind
from stores.models import Incident, StatusChange
from stores.services.incidents import incident_examples_fill
from stores.status import BROKEN_STATUSES

from . import destinations
from .events import (
    api_accounts_url,
    event_id_for,
    event_payload,
    event_type_for,
    incident_event_id,
    incident_page_url,
    incident_payload,
    store_page_url,
)
from .models import FeedPosition, Notification, WebhookEndpoint, new_signing_secret

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
LEASE = timedelta(minutes=5)
# 408 and 429 say "later"; every other 4xx says the request itself is wrong.
RETRYABLE_4XX = {408, 425, 429}
# Owners hear about breakages and recoveries. Staff's inbox is for what needs
# someone: breakages only (a recovery shows in the console and the webhooks).
BREAKAGE_EVENTS = {
    "store.missing_scopes",
    "store.revoked",
    "store.unavailable",
    "store.refused",
    "store.unreachable",
}
MERCHANT_EVENTS = BREAKAGE_EVENTS | {"store.recovered"}
STAFF_EVENTS = BREAKAGE_EVENTS


def backoff(attempts: int) -> timedelta:
    """1, 2, 4, 8 ... minutes, capped at 6 hours."""
    return min(timedelta(minutes=2 ** max(attempts - 1, 0)), timedelta(hours=6))


# --- 1. planning ---------------------------------------------------------------


def status_changes_process(*, limit: int = 500) -> int:
    """Plan the notifications of unprocessed status changes; how many were claimed."""
    ids = list(
        StatusChange.objects.filter(processed_at=None).order_by("created_at").values_list("id", flat=True)[:limit]
    )
    claimed = 0
    for change_id in ids:
        with transaction.atomic():
            if StatusChange.objects.filter(id=change_id, processed_at=None).update(processed_at=timezone.now()) != 1:
                continue  # another dispatcher took it
            change = StatusChange.objects.select_related("store__merchant").get(id=change_id)
            _plan(change)
            claimed += 1
    return claimed


def _plan(change: StatusChange) -> list[Notification]:
    event_type = event_type_for(change)
    if event_type is None:
        return []
    common = {"status_change": change, "event_type": event_type, "event_id": event_id_for(change)}
    planned = []
    if event_type in MERCHANT_EVENTS and _for_current_merchant(change):
        owners = list(
            Membership.objects.filter(merchant=change.store.merchant, role=Membership.Role.OWNER).values_list(
                "user__email", flat=True
            )
        )
        if owners:
            planned.append(Notification(channel="email", audience="merchant", recipients=owners, **common))
    planned += _staff_and_endpoints(event_type, common, staff=event_type in STAFF_EVENTS)
    return Notification.objects.bulk_create(planned, ignore_conflicts=True)


def _staff_and_endpoints(event_type: str, common: dict, *, staff: bool) -> list[Notification]:
    """Staff's e-mail (when `staff` and someone is configured to hear) and one
    webhook per active endpoint that wants the event type; unsaved."""
    planned = []
    if staff and settings.STAFF_NOTIFICATION_EMAILS:
        planned.append(
            Notification(
                channel="email", audience="staff", recipients=list(settings.STAFF_NOTIFICATION_EMAILS), **common
            )
        )
    for endpoint in WebhookEndpoint.objects.filter(is_active=True).defer("secret"):
        if endpoint.wants(event_type):
            planned.append(
                Notification(channel="webhook", audience=f"endpoint:{endpoint.pk}", endpoint=endpoint, **common)
            )
    return planned


WEBHOOKS_FEED = "webhooks"


def store_events_process(*, limit: int = 500) -> int:
    """Plan the webhook deliveries of the next store events; how many events
    were read. The feed position is locked for the whole transaction, so two
    dispatchers take turns and each event is planned once (the unique
    constraint would refuse a second plan anyway). A position older than what
    was pruned (the dispatcher stopped for longer than the retention) starts
    again from the oldest event kept, and says so."""
    with transaction.atomic():
        position, _ = FeedPosition.objects.select_for_update().get_or_create(name=WEBHOOKS_FEED)
        try:
            page = store_events.events_page(after=position.cursor or None, limit=limit)
        except store_events.CursorGone:
            logger.warning("store events were pruned before webhooks were planned for them; going on from the oldest")
            page = store_events.events_page(after=None, limit=limit)
        endpoints = [
            endpoint
            for endpoint in (WebhookEndpoint.objects.filter(is_active=True).defer("secret") if page.events else [])
            if endpoint.store_events
        ]
        Notification.objects.bulk_create(
            [
                Notification(
                    channel=Notification.Channel.WEBHOOK,
                    audience=f"endpoint:{endpoint.pk}",
                    endpoint=endpoint,
                    store_event=event,
                    event_type=f"store_event.{event.kind}",
                    event_id=store_events.event_id_for(event),
                )
                for event in page.events
                for endpoint in endpoints
                if endpoint.wants_store_event(event.kind)
            ],
            ignore_conflicts=True,
        )
        if (page.next_cursor or "") != position.cursor:
            position.cursor, position.updated_at = page.next_cursor or "", timezone.now()
            position.save(update_fields=["cursor", "updated_at"])
    return len(page.events)


def incidents_process() -> int:
    """Plan the notifications of incidents that opened or closed and were not
    announced yet: staff's e-mail and the webhook endpoints', once each (the
    announcement stamp is claimed by a conditional update, as for status
    changes). Merchants never hear of an incident."""
    planned = 0
    for field, event_type, pending in (
        ("opening_announced_at", "incident.opened", Q(opening_announced_at__isnull=True)),
        ("closing_announced_at", "incident.closed", Q(closing_announced_at__isnull=True, closed_at__isnull=False)),
    ):
        for incident_id in list(Incident.objects.filter(pending).order_by("opened_at").values_list("id", flat=True)):
            with transaction.atomic():
                mine = Incident.objects.filter(pending, id=incident_id).update(**{field: timezone.now()})
                if mine != 1:
                    continue  # another dispatcher took it
                incident = Incident.objects.get(id=incident_id)
                incident_examples_fill(incident)
                _plan_incident(incident, event_type)
                planned += 1
    return planned


def _plan_incident(incident: Incident, event_type: str) -> list[Notification]:
    common = {"incident": incident, "event_type": event_type, "event_id": incident_event_id(incident, event_type)}
    planned = _staff_and_endpoints(event_type, common, staff=True)
    return Notification.objects.bulk_create(planned, ignore_conflicts=True)


def _for_current_merchant(change: StatusChange) -> bool:
    """A status change from before the store came to its merchant (a store
    moved: `Store.merchant_since`) is not the merchant's to hear about: its
    owners are neither planned for it nor sent what was planned for the
    previous merchant's. Staff and webhook endpoints still get it."""
    return change.store.is_current_merchants(change.created_at)


# --- 2. delivery ---------------------------------------------------------------


@dataclass
class Attempt:
    ok: bool
    error: str = ""
    status_code: int | None = None
    permanent: bool = False


def notifications_deliver_due(*, limit: int = 200, now: datetime | None = None) -> int:
    now = now or timezone.now()
    due = Notification.objects.filter(state=Notification.State.PENDING, next_attempt_at__lte=now).filter(
        Q(claimed_until__isnull=True) | Q(claimed_until__lte=now)
    )
    sent = 0
    for notification_id in list(due.order_by("next_attempt_at").values_list("id", flat=True)[:limit]):
        # Each claim's lease starts now, not when this run started: a run slowed
        # by unresponsive endpoints must not hand out leases already expired.
        claimed_at = max(now, timezone.now())
        lease_until = claimed_at + LEASE
        claimed = (
            Notification.objects.filter(id=notification_id, state=Notification.State.PENDING)
            .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lte=claimed_at))
            .update(claimed_until=lease_until)
        )
        if claimed == 1:
            notification_deliver(notification_id, lease_until=lease_until)
            sent += 1
    return sent


def notification_deliver(notification_id: int, *, lease_until: datetime | None = None) -> Notification:
    notification = (
        Notification.objects.select_related("status_change__store__merchant", "store_event", "incident", "endpoint")
        .defer("endpoint__secret")  # decrypted only when signing, inside the try below
        .get(id=notification_id)
    )
    began = time.perf_counter()
    try:
        if notification.channel == Notification.Channel.EMAIL:
            attempt = _send_email(notification)
        else:
            attempt = _send_webhook(notification)
    except Exception as error:  # a delivery must never crash the loop; record why
        logger.exception("notification %s failed", notification_id)
        attempt = Attempt(ok=False, error=f"{type(error).__name__}: {error}"[:500])
    _record(notification, attempt, duration_ms=int((time.perf_counter() - began) * 1000), lease_until=lease_until)
    return notification


def _record(notification: Notification, attempt: Attempt, *, duration_ms: int, lease_until: datetime | None) -> None:
    now = timezone.now()
    notification.attempts += 1
    notification.duration_ms = duration_ms
    notification.last_status_code = attempt.status_code
    notification.claimed_until = None
    if attempt.ok:
        notification.state = Notification.State.DELIVERED
        notification.delivered_at = now
        notification.last_error = ""
    else:
        notification.last_error = attempt.error
        if attempt.permanent or notification.attempts >= MAX_ATTEMPTS:
            notification.state = Notification.State.FAILED
        else:
            notification.next_attempt_at = now + backoff(notification.attempts)
    fields = [
        "attempts",
        "duration_ms",
        "last_status_code",
        "claimed_until",
        "state",
        "delivered_at",
        "last_error",
        "next_attempt_at",
    ]
    mine = Notification.objects.filter(pk=notification.pk)
    if lease_until is not None:
        mine = mine.filter(claimed_until=lease_until)  # only while the claim is still ours
    if not mine.update(**{name: getattr(notification, name) for name in fields}):
        logger.warning("notification %s: the claim expired during delivery; its new owner records it", notification.pk)
        return
    metrics.notification_attempted(notification)
    endpoint = notification.endpoint
    if endpoint is not None:
        if attempt.ok:
            WebhookEndpoint.objects.filter(pk=endpoint.pk).update(last_success_at=now, last_error="")
        elif attempt.permanent:
            WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
                is_active=False, disabled_at=now, disabled_reason=attempt.error, last_error=attempt.error
            )
            logger.warning("webhook endpoint %s disabled: %s", endpoint.pk, attempt.error)
        else:
            WebhookEndpoint.objects.filter(pk=endpoint.pk).update(last_error=attempt.error)


def _email_context(notification: Notification) -> dict:
    change = notification.status_change
    store = change.store
    return {
        "change": change,
        "store": store,
        "event_type": notification.event_type,
        "store_url": store_page_url(change),
        "api_accounts_url": api_accounts_url(store.store_hash),
        "scopes": REQUIRED_SCOPES,
        "missing": [scope_label(p) for p in store.missing_scopes],
        "broken": change.new_status in BROKEN_STATUSES,
        "audience": notification.audience,
    }


def _send_incident_email(notification: Notification) -> Attempt:
    incident = notification.incident
    context = {
        "incident": incident,
        "opened": notification.event_type == "incident.opened",
        "what": KIND_WORDS[IncidentKind(incident.kind)],
        "incident_url": incident_page_url(incident),
    }
    subject = header_text(render_to_string("notifications/email/incident_subject.txt", context), max_length=200)
    body = render_to_string("notifications/email/incident.txt", context)
    send_mail(subject=subject, message=body, from_email=None, recipient_list=notification.recipients)
    return Attempt(ok=True)


def _send_email(notification: Notification) -> Attempt:
    if notification.incident_id:
        return _send_incident_email(notification)
    if notification.audience == "merchant" and not _for_current_merchant(notification.status_change):
        return Attempt(
            ok=False, error="Not sent: the store moved to another merchant after this change.", permanent=True
        )
    context = _email_context(notification)
    # The subject names the store: outside text, cleaned so it can never
    # make the message fail (a newline would raise BadHeaderError).
    subject = header_text(render_to_string("notifications/email/subject.txt", context), max_length=200)
    body = render_to_string("notifications/email/status_change.txt", context)
    send_mail(subject=subject, message=body, from_email=None, recipient_list=notification.recipients)
    return Attempt(ok=True)


def webhook_body(notification: Notification) -> str:
    if notification.store_event_id:
        payload = store_events.event_json(notification.store_event)  # the feed's shape
    elif notification.incident_id:
        payload = incident_payload(notification.incident, notification.event_type)
    else:
        payload = event_payload(notification.status_change, notification.event_type)
    return json.dumps(payload, separators=(",", ":"), sort_keys=True)


@sensitive_variables("endpoint")
def _send_webhook(notification: Notification) -> Attempt:
    endpoint = notification.endpoint
    if endpoint is None or not endpoint.is_active:
        return Attempt(ok=False, error="The endpoint was disabled.", permanent=True)
    body = webhook_body(notification)
    timestamp = timezone.now()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "VioletConnect-Webhooks/1.0",
        "webhook-id": notification.event_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": Webhook(endpoint.secret).sign(notification.event_id, timestamp, body),
    }
    # Checked again at delivery (the rules may be stricter than when it was
    # saved), and the connection goes only to a checked public address.
    problem = destinations.url_problem(endpoint.url, resolve_name=False)
    if problem:
        return Attempt(ok=False, error=f"Refused: {problem}", permanent=True)
    try:
        with destinations.pinned_session() as session:
            response = session.post(
                endpoint.url, data=body.encode(), headers=headers, timeout=(5, 10), allow_redirects=False
            )
    except requests.Timeout:
        return Attempt(ok=False, error="Timed out waiting for the endpoint.")
    except requests.ConnectionError as error:
        refused = destinations.refused_reason(error)
        if refused:
            return Attempt(ok=False, error=f"Refused: {refused}", permanent=True)
        return Attempt(ok=False, error=f"Could not connect: {type(error).__name__}.")
    if 200 <= response.status_code < 300:
        return Attempt(ok=True, status_code=response.status_code)
    permanent = 300 <= response.status_code < 500 and response.status_code not in RETRYABLE_4XX
    return Attempt(
        ok=False,
        status_code=response.status_code,
        error=f"The endpoint answered HTTP {response.status_code}.",
        permanent=permanent,
    )


# --- 3. webhook endpoints, as staff configure them ------------------------------------


class EndpointRefused(ValueError):
    """An endpoint URL deliveries may not go to, with the reason for staff."""


def webhook_endpoint_save(*, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    """Save an endpoint as staff set it up. An active endpoint that Violet had
    disabled (it answered permanently wrong) is enabled again: its disabled
    stamp and reason go. Never touches a signing secret it did not load."""
    problem = destinations.url_problem(endpoint.url)
    if problem:
        raise EndpointRefused(problem)
    if endpoint.is_active and endpoint.disabled_at:
        endpoint.disabled_at, endpoint.disabled_reason = None, ""
    endpoint.save()
    return endpoint


@sensitive_variables("secret")
def webhook_endpoint_rotate_secret(*, endpoint: WebhookEndpoint) -> str:
    """Give the endpoint a new signing secret and return it (for staff to see
    once). Deliveries from now on are signed with it; the old one no longer
    verifies."""
    secret = new_signing_secret()
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(secret=secret)
    return secret
