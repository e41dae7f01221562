"""Simulated fleets against the incident rule (`stores.incident_rule`): how
often it opens on a quiet fleet (it must not), and how many stores a storm
flips before it opens (it should hold them all).

    .venv/bin/python -m bench.incident_simulation          # the table in docs/incidents.md

Minute by minute, with the rule's own functions and default thresholds. A
store is checked every `interval` minutes (spread evenly); a store that breaks
is first seen at its next check, and its confirming check comes one minute
later (`STORE_CONFIRM_AFTER_SECONDS`): that is when it would flip, unless an
incident of its kind is open by then. Reference stores are checked every
minute. No database, no clock: seeded, repeatable.
"""

from __future__ import annotations

import random
from collections import Counter, deque
from dataclasses import dataclass

from stores.incident_rule import CHECKS, IncidentKind, IncidentThresholds, Window, should_open, tally_key

KIND = IncidentKind.INVALID_TOKEN
FIRST, FAILED, REFERENCE = (tally_key(counter, KIND) for counter in ("first", "failed", "reference"))


@dataclass(frozen=True)
class Fleet:
    stores: int
    merchants: int
    interval: int = 15  # minutes between a store's checks (STORE_CHECK_INTERVAL_MINUTES)
    references: int = 0


@dataclass
class QuietWeek:
    minutes: int
    breaks: int
    incidents: int  # times the rule opened (must be 0)


@dataclass
class Storm:
    affected: int
    opened_after: int | None  # minutes from the storm's start to the incident, None if never
    flipped: int  # stores whose confirmation came before the incident opened


class _Minutes:
    """The rolling window of per-minute counts, and the merchants of its first sightings."""

    def __init__(self, thresholds: IncidentThresholds):
        self.thresholds = thresholds
        self.minutes: deque[tuple[Counter, set]] = deque(maxlen=thresholds.window_minutes)

    def push(self, counts: Counter, merchants: set) -> None:
        self.minutes.append((counts, merchants))

    def verdict(self):
        counts: Counter = Counter()
        merchants: set = set()
        for minute_counts, minute_merchants in self.minutes:
            counts.update(minute_counts)
            merchants |= minute_merchants
        # The baseline of a healthy fleet is below the floor: the floor decides.
        return should_open(Window(counts), Window({}), KIND, merchants=len(merchants), thresholds=self.thresholds)


def quiet_week(
    fleet: Fleet, *, break_rate_per_hour: float = 0.001, days: int = 7, seed: int = 1, thresholds=None
) -> QuietWeek:
    """Stores break one by one at random (`break_rate_per_hour` of the fleet an hour)."""
    thresholds = thresholds or IncidentThresholds()
    rng = random.Random(seed)
    minutes = days * 24 * 60
    per_minute = fleet.stores / fleet.interval
    events: dict[int, list[tuple[str, int]]] = {}  # minute → [(first|confirm, merchant)]
    breaks = 0
    expected = fleet.stores * break_rate_per_hour / 60
    for minute in range(minutes):
        for _ in range(_poisson(rng, expected)):
            breaks += 1
            merchant = rng.randrange(fleet.merchants)
            seen = minute + rng.randrange(fleet.interval)
            events.setdefault(seen, []).append(("first", merchant))
            events.setdefault(seen + 1, []).append(("confirm", merchant))
    window = _Minutes(thresholds)
    incidents = 0
    for minute in range(minutes):
        counts = Counter({CHECKS: round(per_minute)})
        merchants = set()
        for what, merchant in events.get(minute, []):
            counts[FAILED] += 1
            if what == "first":
                counts[FIRST] += 1
                merchants.add(merchant)
        window.push(counts, merchants)
        incidents += window.verdict().open
    return QuietWeek(minutes=minutes, breaks=breaks, incidents=incidents)


def storm(fleet: Fleet, *, share: float = 1.0, seed: int = 1, thresholds=None) -> Storm:
    """From minute 0, `share` of the stores (and every reference store) fail the same way."""
    thresholds = thresholds or IncidentThresholds()
    rng = random.Random(seed)
    affected = round(fleet.stores * share)
    # Each store's next check falls somewhere in the coming interval.
    first_at = Counter(rng.randrange(fleet.interval) for _ in range(affected))
    merchants_at: dict[int, set] = {}
    for minute, count in first_at.items():
        merchants_at[minute] = {rng.randrange(fleet.merchants) for _ in range(count)}
    window = _Minutes(thresholds)
    per_minute = round(fleet.stores / fleet.interval)
    for minute in range(fleet.interval + 2):
        counts = Counter({CHECKS: per_minute + fleet.references})
        references_first = fleet.references if minute == 0 else 0  # checked every minute: seen at once
        counts[FIRST] += first_at.get(minute, 0) + references_first
        counts[FAILED] += first_at.get(minute, 0) + first_at.get(minute - 1, 0) + fleet.references
        counts[REFERENCE] += references_first
        window.push(counts, merchants_at.get(minute, set()))
        if window.verdict().open:
            # Confirmations due this minute are held: the rule runs before a flip.
            flipped = sum(count for at, count in first_at.items() if at + 1 < minute)
            return Storm(affected=affected, opened_after=minute, flipped=flipped)
    return Storm(affected=affected, opened_after=None, flipped=affected)


def _poisson(rng: random.Random, mean: float) -> int:
    # Knuth's method: fine for the small means of one minute's breaks.
    limit, k, p = pow(2.718281828459045, -mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def main() -> None:
    print("Quiet week: stores breaking one by one (0.1% of the fleet an hour)")
    print(f"{'stores':>10} {'merchants':>10} {'breaks':>8} {'incidents':>10}")
    for stores, merchants in ((40, 8), (1_000, 200), (10_000, 2_000), (1_000_000, 200_000)):
        week = quiet_week(Fleet(stores, merchants))
        print(f"{stores:>10,} {merchants:>10,} {week.breaks:>8,} {week.incidents:>10}")
    print()
    print("Storms: a share of the fleet fails the same way from minute 0")
    print(f"{'stores':>10} {'share':>6} {'refs':>5} {'affected':>9} {'opens after':>12} {'flipped':>8}")
    for stores, merchants in ((10, 5), (40, 8), (1_000, 200), (10_000, 2_000), (1_000_000, 200_000)):
        for share in (1.0, 0.2, 0.05, 0.02):
            for references in (0, 1):
                result = storm(Fleet(stores, merchants, references=references), share=share)
                opened = "never" if result.opened_after is None else f"{result.opened_after} min"
                print(
                    f"{stores:>10,} {share:>6.0%} {references:>5} {result.affected:>9,} {opened:>12} "
                    f"{result.flipped:>8,}"
                )


if __name__ == "__main__":
    main()
