"""Fleet-wide incidents: the rule, in pure functions (no database, no clock).

Every other rule of the portal works store by store. This one looks at the
whole fleet's recent checks, so that BigCommerce's incident (every store
answering 503, or 401) or Violet's own (no route out: every check
unreachable) is not mistaken for a million merchants' broken stores.

Failures are grouped in **kinds**, one per status the rules could flip a
store to (`KIND_OF`). For each kind the recording path counts, minute by
minute (`stores.models.CheckTally`):

- `checks`: every check recorded;
- `first:<kind>`: *first sightings*: a store not already in the kind's
  status, with no streak or suspicion of that kind, answers that way. One per
  store per episode, so it counts distinct stores without a distinct query;
- `failed:<kind>`: every check answering that way from a store not already in
  the kind's status (first sightings, confirmations, retries);
- `reference:<kind>`: first sightings of reference stores (canaries) only.

**Opening** (`should_open`), over the last `window` minutes, either
1. *statistics*: at least `min_stores` first sightings, from at least
   `min_merchants` merchants (one merchant deleting the API accounts of all
   its stores is one merchant), making at least `min_share` of the window's
   checks and at least `rate_factor` times the kind's normal share (its
   share of checks over the last `baseline_days`); or
2. *references*: a reference store's first sighting of that kind, with
   another store's (of the fleet, or another reference) in the same window.
   A lone reference failing (its own API account deleted) opens nothing.

**Closing** (`should_close`): over the last `close_window` minutes at least
`close_min_checks` checks were recorded, and the kind's failures are back
below what opens an incident: fewer than
`min_stores`, or at most `close_share` of the checks (BigCommerce answers
again; a few stores really broken meanwhile do not keep it open).

Why these numbers (settings `INCIDENT_*`, defaults in `IncidentThresholds`):
a fleet of 10,000 stores checked every 6 hours records about 280 checks in
10 minutes; 0.1 % of stores breaking each hour gives 1.7 first sightings per
window on average, and the chance of 14 (5 % of 280) is about 1e-9 per
window, so no incident in years of such weeks (`docs/incidents.md` has the
simulated figures). A storm makes nearly every check fail: 100 % share within
the first minute. A small fleet's scheduled checks are too sparse for
statistics (40 stores every 6 hours: one check in 9 minutes): reference stores,
checked every minute, open its incidents.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from .bigcommerce.report import Outcome


class IncidentKind(StrEnum):
    UNAVAILABLE = "unavailable"  # 503: BigCommerce-wide maintenance
    INVALID_TOKEN = "invalid_token"  # 401: an incident in BigCommerce's authentication
    REFUSED = "refused"  # a 403 that is not the scope error, 507, unexplained refusals
    MISSING_SCOPES = "missing_scopes"  # the scope error on probes
    STORE_NOT_FOUND = "store_not_found"  # BigCommerce no longer knows the store hash
    UNREACHABLE = "unreachable"  # transport: Violet's egress, timeouts, 5xx, 429 that never cleared


KIND_OF: dict[Outcome, IncidentKind] = {
    Outcome.STORE_UNAVAILABLE: IncidentKind.UNAVAILABLE,
    Outcome.INVALID_TOKEN: IncidentKind.INVALID_TOKEN,
    Outcome.FORBIDDEN: IncidentKind.REFUSED,
    Outcome.CREDENTIALS_REJECTED: IncidentKind.REFUSED,
    Outcome.PLAN_LIMIT: IncidentKind.REFUSED,
    Outcome.MISSING_SCOPES: IncidentKind.MISSING_SCOPES,
    Outcome.STORE_NOT_FOUND: IncidentKind.STORE_NOT_FOUND,
    Outcome.UNREACHABLE: IncidentKind.UNREACHABLE,
    Outcome.RATE_LIMITED: IncidentKind.UNREACHABLE,
}

# What staff read: "BigCommerce answers 503 (unavailable) for …".
KIND_WORDS: dict[IncidentKind, str] = {
    IncidentKind.UNAVAILABLE: "stores answer 503 (store unavailable)",
    IncidentKind.INVALID_TOKEN: "access tokens are refused (401)",
    IncidentKind.REFUSED: "requests are refused (403 that is not a scope error, or 507)",
    IncidentKind.MISSING_SCOPES: "scopes are reported missing (403 scope error)",
    IncidentKind.STORE_NOT_FOUND: "stores are not found (unknown store hash)",
    IncidentKind.UNREACHABLE: "BigCommerce cannot be reached (timeouts, 5xx, refused connections)",
}

CHECKS = "checks"


def tally_key(counter: str, kind: IncidentKind | str) -> str:
    """`first:invalid_token`, `failed:unavailable`, `reference:refused`."""
    return f"{counter}:{kind}"


@dataclass(frozen=True)
class IncidentThresholds:
    window_minutes: int = 10
    min_stores: int = 5
    min_merchants: int = 3
    min_share: float = 0.05
    rate_factor: float = 10.0
    baseline_days: int = 7
    # A kind never seen still has a normal share this large; so has any kind
    # while the baseline holds fewer checks than `baseline_min_checks` (a new
    # or small fleet's few failures are noise, not a normal).
    baseline_floor: float = 0.001
    baseline_min_checks: int = 1000
    close_window_minutes: int = 5
    close_min_checks: int = 3
    close_share: float = 0.025


@dataclass(frozen=True)
class Window:
    """The counts of one stretch of minutes (keys as `tally_key`, plus CHECKS)."""

    counts: Mapping[str, int]

    def get(self, key: str) -> int:
        return int(self.counts.get(key, 0))

    @property
    def checks(self) -> int:
        return self.get(CHECKS)

    def share(self, counter: str, kind: IncidentKind) -> float:
        return self.get(tally_key(counter, kind)) / self.checks if self.checks else 0.0


def add(*windows: Mapping[str, int]) -> Window:
    total: Counter[str] = Counter()
    for counts in windows:
        total.update(counts)
    return Window(total)


@dataclass(frozen=True)
class Verdict:
    open: bool
    reason: str = ""  # what staff read when it opens
    by_reference: bool = False


def normal_share(baseline: Window, kind: IncidentKind, thresholds: IncidentThresholds) -> float:
    if baseline.checks < thresholds.baseline_min_checks:
        return thresholds.baseline_floor
    return max(baseline.share("first", kind), thresholds.baseline_floor)


def could_open(window: Window, kind: IncidentKind, thresholds: IncidentThresholds) -> bool:
    """The part of rule 1 that needs no baseline: enough first sightings, a large enough share."""
    first = window.get(tally_key("first", kind))
    return first >= thresholds.min_stores and bool(window.checks) and first / window.checks >= thresholds.min_share


def statistics_say_open(
    window: Window, baseline: Window, kind: IncidentKind, thresholds: IncidentThresholds
) -> bool:
    """Rule 1 without the merchants' count (which needs the database):
    enough first sightings, a large enough share, far above normal."""
    if not could_open(window, kind, thresholds):
        return False
    share = window.get(tally_key("first", kind)) / window.checks
    return share >= thresholds.rate_factor * normal_share(baseline, kind, thresholds)


def references_say_open(window: Window, kind: IncidentKind) -> bool:
    """Rule 2: a reference store newly fails this way, and so does another store."""
    references = window.get(tally_key("reference", kind))
    others = window.get(tally_key("first", kind)) - references
    return references >= 2 or (references >= 1 and others >= 1)


def should_open(
    window: Window,
    baseline: Window,
    kind: IncidentKind,
    *,
    merchants: int,
    thresholds: IncidentThresholds = IncidentThresholds(),
) -> Verdict:
    """Whether an incident of `kind` opens now. `merchants`: how many distinct
    merchants the window's first sightings of `kind` come from."""
    first = window.get(tally_key("first", kind))
    checks = window.checks
    share = f"{first / checks:.0%}" if checks else "0%"
    if references_say_open(window, kind):
        references = window.get(tally_key("reference", kind))
        return Verdict(
            True,
            f"{references} reference store(s) and {window.get(tally_key('first', kind)) - references} other "
            f"store(s) in the last {thresholds.window_minutes} minutes: {KIND_WORDS[kind]}.",
            by_reference=True,
        )
    if statistics_say_open(window, baseline, kind, thresholds) and merchants >= thresholds.min_merchants:
        normal = normal_share(baseline, kind, thresholds)
        return Verdict(
            True,
            f"{first} stores of {merchants} merchants, {share} of the {checks} checks in the last "
            f"{thresholds.window_minutes} minutes (normally {normal:.2%}): {KIND_WORDS[kind]}.",
        )
    return Verdict(False)


def should_close(window: Window, kind: IncidentKind, thresholds: IncidentThresholds = IncidentThresholds()) -> bool:
    """Whether an open incident of `kind` closes: checks go through again."""
    if window.checks < thresholds.close_min_checks:
        return False
    failed = window.get(tally_key("failed", kind))
    return failed < thresholds.min_stores or window.share("failed", kind) <= thresholds.close_share
