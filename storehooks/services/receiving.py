"""Receive BigCommerce's webhook deliveries, fast.

`delivery_receive(...)` is the receiver's whole job: verify the signature
with the store's Client secret, refuse replays, record the delivery (never
its body), prove the secret, and queue the work (`delivery_queue_processing`:
the `storehooks.process_delivery` task).

Secrets are read here from the database; they never travel in a task's
arguments, a log line or a delivery record.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from config.crypto import UndecryptableCredential, decrypt_decoy
from stores.bigcommerce.storable import storable_text
from stores.models import Credential, Store

from .. import signatures
from ..models import JunkDeliveryCount, SeenWebhook, WebhookDelivery
from ..tasks import process_delivery as process_delivery_task
from .registration import ACCOUNT_HEADER, SCOPES, account_key, credential_for

logger = logging.getLogger(__name__)

# Rejected deliveries recorded per store and reason per window: enough for
# the warning and for staff, bounded when someone floods the receiver.
REJECTIONS_RECORDED_PER_WINDOW = 50
REJECTION_WINDOW = timedelta(minutes=10)

Outcome = WebhookDelivery.Outcome
Reason = WebhookDelivery.Reason

# What anyone on the internet can post: no signature, a malformed or stale
# one, or one made with some key by a sender that is not one of Violet's hooks
# (no X-Violet-Account of this account). Counted per store, reason and hour
# (`JunkDeliveryCount`), never a row each, so junk can never use up the rows
# that deliveries signed by BigCommerce with another key need for "the Client
# secret looks wrong".
JUNK_REASONS = frozenset({Reason.UNSIGNED, Reason.MALFORMED, Reason.STALE, Reason.UNATTRIBUTED})


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
    # Work to do once the answer is sent (recording a rejection), so that a
    # rejected delivery for a known store answers as fast as one for an
    # unknown store: the caller runs it after responding.
    after: Callable[[], None] | None = field(default=None, compare=False, repr=False)


NOT_FOUND = "not_found"


def _payload(body: bytes) -> dict[str, Any] | None:
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):  # not JSON, or nested deeper than Python recurses
        return None
    return data if isinstance(data, dict) else None


def _scope_of(payload: dict[str, Any] | None) -> str:
    scope = payload.get("scope") if payload else None
    return storable_text(scope[:100]) if isinstance(scope, str) else ""


@sensitive_variables("credential", "ours")
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


def _count_junk(store: Store, reason: str, now: datetime) -> None:
    """One more junk delivery in this hour's count (one row per store, reason and hour)."""
    hour = now.replace(minute=0, second=0, microsecond=0)
    counts = JunkDeliveryCount.objects.filter(store=store, reason=reason, hour=hour)
    if counts.update(count=F("count") + 1, last_at=now):
        return
    try:
        with transaction.atomic():
            JunkDeliveryCount.objects.create(store=store, reason=reason, hour=hour, count=1, last_at=now)
    except IntegrityError:  # another delivery created it meanwhile
        counts.update(count=F("count") + 1, last_at=now)


def _record_rejection(store: Store, reason: str, webhook_id: str, now: datetime) -> WebhookDelivery | None:
    """A row for a rejection that says something, within its reason's own
    budget: a flood of one kind never hides another."""
    recent = WebhookDelivery.objects.filter(
        store=store, outcome=Outcome.REJECTED, reason=reason, received_at__gte=now - REJECTION_WINDOW
    ).count()
    if recent >= REJECTIONS_RECORDED_PER_WINDOW:
        return None
    return WebhookDelivery.objects.create(
        store=store, received_at=now, outcome=Outcome.REJECTED, reason=reason, webhook_id=webhook_id
    )


# An unknown store's delivery is checked against this, so answering it costs
# what a known store's forged delivery costs (the receiver's timing must not
# tell which stores exist).
DECOY_SECRET = "0" * 64


def _same_work_as_a_known_store(body: bytes, headers: Mapping[str, str]) -> None:
    decrypt_decoy(Credential._meta.get_field("client_secret"))
    signatures.verify(DECOY_SECRET, body, headers)


@sensitive_variables("credential")
def _credential_with_secret(store_hash: str) -> tuple[Credential | None, str | None]:
    """The store's credential and its Client secret, read in one query (None
    for the secret when no key decrypts it)."""
    lookup = Credential.objects.defer("client_id", "access_token").select_related("store")
    try:
        credential = lookup.filter(store__store_hash=store_hash).first()
    except UndecryptableCredential:
        logger.error("store %s: the Client secret cannot be decrypted; webhook delivery rejected", store_hash)
        return credential_for(store__store_hash=store_hash), None
    return credential, (credential.client_secret if credential is not None else None)


@sensitive_variables("credential")
def _reject(credential: Credential, verdict: signatures.Verdict, headers: Mapping[str, str], now: datetime) -> None:
    """Record a rejected delivery (after the answer was sent)."""
    reason = verdict.reason
    if reason == signatures.BAD_SIGNATURE:
        reason = _bad_signature_reason(credential, headers)
    if reason in JUNK_REASONS:
        _count_junk(credential.store, reason, now)
    else:
        _record_rejection(credential.store, reason, verdict.webhook_id, now)
    logger.info("webhook delivery for store %s rejected: %s", credential.store.store_hash, reason)


@sensitive_variables("credential", "secret")
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
    credential, secret = _credential_with_secret(store_hash)
    if credential is None:
        _same_work_as_a_known_store(body, headers)
        return Receipt(NOT_FOUND)
    store = credential.store
    now = timezone.now()
    if secret is None:
        verdict = signatures.Verdict(False, Reason.UNREADABLE_SECRET)
    else:
        verdict = signatures.verify(secret, body, headers)
    if not verdict.ok:
        return Receipt(Outcome.REJECTED, after=partial(_reject, credential, verdict, dict(headers), now))

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
            transaction.on_commit(partial(delivery_queue_processing, delivery.pk))
    logger.info("webhook delivery %s for store %s: %s %s", delivery.pk, store_hash, outcome, scope or reason)
    return Receipt(outcome, delivery.pk)


def delivery_queue_processing(delivery_id: int) -> None:
    """Queue the work of an accepted delivery; a broker that is down is logged,
    not raised (the sweep queues it again later)."""
    try:
        process_delivery_task.delay(delivery_id)
    except Exception as error:  # the broker is down: the sweep queues it later
        logger.warning(
            "webhook delivery %s: could not queue its processing: %s",
            delivery_id,
            type(error).__name__,
        )
