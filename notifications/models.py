"""Who hears about a store's status change, and how each delivery went."""

from __future__ import annotations

import base64
import secrets

from django.db import models
from django.utils import timezone

from config.crypto import EncryptedTextField
from stores.models import Incident, StatusChange, StoreEvent


def new_signing_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


class WebhookEndpoint(models.Model):
    """A receiver of Violet's store events, configured by staff.

    Deliveries are signed in the Standard Webhooks format with `secret`.
    An endpoint that answers permanently wrong is disabled, with the reason.
    """

    name = models.CharField(max_length=100)
    url = models.URLField(max_length=500)
    secret = EncryptedTextField(default=new_signing_secret)
    # Event types to send (e.g. ["store.revoked"]); empty means all.
    events = models.JSONField(default=list, blank=True)
    # The event feed's kinds to send as well (StoreEvent.Kind, e.g.
    # ["credentials_replaced", "moved"]), in the feed's own JSON shape
    # (docs/events.md); empty means none: a service subscribes on purpose.
    store_events = models.JSONField(default=list, blank=True)
    is_active = models.BooleanField(default=True)
    disabled_reason = models.TextField(blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def wants(self, event_type: str) -> bool:
        return not self.events or event_type in self.events

    def wants_store_event(self, kind: str) -> bool:
        return kind in self.store_events


class Notification(models.Model):
    """One message about one status change (e-mail, webhook), one store event
    of the feed (webhook), or one fleet-wide incident's opening or closing
    (staff's e-mail, webhook) to one destination."""

    class Channel(models.TextChoices):
        EMAIL = "email", "Email"
        WEBHOOK = "webhook", "Webhook"

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"

    status_change = models.ForeignKey(
        StatusChange, null=True, blank=True, on_delete=models.CASCADE, related_name="notifications"
    )
    store_event = models.ForeignKey(
        StoreEvent, null=True, blank=True, on_delete=models.CASCADE, related_name="notifications"
    )
    incident = models.ForeignKey(
        Incident, null=True, blank=True, on_delete=models.CASCADE, related_name="notifications"
    )
    event_type = models.CharField(max_length=40)
    # Stable per status change or store event: receivers deduplicate on it.
    event_id = models.CharField(max_length=64)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    endpoint = models.ForeignKey(
        WebhookEndpoint, null=True, blank=True, on_delete=models.CASCADE, related_name="notifications"
    )
    recipients = models.JSONField(default=list, blank=True)  # email addresses
    # Who this is for: "merchant" or "staff" (email), "endpoint:<id>" (webhook).
    audience = models.CharField(max_length=40)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_until = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["status_change", "audience"], name="notification_once_per_destination"),
            models.UniqueConstraint(fields=["store_event", "audience"], name="notification_store_event_once"),
            # An incident is announced once when it opens and once when it closes, per destination.
            models.UniqueConstraint(
                fields=["incident", "event_type", "audience"], name="notification_incident_once_per_destination"
            ),
            models.CheckConstraint(
                condition=models.Q(status_change__isnull=False, store_event__isnull=True, incident__isnull=True)
                | models.Q(status_change__isnull=True, store_event__isnull=False, incident__isnull=True)
                | models.Q(status_change__isnull=True, store_event__isnull=True, incident__isnull=False),
                name="notification_about_one_thing",
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="notification_due_idx",
                condition=models.Q(state="pending"),
            )
        ]

    def __str__(self) -> str:
        return f"{self.event_type} → {self.endpoint or ', '.join(self.recipients)} ({self.state})"


class FeedPosition(models.Model):
    """Where a reader of the store event feed inside the portal got to (the
    webhooks' planner): the cursor of the last event it handled."""

    name = models.CharField(max_length=40, unique=True)
    cursor = models.CharField(max_length=64, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.name
