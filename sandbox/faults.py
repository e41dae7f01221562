"""Injected faults and the per-store rate-limit window.

A :class:`Fault` is armed per store (or globally) through the control API. On each
request the first armed fault that *fires* decides how the request misbehaves:

============  ===============================================================
kind          effect
============  ===============================================================
``error``     answer ``status`` (500, 502 or 504) instead of the real answer
``reset``     close the connection (TCP RST) without answering
``stall``     send the status line, headers and half the body, then stall for
              ``seconds`` before sending the rest (trips a client's read timeout)
``malformed`` answer the real status with a truncated, unparseable JSON body
``slow``      sleep ``seconds`` before answering normally
``rate_limit`` answer 429 (the observed empty body); with the rate-limit headers
              unless ``headers`` is false (a 429 without them means platform
              load); ``reset_ms`` announces a reset that long (a long reset)
``degraded``  answer 503 ``SERVICE_DEGRADED`` with ``retry_after_seconds`` (one
              service degraded, as price lists answer; not the store)
``plan_limit`` answer 507: the store is at a limit of its plan
============  ===============================================================

``path`` (e.g. ``"v3/catalog/products"``) limits a fault to the routes starting with
it (version included, no leading slash): a degraded endpoint among healthy ones.

A fault fires on the next ``count`` requests when ``count`` is set, otherwise with
``probability`` (default 1.0: always) until it is cleared.
"""

from __future__ import annotations

import random
import time
from dataclasses import asdict, dataclass, field
from typing import Any

#: Faults decided before the real handler runs.
PRE_KINDS = frozenset({"error", "reset", "slow", "rate_limit", "degraded", "plan_limit"})
#: Faults applied to the real handler's answer.
POST_KINDS = frozenset({"stall", "malformed"})
KINDS = PRE_KINDS | POST_KINDS
ERROR_STATUSES = frozenset({500, 502, 503, 504})

DEFAULT_WINDOW_MS = 30_000
#: Requests per window by plan (docs/bigcommerce/FACTS.md: Standard/Plus 150 per 30 s, Pro 450;
#: Enterprise is "by contract": the sandbox assumes the Pro figure).
PLAN_QUOTAS = {"standard": 150, "plus": 150, "pro": 450, "enterprise": 450}
DEFAULT_QUOTA = 150


class FaultError(ValueError):
    """A fault specification that makes no sense."""


@dataclass(slots=True)
class Fault:
    """One armed fault. See the module docstring for the kinds."""

    kind: str
    status: int = 500
    probability: float = 1.0
    count: int | None = None
    seconds: float = 30.0
    headers: bool = True
    path: str = ""
    reset_ms: int | None = None
    retry_after_seconds: int = 5
    fired: int = 0

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Fault:
        """Build and check a fault from control-API JSON."""
        kind = data.get("kind")
        if kind not in KINDS:
            raise FaultError(f"kind must be one of {sorted(KINDS)}, not {kind!r}")
        fields = {"kind", "status", "probability", "count", "seconds", "headers", "path", "reset_ms",
                  "retry_after_seconds"}
        unknown = set(data) - fields
        if unknown:
            raise FaultError(f"unknown fault fields: {sorted(unknown)}")
        default_seconds = 30.0 if kind == "stall" else 5.0
        fault = cls(
            kind=kind,
            status=int(data.get("status", 500)),
            probability=float(data.get("probability", 1.0)),
            count=None if data.get("count") is None else int(data["count"]),
            seconds=float(data.get("seconds", default_seconds)),
            headers=bool(data.get("headers", True)),
            path=str(data.get("path") or "").strip("/"),
            reset_ms=None if data.get("reset_ms") is None else int(data["reset_ms"]),
            retry_after_seconds=int(data.get("retry_after_seconds", 5)),
        )
        if kind == "error" and fault.status not in ERROR_STATUSES:
            raise FaultError(f"error status must be one of {sorted(ERROR_STATUSES)}")
        if not 0.0 <= fault.probability <= 1.0:
            raise FaultError("probability must be between 0 and 1")
        if fault.count is not None and fault.count < 1:
            raise FaultError("count must be at least 1")
        if fault.seconds < 0:
            raise FaultError("seconds must not be negative")
        if (fault.reset_ms is not None and fault.reset_ms < 0) or fault.retry_after_seconds < 0:
            raise FaultError("reset_ms and retry_after_seconds must not be negative")
        return fault

    def to_dict(self) -> dict[str, Any]:
        """JSON view for the control API."""
        return asdict(self)

    def fires(self, route: str = "") -> bool:
        """Decide (and account for) whether this fault hits the current request."""
        if self.path and not (route == self.path or route.startswith(self.path + "/")):
            return False
        if self.count is not None:
            if self.count <= 0:
                return False
            self.count -= 1
        elif self.probability < 1.0 and random.random() >= self.probability:
            return False
        self.fired += 1
        return True

    @property
    def spent(self) -> bool:
        """True once a ``count``-limited fault has fired its last time."""
        return self.count is not None and self.count <= 0


@dataclass(slots=True)
class FaultSet:
    """The faults armed on one store (or globally), checked in arming order."""

    faults: list[Fault] = field(default_factory=list)

    def add(self, fault: Fault) -> None:
        self.faults.append(fault)

    def clear(self) -> None:
        self.faults.clear()

    def pick(self, route: str = "") -> Fault | None:
        """The first fault that fires for this request (``route``: ``"v3/carts"``...),
        dropping spent ones."""
        if not self.faults:
            return None
        chosen = None
        for fault in self.faults:
            if fault.fires(route):
                chosen = fault
                break
        if any(f.spent for f in self.faults):
            self.faults[:] = [f for f in self.faults if not f.spent]
        return chosen

    def to_list(self) -> list[dict[str, Any]]:
        return [f.to_dict() for f in self.faults]


def quota_for_plan(plan_level: str | None, plan_name: str | None = None) -> int:
    """Default requests per window for a plan level or name."""
    for value in (plan_level, plan_name):
        if value:
            key = value.strip().lower()
            for plan, quota in PLAN_QUOTAS.items():
                if key == plan or key.startswith(plan + " "):
                    return quota
    return DEFAULT_QUOTA


@dataclass(slots=True)
class RateWindow:
    """A fixed window of ``window_ms`` shared by every account of one store."""

    quota: int = DEFAULT_QUOTA
    window_ms: int = DEFAULT_WINDOW_MS
    started: float = 0.0
    used: int = 0

    def hit(self, now: float | None = None) -> tuple[int, int]:
        """Count one request; return ``(requests_left, reset_ms)``."""
        now = time.monotonic() if now is None else now
        elapsed_ms = (now - self.started) * 1000.0
        if elapsed_ms >= self.window_ms or self.used == 0:
            self.started = now
            self.used = 0
            elapsed_ms = 0.0
        self.used += 1
        left = self.quota - self.used
        return (left if left > 0 else 0), int(self.window_ms - elapsed_ms)

    @property
    def exhausted(self) -> bool:
        return self.used > self.quota

    def reset(self) -> None:
        self.started = 0.0
        self.used = 0

    def headers(self, left: int, reset_ms: int) -> dict[str, str]:
        """The four ``X-Rate-Limit-*`` headers BigCommerce puts on every answer."""
        return {
            "X-Rate-Limit-Requests-Quota": str(self.quota),
            "X-Rate-Limit-Requests-Left": str(left),
            "X-Rate-Limit-Time-Window-Ms": str(self.window_ms),
            "X-Rate-Limit-Time-Reset-Ms": str(reset_ms),
        }
