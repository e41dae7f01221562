"""The only writes to stores: connect, replace credentials, record a check,
pause, resume, disconnect. Views, admin actions, commands and tasks call these.

Every status flip goes through `_flip`, which writes the StatusChange row in
the same transaction as the new status, guarded by the old status so two
writers can never announce the same change twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from merchants.models import Merchant
from ops import metrics

from . import lifecycle, signals
from .bigcommerce.report import Credentials, Outcome, Report
from .bigcommerce.scopes import scope_label
from .models import Check, Credential, StatusChange, Store
from .status import BROKEN_STATUSES, UNCHECKED_STATUSES, StoreStatus

logger = logging.getLogger(__name__)

PROFILE_COLUMNS = {
    "name": "name",
    "domain": "domain",
    "secure_url": "secure_url",
    "control_panel_base_url": "control_panel_url",
    "plan_name": "plan_name",
    "plan_level": "plan_level",
    "plan_is_trial": "plan_is_trial",
    "currency": "currency",
    "weight_units": "weight_units",
    "dimension_units": "dimension_units",
    "country_code": "country_code",
}


class StoreOwnedElsewhere(Exception):
    """The store hash is connected under another merchant. Says nothing about whom."""


class CredentialsNotUsable(Exception):
    """Only credentials that passed a live check may be stored."""


def check_policy() -> lifecycle.Policy:
    return lifecycle.Policy(
        interval=timedelta(minutes=settings.STORE_CHECK_INTERVAL_MINUTES),
        confirm_after=timedelta(seconds=settings.STORE_CONFIRM_AFTER_SECONDS),
        unreachable_after_failures=settings.STORE_UNREACHABLE_AFTER_FAILURES,
        unreachable_after=timedelta(minutes=settings.STORE_UNREACHABLE_AFTER_MINUTES),
    )


def _apply_profile(store: Store, profile: dict[str, Any] | None, now: datetime) -> list[str]:
    """Copy the fields of GET /v2/store onto the store; the names of those that changed."""
    if not profile:
        return []
    if profile == store.profile:
        return []
    changed = []
    for key, column in PROFILE_COLUMNS.items():
        if key not in profile:
            continue
        value = profile[key]
        if column != "plan_is_trial":
            value = "" if value is None else str(value)[: Store._meta.get_field(column).max_length]
        if getattr(store, column) != value:
            setattr(store, column, value)
            changed.append(column)
    store.profile = profile
    store.profile_updated_at = now
    return changed


@dataclass(frozen=True)
class ProfileChange:
    """What a profile refresh changed: old and new values of the profile's
    columns, and only the names of its other fields (they may hold addresses)."""

    columns: dict[str, list]
    other_fields: list[str]


def store_refresh_profile(*, store: Store, profile: dict[str, Any]) -> ProfileChange:
    """Apply a fresh `GET /v2/store` (e.g. after `store/information/updated`)."""
    now = timezone.now()
    with transaction.atomic():
        locked = Store.objects.select_for_update().get(pk=store.pk)
        old_profile = dict(locked.profile or {})
        old_columns = {column: getattr(locked, column) for column in PROFILE_COLUMNS.values()}
        changed = _apply_profile(locked, profile, now)
        if profile != old_profile:
            locked.save(update_fields=[*changed, "profile", "profile_updated_at"])
    other = sorted(
        key
        for key in set(old_profile) | set(profile)
        if key not in PROFILE_COLUMNS and old_profile.get(key) != profile.get(key)
    )
    return ProfileChange(
        columns={column: [old_columns[column], getattr(locked, column)] for column in changed}, other_fields=other
    )


def _problem_text(report: Report) -> str:
    return " ".join(problem.message for problem in report.problems)


def _check_row(store: Store, report: Report, *, trigger: str, started_at: datetime, duration_ms: int) -> Check:
    as_dict = report.to_dict(evidence=True)
    metrics.check_recorded(trigger, report)
    return Check(
        store=store,
        trigger=trigger,
        started_at=started_at,
        duration_ms=duration_ms,
        outcome=str(report.outcome),
        scopes={param: str(state) for param, state in report.scopes.items()},
        problems=as_dict["problems"],
        evidence=as_dict["exchanges"],
    )


def _flip(store: Store, new: StoreStatus, *, reason: str, check: Check | None, now: datetime) -> StatusChange | None:
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
    return StatusChange.objects.create(
        store=store, old_status=old, new_status=new, reason=reason, check_run=check, created_at=now
    )


def _save_credential(store: Store, credentials: Credentials, user) -> None:
    credential = Credential.objects.fingerprints_only().filter(store=store).first() or Credential(store=store)
    credential.set_values(
        client_id=credentials.client_id,
        client_secret=credentials.client_secret,
        access_token=credentials.access_token,
    )
    credential.created_at = timezone.now()
    credential.created_by = user
    credential.save()


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
    stays); a store hash connected under another merchant is refused.
    """
    _require_usable(credentials, report)
    now = timezone.now()
    with transaction.atomic():
        # get_or_create: two first connections of one store at once (a double
        # submit) end with one row, the second finding the first's.
        store, _ = Store.objects.select_for_update().get_or_create(
            store_hash=credentials.store_hash, defaults={"merchant": merchant, "status": StoreStatus.PENDING}
        )
        if store.merchant_id != merchant.pk:
            raise StoreOwnedElsewhere(credentials.store_hash)
        _apply_profile(store, report.store, now)
        store.connected_at = now
        store.last_checked_at = now
        store.next_check_at = now + lifecycle.next_regular_check(check_policy())
        _clear_streak_and_claim(store)
        store.problem, store.missing_scopes = "", []
        store.save()
        _save_credential(store, credentials, user)
        check = _check_row(store, report, trigger=Check.Trigger.ONBOARDING, started_at=now, duration_ms=duration_ms)
        check.save()
        _flip(store, StoreStatus.CONNECTED, reason="Connected: every required scope is granted.", check=check, now=now)
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
        _save_credential(store, credentials, user)
        _apply_profile(store, report.store, now)
        paused = store.status == StoreStatus.PAUSED
        store.last_checked_at = now
        store.next_check_at = None if paused else now + lifecycle.next_regular_check(check_policy())
        _clear_streak_and_claim(store)
        store.problem, store.missing_scopes = "", []
        store.save()
        check = _check_row(store, report, trigger=Check.Trigger.REPLACE, started_at=now, duration_ms=duration_ms)
        check.save()
        if not paused:
            _flip(
                store,
                StoreStatus.CONNECTED,
                reason="New credentials: every required scope is granted.",
                check=check,
                now=now,
            )
        transaction.on_commit(lambda: signals.credentials_saved.send(sender=Store, store=store))
    logger.info("store %s credentials replaced", store.store_hash)
    return store


