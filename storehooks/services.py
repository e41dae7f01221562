"""BigCommerce's webhooks: register them, receive them, act on them, clean up.

- `hooks_register(store_id)`: after connect/replace (a Celery task): one
  active hook per scope in `SCOPES`, through the store's own API account.
- `hooks_remove(store)`: while disconnecting, with a short timeout.
- `delivery_receive(...)`: the receiver's whole job, fast: verify the
  signature with the store's Client secret, refuse replays, record the
  delivery (never its body), prove the secret, queue the work.
- `delivery_process(delivery_id)`: the queued work: re-read the profile, or
  queue an immediate check.
- `webhooks_sweep()`: re-queue deliveries whose work was never queued, prune.

Secrets are read here from the database, by store id; they never travel in
a task's arguments, a log line or a delivery record.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone

from stores.bigcommerce.hooks import CallFailed
from stores.crypto import UndecryptableCredential
from stores.models import Check, Credential, Store
from stores.services import store_check_request, store_refresh_profile

from . import bigcommerce_api, signatures
from .models import HookRegistration, SeenWebhook, WebhookDelivery

logger = logging.getLogger(__name__)

INFORMATION_UPDATED = "store/information/updated"
APP_UNINSTALLED = "store/app/uninstalled"
SCOPES = (INFORMATION_UPDATED, APP_UNINSTALLED)

# Sent by BigCommerce with every delivery of the hooks we register (a custom
# header of the hook): which API account registered it, as a digest of its
# token. A delivery that fails verification and names another account comes
# from hooks of credentials since replaced: not a sign of a wrong secret.
ACCOUNT_HEADER = "X-Violet-Account"

# A replay must come within the 5-minute tolerance of its timestamp, so ids
# older than this can go (kept much longer than needed, for staff).
SEEN_RETENTION = timedelta(days=1)
# Rejected deliveries recorded per store per window: enough for the warning
# and for staff, bounded when someone floods the receiver.
REJECTIONS_RECORDED_PER_WINDOW = 50
REJECTION_WINDOW = timedelta(minutes=10)
# Accepted deliveries whose work was not queued after this long are queued again.
STUCK_AFTER = timedelta(minutes=5)

Outcome = WebhookDelivery.Outcome
Reason = WebhookDelivery.Reason


def _credential(**lookup: Any) -> Credential | None:
    """A store's credential with its store, nothing decrypted yet: reading a
    secret field then loads it alone, and raises `UndecryptableCredential` there."""
    return Credential.objects.fingerprints_only().select_related("store").filter(**lookup).first()


def webhooks_enabled() -> bool:
    return bool(settings.BIGCOMMERCE_WEBHOOKS_ENABLED)


def receiver_url(store_hash: str) -> str:
    return settings.PUBLIC_BASE_URL + reverse("storehooks:receive", args=[store_hash])


def account_key(access_token: str) -> str:
    """A digest naming one API account; it reveals nothing of the token."""
    return hashlib.sha256(b"violet-connect/webhooks:" + access_token.encode()).hexdigest()[:24]


# --- registration ------------------------------------------------------------


def hooks_register(*, store_id: int) -> HookRegistration | None:
    """Register (or repair) the store's hooks; None when there is nothing to do.

    Raises `CallFailed` when BigCommerce did not let us (the task retries the
    transient ones); the failure is also recorded for staff.
    """
    if not webhooks_enabled():
        return None
    credential = _credential(store_id=store_id)
    if credential is None:
        return None  # disconnected meanwhile
    store = credential.store
    destination = receiver_url(store.store_hash)
    now = timezone.now()
    try:
        token = credential.access_token
    except UndecryptableCredential:
        HookRegistration.objects.update_or_create(
            store=store,
            defaults={
                "destination": destination,
                "last_attempt_at": now,
                "last_error": "The Access token cannot be decrypted.",
            },
        )
        logger.error(
            "store %s: webhooks not registered: the Access token cannot be decrypted",
            store.store_hash,
        )
        return None
    try:
        result = bigcommerce_api.ensure_hooks(
            store.store_hash,
            access_token=token,
            destination=destination,
            scopes=list(SCOPES),
            headers={ACCOUNT_HEADER: account_key(token)},
        )
    except CallFailed as error:
        HookRegistration.objects.update_or_create(
            store=store,
            defaults={
                "destination": destination,
                "last_attempt_at": now,
                "last_error": str(error)[:300],
            },
        )
        logger.warning("store %s: registering webhooks failed: %s", store.store_hash, error)
        raise
    if not Credential.objects.filter(pk=credential.pk, created_at=credential.created_at).exists():
        # Disconnected or replaced while we worked: these hooks belong to an
        # account the portal no longer holds. Best effort; never mind failures.
        try:
            bigcommerce_api.remove_hooks(
                store.store_hash,
                access_token=token,
                destination=destination,
                timeout=settings.BIGCOMMERCE_WEBHOOKS_CLEANUP_TIMEOUT_SECONDS,
            )
        except CallFailed:
            pass
        return None
    registration, _ = HookRegistration.objects.update_or_create(
        store=store,
        defaults={
            "destination": destination,
            "hooks": result.hooks,
            "registered_at": now,
            "last_attempt_at": now,
            "last_error": "",
        },
    )
    logger.info(
        "store %s: webhooks registered (%d created, %d updated, %d deleted)",
        store.store_hash,
        result.created,
        result.updated,
        result.deleted,
    )
    return registration


def hooks_remove(*, store: Store, timeout: float | None = None) -> int | None:
    """Delete the store's hooks with its (still stored) credentials; how many went.

    None when there was nothing to do. Raises `CallFailed` (e.g. on timeout).
    """
    registration = HookRegistration.objects.filter(store=store).first()
    if registration is None and not webhooks_enabled():
        return None
    credential = _credential(store=store)
    if credential is None:
        return None
    timeout = settings.BIGCOMMERCE_WEBHOOKS_CLEANUP_TIMEOUT_SECONDS if timeout is None else timeout
    try:
        removed = bigcommerce_api.remove_hooks(
            store.store_hash,
            access_token=credential.access_token,
            destination=receiver_url(store.store_hash),
            timeout=timeout,
        )
    except CallFailed as error:
        if registration is not None:
            HookRegistration.objects.filter(pk=registration.pk).update(
                last_attempt_at=timezone.now(),
                last_error=f"Removing the hooks failed: {error}"[:300],
            )
        raise
    HookRegistration.objects.filter(store=store).update(hooks={}, registered_at=None, last_error="")
    logger.info("store %s: %d webhooks removed", store.store_hash, removed)
    return removed


# --- the Client secret's proof ---------------------------------------------------


def _prove_secret(credential: Credential, now: datetime) -> None:
    """Mark the secret proven, unless the credentials changed since we read them."""
    proven = (
        Credential.objects.filter(pk=credential.pk, created_at=credential.created_at)
        .filter(Q(client_secret_verified_at__isnull=True) | Q(client_secret_verified_at__lt=F("created_at")))
        .update(client_secret_verified_at=now)
    )
    if proven:
        logger.info("store %s: Client secret proven by a signed delivery", credential.store.store_hash)


def secret_proof_forget_stale(*, store: Store) -> int:
    """Clear a proof that is about credentials since replaced."""
    return Credential.objects.filter(store=store, client_secret_verified_at__lt=F("created_at")).update(
        client_secret_verified_at=None
    )


# --- receiving ---------------------------------------------------------------------


@dataclass(frozen=True)
class Receipt:
    """What the receiver concluded: an `Outcome` value, or "not_found"."""

    outcome: str
    delivery_id: int | None = None


NOT_FOUND = "not_found"


def _payload(body: bytes) -> dict[str, Any] | None:
    try:
        data = json.loads(body)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _scope_of(payload: dict[str, Any] | None) -> str:
    scope = payload.get("scope") if payload else None
    return scope[:100] if isinstance(scope, str) else ""


def _bad_signature_reason(credential: Credential, headers: Mapping[str, str]) -> str:
    """Who sent a delivery signed with another key.

    Only a delivery carrying this API account's `X-Violet-Account` (set on
    the hooks Violet registered with it) says that BigCommerce signs with a
    secret other than the stored one, so only those count towards "the
    Client secret looks wrong"; anyone on the internet can post the others.
    """
    named = next((v for k, v in headers.items() if k.lower() == ACCOUNT_HEADER.lower()), "")
    if not named:
        return Reason.UNATTRIBUTED
    try:
        ours = account_key(credential.access_token)
    except UndecryptableCredential:
        return Reason.UNATTRIBUTED
    return Reason.BAD_SIGNATURE if hmac.compare_digest(named.encode(), ours.encode()) else Reason.SUPERSEDED


def _record_rejection(store: Store, reason: str, webhook_id: str, now: datetime) -> WebhookDelivery | None:
    recent = WebhookDelivery.objects.filter(
        store=store, outcome=Outcome.REJECTED, received_at__gte=now - REJECTION_WINDOW
    ).count()
    if recent >= REJECTIONS_RECORDED_PER_WINDOW:
        return None
    return WebhookDelivery.objects.create(
        store=store, received_at=now, outcome=Outcome.REJECTED, reason=reason, webhook_id=webhook_id
    )


def delivery_receive(*, store_hash: str, body: bytes, headers: Mapping[str, str]) -> Receipt:
    """Verify and record one delivery; queue its work. Never raises for bad input.

    1. Find the store's credentials (none: "not_found", nothing recorded).
    2. Verify the signature with its Client secret (see `signatures.verify`);
       a failure is recorded with its reason, never with the body.
    3. Claim the `webhook-id` (unique per store): a second delivery of it is
       a replay, recorded and not acted on.
    4. Prove the Client secret, record the delivery, and once committed queue
       `process_delivery` with the delivery's id.
    """
    credential = _credential(store__store_hash=store_hash)
    if credential is None:
        return Receipt(NOT_FOUND)
    store = credential.store
    now = timezone.now()
    try:
        secret = credential.client_secret
    except UndecryptableCredential:
        logger.error("store %s: the Client secret cannot be decrypted; webhook delivery rejected", store_hash)
        verdict = signatures.Verdict(False, Reason.UNREADABLE_SECRET)
        secret = None
    if secret is not None:
        verdict = signatures.verify(secret, body, headers)
    if not verdict.ok:
        reason = verdict.reason
        if reason == signatures.BAD_SIGNATURE:
            reason = _bad_signature_reason(credential, headers)
        rejected = _record_rejection(store, reason, verdict.webhook_id, now)
        logger.info("webhook delivery for store %s rejected: %s", store_hash, reason)
        return Receipt(Outcome.REJECTED, rejected.pk if rejected else None)

    payload = _payload(body)
    scope = _scope_of(payload)
    with transaction.atomic():
        try:
            with transaction.atomic():
                SeenWebhook.objects.create(store=store, webhook_id=verdict.webhook_id, seen_at=now)
        except IntegrityError:
            replay = WebhookDelivery.objects.create(
                store=store,
                received_at=now,
                outcome=Outcome.REPLAYED,
                webhook_id=verdict.webhook_id,
                scope=scope,
            )
            logger.info("webhook delivery for store %s is a replay; not acted on", store_hash)
            return Receipt(Outcome.REPLAYED, replay.pk)
        _prove_secret(credential, now)
        producer = payload.get("producer") if payload else None
        if payload is None:
            outcome, reason = Outcome.IGNORED, Reason.UNREADABLE_BODY
        elif producer is not None and producer != f"stores/{store_hash}":
            outcome, reason = Outcome.IGNORED, Reason.OTHER_STORE
        elif scope not in SCOPES:
            outcome, reason = Outcome.IGNORED, Reason.UNHANDLED_SCOPE
        else:
            outcome, reason = Outcome.ACCEPTED, Reason.NONE
        delivery = WebhookDelivery.objects.create(
            store=store,
            received_at=now,
            outcome=outcome,
            reason=reason,
            webhook_id=verdict.webhook_id,
            scope=scope,
        )
        if outcome == Outcome.ACCEPTED:
            transaction.on_commit(partial(_queue_processing, delivery.pk))
    logger.info("webhook delivery %s for store %s: %s %s", delivery.pk, store_hash, outcome, scope or reason)
    return Receipt(outcome, delivery.pk)


def _queue_processing(delivery_id: int) -> None:
    from .tasks import process_delivery

    try:
        process_delivery.delay(delivery_id)
    except Exception as error:  # the broker is down: the sweep queues it later
        logger.warning(
            "webhook delivery %s: could not queue its processing: %s",
            delivery_id,
            type(error).__name__,
        )


# --- processing ------------------------------------------------------------------------


def delivery_process(*, delivery_id: int, final_attempt: bool = True) -> WebhookDelivery | None:
    """Do what an accepted delivery asks. A transient failure is raised unless
    this is the final attempt, then recorded in the delivery's `result`."""
    delivery = WebhookDelivery.objects.select_related("store").filter(pk=delivery_id).first()
    if delivery is None or delivery.outcome != Outcome.ACCEPTED or delivery.processed_at is not None:
        return delivery
    store = delivery.store
    if delivery.scope == INFORMATION_UPDATED:
        try:
            result = _refresh_profile(store)
        except CallFailed as error:
            if error.transient and not final_attempt:
                raise
            result = {"error": f"Re-reading the profile failed: {error}"}
            if error.status == 401:  # the token may be revoked: let a check decide
                result["check_queued"] = store_check_request(store=store, trigger=Check.Trigger.WEBHOOK).queued
    elif delivery.scope == APP_UNINSTALLED:
        result = {"check_queued": store_check_request(store=store, trigger=Check.Trigger.WEBHOOK).queued}
    else:
        result = {}
    delivery.processed_at = timezone.now()
    delivery.result = result
    delivery.save(update_fields=["processed_at", "result"])
    return delivery


