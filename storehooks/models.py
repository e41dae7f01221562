"""What the portal remembers of BigCommerce's webhooks: where they are
registered, every delivery received (never its body), and the delivery ids
already seen (so a replay is not acted on twice)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from stores.models import Store


class HookRegistration(models.Model):
    """The hooks registered for one store through its own API account."""

    tenant_path = "store__merchant"

    store = models.OneToOneField(Store, on_delete=models.CASCADE, related_name="hook_registration")
    destination = models.URLField(max_length=300, blank=True)
    # {scope: BigCommerce hook id}
    hooks = models.JSONField(default=dict, blank=True)
    registered_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(default=timezone.now)
    # Why the last registration failed ("POST /v3/hooks -> 403"); empty when it worked.
    last_error = models.CharField(max_length=300, blank=True)
    # The keep-alive sweep (`services.keepalive`): when it last looked at the hooks
    # (registering counts), what it found per scope ("active", "inactive",
    # "missing"), what it changed ({"reactivated": [scope], "recreated": [scope],
    # "duplicates_removed": n, ...}) and why it failed, if it did.
    swept_at = models.DateTimeField(null=True, blank=True)
    hook_states = models.JSONField(default=dict, blank=True)
    sweep_changes = models.JSONField(default=dict, blank=True)
    sweep_error = models.CharField(max_length=300, blank=True)
    # A sweep of this store is running until then (the claim; see `services.keepalive`).
    sweep_claimed_until = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Webhooks of {self.store_id}"


class WebhookDelivery(models.Model):
    """One delivery BigCommerce (or someone) posted to a store's receiver.

    The body is never kept: only what the receiver concluded, and for an
    accepted delivery what processing it did (`result`).
    """

    class Outcome(models.TextChoices):
        ACCEPTED = "accepted", "Accepted"
        REPLAYED = "replayed", "Replayed (already seen, not acted on)"
        IGNORED = "ignored", "Verified, nothing to do"
        REJECTED = "rejected", "Rejected"

    class Reason(models.TextChoices):
        NONE = "", "—"
        UNSIGNED = "unsigned", "No signature headers"
        MALFORMED = "malformed", "Malformed signature headers"
        STALE = "stale", "Timestamp older than the retry window or ahead of our clock"
        BAD_SIGNATURE = "bad_signature", "Signed with another key"
        # Signed with another key, and not sent by one of Violet's hooks (they
        # all carry X-Violet-Account): anyone can post those, so they prove nothing.
        UNATTRIBUTED = "unattributed", "Signed with another key, not from Violet's hooks"
        SUPERSEDED = "superseded", "From an API account these credentials replaced"
        NO_SECRET = "no_secret", "No Client secret to verify with"
        UNREADABLE_SECRET = "unreadable_secret", "The Client secret cannot be decrypted"
        UNREADABLE_BODY = "unreadable_body", "The signed body is not a JSON object"
        OTHER_STORE = "other_store", "The signed body is about another store"
        UNHANDLED_SCOPE = "unhandled_scope", "A scope the portal does not act on"

    tenant_path = "store__merchant"

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="webhook_deliveries")
    received_at = models.DateTimeField(default=timezone.now)
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    reason = models.CharField(max_length=20, choices=Reason.choices, blank=True)
    # The `webhook-id` header (clipped); empty when there was none.
    webhook_id = models.CharField(max_length=100, blank=True)
    # From the verified body only: an unverified body is not worth quoting.
    scope = models.CharField(max_length=100, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    # What processing did, e.g. {"changes": {"plan_name": ["Standard", "Pro"]}}
    # or {"check_queued": true}; {"error": "..."} when it could not.
    result = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name_plural = "webhook deliveries"
        indexes = [
            models.Index(fields=["store", "-received_at"], name="delivery_store_recent_idx"),
            models.Index(fields=["received_at"], name="delivery_received_idx"),
        ]

    def __str__(self) -> str:
        what = self.scope or self.reason
        return f"{self.store_id} {self.outcome} {what} at {self.received_at:%Y-%m-%d %H:%M}"


class SeenWebhook(models.Model):
    """A `webhook-id` whose delivery verified. The unique constraint is the replay guard:
    a second insert of the same id fails, whoever tries it."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="+")
    webhook_id = models.CharField(max_length=100)
    seen_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["store", "webhook_id"], name="seen_webhook_once"),
        ]

    def __str__(self) -> str:
        return f"{self.store_id}:{self.webhook_id}"


class JunkDeliveryCount(models.Model):
    """Deliveries anyone could have posted (unsigned, malformed, stale, or
    signed with a key but not from Violet's hooks), counted per store, reason
    and hour instead of a row each: a flood of them costs one row an hour and
    never crowds out the deliveries that say something (`WebhookDelivery`)."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(max_length=20, choices=WebhookDelivery.Reason.choices)
    hour = models.DateTimeField()  # the hour's start
    count = models.PositiveIntegerField(default=0)
    last_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["store", "reason", "hour"], name="junk_count_once_per_hour"),
        ]
        indexes = [models.Index(fields=["hour"], name="junk_count_hour_idx")]

    def __str__(self) -> str:
        return f"{self.store_id} {self.reason} ×{self.count} from {self.hour:%Y-%m-%d %H:00}"