STREAK_AND_CLAIM_FIELDS = (
    "claim_token",
    "claimed_until",
    "failure_count",
    "failing_since",
    "suspected_status",
    "suspected_since",
)


def _clear_streak_and_claim(store: Store) -> None:
    store.failure_count = 0
    store.failing_since = None
    store.suspected_status = ""
    store.suspected_since = None
    store.claim_token = ""
    store.claimed_until = None


@dataclass(frozen=True)
class CheckResult:
    """One finished check, ready to be recorded."""

    store_id: int
    report: Report
    started_at: datetime
    duration_ms: int


RECORDED_STORE_FIELDS = (
    "last_checked_at",
    "next_check_at",
    *STREAK_AND_CLAIM_FIELDS,
    "problem",
    "missing_scopes",
    "status",
    "status_changed_at",
    "profile",
    "profile_updated_at",
    *PROFILE_COLUMNS.values(),
)


def _bulk_update_changed(stores: list[Store], before: dict[int, tuple]) -> None:
    """Write only the fields each store changed, one statement per distinct set
    of fields, run with executemany (one round trip with psycopg 3's pipeline).

    Django's `bulk_update` builds a CASE expression per field and row; at a
    hundred stores a batch that costs more than the checks themselves.
    """
    groups: dict[tuple[str, ...], list[Store]] = {}
    for store in stores:
        old = before[store.pk]
        fields = tuple(
            name for name, value in zip(RECORDED_STORE_FIELDS, old, strict=True) if getattr(store, name) != value
        )
        if fields:
            groups.setdefault(fields, []).append(store)
    quote = connection.ops.quote_name
    table = quote(Store._meta.db_table)
    for names, members in groups.items():
        fields = [Store._meta.get_field(name) for name in names]
        assignments = ", ".join(f"{quote(field.column)} = %s" for field in fields)
        sql = f"UPDATE {table} SET {assignments} WHERE {quote('id')} = %s"  # noqa: S608 - names from model metadata
        rows = [
            [field.get_db_prep_save(getattr(store, field.attname), connection) for field in fields] + [store.pk]
            for store in members
        ]
        with connection.cursor() as cursor:
            cursor.executemany(sql, rows)


