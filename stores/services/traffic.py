"""Detection from real traffic: record a signal, queue the confirming check.

When Violet's own traffic to a store (through the proxy, or a service calling
BigCommerce with released credentials and reporting back) gets an answer the
check rules call definitive (`stores.traffic_rule`), the merchant should hear
within about a minute of that first failing call, not at the next scheduled
check. A signal never flips a status by itself: it queues the store's full
check at once, and the check decides (`stores.lifecycle`: its first sighting
makes the store suspected; a second one `STORE_CONFIRM_AFTER_SECONDS` later
flips it, and that flip's StatusChange tells the merchant as any other does).

1. `traffic_signal_record` (the proxy, through `sync_to_async`; the reporting
   API): classify; not a signal → record nothing (counted in /metrics only).
   A signal is recorded, and queues `stores.check_after_signal` unless the
   store is not checked (paused, disconnected), its status already says so
   (a 401 for a revoked store), or a signal queued one within
   TRAFFIC_SIGNAL_CHECK_INTERVAL_SECONDS: a conditional update of
   `Store.signal_check_at` lets exactly one caller queue it, however many
   failing calls arrive at once.
2. `traffic_signal_check` (that task): claim the store (`stores.claims`: never
   two checks of it at once), check it fully and record the result; if it is
   now suspected, queue itself again for the moment the suspicion may be
   confirmed, instead of waiting for the dispatcher's next minute. A store
   already claimed by another check is tried again a moment later.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from config import metrics
from config.retention import delete_in_batches

from .. import claims, fleet, signals
from ..bigcommerce.storable import storable_text
from ..models import Check, Store, TrafficSignal
from ..status import UNCHECKED_STATUSES
from ..tasks import check_after_signal as check_after_signal_task
from ..traffic_rule import KEPT_EXCERPT, KEPT_PATH, STATUS_OF_KIND, SignalKind, answer_is_definitive, api_path
from .checks import check_policy

logger = logging.getLogger(__name__)

# How often the signal's task comes back (a store claimed by another check; a
# suspicion to confirm) before leaving the store to the dispatcher.
MAX_ATTEMPTS = 5
IN_FLIGHT_RETRY_SECONDS = 2.0
# Queued this long after the suspicion may be confirmed, so the confirming
# check never arrives a hair too soon (the rule compares database times).
CONFIRM_MARGIN_SECONDS = 0.5


class SignalCheck(StrEnum):
    """What a signal did about the store's check."""

    QUEUED = "queued"  # this signal queued the confirming check
    ALREADY_QUEUED = "already_queued"  # a signal queued one within the interval
    ALREADY_KNOWN = "already_known"  # the store's status already says this
    NOT_CHECKED = "not_checked"  # paused or disconnected: Violet does not check it
    NOT_A_SIGNAL = "not_a_signal"  # nothing recorded


@dataclass(frozen=True)
class SignalOutcome:
    kind: SignalKind | None
    check: SignalCheck
    signal: TrafficSignal | None = None
    # When a signal last queued this store's check (this one or an earlier one).
    check_queued_at: datetime | None = None

    @property
    def recorded(self) -> bool:
        return self.signal is not None


def _text(excerpt: bytes | str | None) -> str:
    if not excerpt:
        return ""
    text = excerpt.decode("utf-8", "replace") if isinstance(excerpt, bytes) else str(excerpt)
    return storable_text(text)[:KEPT_EXCERPT]


