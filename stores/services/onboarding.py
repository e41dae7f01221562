"""Stores get their credentials: connect a store, replace its credentials.

Only credentials that just passed a live check (a `Report` that says
connected, about this very store) are ever stored.

Who may connect a store hash that Violet already knows:

- its merchant, always (a store it disconnected is reconnected, its history
  kept);
- any other merchant, when the store is `disconnected` (a store sold, a
  merchant account re-created): the row moves to the new merchant and its
  `merchant_since` is set to the moment of the move (empty while a store
  never changed merchant: all its history is its merchant's);
- nobody else: a store in any other status under another merchant raises
  `StoreOwnedElsewhere`, which names no one.

History privacy: the store's checks, status changes, notifications and
webhook deliveries stay on the row (staff in the console see all of them),
but the merchant sees only those from `merchant_since` on (`connect/`, the
Client secret's proof in `storehooks.selectors`), and merchant e-mails about
a status change older than `merchant_since` are neither planned nor sent
(`notifications.services`). The previous merchant no longer sees the store
at all: every merchant page is scoped by `Store.merchant`. Staff move a
store with `controls.store_move`, which follows the same rule.
"""

from __future__ import annotations

import hmac
import logging

from django.db import transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from merchants.models import Merchant

from .. import events, lifecycle, signals
from ..bigcommerce.report import Credentials, Outcome, Report
from ..models import Check, Credential, Store, StoreEvent
from ..status import StoreStatus
from .checks import check_policy, check_row, clear_streak_and_claim, flip_reason, problem_text
from .controls import flip_status
from .profile import apply_profile

logger = logging.getLogger(__name__)


class StoreOwnedElsewhere(Exception):
    """The store hash is connected under another merchant. Says nothing about whom."""


def _claim_for(store: Store, merchant: Merchant, now) -> None:
    """Give the (locked) store to `merchant` when it may: its own store, or one
    disconnected under another merchant (the row moves, its history from now
    on is the new merchant's). Any other store of another merchant is refused."""
    if store.merchant_id == merchant.pk:
        return
    if store.status != StoreStatus.DISCONNECTED:
        raise StoreOwnedElsewhere(store.store_hash)
    logger.info("store %s moves from merchant %s to merchant %s", store.store_hash, store.merchant_id, merchant.pk)
    previous = store.merchant_id
    store.merchant, store.merchant_since = merchant, now
    events.record([events.moved(store, from_merchant_id=previous, now=now)])


class CredentialsNotUsable(Exception):
    """Only credentials that passed a live check may be stored."""


@sensitive_variables("credentials", "credential")
def _save_credential(store: Store, credentials: Credentials, user) -> None:
    """Store the values on the (locked) store's one Credential row and move the
    store's `credentials_version` on by one (in memory too)."""
    store.credentials_version += 1
    Store.objects.filter(pk=store.pk).update(credentials_version=store.credentials_version)
    credential = Credential.objects.fingerprints_only().filter(store=store).first() or Credential(store=store)
    credential.set_values(
        client_id=credentials.client_id,
        client_secret=credentials.client_secret,
        access_token=credentials.access_token,
    )
    credential.created_at = timezone.now()
    credential.created_by = user
    credential.save()


@sensitive_variables("credentials", "stored")
def credentials_unchanged(store: Store, credentials: Credentials) -> bool:
    """Whether `credentials` are the ones the store already has (all three values),
    compared in constant time, so re-sending them is said as "nothing changed"."""
    stored = Credential.objects.filter(store=store).first()
    if stored is None:
        return False
    pairs = (
        (stored.access_token, credentials.access_token),
        (stored.client_id, credentials.client_id),
        (stored.client_secret, credentials.client_secret),
    )
    return all(hmac.compare_digest(a.encode(), b.encode()) for a, b in pairs)


def _record_stored(store: Store, kind: str, *, missing_before: list[str], now) -> None:
    """The events of credentials just stored (`connected` or `credentials_replaced`,
    with their version), and `scopes_changed` when the missing scopes did."""
    stored = [events.credentials_stored(store, kind=kind, now=now)]
    if list(store.missing_scopes) != list(missing_before):
        stored.append(events.scopes_changed(store, missing_before=missing_before, now=now))
    events.record(stored)


def _require_usable(credentials: Credentials, report: Report) -> None:
    if not report.ok or report.outcome != Outcome.CONNECTED:
        raise CredentialsNotUsable(f"The live check said {report.outcome}, not connected.")
    if report.store_hash != credentials.store_hash:
        raise CredentialsNotUsable("The report is about another store.")


