"""Fleet-wide incidents: count, open, hold, close, catch up.

The rule is `stores.incident_rule` (pure); this module feeds it the fleet's
counts and acts on its verdicts:

- `tally_add()` adds a recorded batch's counts to the minute's `CheckTally`
  rows (one statement, after the batch commits, so no batch waits on
  another's counts);
- `open_incidents()` is what the recording path holds failures for;
- `incidents_evaluate()` opens an incident when the rule says so. It runs
  after a batch with failures and, inside a batch's transaction, before a
  failure would flip a store: two workers opening one at once make one (the
  partial unique index `incident_one_open_per_kind`; the loser reads the
  winner's);
- `incidents_review()` (every minute) closes incidents whose kind's
  failures fell back to normal, and evaluates every kind once;
- `incident_close()` closes one (the review, or Operations by hand) and
  makes every store it held due at once: the dispatcher checks them fully
  (they carry their suspicion or streak), so only those still failing flip,
  and only their owners hear of it.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Max, Q, Sum
from django.utils import timezone

from ..incident_rule import (
    KIND_OF,
    IncidentKind,
    IncidentThresholds,
    Verdict,
    Window,
    add,
    could_open,
    references_say_open,
    should_close,
    should_open,
    statistics_say_open,
    tally_key,
)
from ..lifecycle import status_for
from ..models import Check, CheckTally, Incident, Store
from ..status import StoreStatus

logger = logging.getLogger(__name__)

EXAMPLES = 3


def thresholds() -> IncidentThresholds:
    return IncidentThresholds(
        window_minutes=settings.INCIDENT_WINDOW_MINUTES,
        min_stores=settings.INCIDENT_MIN_STORES,
        min_merchants=settings.INCIDENT_MIN_MERCHANTS,
        min_share=settings.INCIDENT_MIN_SHARE,
        rate_factor=settings.INCIDENT_RATE_FACTOR,
        baseline_days=settings.INCIDENT_BASELINE_DAYS,
        close_window_minutes=settings.INCIDENT_CLOSE_WINDOW_MINUTES,
        close_min_checks=settings.INCIDENT_CLOSE_MIN_CHECKS,
        close_share=settings.INCIDENT_CLOSE_SHARE,
    )


def _minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


# --- counting -------------------------------------------------------------------------


def failure_counts(*, outcome: str, status: str, suspected: str, failures: int, reference: bool) -> Counter[str]:
    """What one recorded check adds to the tallies besides `checks`: the store's
    state *before* the check and the check's outcome."""
    kind = KIND_OF.get(outcome)  # type: ignore[call-overload]
    if kind is None:
        return Counter()
    target = status_for(outcome)  # type: ignore[arg-type]
    if status == target:
        return Counter()  # already broken that way: nothing new
    counts = Counter({tally_key("failed", kind): 1})
    seen_before = suspected == target if target != StoreStatus.UNREACHABLE else failures > 0
    if not seen_before:
        counts[tally_key("first", kind)] = 1
        if reference:
            counts[tally_key("reference", kind)] = 1
    return counts


