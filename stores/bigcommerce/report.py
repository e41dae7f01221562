"""Plain data that flows from the doctor and the client to the services.

No Django, no HTTP: a `Report` is what one validation of one set of
credentials concluded, and it serialises to the JSON that the command line,
the wizard, the checks history and the JSON API all share.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from .scopes import REQUIRED_SCOPES


class Outcome(StrEnum):
    CONNECTED = "connected"
    MISSING_SCOPES = "missing_scopes"
    FORBIDDEN = "forbidden"  # a 403 that is not BigCommerce's scope error
    INVALID_TOKEN = "invalid_token"
    # Refused everywhere, and the answers cannot tell a wrong token or store
    # hash from an API account with no scope at all.
    CREDENTIALS_REJECTED = "credentials_rejected"
    STORE_NOT_FOUND = "store_not_found"
    STORE_UNAVAILABLE = "store_unavailable"
    # A 507: a limit of the store's plan (e.g. its product cap); lasting, not a credential.
    PLAN_LIMIT = "plan_limit"
    # The store's API quota was spent and resets after the check's deadline: try later.
    RATE_LIMITED = "rate_limited"
    UNREACHABLE = "unreachable"
    MALFORMED_INPUT = "malformed_input"


class ScopeState(StrEnum):
    GRANTED = "granted"
    MISSING = "missing"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Credentials:
    """A store-level API account's values after the doctor cleaned them.

    `repr` never shows a secret: these objects end up in tracebacks and logs.
    """

    store_hash: str
    access_token: str
    client_id: str = ""
    client_secret: str = ""

    def __repr__(self) -> str:
        return (
            f"Credentials(store_hash={self.store_hash!r}, "
            f"access_token=…{self.access_token[-4:]}, client_id=…{self.client_id[-4:]}, "
            f"client_secret=…{self.client_secret[-4:]})"
        )

    __str__ = __repr__


@dataclass(frozen=True)
class Problem:
    """One thing wrong, in the merchant's words, saying what to do.

    `field` is one of: api_path, store_hash, client_id, client_secret,
    access_token, file, or "" for the credentials as a whole.
    """

    field: str
    code: str
    message: str


@dataclass(frozen=True)
class Exchange:
    """Evidence of one HTTP call, without secrets: what was asked, what came back."""

    method: str
    path: str  # relative to /stores/{hash}, e.g. "/v2/time"
    status: int | None  # None when no answer arrived (timeout, reset, refused)
    elapsed_ms: int
    attempts: int = 1
    error: str = ""  # "timeout", "connection_error", "read_error", ...
    rate_limit: dict[str, str] = field(default_factory=dict)
    # BigCommerce's own title/message of an error answer (bounded), for staff.
    detail: str = ""


@dataclass
class Report:
    ok: bool
    store_hash: str
    outcome: Outcome
    scopes: dict[str, ScopeState]
    store: dict[str, Any] | None = None
    problems: list[Problem] = field(default_factory=list)
    exchanges: list[Exchange] = field(default_factory=list)
    # Observations for staff, not the merchant (e.g. an unreadable profile).
    notes: list[str] = field(default_factory=list)

    @property
    def missing_scopes(self) -> list[str]:
        return [param for param, state in self.scopes.items() if state == ScopeState.MISSING]

    def to_dict(self, *, evidence: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "ok": self.ok,
            "store_hash": self.store_hash,
            "outcome": str(self.outcome),
            "scopes": {param: str(state) for param, state in self.scopes.items()},
            "store": self.store,
            "problems": [asdict(problem) for problem in self.problems],
        }
        if evidence:
            data["exchanges"] = [asdict(exchange) for exchange in self.exchanges]
            data["notes"] = list(self.notes)
        return data


def unknown_scopes() -> dict[str, ScopeState]:
    return {scope.param: ScopeState.UNKNOWN for scope in REQUIRED_SCOPES}


def malformed_report(store_hash: str, problems: list[Problem]) -> Report:
    """The report for input the doctor refused: no network call was made."""
    return Report(
        ok=False,
        store_hash=store_hash,
        outcome=Outcome.MALFORMED_INPUT,
        scopes=unknown_scopes(),
        problems=problems,
    )
