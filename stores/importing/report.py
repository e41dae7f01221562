"""What an import concluded, row by row: outcomes, fingerprints at most, never a secret."""


from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from enum import StrEnum

from ..bigcommerce.report import Problem


class ImportOutcome(StrEnum):
    CONNECTED = "connected"
    REPLACED = "replaced"
    UNCHANGED = "unchanged"
    MISSING_SCOPES = "missing_scopes"
    INVALID_TOKEN = "invalid_token"
    STORE_NOT_FOUND = "store_not_found"
    STORE_UNAVAILABLE = "store_unavailable"
    PLAN_LIMIT = "plan_limit"
    RATE_LIMITED = "rate_limited"
    UNREACHABLE = "unreachable"
    MALFORMED_INPUT = "malformed_input"
    CONNECTED_ELSEWHERE = "connected_elsewhere"


# Each outcome in words, for people (the report page); the codes stay for logs and JSON.
OUTCOME_WORDS = {
    ImportOutcome.CONNECTED: "Connected",
    ImportOutcome.REPLACED: "Credentials replaced",
    ImportOutcome.UNCHANGED: "Already connected with these credentials",
    ImportOutcome.MISSING_SCOPES: "Missing scopes",
    ImportOutcome.INVALID_TOKEN: "Token refused by BigCommerce",
    ImportOutcome.STORE_NOT_FOUND: "Store not found",
    ImportOutcome.STORE_UNAVAILABLE: "Store unavailable (maintenance?)",
    ImportOutcome.PLAN_LIMIT: "At a limit of its BigCommerce plan",
    ImportOutcome.RATE_LIMITED: "BigCommerce asked us to slow down",
    ImportOutcome.UNREACHABLE: "BigCommerce did not answer",
    ImportOutcome.MALFORMED_INPUT: "Row not usable",
    ImportOutcome.CONNECTED_ELSEWHERE: "Connected under another merchant",
}

OK_OUTCOMES = frozenset({ImportOutcome.CONNECTED, ImportOutcome.REPLACED, ImportOutcome.UNCHANGED})

# --- the report -------------------------------------------------------------------------


@dataclass
class RowResult:
    row: int  # the file's line where the row starts (a CSV header is line 1)
    merchant: str
    store_hash: str
    outcome: ImportOutcome
    problems: list[Problem] = field(default_factory=list)
    missing_scopes: list[str] = field(default_factory=list)
    kept: bool = False  # saved anyway (missing_scopes with keep_broken)
    merchant_created: bool = False
    access_token_ending: str = ""  # the last 4 characters, as everywhere in the portal

    @property
    def ok(self) -> bool:
        return self.outcome in OK_OUTCOMES or self.kept

    @property
    def outcome_words(self) -> str:
        words = OUTCOME_WORDS.get(self.outcome, str(self.outcome))
        return f"{words} (saved anyway)" if self.kept else words

    def to_dict(self) -> dict:
        return {
            "row": self.row,
            "merchant": self.merchant,
            "store_hash": self.store_hash,
            "outcome": str(self.outcome),
            "problems": [asdict(problem) for problem in self.problems],
            "missing_scopes": list(self.missing_scopes),
            "kept": self.kept,
            "merchant_created": self.merchant_created,
            "access_token_ending": self.access_token_ending,
        }


@dataclass
class ImportReport:
    rows: list[RowResult]
    dry_run: bool = False
    keep_broken: bool = False
    seconds: float = 0.0
    requests_made: int = 0  # live checks run

    @property
    def ok(self) -> bool:
        return all(row.ok for row in self.rows)

    @property
    def summary(self) -> dict[str, int]:
        counts = Counter(str(row.outcome) for row in self.rows)
        return {str(outcome): counts[outcome] for outcome in ImportOutcome if counts[outcome]}

    @property
    def merchants_created(self) -> list[str]:
        return sorted({row.merchant for row in self.rows if row.merchant_created})

    def to_dict(self) -> dict:
        return {
            "rows": [row.to_dict() for row in self.rows],
            "summary": self.summary,
            "ok": self.ok,
            "dry_run": self.dry_run,
            "keep_broken": self.keep_broken,
            "kept": sum(1 for row in self.rows if row.kept),
            "merchants_created": self.merchants_created,
            "live_checks": self.requests_made,
            "seconds": round(self.seconds, 2),
        }

    def summary_words(self) -> str:
        """The counts in words, for the report page: "3 rows: 2 connected, 1 missing scopes"."""
        words = {**OUTCOME_WORDS, ImportOutcome.MALFORMED_INPUT: "not usable"}  # "2 not usable"
        counts = ", ".join(
            f"{count} {words[ImportOutcome(outcome)].lower()}" for outcome, count in self.summary.items()
        )
        rows = f"{len(self.rows)} row{'s' if len(self.rows) != 1 else ''}"
        kept = sum(1 for r in self.rows if r.kept)
        extra = f"; {kept} saved anyway with missing scopes" if kept else ""
        return f"{rows}: {counts or 'none'}{extra}."

    def log_summary(self) -> str:
        """One line for the staff log and the server log: counts, never values."""
        counts = ", ".join(f"{count} {outcome}" for outcome, count in self.summary.items()) or "no rows"
        what = "Dry run of a store import" if self.dry_run else "Imported stores"
        extra = f"; {sum(1 for r in self.rows if r.kept)} kept with missing scopes" if self.keep_broken else ""
        created = f"; merchants created: {', '.join(self.merchants_created)}" if self.merchants_created else ""
        return f"{what}: {len(self.rows)} rows: {counts}{extra}{created}."