def tally_add(counts: Counter[str], *, now: datetime | None = None) -> None:
    """Add these counts to this minute's tallies: one INSERT … ON CONFLICT
    DO UPDATE (PostgreSQL and SQLite), its keys in one order so two workers
    never deadlock on them."""
    rows = [(key, n) for key, n in sorted(counts.items()) if n]
    if not rows:
        return
    minute = _minute(now or timezone.now())
    table = connection.ops.quote_name(CheckTally._meta.db_table)
    values = ", ".join(["(%s, %s, %s)"] * len(rows))
    params: list = []
    for key, n in rows:
        params += [minute, key, n]
    sql = (
        f"INSERT INTO {table} (minute, key, count) VALUES {values} "  # noqa: S608 - the table from model metadata
        f"ON CONFLICT (minute, key) DO UPDATE SET count = {table}.count + excluded.count"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def window(*, minutes: int, now: datetime | None = None, after: datetime | None = None) -> Window:
    """The tallies of the last `minutes` minutes (this one included); only of
    the minutes after `after`'s when given."""
    since = _minute(now or timezone.now()) - timedelta(minutes=minutes - 1)
    if after is not None:
        since = max(since, _minute(after) + timedelta(minutes=1))
    rows = CheckTally.objects.filter(minute__gte=since).values("key").annotate(n=Sum("count"))
    return Window({row["key"]: row["n"] for row in rows})


def baseline(*, limits: IncidentThresholds, now: datetime | None = None) -> Window:
    """The kind's normal: the tallies of the last `baseline_days`, minus the window itself."""
    now = now or timezone.now()
    until = _minute(now) - timedelta(minutes=limits.window_minutes - 1)
    rows = (
        CheckTally.objects.filter(minute__gte=until - timedelta(days=limits.baseline_days), minute__lt=until)
        .values("key")
        .annotate(n=Sum("count"))
    )
    return Window({row["key"]: row["n"] for row in rows})


def tallies_prune(*, now: datetime | None = None) -> int:
    """Forget tallies older than the baseline needs (with a day to spare)."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.INCIDENT_BASELINE_DAYS + 1)
    return CheckTally.objects.filter(minute__lt=cutoff).delete()[0]


# --- opening ----------------------------------------------------------------------------


def open_incidents() -> dict[str, int]:
    """{kind: incident id} of the open incidents (one small query)."""
    return dict(Incident.objects.filter(closed_at__isnull=True).values_list("kind", "id"))


def _failing_checks(kind: IncidentKind, since: datetime):
    """Checks answering `kind` since then, of stores not already broken that way."""
    outcomes = [str(outcome) for outcome, of in KIND_OF.items() if of == kind]
    target = status_for(next(outcome for outcome, of in KIND_OF.items() if of == kind))
    return Check.objects.filter(started_at__gte=since, outcome__in=outcomes).exclude(store__status=target)


def _examples(kind: IncidentKind, since: datetime) -> list[dict]:
    """A few answers staff can read: store, outcome, BigCommerce's status codes, the problem."""
    examples = []
    for check in _failing_checks(kind, since).select_related("store").order_by("-started_at")[:EXAMPLES]:
        statuses = [exchange.get("status") for exchange in check.evidence if isinstance(exchange, dict)]
        problems = [problem.get("message", "") for problem in check.problems if isinstance(problem, dict)]
        examples.append(
            {
                "store_hash": check.store.store_hash,
                "outcome": check.outcome,
                "at": check.started_at.isoformat(),
                "statuses": [status for status in statuses if status is not None][:6],
                "problem": " ".join(problems)[:300],
            }
        )
    return examples


class _Fleet:
    """What one evaluation reads once for every kind: the open incidents, the
    last closing of each kind, and the window's tallies (two or three small
    queries; a kind closed within the window reads its own, shorter, window)."""

    def __init__(self, limits: IncidentThresholds, now: datetime, pending: Counter[str]):
        self.limits, self.now, self.pending = limits, now, pending
        self.since = _minute(now) - timedelta(minutes=limits.window_minutes - 1)
        self.open = open_incidents()
        self.closed = dict(
            Incident.objects.filter(closed_at__isnull=False, closed_at__gte=self.since)
            .values_list("kind")
            .annotate(last=Max("closed_at"))
        )
        self._window: Window | None = None
        self._baseline: Window | None = None

    def window(self, kind: IncidentKind) -> Window:
        # What an incident of this kind saw before it closed opens no new one:
        # its window starts after the last closing (by the rule or by hand).
        closed = self.closed.get(kind)
        if closed is not None:
            return add(window(minutes=self.limits.window_minutes, now=self.now, after=closed).counts, self.pending)
        if self._window is None:
            self._window = add(window(minutes=self.limits.window_minutes, now=self.now).counts, self.pending)
        return self._window

    def baseline(self) -> Window:
        if self._baseline is None:
            self._baseline = baseline(limits=self.limits, now=self.now)
        return self._baseline

    def verdict(self, kind: IncidentKind, pending_merchants: set[int]) -> tuple[Verdict, Window]:
        limits, recent = self.limits, self.window(kind)
        if not references_say_open(recent, kind) and not (
            could_open(recent, kind, limits) and statistics_say_open(recent, self.baseline(), kind, limits)
        ):
            return Verdict(False), recent  # the common answer, from this window's tallies alone
        since = max(self.since, self.closed.get(kind, self.since))
        merchants = set(pending_merchants)
        merchants.update(_failing_checks(kind, since).values_list("store__merchant_id", flat=True).distinct())
        return should_open(recent, self.baseline(), kind, merchants=len(merchants), thresholds=limits), recent


def incidents_evaluate(
    kinds,
    *,
    now: datetime | None = None,
    pending: Counter[str] | None = None,
    pending_merchants: set[int] | None = None,
) -> dict[str, int]:
    """Open an incident for each of these kinds the rule says is one now;
    {kind: incident id} of every open incident afterwards. `pending`: counts
    (and `pending_merchants`, merchants of first sightings) of a batch not yet
    committed, the caller's. Safe inside a transaction (the insert runs in a
    savepoint)."""
    fleet = _Fleet(thresholds(), now or timezone.now(), pending or Counter())
    opened = fleet.open
    for kind in sorted({IncidentKind(kind) for kind in kinds} - {IncidentKind(kind) for kind in opened}):
        verdict, recent = fleet.verdict(kind, pending_merchants or set())
        if not verdict.open:
            continue
        incident = Incident(
            kind=kind,
            opened_at=fleet.now,
            reason=verdict.reason,
            by_reference=verdict.by_reference,
            stores_at_open=recent.get(tally_key("first", kind)),
            checks_at_open=recent.checks,
            examples=_examples(kind, fleet.since),
        )
        try:
            with transaction.atomic():
                incident.save()
        except IntegrityError:
            # Another worker opened it a moment ago: hold for theirs.
            opened.update(open_incidents())
            continue
        opened[kind] = incident.pk
        logger.warning("incident opened: %s (%s)", kind, verdict.reason)
    return opened


# --- after a batch --------------------------------------------------------------------------


def after_batch(
    counts: Counter[str], *, held_stores: Counter[int], held_checks: Counter[int], now: datetime | None = None
) -> None:
    """What the recording path does once a batch committed: add its counts,
    count what incidents held (stores newly held, checks held), and open any
    incident its failures call for."""
    now = now or timezone.now()
    tally_add(counts, now=now)
    for incident_id in sorted(held_checks):
        Incident.objects.filter(pk=incident_id).update(
            held_stores_count=F("held_stores_count") + held_stores[incident_id],
            held_checks_count=F("held_checks_count") + held_checks[incident_id],
        )
    failing = {key.split(":", 1)[1] for key in counts if key.startswith("failed:")}
    if failing:
        incidents_evaluate(failing, now=now)


# --- closing ------------------------------------------------------------------------------


def incident_close(*, incident: Incident, reason: str, user=None, now: datetime | None = None) -> bool:
    """Close the incident (False if it already was) and make every store it held
    due now, for a full check that decides it as usual."""
    now = now or timezone.now()
    with transaction.atomic():
        closed = Incident.objects.filter(pk=incident.pk, closed_at__isnull=True).update(
            closed_at=now, close_reason=reason, closed_by=user
        )
        if not closed:
            return False
        held = Store.objects.filter(held_by=incident)
        # In flight: its result comes and is decided as usual (the incident is closed).
        held.filter(Q(claimed_until__isnull=True) | Q(claimed_until__lte=now)).update(next_check_at=now)
        caught_up = held.update(held_by=None)
    incident.closed_at, incident.close_reason, incident.closed_by = now, reason, user
    logger.warning("incident closed: %s (%s); %d held stores checked again now", incident.kind, reason, caught_up)
    return True


def incidents_review(*, now: datetime | None = None) -> dict:
    """Every minute: close the incidents whose kind went back to normal, then
    evaluate every kind once (an incident the batches did not open)."""
    if not settings.INCIDENT_DETECTION:
        return {"closed": 0, "open": 0}
    now = now or timezone.now()
    limits = thresholds()
    recent = window(minutes=limits.close_window_minutes, now=now)
    closed = 0
    for incident in Incident.objects.filter(closed_at__isnull=True):
        if should_close(recent, IncidentKind(incident.kind), limits):
            share = recent.share("failed", IncidentKind(incident.kind))
            reason = (
                f"Back to normal: {share:.0%} of the {recent.checks} checks in the last "
                f"{limits.close_window_minutes} minutes failed this way."
            )
            closed += incident_close(incident=incident, reason=reason, now=now)
    opened = incidents_evaluate(list(IncidentKind), now=now)
    return {"closed": closed, "open": len(opened)}


# --- reference stores -------------------------------------------------------------------------


def store_set_reference(*, store: Store, reference: bool, now: datetime | None = None) -> bool:
    """Mark a store as a reference (checked every REFERENCE_CHECK_INTERVAL_SECONDS,
    from its next minute) or not; False if it already was so."""
    now = now or timezone.now()
    changed = Store.objects.filter(pk=store.pk).exclude(is_reference=reference).update(is_reference=reference)
    if changed and reference:
        # Due within the minute, unless a check is in flight (its result reschedules it).
        soon = now + timedelta(seconds=settings.REFERENCE_CHECK_INTERVAL_SECONDS)
        Store.objects.filter(pk=store.pk).filter(Q(next_check_at__isnull=True) | Q(next_check_at__gt=soon)).filter(
            Q(claimed_until__isnull=True) | Q(claimed_until__lte=now)
        ).update(next_check_at=soon)
    store.is_reference = reference
    return bool(changed)


def incident_examples_fill(incident: Incident) -> None:
    """Examples for an incident opened before its batch's checks were
    committed (they are now): read them once, for the staff mail."""
    if incident.examples:
        return
    since = incident.opened_at - timedelta(minutes=settings.INCIDENT_WINDOW_MINUTES)
    incident.examples = _examples(IncidentKind(incident.kind), since)
    Incident.objects.filter(pk=incident.pk).update(examples=incident.examples)
