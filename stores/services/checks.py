"""Checks: record them, and ask for them.

Recording: `store_record_checks` writes a batch of finished checks and
applies the status rules (`stores.lifecycle`) in one transaction; only the
holder of a store's claim (`stores.claims`) may record its result.

Asking: `store_check_request` is the one answer to "may this store be
checked now, and is a check of it already in flight?" (the merchant's and
staff's "check now", the JSON API, `revalidate`, BigCommerce's webhooks);
`checks_dispatch_due` is the dispatcher's (claim every due store, queue).
Both claim the stores, then queue the `stores.check_stores` task.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import orjson
from django.conf import settings
from django.db import DataError, connection, transaction
from django.utils import timezone

from config import metrics
from config.retention import delete_in_batches

from .. import claims, events, lifecycle
from ..bigcommerce.report import Outcome, Report
from ..bigcommerce.scopes import scope_label
from ..incident_rule import CHECKS, KIND_OF
from ..models import PROFILE_COLUMNS, Check, StatusChange, Store
from ..status import BROKEN_STATUSES, CAUSES, UNCHECKED_STATUSES, StoreStatus
from ..tasks import check_stores as check_stores_task
from .incidents import after_batch, failure_counts, incidents_evaluate, open_incidents
from .profile import apply_profile

logger = logging.getLogger(__name__)


def check_policy() -> lifecycle.Policy:
    return lifecycle.Policy(
        interval=timedelta(minutes=settings.STORE_CHECK_INTERVAL_MINUTES),
        confirm_after=timedelta(seconds=settings.STORE_CONFIRM_AFTER_SECONDS),
        unreachable_after_failures=settings.STORE_UNREACHABLE_AFTER_FAILURES,
        unreachable_after=timedelta(minutes=settings.STORE_UNREACHABLE_AFTER_MINUTES),
        scope_interval=timedelta(minutes=settings.SCOPE_CHECK_INTERVAL_MINUTES),
        incident_recheck=(
            timedelta(minutes=settings.INCIDENT_RECHECK_MIN_MINUTES),
            timedelta(minutes=settings.INCIDENT_RECHECK_MAX_MINUTES),
        ),
        reference_interval=timedelta(seconds=settings.REFERENCE_CHECK_INTERVAL_SECONDS),
    )


def problem_text(report: Report) -> str:
    return " ".join(problem.message for problem in report.problems)


def check_row(
    store: Store, report: Report, *, trigger: str, started_at: datetime, duration_ms: int, kind: str = Check.Kind.FULL
) -> Check:
    """The Check row for one report (unsaved); onboarding writes one too."""
    as_dict = report.to_dict(evidence=True)
    metrics.check_recorded(trigger, report)
    return Check(
        store=store,
        trigger=trigger,
        kind=kind,
        started_at=started_at,
        duration_ms=duration_ms,
        outcome=str(report.outcome),
        scopes={param: str(state) for param, state in report.scopes.items()},
        problems=as_dict["problems"],
        evidence=as_dict["exchanges"],
    )


STREAK_AND_CLAIM_FIELDS = (
    "claim_token",
    "claimed_until",
    "failure_count",
    "failing_since",
    "suspected_status",
    "suspected_since",
)


def clear_streak_and_claim(store: Store) -> None:
    """Forget the failure streak and the claim (in memory; the caller saves)."""
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
    kind: str = Check.Kind.FULL

    @property
    def healthy_light(self) -> bool:
        """A light check that found token and store fine: no Check row for it."""
        return self.kind == Check.Kind.LIGHT and self.report.outcome == Outcome.CONNECTED


@dataclass(frozen=True)
class RecordedBatch:
    """What recording a batch wrote: the Check rows, and how many stores were
    recorded in all (healthy light checks only update their store)."""

    checks: list[Check]
    recorded: int
    fleet: _FleetView | None = None  # what the incident rule counts and holds


RECORDED_STORE_FIELDS = (
    "last_checked_at",
    "last_check_ms",
    "scopes_verified_at",
    "next_check_at",
    *STREAK_AND_CLAIM_FIELDS,
    "problem",
    "missing_scopes",
    "status",
    "status_changed_at",
    "profile",
    "profile_updated_at",
    "held_by_id",
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
    """Record finished checks (see `store_record_results`); the Check rows written."""
    return store_record_results(results=results, trigger=trigger, claim_token=claim_token, policy=policy).checks


def store_record_results(
    *,
    results: list[CheckResult],
    trigger: str,
    claim_token: str = "",
    policy: lifecycle.Policy | None = None,
) -> RecordedBatch:
    """Record finished checks and apply the status rules (`_record_results`,
    one transaction). One store's result the database refuses never fails the
    batch: if the batch's transaction is refused for its data, each result is
    recorded in its own, and a result refused alone is logged by its store and
    its claim released (checked again later); the others are recorded."""
    try:
        batch = _record_results(results=results, trigger=trigger, claim_token=claim_token, policy=policy)
    except UNSTORABLE as error:
        if len(results) <= 1:
            _give_up(results, claim_token, error)
            return RecordedBatch(checks=[], recorded=0)
        logger.warning(
            "a batch of %d checks could not be recorded at once (%s); recording them one by one",
            len(results),
            type(error).__name__,
        )
    else:
        _after(batch)
        return batch
    checks: list[Check] = []
    recorded = 0
    for result in results:
        try:
            batch = _record_results(results=[result], trigger=trigger, claim_token=claim_token, policy=policy)
        except UNSTORABLE as error:
            _give_up([result], claim_token, error)
            continue
        _after(batch)
        checks += batch.checks
        recorded += batch.recorded
    return RecordedBatch(checks=checks, recorded=recorded)


def _after(batch: RecordedBatch) -> None:
    """Once a batch committed: its counts to the fleet's tallies, and any incident they open."""
    fleet = batch.fleet
    if fleet is not None and fleet.counts:
        after_batch(fleet.counts, held_stores=fleet.held_stores, held_checks=fleet.held_checks)


