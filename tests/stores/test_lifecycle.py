"""The status rules, exhaustively, without a database."""

import random
from datetime import UTC, datetime, timedelta

import pytest

from stores.bigcommerce.report import Outcome
from stores.lifecycle import DEFINITIVE_STATUS, Policy, Streak, decide, next_regular_check, status_for
from stores.status import StoreStatus

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
POLICY = Policy()
CHECKED = [s for s in StoreStatus if s not in (StoreStatus.PAUSED, StoreStatus.DISCONNECTED)]


@pytest.mark.parametrize("status", CHECKED)
def test_all_granted_connects_at_once_from_any_checked_status(status):
    decision = decide(status=status, outcome=Outcome.CONNECTED, streak=Streak(failures=2, failing_since=NOW), now=NOW)
    assert decision.status == StoreStatus.CONNECTED
    assert decision.flipped == (status != StoreStatus.CONNECTED)
    assert decision.streak == Streak()


@pytest.mark.parametrize("outcome,target", list(DEFINITIVE_STATUS.items()))
def test_a_definitive_answer_is_confirmed_before_the_flip(outcome, target):
    first = decide(status=StoreStatus.CONNECTED, outcome=outcome, streak=Streak(), now=NOW)
    assert first.status == StoreStatus.CONNECTED and not first.flipped
    assert first.next_check_in == POLICY.confirm_after == timedelta(minutes=1)
    assert first.streak.suspected == target

    later = NOW + first.next_check_in
    second = decide(status=StoreStatus.CONNECTED, outcome=outcome, streak=first.streak, now=later)
    assert second.status == target and second.flipped
    assert second.streak == Streak()


@pytest.mark.parametrize("outcome", list(DEFINITIVE_STATUS))
def test_a_definitive_answer_not_confirmed_flags_nothing(outcome):
    first = decide(status=StoreStatus.CONNECTED, outcome=outcome, streak=Streak(), now=NOW)
    second = decide(
        status=StoreStatus.CONNECTED, outcome=Outcome.CONNECTED, streak=first.streak, now=NOW + timedelta(minutes=1)
    )
    assert second.status == StoreStatus.CONNECTED and not second.flipped
    assert second.streak == Streak()


def test_a_different_definitive_answer_restarts_the_confirmation():
    first = decide(status=StoreStatus.CONNECTED, outcome=Outcome.STORE_UNAVAILABLE, streak=Streak(), now=NOW)
    second = decide(
        status=StoreStatus.CONNECTED, outcome=Outcome.INVALID_TOKEN, streak=first.streak, now=NOW + timedelta(minutes=1)
    )
    assert not second.flipped and second.streak.suspected == StoreStatus.REVOKED


def test_a_broken_store_that_stays_broken_does_not_flip_again():
    decision = decide(status=StoreStatus.REVOKED, outcome=Outcome.INVALID_TOKEN, streak=Streak(), now=NOW)
    assert decision.status == StoreStatus.REVOKED and not decision.flipped
    assert decision.next_check_in == POLICY.broken_interval


def test_one_broken_status_moves_to_another_after_confirmation():
    first = decide(status=StoreStatus.STORE_UNAVAILABLE, outcome=Outcome.INVALID_TOKEN, streak=Streak(), now=NOW)
    assert not first.flipped
    second = decide(
        status=StoreStatus.STORE_UNAVAILABLE,
        outcome=Outcome.INVALID_TOKEN,
        streak=first.streak,
        now=NOW + timedelta(minutes=1),
    )
    assert second.status == StoreStatus.REVOKED and second.flipped


def test_transient_failures_need_both_count_and_span():
    streak, now = Streak(), NOW
    waits = []
    for _ in range(POLICY.unreachable_after_failures + 5):
        decision = decide(status=StoreStatus.CONNECTED, outcome=Outcome.UNREACHABLE, streak=streak, now=now)
        if decision.flipped:
            break
        waits.append(decision.next_check_in)
        streak, now = decision.streak, now + decision.next_check_in
    assert decision.status == StoreStatus.UNREACHABLE
    assert streak.failures + 1 >= POLICY.unreachable_after_failures
    assert now - NOW >= POLICY.unreachable_after
    # Sooner re-checks meanwhile, growing, all shorter than the regular interval.
    assert waits == sorted(waits) and all(w < POLICY.interval for w in waits)