def store_connect(
    *, merchant: Merchant, credentials: Credentials, report: Report, user=None, duration_ms: int = 0
) -> Store:
    """Save a store whose credentials just passed the live check, as `connected`.

    A store this merchant disconnected earlier is reconnected (its history
    stays); a store disconnected under another merchant moves to this one
    (see the module's docstring); a store hash connected under another
    merchant is refused. The row lock makes two merchants connecting one
    disconnected store at once end with one owner, the other refused.
    """
    _require_usable(credentials, report)
    now = timezone.now()
    with transaction.atomic():
        # get_or_create: two first connections of one store at once (a double
        # submit) end with one row, the second finding the first's.
        store, _ = Store.objects.select_for_update().get_or_create(
            store_hash=credentials.store_hash, defaults={"merchant": merchant, "status": StoreStatus.PENDING}
        )
        _claim_for(store, merchant, now)
        missing_before = list(store.missing_scopes)
        apply_profile(store, report.store, now)
        store.connected_at = now
        store.last_checked_at = store.scopes_verified_at = now
        store.last_check_ms = duration_ms
        store.next_check_at = now + lifecycle.next_regular_check(check_policy())
        clear_streak_and_claim(store)
        store.problem, store.missing_scopes = "", []
        store.save()
        _save_credential(store, credentials, user)
        check = check_row(store, report, trigger=Check.Trigger.ONBOARDING, started_at=now, duration_ms=duration_ms)
        check.save()
        flip_status(
            store, StoreStatus.CONNECTED, reason="Connected: every required scope is granted.", check=check, now=now
        )
        _record_stored(store, StoreEvent.Kind.CONNECTED, missing_before=missing_before, now=now)
        transaction.on_commit(lambda: signals.credentials_saved.send(sender=Store, store=store))
    logger.info("store %s connected for merchant %s", store.store_hash, merchant.pk)
    return store


def store_replace_credentials(
    *, store: Store, credentials: Credentials, report: Report, user=None, duration_ms: int = 0
) -> Store:
    """Swap in a new, fully validated API account. The old one works until this commits.

    A store Violet staff paused stays paused: new credentials are stored, and
    checks resume only when staff resume them.
    """
    _require_usable(credentials, report)
    if credentials.store_hash != store.store_hash:
        raise CredentialsNotUsable(f"These credentials are for store {credentials.store_hash}, not {store.store_hash}.")
    now = timezone.now()
    with transaction.atomic():
        store = Store.objects.select_for_update().get(pk=store.pk)
        missing_before = list(store.missing_scopes)
        _save_credential(store, credentials, user)
        apply_profile(store, report.store, now)
        paused = store.status == StoreStatus.PAUSED
        store.last_checked_at = store.scopes_verified_at = now
        store.last_check_ms = duration_ms
        store.next_check_at = None if paused else now + lifecycle.next_regular_check(check_policy())
        clear_streak_and_claim(store)
        store.problem, store.missing_scopes = "", []
        store.save()
        check = check_row(store, report, trigger=Check.Trigger.REPLACE, started_at=now, duration_ms=duration_ms)
        check.save()
        if not paused:
            flip_status(
                store,
                StoreStatus.CONNECTED,
                reason="New credentials: every required scope is granted.",
                check=check,
                now=now,
            )
        _record_stored(store, StoreEvent.Kind.CREDENTIALS_REPLACED, missing_before=missing_before, now=now)
        transaction.on_commit(lambda: signals.credentials_saved.send(sender=Store, store=store))
    logger.info("store %s credentials replaced", store.store_hash)
    return store


def store_keep_missing_scopes(
    *, merchant: Merchant, credentials: Credentials, report: Report, user=None, duration_ms: int = 0
) -> Store:
    """Save a store whose token works but lacks scopes, as `missing_scopes` (the
    bulk import's `--keep-broken`), so its merchant sees the guidance on the
    store page. Only a store new to Violet (or a disconnected one, which moves
    to this merchant as in `store_connect`): credentials already stored are
    never replaced by incomplete ones.
    """
    if report.outcome != Outcome.MISSING_SCOPES or report.store_hash != credentials.store_hash:
        raise CredentialsNotUsable(f"The live check said {report.outcome}, not missing_scopes.")
    now = timezone.now()
    with transaction.atomic():
        store, created = Store.objects.select_for_update().get_or_create(
            store_hash=credentials.store_hash, defaults={"merchant": merchant, "status": StoreStatus.PENDING}
        )
        _claim_for(store, merchant, now)
        if not created and store.status != StoreStatus.DISCONNECTED:
            raise CredentialsNotUsable("This store already has credentials; incomplete ones do not replace them.")
        missing_before = list(store.missing_scopes)
        apply_profile(store, report.store, now)
        store.last_checked_at = now
        store.next_check_at = now + lifecycle.next_regular_check(check_policy())
        clear_streak_and_claim(store)
        store.problem, store.missing_scopes = problem_text(report), report.missing_scopes
        store.save()
        _save_credential(store, credentials, user)
        check = check_row(store, report, trigger=Check.Trigger.ONBOARDING, started_at=now, duration_ms=duration_ms)
        check.save()
        reason = flip_reason("", StoreStatus.MISSING_SCOPES, report)
        flip_status(store, StoreStatus.MISSING_SCOPES, reason=reason, check=check, now=now)
        _record_stored(store, StoreEvent.Kind.CONNECTED, missing_before=missing_before, now=now)
    logger.info("store %s saved with missing scopes for merchant %s", store.store_hash, merchant.pk)
    return store