def traffic_signal_record(
    store: Store,
    *,
    status: int,
    method: str,
    path: str,
    excerpt: bytes | str | None,
    source_client=None,
    via: str = TrafficSignal.Via.PROXY,
    now: datetime | None = None,
) -> SignalOutcome:
    """Judge one answer BigCommerce gave Violet's traffic for `store`; record
    it and queue the store's confirming check if it is a signal (see the
    module's steps). `source_client`: the `api.ServiceClient` that saw it
    (None for a staff token). `store.missing_scopes` is read from `store` as
    given. Two queries for a signal (three when it queues), none otherwise."""
    kind = answer_is_definitive(status, path, excerpt, store.missing_scopes, method=method)
    if kind is None:
        metrics.traffic_signal("none", via, SignalCheck.NOT_A_SIGNAL)
        return SignalOutcome(kind=None, check=SignalCheck.NOT_A_SIGNAL)
    now = now or timezone.now()
    interval = timedelta(seconds=settings.TRAFFIC_SIGNAL_CHECK_INTERVAL_SECONDS)
    with transaction.atomic():
        current_status, queued_at = Store.objects.values_list("status", "signal_check_at").get(pk=store.pk)
        if current_status in UNCHECKED_STATUSES:
            check = SignalCheck.NOT_CHECKED
        elif kind != SignalKind.MISSING_SCOPE and current_status == STATUS_OF_KIND[kind]:
            check = SignalCheck.ALREADY_KNOWN
        else:
            # The guard: one caller per interval moves `signal_check_at` and
            # queues; PostgreSQL re-reads the row's condition after waiting for
            # a concurrent winner, so the others update nothing.
            won = (
                Store.objects.filter(pk=store.pk)
                .filter(Q(signal_check_at__isnull=True) | Q(signal_check_at__lte=now - interval))
                .update(signal_check_at=now)
            )
            if won:
                check, queued_at = SignalCheck.QUEUED, now
                store_id = store.pk
                transaction.on_commit(lambda: check_after_signal_task.delay(store_id))
            else:
                check = SignalCheck.ALREADY_QUEUED
                queued_at = Store.objects.values_list("signal_check_at", flat=True).get(pk=store.pk)
        signal = TrafficSignal.objects.create(
            store_id=store.pk,
            client=source_client,
            via=via,
            kind=kind,
            status=status,
            method=str(method).upper()[:10],
            path=storable_text(api_path(path) or "")[:KEPT_PATH],
            excerpt=_text(excerpt),
            queued_check=check == SignalCheck.QUEUED,
            created_at=now,
        )
        metrics.traffic_signal(kind, via, check)
    if check == SignalCheck.QUEUED:
        logger.info("store %s: a %s signal (%s) queued its check", store.store_hash, kind, via)
    return SignalOutcome(kind=kind, check=check, signal=signal, check_queued_at=queued_at)


def traffic_signal_check(*, store_id: int, attempt: int = 0) -> str:
    """Check one store after a signal, and confirm its suspicion on time.

    1. A store Violet does not check (paused, disconnected meanwhile): done.
    2. Claim it; if a check of it is in flight, come back in
       IN_FLIGHT_RETRY_SECONDS (that check may see the failure first: then
       step 4 confirms it).
    3. Check it fully, here (`fleet.check_stores`, trigger `signal`), and
       record the result: the status rules decide.
    4. Flipped: announce it (`signals.status_flipped_by_traffic`: the
       notifications plan the merchant's e-mail now). Suspected now (a
       definitive answer, first sighting; not held by an incident): queue
       this again for `suspected_since + STORE_CONFIRM_AFTER_SECONDS`, when
       the rules may flip it.
    At most MAX_ATTEMPTS returns; the dispatcher covers the rest (the store's
    `next_check_at` already says when). What it did, for the task's log.
    """
    status = Store.objects.filter(pk=store_id).values_list("status", flat=True).first()
    if status is None or status in UNCHECKED_STATUSES:
        return "not_checked"
    claim = claims.claim_store(store_id)
    if claim is None:
        return _again(store_id, attempt, IN_FLIGHT_RETRY_SECONDS, "in_flight")
    fleet.check_stores(claim.store_ids, claim_token=claim.token, trigger=Check.Trigger.SIGNAL)
    after, suspected, held = Store.objects.values_list("status", "suspected_since", "held_by_id").get(pk=store_id)
    if after != status:
        signals.status_flipped_by_traffic.send(sender=Store, store_id=store_id)
        return "flipped"
    if suspected is None or held is not None:
        return "decided"
    due = suspected + check_policy().confirm_after
    wait = max((due - timezone.now()).total_seconds(), 0.0) + CONFIRM_MARGIN_SECONDS
    return _again(store_id, attempt, wait, "confirming")


def _again(store_id: int, attempt: int, countdown: float, what: str) -> str:
    if attempt + 1 >= MAX_ATTEMPTS:
        return f"{what}, left to the dispatcher"
    check_after_signal_task.apply_async((store_id, attempt + 1), countdown=countdown)
    return what


def traffic_signals_prune(*, now: datetime | None = None, batch_size: int = 5000) -> int:
    """Delete signals older than TRAFFIC_SIGNAL_RETENTION_DAYS, in batches; how many went."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.TRAFFIC_SIGNAL_RETENTION_DAYS)
    return delete_in_batches(TrafficSignal.objects.filter(created_at__lt=cutoff), batch_size)