# What the database refuses for a value rather than for its state: a NUL or a
# lone surrogate the boundary missed (`stores.bigcommerce.storable`), a value
# out of range. (UnicodeError: the driver cannot encode a lone surrogate.)
UNSTORABLE = (DataError, UnicodeError)


def _give_up(results: list[CheckResult], claim_token: str, error: Exception) -> None:
    """Name the stores whose result cannot be stored (never the value: it is
    outside data) and release their claims, to be checked again later."""
    for result in results:
        logger.error(
            "store %s (id %s): its check could not be recorded (%s); the rest of its batch was",
            result.report.store_hash,
            result.store_id,
            type(error).__name__,
        )
    stores_release_claims(store_ids=[result.store_id for result in results], claim_token=claim_token)


def _record_results(
    *,
    results: list[CheckResult],
    trigger: str,
    claim_token: str = "",
    policy: lifecycle.Policy | None = None,
) -> RecordedBatch:
    """Record finished checks and apply the status rules, all in one transaction.

    0. Lock every store of the batch, in id order, in one statement
       (`_lock_in_id_order`), so no other writer decides them meanwhile and
       two writers of overlapping batches (a stale worker and the new
       claimant) take their locks in one order and never deadlock.
    1. Healthy light checks of plainly connected stores whose profile did not
       change (nearly every check, at 96 a day per store) only move their
       store on, in ONE statement for the batch (`_record_healthy_light`,
       PostgreSQL); they write no Check row. Every other result takes the
       steps below, reading its (already locked) store.
    2. Skip a store whose claim is no longer `claim_token` (its lease ran out
       and another worker re-claimed it): one store is never decided twice.
    3. Count the batch's failures for the fleet-wide incident rule
       (`services.incidents`), and decide each store's status with
       `lifecycle.decide`, holding back the failures of a kind an open
       incident covers. A failure about to flip a store first asks the rule,
       with this batch's own counts, whether an incident opens now.
    4. Write the checks, the stores and the status changes in three bulk
       statements, whatever the batch's size, and their events (`stores.events`)
       in a fourth, only when a status or the missing scopes changed. A Check row is kept for every
       full check, every check that saw anything but a healthy answer, and
       every status flip.
    """
    policy = policy or check_policy()
    now = timezone.now()
    with transaction.atomic():
        _lock_in_id_order([result.store_id for result in results])
        done = _record_healthy_light(results, claim_token=claim_token, policy=policy, now=now)
        # No Check row for these, still checks.
        metrics.checks_recorded(trigger, (result.report for result in results if result.store_id in done))
        rest = [result for result in results if result.store_id not in done]
        stores = Store.objects.in_bulk([result.store_id for result in rest]) if rest else {}  # locked in step 0
        rest = [
            result
            for result in rest
            if result.store_id in stores and not (claim_token and stores[result.store_id].claim_token != claim_token)
        ]
        fleet = _FleetView.of(rest, stores, recorded=len(done) + len(rest))
        before = {pk: _snapshot(store) for pk, store in stores.items()}
        checks: list[Check] = []
        changed: list[Store] = []
        flips: list[tuple[Store, str, str, Check]] = []
        for result in rest:
            store = stores[result.store_id]
            changed.append(store)
            old = store.status
            decision = fleet.decide(store, result.report, now=now, policy=policy)
            flipped = _apply(store, result.report, decision, now=now, policy=policy)
            fleet.note(store, result.report, decision)
            store.last_check_ms = result.duration_ms
            if result.kind == Check.Kind.FULL and result.report.outcome in SCOPES_ANSWERED:
                store.scopes_verified_at = now
            if result.healthy_light and not flipped:
                metrics.check_recorded(trigger, result.report)  # no Check row, still a check
                continue
            check = check_row(
                store,
                result.report,
                trigger=trigger,
                started_at=result.started_at,
                duration_ms=result.duration_ms,
                kind=result.kind,
            )
            checks.append(check)
            if flipped:
                # A broken status's one text (the store page's card says the same); else the report's
                # words. A plan limit (507) is its own cause, and its problem text says what it is.
                cause = CAUSES.get(store.status) if result.report.outcome != Outcome.PLAN_LIMIT else ""
                reason = cause or problem_text(result.report)
                reason = reason or flip_reason(old, store.status, result.report)
                flips.append((store, old, reason, check))
        Check.objects.bulk_create(checks)
        _bulk_update_changed(changed, before)
        StatusChange.objects.bulk_create(
            StatusChange(
                store=store, old_status=old, new_status=store.status, reason=reason, check_run=check, created_at=now
            )
            for store, old, reason, check in flips
        )
        events.record(_events_of(flips, changed, before, now))
        metrics.status_flips(flips)
    return RecordedBatch(checks=checks, recorded=len(done) + len(rest), fleet=fleet)


