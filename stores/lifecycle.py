"""The status rules, in one pure function.

A check's report outcome, with what the store remembers of its recent checks
(`Streak`), decides the store's new status and when to check it next. No
database, no clock: `now` and the policy are arguments, so the state machine
is tested exhaustively in `tests/stores/test_lifecycle.py`.

The rules:
1. All scopes granted → `connected`, at once (a store that works again
   recovers without delay). Any pending suspicion is forgotten.
2. A definitive answer — 401 (`revoked`), 403 on a probe (`missing_scopes`),
   the store's 503 (`store_unavailable`), a plan limit's 507 (`refused`), a store hash BigCommerce no longer knows
   (`revoked`), a 403 that is not BigCommerce's scope error or refusals that
   cannot tell a wrong token from a wrong hash (`refused`: definitive but
   unexplained; staff are told, the merchant is not sent to make a new API
   account) — is confirmed by one re-check `confirm_after` later before
   the status flips. The first sighting only schedules that re-check.
3. A transient failure (5xx, timeouts, resets, 429 that never cleared, a
   rate limit whose reset lay past the deadline, one service's 503) never
   flips a status by itself: the store becomes `unreachable` only after
   `unreachable_after_failures` consecutive failures spanning at least
   `unreachable_after`. Meanwhile it is re-checked sooner
   (`retry_intervals`, growing).
4. `paused` and `disconnected` stores are not checked; a check that raced a
   pause is recorded but changes nothing.
5. While a fleet-wide incident of a failure's kind is open (`held_kinds`,
   see `stores.incident_rule`), that failure flips nothing: the store keeps
   its status, its suspicion or streak is kept (so the first check after the
   incident decides at once), and it is checked again later than usual
   (`incident_recheck`, spread), to be kind to BigCommerce while it is down.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from .bigcommerce.report import Outcome
from .incident_rule import KIND_OF
from .status import UNCHECKED_STATUSES, StoreStatus

DEFINITIVE_STATUS: dict[Outcome, StoreStatus] = {
    Outcome.INVALID_TOKEN: StoreStatus.REVOKED,
    Outcome.STORE_NOT_FOUND: StoreStatus.REVOKED,
    Outcome.MISSING_SCOPES: StoreStatus.MISSING_SCOPES,
    Outcome.STORE_UNAVAILABLE: StoreStatus.STORE_UNAVAILABLE,
    Outcome.FORBIDDEN: StoreStatus.REFUSED,
    Outcome.CREDENTIALS_REJECTED: StoreStatus.REFUSED,
    # A plan limit (507) lasts until the merchant acts: refused, staff told.
    Outcome.PLAN_LIMIT: StoreStatus.REFUSED,
}
# A spent rate limit passes by itself, like an outage.
TRANSIENT_OUTCOMES = frozenset({Outcome.UNREACHABLE, Outcome.RATE_LIMITED})


def status_for(outcome: Outcome) -> StoreStatus | None:
    """The status an outcome points at, once confirmed (None: no status)."""
    if outcome == Outcome.CONNECTED:
        return StoreStatus.CONNECTED
    if outcome in TRANSIENT_OUTCOMES:
        return StoreStatus.UNREACHABLE
    return DEFINITIVE_STATUS.get(outcome)


@dataclass(frozen=True)
class Policy:
    interval: timedelta = timedelta(hours=6)
    jitter: float = 0.1  # ± this fraction of the interval
    confirm_after: timedelta = timedelta(minutes=1)
    unreachable_after_failures: int = 3
    unreachable_after: timedelta = timedelta(minutes=30)
    retry_intervals: tuple[timedelta, ...] = (
        timedelta(minutes=2),
        timedelta(minutes=5),
        timedelta(minutes=15),
        timedelta(minutes=30),
    )
    # A broken store is still watched, less often, so it recovers by itself.
    broken_interval: timedelta = timedelta(hours=1)
    # A regular check is light (token and store only); every scope is probed
    # at least this often, and whenever anything is not plainly healthy.
    scope_interval: timedelta = timedelta(hours=24)
    # A failure held by an open incident is checked again somewhere in this
    # span (spread, so the fleet does not come back at once).
    incident_recheck: tuple[timedelta, timedelta] = (timedelta(minutes=10), timedelta(minutes=60))
    # Reference stores (canaries) are checked this often.
    reference_interval: timedelta = timedelta(minutes=1)


@dataclass(frozen=True)
class Streak:
    """What a store remembers between checks."""

    failures: int = 0  # consecutive transient failures
    failing_since: datetime | None = None
    suspected: str = ""  # a definitive status seen once, awaiting confirmation
    suspected_since: datetime | None = None


@dataclass(frozen=True)
class Decision:
    status: StoreStatus  # the status after this check (may equal the old one)
    streak: Streak
    next_check_in: timedelta
    flipped: bool = field(default=False)
    held: bool = field(default=False)  # a flip an open incident kept back


def next_regular_check(policy: Policy, rng: random.Random | None = None) -> timedelta:
    """The interval with jitter, so a fleet's checks spread instead of arriving in waves."""
    spread = policy.jitter * (2 * (rng or random).random() - 1)
    return policy.interval * (1 + spread)