def test_many_quick_failures_within_the_span_flag_nothing():
    streak = Streak()
    for i in range(10):
        decision = decide(
            status=StoreStatus.CONNECTED, outcome=Outcome.UNREACHABLE, streak=streak, now=NOW + timedelta(minutes=i)
        )
        assert not decision.flipped
        streak = decision.streak
    assert streak.failures == 10


def test_failures_spread_over_time_but_too_few_flag_nothing():
    policy = Policy(unreachable_after_failures=3)
    first = decide(status=StoreStatus.CONNECTED, outcome=Outcome.UNREACHABLE, streak=Streak(), now=NOW, policy=policy)
    second = decide(
        status=StoreStatus.CONNECTED,
        outcome=Outcome.UNREACHABLE,
        streak=first.streak,
        now=NOW + timedelta(hours=2),
        policy=policy,
    )
    assert not second.flipped and second.streak.failures == 2


def test_a_success_resets_the_failure_streak():
    streak = Streak(failures=2, failing_since=NOW - timedelta(hours=1))
    decision = decide(status=StoreStatus.CONNECTED, outcome=Outcome.CONNECTED, streak=streak, now=NOW)
    assert decision.streak == Streak()


def test_unreachable_store_recovers_at_once():
    decision = decide(
        status=StoreStatus.UNREACHABLE, outcome=Outcome.CONNECTED, streak=Streak(failures=9, failing_since=NOW), now=NOW
    )
    assert decision.status == StoreStatus.CONNECTED and decision.flipped


@pytest.mark.parametrize("status", [StoreStatus.PAUSED, StoreStatus.DISCONNECTED])
@pytest.mark.parametrize("outcome", list(Outcome))
def test_paused_and_disconnected_never_change(status, outcome):
    decision = decide(status=status, outcome=outcome, streak=Streak(), now=NOW)
    assert decision.status == status and not decision.flipped


def test_regular_checks_spread_within_the_jitter():
    rng = random.Random(7)
    intervals = [next_regular_check(POLICY, rng) for _ in range(1000)]
    low, high = POLICY.interval * 0.9, POLICY.interval * 1.1
    assert all(low <= i <= high for i in intervals)
    # Spread, not a wave: both halves of the window are used.
    assert min(intervals) < POLICY.interval * 0.95 and max(intervals) > POLICY.interval * 1.05


def test_a_second_answer_too_soon_does_not_confirm():
    first = decide(status=StoreStatus.CONNECTED, outcome=Outcome.INVALID_TOKEN, streak=Streak(), now=NOW)
    soon = decide(
        status=StoreStatus.CONNECTED, outcome=Outcome.INVALID_TOKEN, streak=first.streak, now=NOW + timedelta(seconds=2)
    )
    assert not soon.flipped and soon.status == StoreStatus.CONNECTED
    assert soon.streak.suspected_since == NOW  # the suspicion keeps its first sighting
    assert soon.next_check_in == POLICY.confirm_after - timedelta(seconds=2)
    later = decide(
        status=StoreStatus.CONNECTED, outcome=Outcome.INVALID_TOKEN, streak=soon.streak, now=NOW + POLICY.confirm_after
    )
    assert later.flipped and later.status == StoreStatus.REVOKED


@pytest.mark.parametrize("outcome", [Outcome.FORBIDDEN, Outcome.CREDENTIALS_REJECTED])
def test_an_unexplained_refusal_is_confirmed_then_refused_never_missing_scopes_or_revoked(outcome):
    first = decide(status=StoreStatus.CONNECTED, outcome=outcome, streak=Streak(), now=NOW)
    assert first.status == StoreStatus.CONNECTED and not first.flipped
    assert first.streak.suspected == StoreStatus.REFUSED
    second = decide(status=StoreStatus.CONNECTED, outcome=outcome, streak=first.streak, now=NOW + first.next_check_in)
    assert second.status == StoreStatus.REFUSED and second.flipped


def test_every_outcome_of_a_live_check_points_at_a_status():
    for outcome in Outcome:
        if outcome != Outcome.MALFORMED_INPUT:
            assert status_for(outcome) is not None, outcome
