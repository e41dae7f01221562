"""Staff's and merchants' controls over a store's checks: pause, resume,
disconnect; staff moving a store to another merchant; and `flip_status`, the one way a single store's status changes
(connecting and replacing credentials use it too).
"""

from __future__ import annotations

import logging
import unicodedata
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from config import metrics
from merchants.models import Merchant

from .. import events, signals
from ..models import Check, Credential, StatusChange, Store
from ..selectors import status_before_pause
from ..status import UNCHECKED_STATUSES, StoreStatus
from .checks import STREAK_AND_CLAIM_FIELDS, clear_streak_and_claim

logger = logging.getLogger(__name__)


class StoreMoveRefused(Exception):
    """The move would change nothing (the store is already that merchant's)."""


def flip_status(
    store: Store, new: StoreStatus, *, reason: str, check: Check | None, now: datetime, public_reason: str = ""
) -> StatusChange | None:
    """Write the new status, its StatusChange row and its `status_changed` event,
    guarded by the old status (call it inside the caller's transaction): two
    writers can never announce the same change twice."""
    old = store.status
    if old == new:
        return None
    updated = Store.objects.filter(pk=store.pk, status=old).update(status=new, status_changed_at=now)
    if updated != 1:
        # Someone else changed the status since we read it: theirs stands.
        store.refresh_from_db(fields=["status", "status_changed_at"])
        return None
    store.status, store.status_changed_at = new, now
    metrics.status_flipped(old, new)
    events.record([events.status_changed(store, old=old, new=new, reason=reason, now=now)])
    return StatusChange.objects.create(
        store=store,
        old_status=old,
        new_status=new,
        reason=reason,
        public_reason=public_reason,
        check_run=check,
        created_at=now,
    )


class PauseRefused(Exception):
    """The pause's public message cannot be shown to a merchant as it is (nothing changed)."""


PUBLIC_MESSAGE_MAX_LENGTH = 300


def pause_public_message(text: str) -> str:
    """The message for the merchant, trimmed; PauseRefused (with what to fix) when it
    is too long or holds control or invisible characters."""
    text = " ".join(text.split())
    if len(text) > PUBLIC_MESSAGE_MAX_LENGTH:
        raise PauseRefused(
            f"The message for the merchant is {len(text)} characters long; "
            f"keep it to {PUBLIC_MESSAGE_MAX_LENGTH}. Nothing was paused."
        )
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Co", "Cs") for ch in text):
        raise PauseRefused(
            "The message for the merchant holds control or invisible characters. "
            "Type it again as plain text. Nothing was paused."
        )
    return text


def store_pause(
    *, store: Store, user=None, reason: str = "Checks paused by Violet staff.", public_message: str = ""
) -> StatusChange | None:
    """Pause a store's checks. `reason` is for staff only; the merchant reads
    `public_message` when given (PauseRefused if it is unfit), else a neutral sentence."""
    public_message = pause_public_message(public_message)
    with transaction.atomic():
        store = Store.objects.select_for_update().get(pk=store.pk)
        if store.status in UNCHECKED_STATUSES:
            return None
        # Where to resume is remembered in the status change history.
        change = flip_status(
            store, StoreStatus.PAUSED, reason=reason, check=None, now=timezone.now(), public_reason=public_message
        )
        Store.objects.filter(pk=store.pk).update(next_check_at=None, claim_token="", claimed_until=None)
    return change


def store_resume(*, store: Store, user=None) -> StatusChange | None:
    """Resume checks: the store goes back to the status it had before the pause
    and is checked at once; that check decides what follows."""
    now = timezone.now()
    with transaction.atomic():
        store = Store.objects.select_for_update().get(pk=store.pk)
        if store.status != StoreStatus.PAUSED:
            return None
        previous = status_before_pause(store)
        change = flip_status(store, StoreStatus(previous), reason="Checks resumed.", check=None, now=now)
        Store.objects.filter(pk=store.pk).update(next_check_at=now)
    return change


def store_disconnect(*, store: Store, user=None, reason: str = "Disconnected by the merchant.") -> StatusChange | None:
    """Delete the credentials at once; the store's history stays. A store that
    was not yet disconnected gets its `disconnected` event (after its
    `status_changed`)."""
    now = timezone.now()
    with transaction.atomic():
        store = Store.objects.select_for_update().get(pk=store.pk)
        for receiver, error in signals.store_disconnecting.send_robust(sender=Store, store=store):
            if error is not None:
                logger.warning(
                    "store %s: %s failed while disconnecting: %s", store.store_hash, receiver, type(error).__name__
                )
        Credential.objects.filter(store=store).delete()
        change = flip_status(store, StoreStatus.DISCONNECTED, reason=reason, check=None, now=now)
        if change is not None:
            events.record([events.disconnected(store, reason=reason, now=now)])
        clear_streak_and_claim(store)
        store.next_check_at = None
        store.problem, store.missing_scopes = "", []
        store.save(update_fields=["next_check_at", *STREAK_AND_CLAIM_FIELDS, "problem", "missing_scopes"])
    logger.info("store %s disconnected", store.store_hash)
    return change


def store_move(*, store: Store, to_merchant: Merchant, by=None) -> Merchant:
    """Staff move a store to another merchant; returns the merchant it left.

    The row changes merchant under its lock, whatever its status; the
    credentials, the status and the schedule stay as they are, and
    `merchant_since` is set to now: from then on the new merchant sees the
    store and its history from this moment only, and the previous merchant no
    longer sees it (see `onboarding`'s docstring). The `moved` event names
    both merchants' ids; the console writes the staff action log entry naming
    both merchants.
    """
    now = timezone.now()
    with transaction.atomic():
        store = Store.objects.select_for_update().select_related("merchant").get(pk=store.pk)
        previous = store.merchant
        if previous.pk == to_merchant.pk:
            raise StoreMoveRefused(f"{store.display_name} already belongs to {to_merchant.name}.")
        Store.objects.filter(pk=store.pk).update(merchant=to_merchant, merchant_since=now)
        store.merchant, store.merchant_since = to_merchant, now
        events.record([events.moved(store, from_merchant_id=previous.pk, now=now)])
    logger.info(
        "store %s moved from merchant %s to merchant %s by %s",
        store.store_hash,
        previous.pk,
        to_merchant.pk,
        getattr(by, "pk", None),
    )
    return previous
