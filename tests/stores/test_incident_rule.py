"""The incident rule itself (stores/incident_rule.py), and the simulated
fleets of bench/incident_simulation.py that docs/incidents.md quotes."""

from __future__ import annotations

from bench.incident_simulation import Fleet, quiet_week, storm
from stores.incident_rule import (
    CHECKS,
    IncidentKind,
    IncidentThresholds,
    Window,
    should_close,
    should_open,
    tally_key,
)

KIND = IncidentKind.UNAVAILABLE
FIRST, FAILED, REFERENCE = (tally_key(counter, KIND) for counter in ("first", "failed", "reference"))
QUIET = Window({CHECKS: 100_000, FIRST: 10})  # a week's normal: 0.01 %


def test_a_storm_opens_an_incident_and_says_what_it_saw():
    verdict = should_open(Window({CHECKS: 40, FIRST: 38, FAILED: 38}), QUIET, KIND, merchants=8)
    assert verdict.open
    assert "38 stores of 8 merchants, 95% of the 40 checks" in verdict.reason


def test_a_few_stores_or_one_merchant_or_a_small_share_open_nothing():
    assert not should_open(Window({CHECKS: 40, FIRST: 4}), QUIET, KIND, merchants=4).open  # < 5 stores
    assert not should_open(Window({CHECKS: 40, FIRST: 10}), QUIET, KIND, merchants=2).open  # < 3 merchants
    assert not should_open(Window({CHECKS: 10_000, FIRST: 400}), QUIET, KIND, merchants=300).open  # 4 % < 5 %


def test_far_above_normal_is_asked_only_of_a_baseline_with_enough_checks():
    busy = Window({CHECKS: 100_000, FIRST: 1_000})  # this kind is normally 1 % of checks
    storm_ = Window({CHECKS: 1_000, FIRST: 80})  # 8 %: above the 5 % share, under 10 x normal
    assert not should_open(storm_, busy, KIND, merchants=50).open
    assert should_open(storm_, Window({CHECKS: 500, FIRST: 5}), KIND, merchants=50).open  # too few: the floor


def test_a_reference_store_and_one_other_store_open_it_but_a_lone_reference_does_not():
    together = Window({CHECKS: 5, FIRST: 2, FAILED: 2, REFERENCE: 1})
    verdict = should_open(together, QUIET, KIND, merchants=1)
    assert verdict.open and verdict.by_reference
    alone = Window({CHECKS: 5, FIRST: 1, FAILED: 6, REFERENCE: 1})
    assert not should_open(alone, QUIET, KIND, merchants=1).open


def test_closing_waits_for_checks_and_for_the_failures_to_fall_back():
    assert not should_close(Window({CHECKS: 2}), KIND)  # too few checks to tell
    assert not should_close(Window({CHECKS: 100, FAILED: 40}), KIND)
    assert should_close(Window({CHECKS: 100, FAILED: 2}), KIND)  # a few really broken stores
    assert should_close(Window({CHECKS: 10_000, FAILED: 200}), KIND)  # 2 % <= 2.5 %
    assert not should_close(Window({CHECKS: 10_000, FAILED: 300}), KIND)


def test_a_quiet_week_of_ten_thousand_stores_opens_no_incident():
    """0.1 % of the stores breaking at random every hour, for a week."""
    week = quiet_week(Fleet(10_000, 2_000), break_rate_per_hour=0.001, days=7)
    assert week.breaks > 1_500
    assert week.incidents == 0


def test_a_quiet_week_would_open_incidents_with_a_careless_threshold():
    """The simulation can fail: with one store and one merchant enough, it does."""
    careless = IncidentThresholds(min_stores=1, min_merchants=1, min_share=0.0, rate_factor=0.0)
    assert quiet_week(Fleet(10_000, 2_000), days=1, thresholds=careless).incidents > 0


def test_storms_are_held_before_any_store_flips_from_forty_stores_up_and_with_a_reference_below():
    for stores, merchants in ((40, 8), (10_000, 2_000)):
        result = storm(Fleet(stores, merchants), share=1.0)
        assert result.opened_after is not None and result.flipped == 0, (stores, result)
    assert storm(Fleet(10, 5), share=1.0).flipped > 0  # statistics alone cannot protect ten stores
    assert storm(Fleet(10, 5, references=1), share=1.0).flipped == 0