class _FleetView:
    """What one batch tells the fleet-wide incident rule, and what it holds.

    `counts`: the batch's tallies (`incidents.failure_counts`, from each
    store's state before its check); `merchants`: per kind, the merchants of
    its first sightings; `open`: {kind: incident id} of the open incidents,
    read once, and only for a batch with a failure."""

    def __init__(self, counts: Counter, merchants: dict[str, set[int]], open_incidents: dict[str, int]):
        self.counts = counts
        self.merchants = merchants
        self.open = open_incidents
        self.held_stores: Counter[int] = Counter()
        self.held_checks: Counter[int] = Counter()

    @classmethod
    def of(cls, rest: list[CheckResult], stores: dict[int, Store], *, recorded: int) -> _FleetView:
        counts: Counter[str] = Counter()
        merchants: dict[str, set[int]] = defaultdict(set)
        if not settings.INCIDENT_DETECTION:
            return cls(counts, merchants, {})
        counts[CHECKS] = recorded
        for result in rest:
            store = stores[result.store_id]
            if store.status in UNCHECKED_STATUSES:
                continue
            seen = failure_counts(
                outcome=result.report.outcome,
                status=store.status,
                suspected=store.suspected_status,
                failures=store.failure_count,
                reference=store.is_reference,
            )
            counts.update(seen)
            for key in seen:
                counter, kind = key.split(":", 1)
                if counter == "first":
                    merchants[kind].add(store.merchant_id)
        failing = any(key.startswith("failed:") for key in counts)
        return cls(counts, merchants, open_incidents() if failing else {})

    def decide(self, store: Store, report: Report, *, now: datetime, policy: lifecycle.Policy) -> lifecycle.Decision:
        decision = _decision(store, report, now=now, policy=policy, held_kinds=frozenset(self.open))
        kind = KIND_OF.get(report.outcome)
        if (
            kind is not None
            and kind not in self.open
            and decision.flipped
            and decision.status in BROKEN_STATUSES
            and settings.INCIDENT_DETECTION
        ):
            # About to flip: does the fleet say this is an incident, with this batch counted?
            self.open = incidents_evaluate(
                [kind], now=now, pending=self.counts, pending_merchants=self.merchants.get(kind, set())
            )
            if kind in self.open:
                decision = _decision(store, report, now=now, policy=policy, held_kinds=frozenset(self.open))
        return decision

    def note(self, store: Store, report: Report, decision: lifecycle.Decision) -> None:
        """Mark a held store with its incident (and count it). A store that
        answered well, or flipped, is no longer held; one that failed another
        way stays held (the incident's catch-up checks it again)."""
        if decision.held:
            incident_id = self.open[KIND_OF[report.outcome]]
            if store.held_by_id != incident_id:
                self.held_stores[incident_id] += 1
                store.held_by_id = incident_id
            self.held_checks[incident_id] += 1
        elif store.held_by_id and (report.outcome == Outcome.CONNECTED or decision.flipped):
            store.held_by_id = None