def _refresh_profile(store: Store) -> dict[str, Any]:
    """Re-read GET /v2/store and apply it; what changed.

    `changes` holds old and new values of the profile's columns (name, plan,
    currency, units...); `other_fields` only the names of other profile
    fields that changed (they may hold addresses and emails).
    """
    credential = _credential(store=store)
    if credential is None:
        return {"error": "The store has no credentials (disconnected)."}
    try:
        token = credential.access_token
    except UndecryptableCredential:
        return {"error": "The Access token cannot be decrypted."}
    profile = bigcommerce_api.fetch_profile(store.store_hash, access_token=token)
    change = store_refresh_profile(store=store, profile=profile)
    changes, other = change.columns, change.other_fields
    if changes or other:
        logger.info(
            "store %s: profile refreshed, changed: %s",
            store.store_hash,
            ", ".join([*changes, *other]),
        )
    return {"changes": changes, "other_fields": other[:50]}


# --- housekeeping ------------------------------------------------------------------------


def webhooks_sweep(*, now: datetime | None = None, limit: int = 500) -> dict[str, int]:
    """1. Queue again accepted deliveries whose work never ran (the broker was down).
    2. Forget delivery ids past SEEN_RETENTION and deliveries past their retention."""
    now = now or timezone.now()
    stuck = list(
        WebhookDelivery.objects.filter(
            outcome=Outcome.ACCEPTED,
            processed_at=None,
            received_at__lt=now - STUCK_AFTER,
            received_at__gte=now - SEEN_RETENTION,
        ).values_list("id", flat=True)[:limit]
    )
    for delivery_id in stuck:
        _queue_processing(delivery_id)
    seen = SeenWebhook.objects.filter(seen_at__lt=now - SEEN_RETENTION).delete()[0]
    cutoff = now - timedelta(days=settings.BIGCOMMERCE_WEBHOOK_DELIVERY_RETENTION_DAYS)
    deliveries = WebhookDelivery.objects.filter(received_at__lt=cutoff).delete()[0]
    return {"requeued": len(stuck), "seen_pruned": seen, "deliveries_pruned": deliveries}