def _snapshot(store: Store) -> tuple:
    return tuple(getattr(store, name) for name in RECORDED_STORE_FIELDS)


def store_record_checks(
    *,
    results: list[CheckResult],
    trigger: str,
    claim_token: str = "",
    policy: lifecycle.Policy | None = None,
) -> list[Check]:
    """Record finished checks and apply the status rules, all in one transaction.

    1. Lock the stores' rows (so no other writer decides them meanwhile).
    2. Skip a store whose claim is no longer `claim_token` (its lease ran out
       and another worker re-claimed it): one store is never decided twice.
    3. Decide each store's status with `lifecycle.decide`.
    4. Write the checks, the stores and the status changes in three bulk
       statements, whatever the batch's size.
    """
    policy = policy or check_policy()
    now = timezone.now()
    with transaction.atomic():
        stores = Store.objects.select_for_update().in_bulk([result.store_id for result in results])
        before = {pk: _snapshot(store) for pk, store in stores.items()}
        checks: list[Check] = []
        changed: list[Store] = []
        flips: list[tuple[Store, str, str, Check]] = []
        for result in results:
            store = stores.get(result.store_id)
            if store is None or (claim_token and store.claim_token != claim_token):
                continue
            check = _check_row(
                store, result.report, trigger=trigger, started_at=result.started_at, duration_ms=result.duration_ms
            )
            checks.append(check)
            changed.append(store)
            old = store.status
            if _decide(store, result.report, now=now, policy=policy):
                reason = _problem_text(result.report) or _flip_reason(old, store.status, result.report)
                flips.append((store, old, reason, check))
        Check.objects.bulk_create(checks)
        _bulk_update_changed(changed, before)
        StatusChange.objects.bulk_create(
            StatusChange(
                store=store, old_status=old, new_status=store.status, reason=reason, check_run=check, created_at=now
            )
            for store, old, reason, check in flips
        )
        metrics.status_flips(flips)
    return checks


def _decide(store: Store, report: Report, *, now: datetime, policy: lifecycle.Policy) -> bool:
    """Apply one report to the (locked) store in memory; True if its status flipped."""
    store.last_checked_at = now
    if store.status in UNCHECKED_STATUSES:
        _clear_streak_and_claim(store)
        return False
    decision = lifecycle.decide(
        status=store.status,
        outcome=report.outcome,
        streak=lifecycle.Streak(
            failures=store.failure_count,
            failing_since=store.failing_since,
            suspected=store.suspected_status,
            suspected_since=store.suspected_since,
        ),
        now=now,
        policy=policy,
    )
    _clear_streak_and_claim(store)
    store.failure_count = decision.streak.failures
    store.failing_since = decision.streak.failing_since
    store.suspected_status = decision.streak.suspected
    store.suspected_since = decision.streak.suspected_since
    store.next_check_at = now + decision.next_check_in
    if report.store:
        _apply_profile(store, report.store, now)
    if decision.status == StoreStatus.CONNECTED:
        store.problem, store.missing_scopes = "", []
    elif decision.status in BROKEN_STATUSES and (
        decision.flipped or lifecycle.status_for(report.outcome) == decision.status
    ):
        # Only an answer that explains the current status may describe it: a
        # timeout while revoked must not say "nothing is wrong with your token".
        store.problem = _problem_text(report) or store.problem
        if report.outcome == Outcome.MISSING_SCOPES:
            store.missing_scopes = report.missing_scopes
    if decision.flipped:
        store.status, store.status_changed_at = decision.status, now
    return decision.flipped