def incident_recheck(policy: Policy, rng: random.Random | None = None) -> timedelta:
    low, high = policy.incident_recheck
    return low + (high - low) * (rng or random).random()


def needs_full_check(
    *,
    status: str,
    streak: Streak,
    scopes_verified_at: datetime | None,
    scheduled: bool,
    now: datetime,
    policy: Policy = Policy(),
) -> bool:
    """Whether this check must probe every scope (full) or may be light.

    Full: when someone asked (check now, webhooks, the API: not `scheduled`),
    for a store that is not plainly connected (any status but `connected`, a
    failure streak, a suspicion awaiting its confirming re-check), and when
    the scopes were last verified `scope_interval` ago or never. A light
    check that sees anything but a healthy answer is followed by a full one
    at once (`validation.validate_escalating`), so the rules above decide on
    full reports only, as before.
    """
    if not scheduled or status != StoreStatus.CONNECTED:
        return True
    if streak.failures or streak.suspected:
        return True
    return scopes_verified_at is None or now - scopes_verified_at >= policy.scope_interval


def decide(
    *,
    status: StoreStatus,
    outcome: Outcome,
    streak: Streak,
    now: datetime,
    policy: Policy = Policy(),
    rng: random.Random | None = None,
    held_kinds: frozenset[str] = frozenset(),
) -> Decision:
    status = StoreStatus(status)
    if status in UNCHECKED_STATUSES:
        return Decision(status=status, streak=streak, next_check_in=policy.interval)

    if outcome == Outcome.CONNECTED:
        return _settle(status, StoreStatus.CONNECTED, Streak(), next_regular_check(policy, rng))

    if outcome in DEFINITIVE_STATUS:
        target = DEFINITIVE_STATUS[outcome]
        cleared = replace(streak, failures=0, failing_since=None)
        if status == target:
            return Decision(status=status, streak=Streak(), next_check_in=policy.broken_interval)
        if KIND_OF[outcome] in held_kinds:
            since = streak.suspected_since if streak.suspected == target and streak.suspected_since else now
            return Decision(
                status=status,
                streak=replace(cleared, suspected=str(target), suspected_since=since),
                next_check_in=incident_recheck(policy, rng),
                held=True,
            )
        if streak.suspected == target and streak.suspected_since is not None:
            confirmed_at = streak.suspected_since + policy.confirm_after
            if now >= confirmed_at:
                return _settle(status, target, Streak(), policy.broken_interval)
            # Asked again too soon (a "check now" right after): the confirmation
            # must come from BigCommerce a while later, not from the same moment.
            return Decision(
                status=status,
                streak=replace(cleared, suspected=streak.suspected, suspected_since=streak.suspected_since),
                next_check_in=confirmed_at - now,
            )
        suspicion = replace(cleared, suspected=str(target), suspected_since=now)
        return Decision(status=status, streak=suspicion, next_check_in=policy.confirm_after)

    if outcome in TRANSIENT_OUTCOMES:
        failures = streak.failures + 1
        since = streak.failing_since or now
        grown = Streak(failures=failures, failing_since=since)
        if status == StoreStatus.UNREACHABLE:
            return Decision(status=status, streak=grown, next_check_in=policy.broken_interval)
        if KIND_OF[outcome] in held_kinds:
            return Decision(status=status, streak=grown, next_check_in=incident_recheck(policy, rng), held=True)
        if failures >= policy.unreachable_after_failures and now - since >= policy.unreachable_after:
            return _settle(status, StoreStatus.UNREACHABLE, grown, policy.broken_interval)
        retry = policy.retry_intervals[min(failures, len(policy.retry_intervals)) - 1]
        return Decision(status=status, streak=grown, next_check_in=retry)

    # MALFORMED_INPUT cannot come from stored credentials; keep everything as is.
    return Decision(status=status, streak=streak, next_check_in=policy.interval)


def _settle(old: StoreStatus, new: StoreStatus, streak: Streak, next_check_in: timedelta) -> Decision:
    return Decision(status=new, streak=streak, next_check_in=next_check_in, flipped=old != new)