_MISSING_SCOPES_AT = RECORDED_STORE_FIELDS.index("missing_scopes")


def _events_of(flips: list[tuple], changed: list[Store], before: dict[int, tuple], now: datetime) -> list:
    """A recorded batch's events: `status_changed` per flip, `scopes_changed` per
    store whose missing scopes changed. Saved in ONE insert, and none at all
    for a batch that changed neither (nearly every batch)."""
    flipped = [
        events.status_changed(store, old=old, new=store.status, reason=reason, now=now)
        for store, old, reason, _ in flips
    ]
    rescoped = [
        events.scopes_changed(store, missing_before=before[store.pk][_MISSING_SCOPES_AT], now=now)
        for store in changed
        if store.missing_scopes != before[store.pk][_MISSING_SCOPES_AT]
    ]
    return flipped + rescoped


# A full check with one of these outcomes said, scope by scope, what the API
# account may do: the scopes are verified (granted or not) as of then.
SCOPES_ANSWERED = frozenset({Outcome.CONNECTED, Outcome.MISSING_SCOPES})


def _lock_in_id_order(store_ids: list[int]) -> None:
    """Lock these stores' rows in id order (PostgreSQL locks them as the
    sorted rows come out), so every writer of a batch takes its locks in one
    order. Later statements of the transaction find the rows already held."""
    if store_ids and connection.features.has_select_for_update:
        list(Store.objects.select_for_update().filter(pk__in=store_ids).order_by("pk").values_list("pk", flat=True))