def stores_release_claims(*, store_ids: list[int], claim_token: str, retry_in: timedelta = timedelta(hours=1)) -> int:
    """Give up these stores' claims without a result (they could not be
    checked at all); try again later rather than at once."""
    return Store.objects.filter(pk__in=store_ids, claim_token=claim_token).update(
        claim_token="", claimed_until=None, next_check_at=timezone.now() + retry_in
    )


def store_record_check(
    *,
    store_id: int,
    report: Report,
    trigger: str,
    started_at: datetime,
    duration_ms: int,
    claim_token: str = "",
    policy: lifecycle.Policy | None = None,
) -> Check | None:
    """Record one check (see `store_record_checks`); None if the claim was lost."""
    checks = store_record_checks(
        results=[CheckResult(store_id, report, started_at, duration_ms)],
        trigger=trigger,
        claim_token=claim_token,
        policy=policy,
    )
    return checks[0] if checks else None


def _flip_reason(old: str, new: StoreStatus, report: Report) -> str:
    if new == StoreStatus.CONNECTED:
        return "Every required scope is granted again."
    if new == StoreStatus.MISSING_SCOPES:
        return "Missing scopes: " + ", ".join(scope_label(p) for p in report.missing_scopes)
    return f"Check outcome: {report.outcome}."


def store_pause(*, store: Store, user=None, reason: str = "Checks paused by Violet staff.") -> StatusChange | None:
    with transaction.atomic():
        store = Store.objects.select_for_update().get(pk=store.pk)
        if store.status in UNCHECKED_STATUSES:
            return None
        # Where to resume is remembered in the status change history.
        change = _flip(store, StoreStatus.PAUSED, reason=reason, check=None, now=timezone.now())
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
        previous = (
            StatusChange.objects.filter(store=store, new_status=StoreStatus.PAUSED)
            .values_list("old_status", flat=True)
            .first()
        ) or StoreStatus.CONNECTED
        change = _flip(store, StoreStatus(previous), reason="Checks resumed.", check=None, now=now)
        Store.objects.filter(pk=store.pk).update(next_check_at=now)
    return change


def store_disconnect(*, store: Store, user=None, reason: str = "Disconnected by the merchant.") -> StatusChange | None:
    """Delete the credentials at once; the store's history stays."""
    now = timezone.now()
    with transaction.atomic():
        store = Store.objects.select_for_update().get(pk=store.pk)
        for receiver, error in signals.store_disconnecting.send_robust(sender=Store, store=store):
            if error is not None:
                logger.warning(
                    "store %s: %s failed while disconnecting: %s", store.store_hash, receiver, type(error).__name__
                )
        Credential.objects.filter(store=store).delete()
        change = _flip(store, StoreStatus.DISCONNECTED, reason=reason, check=None, now=now)
        _clear_streak_and_claim(store)
        store.next_check_at = None
        store.problem, store.missing_scopes = "", []
        store.save(update_fields=["next_check_at", *STREAK_AND_CLAIM_FIELDS, "problem", "missing_scopes"])
    logger.info("store %s disconnected", store.store_hash)
    return change


def checks_prune(*, now: datetime | None = None, batch_size: int = 5000) -> int:
    """Delete checks older than CHECK_RETENTION_DAYS, in batches; how many went.

    A check that a status change points at is kept: it is the evidence for
    that change.
    """
    cutoff = (now or timezone.now()) - timedelta(days=settings.CHECK_RETENTION_DAYS)
    deleted = 0
    while True:
        ids = list(
            Check.objects.filter(started_at__lt=cutoff, status_changes__isnull=True).values_list("id", flat=True)[
                :batch_size
            ]
        )
        if not ids:
            return deleted
        deleted += Check.objects.filter(id__in=ids).delete()[0]
