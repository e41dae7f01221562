"""What the merchant's store page and the staff console say about a store's Client
secret, and what the staff console says about its hooks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from stores.models import Credential, Store

from .models import HookRegistration, JunkDeliveryCount, WebhookDelivery
from .services.registration import SCOPES


@dataclass(frozen=True)
class ClientSecretState:
    """`state` is one of:

    - "proven": a delivery signed with it verified since the credentials were saved;
    - "looks_wrong": none did, and the last `failures` deliveries were signed with another key;
    - "format_only": nothing proves or disproves it yet (or webhooks are off);
    - "none": the store has no credentials.
    """

    state: str
    verified_at: datetime | None = None
    failures: int = 0
    webhooks_enabled: bool = False

    @property
    def proven(self) -> bool:
        return self.state == "proven"

    @property
    def looks_wrong(self) -> bool:
        return self.state == "looks_wrong"


def client_secret_state(store: Store, *, since: datetime | None = None) -> ClientSecretState:
    """With `since` (the merchant's page passes `store.merchant_since`), a
    delivery before it neither proves nor disproves anything: it belongs to
    the store's previous merchant."""
    enabled = bool(settings.BIGCOMMERCE_WEBHOOKS_ENABLED)
    credential = (
        Credential.objects.fingerprints_only()
        .filter(store=store)
        .only("id", "store_id", "created_at", "client_secret_verified_at")
        .first()
    )
    if credential is None:
        return ClientSecretState("none", webhooks_enabled=enabled)
    verified_at = credential.client_secret_verified_at
    start = max(credential.created_at, since) if since else credential.created_at
    if verified_at is not None and verified_at >= start:
        return ClientSecretState("proven", verified_at=verified_at, webhooks_enabled=enabled)
    # Any verified delivery since the credentials were saved would have proven
    # them, so every rejection since then is "in a row".
    failures = WebhookDelivery.objects.filter(
        store=store,
        outcome=WebhookDelivery.Outcome.REJECTED,
        reason=WebhookDelivery.Reason.BAD_SIGNATURE,
        received_at__gte=start,
    ).count()
    if failures >= settings.BIGCOMMERCE_WEBHOOK_FAILURES_BEFORE_WARNING:
        return ClientSecretState("looks_wrong", failures=failures, webhooks_enabled=enabled)
    return ClientSecretState("format_only", failures=failures, webhooks_enabled=enabled)


@dataclass(frozen=True)
class HooksState:
    """What the staff store page says about a store's BigCommerce hooks.

    `scopes`: (scope, state) with state "active", "inactive" or "missing" as the
    last sweep found it (before repairing), or "unknown" when never swept.
    """

    enabled: bool
    scopes: list[tuple[str, str]]
    swept_at: datetime | None = None
    changes: list[str] | None = None  # what the last sweep changed, in words
    error: str = ""
    last_delivery_at: datetime | None = None
    last_delivery_outcome: str = ""
    # Junk (unsigned, malformed, stale, signed by someone else) in the last
    # 24 hours, counted rather than recorded: {reason: count}.
    junk_last_day: dict[str, int] | None = None


_CHANGE_WORDS = {
    "reactivated": "re-activated",
    "recreated": "re-created",
    "duplicates_removed": "duplicates removed",
    "updated": "updated",
    "removed_unwanted": "unwanted hooks removed",
}


def _changes_in_words(changes: dict) -> list[str]:
    """`{"reactivated": ["store/app/uninstalled"], "updated": 2}`
    → `["re-activated store/app/uninstalled", "updated 2"]`."""
    words = []
    # In one order whatever the database kept (PostgreSQL's jsonb reorders keys).
    order = list(_CHANGE_WORDS)
    for key, value in sorted(changes.items(), key=lambda item: (order.index(item[0]) if item[0] in order else 99)):
        what = ", ".join(str(item) for item in value) if isinstance(value, list | tuple) else str(value)
        words.append(f"{_CHANGE_WORDS.get(key, str(key).replace('_', ' '))} {what}")
    return words


def hooks_state(store: Store) -> HooksState:
    registration = HookRegistration.objects.filter(store=store).first()
    found = (registration.hook_states if registration else None) or {}
    scopes = [(scope, found.get(scope, "unknown")) for scope in SCOPES]
    last = (
        WebhookDelivery.objects.filter(store=store)
        .order_by("-received_at", "-id")
        .only("received_at", "outcome", "reason")
        .first()
    )
    return HooksState(
        enabled=bool(settings.BIGCOMMERCE_WEBHOOKS_ENABLED),
        scopes=scopes,
        swept_at=registration.swept_at if registration else None,
        changes=_changes_in_words((registration.sweep_changes if registration else None) or {}),
        error=(registration.sweep_error or registration.last_error) if registration else "",
        last_delivery_at=last.received_at if last else None,
        last_delivery_outcome=(f"{last.outcome} ({last.reason})" if last and last.reason else last.outcome)
        if last
        else "",
        junk_last_day=junk_last_day(store),
    )


def junk_last_day(store: Store, *, now: datetime | None = None) -> dict[str, int]:
    """{reason: count} of the junk deliveries counted in the last 24 hours (whole hours)."""
    since = (now or timezone.now()) - timedelta(hours=24)
    totals: dict[str, int] = {}
    for reason, count in JunkDeliveryCount.objects.filter(store=store, hour__gte=since).values_list("reason", "count"):
        totals[reason] = totals.get(reason, 0) + count
    return totals