def _record_healthy_light(
    results: list[CheckResult], *, claim_token: str, policy: lifecycle.Policy, now: datetime
) -> set[int]:
    """Move on, in one UPDATE … FROM jsonb_to_recordset(…), every store whose healthy light
    check changes nothing but when it was checked and when it is due; the ids done.

    The statement's WHERE is the rules' precondition, evaluated on the locked
    row (PostgreSQL re-checks it after waiting for a concurrent writer): still
    claimed by `claim_token`, `connected`, no failure streak, no suspicion,
    the same profile. For such a store `lifecycle.decide` is a no-op but for
    the next check time, so skipping it changes nothing. A store that fails
    the WHERE (paused meanwhile, profile changed…) takes the general path.
    PostgreSQL only; elsewhere every result takes the general path.
    """
    if connection.vendor != "postgresql":
        return set()
    rows = [result for result in results if result.healthy_light and result.report.store]
    if not rows:
        return set()
    table = connection.ops.quote_name(Store._meta.db_table)
    # One JSON parameter, unpacked by the server (jsonb_to_recordset): the
    # client quotes one string instead of four arrays element by element
    # (psycopg's array quoting in Python cost more than the update itself),
    # encoded by orjson (datetimes as RFC 3339).
    batch = orjson.dumps(
        [
            {
                "id": result.store_id,
                "next_at": now + lifecycle.next_regular_check(policy),
                "ms": result.duration_ms,
                "profile": result.report.store,
            }
            for result in rows
        ]
    ).decode()
    claim_clause = "AND s.claim_token = %s" if claim_token else ""
    sql = (
        f"UPDATE {table} AS s SET last_checked_at = %s, next_check_at = v.next_at, last_check_ms = v.ms, "  # noqa: S608
        "claim_token = '', claimed_until = NULL "
        "FROM jsonb_to_recordset(%s::jsonb) AS v(id bigint, next_at timestamptz, ms integer, profile jsonb) "
        "WHERE s.id = v.id AND s.status = 'connected' AND s.failure_count = 0 AND s.suspected_status = '' "
        "AND s.profile = v.profile AND NOT s.is_reference AND s.held_by_id IS NULL "
        f"{claim_clause} RETURNING s.id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [now, batch, *([claim_token] if claim_token else [])])
        return {row[0] for row in cursor.fetchall()}


def _decision(
    store: Store, report: Report, *, now: datetime, policy: lifecycle.Policy, held_kinds: frozenset[str]
) -> lifecycle.Decision:
    """What the rules say of one report for the (locked) store; nothing applied yet."""
    return lifecycle.decide(
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
        held_kinds=held_kinds,
    )


def _apply(
    store: Store, report: Report, decision: lifecycle.Decision, *, now: datetime, policy: lifecycle.Policy
) -> bool:
    """Apply one decision to the (locked) store in memory; True if its status flipped."""
    store.last_checked_at = now
    if store.status in UNCHECKED_STATUSES:
        clear_streak_and_claim(store)
        return False
    clear_streak_and_claim(store)
    store.failure_count = decision.streak.failures
    store.failing_since = decision.streak.failing_since
    store.suspected_status = decision.streak.suspected
    store.suspected_since = decision.streak.suspected_since
    next_check_in = decision.next_check_in
    if store.is_reference:
        next_check_in = min(next_check_in, policy.reference_interval)
    store.next_check_at = now + next_check_in
    if report.store:
        apply_profile(store, report.store, now)
    if decision.status == StoreStatus.CONNECTED:
        store.problem, store.missing_scopes = "", []
    elif decision.status in BROKEN_STATUSES and (
        decision.flipped or lifecycle.status_for(report.outcome) == decision.status
    ):
        # Only an answer that explains the current status may describe it: a
        # timeout while revoked must not say "nothing is wrong with your token".
        store.problem = problem_text(report) or store.problem
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


def flip_reason(old: str, new: StoreStatus, report: Report) -> str:
    if new == StoreStatus.CONNECTED:
        return "Every required scope is granted again."
    if new == StoreStatus.MISSING_SCOPES:
        return "Missing scopes: " + ", ".join(scope_label(p) for p in report.missing_scopes)
    return f"Check outcome: {report.outcome}."


def checks_prune(*, now: datetime | None = None, batch_size: int = 5000) -> int:
    """Delete checks older than CHECK_RETENTION_DAYS, in batches; how many went.

    A check that a status change points at is kept: it is the evidence for
    that change.
    """
    cutoff = (now or timezone.now()) - timedelta(days=settings.CHECK_RETENTION_DAYS)
    return delete_in_batches(Check.objects.filter(started_at__lt=cutoff, status_changes__isnull=True), batch_size)


# --- asking for checks ---------------------------------------------------------------


@dataclass(frozen=True)
class CheckRequest:
    """What asking for a check now came to. `reason`, when NOT_CHECKED, is the
    status that keeps the store from being checked (paused, disconnected)."""

    class Answer(StrEnum):
        QUEUED = "queued"
        IN_FLIGHT = "in_flight"  # a check of it is already running; its result is coming
        NOT_CHECKED = "not_checked"
        THROTTLED = "throttled"  # the caller's own limit said no

    answer: Answer
    reason: StoreStatus | None = None

    @property
    def queued(self) -> bool:
        return self.answer == self.Answer.QUEUED


def store_check_request(
    *, store: Store, trigger: str, throttle: Callable[[], bool] | None = None
) -> CheckRequest:
    """Queue an immediate check of `store`: claim it, then queue `check_stores`.

    NOT_CHECKED for a store Violet does not check (paused, disconnected);
    IN_FLIGHT when it is already claimed (by the dispatcher or another "check
    now"), so one store is never checked twice at once. `throttle`, when
    given, is asked once the store is known to be checkable and before
    anything is claimed: False answers THROTTLED.
    """
    if store.status in UNCHECKED_STATUSES:
        return CheckRequest(CheckRequest.Answer.NOT_CHECKED, reason=StoreStatus(store.status))
    if throttle is not None and not throttle():
        return CheckRequest(CheckRequest.Answer.THROTTLED)
    claim = claims.claim_store(store.pk)
    if claim is None:
        return CheckRequest(CheckRequest.Answer.IN_FLIGHT)
    check_stores_task.delay(claim.store_ids, claim.token, trigger)
    return CheckRequest(CheckRequest.Answer.QUEUED)


def checks_dispatch_due() -> int:
    """Claim every due store, in batches, and queue their checks; how many.

    The dispatcher task runs this every minute, `revalidate --all` at once.
    """
    queued = 0
    while queued < settings.DISPATCH_MAX_PER_RUN:
        # Never past the cap: the last batch is cut to what is left of it.
        limit = min(settings.DISPATCH_BATCH_SIZE, settings.DISPATCH_MAX_PER_RUN - queued)
        claim = claims.claim_due_stores(limit=limit)
        if not claim.store_ids:
            break
        check_stores_task.delay(claim.store_ids, claim.token)
        queued += len(claim.store_ids)
    if queued:
        logger.info("queued checks for %d due stores", queued)
    claims.mark_dispatcher_run()
    return queued
