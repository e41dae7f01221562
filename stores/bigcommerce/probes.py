"""Which call proves which scope, and what each answer means.

Every probe is free of side effects. Reads are `limit=1` reads. A "modify"
scope is proved by a write whose body is invalid BY CONSTRUCTION against
BigCommerce's published schema (a JSON array where the schema wants an
object, an object where it wants an array), so even a server that followed
its own schema to the letter could not create anything; the checkouts probe
also aims at a checkout id that cannot exist (the nil UUID).
BigCommerce answers a read-only or missing "modify" scope with 403 before it
looks at the body, and a granted one with 400/404/422.

A 403 means "missing scope" only when its body is BigCommerce's scope error
(`is_scope_error`): BigCommerce's status-code page lists other causes of 403
(a store-owner account that changed, a platform limit, a wrong URL), and a new
API account would fix none of them. Every answer the project relies on, with
its source and the verdict expected here, is in `docs/bigcommerce/answers.json`.
`tests/stores/bigcommerce/test_contract_requests.py` proves the bodies are rejected
by the specs in `docs/bigcommerce/openapi/`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from .client import NO_BODY, error_texts
from .wordings import MISSING_SCOPE, NORMALISED_SCOPE_ERRORS, ROUTE_OR_STORE_404, STORE_404, STORE_DOWN, normalise


class Verdict(StrEnum):
    GRANTED = "granted"  # for the baseline: the store answered
    MISSING = "missing"  # 403 with BigCommerce's scope error
    FORBIDDEN = "forbidden"  # 403 with any other body: refused, not for a scope
    NOT_FOUND = "not_found"  # 404 on the baseline: wrong store hash
    INVALID_TOKEN = "invalid_token"  # 401 anywhere (but the scope error's older wording)
    UNAVAILABLE = "unavailable"  # 503 from the store: a store-level probe's, or "maintenance"
    PLAN_LIMIT = "plan_limit"  # 507: a limit of the store's plan (e.g. its product cap)
    TRANSIENT = "transient"  # no answer, 429, 5xx or one service's 503 after the retries
    # The client stopped on the store's spent quota (its reset lay past the
    # deadline): never read from a status, only from the call (validation.py).
    RATE_LIMITED = "rate_limited"
    UNEXPECTED = "unexpected"  # an answer this table cannot interpret


SUCCESS = frozenset(range(200, 300))
# The request reached the resource and was refused for its content or id.
REJECTED_CONTENT = frozenset({400, 404, 422})
NIL_UUID = "00000000-0000-0000-0000-000000000000"


@dataclass(frozen=True)
class Probe:
    scope: str | None  # the scope parameter it proves; None for the baseline
    method: str
    path: str  # relative to /stores/{store_hash}
    body: Any = NO_BODY
    granted: frozenset[int] = SUCCESS
    # Answers for the store as a whole (GET /v2/time, GET /v2/store): their 503
    # is the store's; another probe's 503 is the store's only if its body says so.
    store_level: bool = False

    @property
    def is_write(self) -> bool:
        return self.method != "GET"

    def interpret(self, status: int | None, body: bytes | str | None = None) -> Verdict:
        """What an answer (after the client's retries) means for this probe.

        `body` matters for a 403 and a 401 (the scope error is a missing scope,
        anything else `FORBIDDEN` / `INVALID_TOKEN`), a 503 (the store's, or one
        service's) and a write's 404 (a route or store error proves nothing).
        """
        if status is None or status == 429:
            return Verdict.TRANSIENT
        if status == 401:
            return Verdict.MISSING if is_scope_error(body) else Verdict.INVALID_TOKEN
        if status == 503:
            return Verdict.UNAVAILABLE if self.store_level or says_store_is_down(body) else Verdict.TRANSIENT
        if status == 507:
            return Verdict.PLAN_LIMIT
        if status >= 500:
            return Verdict.TRANSIENT
        if status == 404 and (self.scope is None or is_route_or_store_404(body)):
            return Verdict.NOT_FOUND
        if status in self.granted:
            return Verdict.GRANTED
        if status == 403:
            return Verdict.MISSING if is_scope_error(body) else Verdict.FORBIDDEN
        return Verdict.UNEXPECTED


def is_scope_error(body: bytes | str | None) -> bool:
    """Whether an error body is BigCommerce's "missing scope" error, in any of
    its known wordings (`wordings.SCOPE_ERRORS`, with sources).

    Tolerant of case, whitespace, punctuation and apostrophe variants, and of
    both error shapes: v3 `{"title": ...}` and v2 `[{"message": ...}]`.
    """
    for text in error_texts(body):
        normalised = normalise(text)
        if any(wording in normalised for wording in NORMALISED_SCOPE_ERRORS):
            return True
        if MISSING_SCOPE.search(normalised):
            return True
    return False


def says_store_is_down(body: bytes | str | None) -> bool:
    """Whether a 503's body says the store is down (maintenance, suspension)."""
    return any(STORE_DOWN.search(normalise(text)) for text in error_texts(body))


def is_route_or_store_404(body: bytes | str | None) -> bool:
    """Whether a 404's body is about the store or the route, not a resource."""
    return any(ROUTE_OR_STORE_404.search(normalise(text)) for text in error_texts(body))


def is_store_404(body: bytes | str | None) -> bool:
    """Whether a 404's body says the store itself is unknown (not a route, not a resource)."""
    return any(STORE_404.search(normalise(text)) for text in error_texts(body))


def _write(scope: str, path: str, body: Any) -> Probe:
    return Probe(scope, "POST", path, body, granted=SUCCESS | REJECTED_CONTENT)


# GET /v2/time: observed to need no scope (docs/bigcommerce/answers.json,
# "time_without_any_scope"), but BigCommerce's API-accounts page lists it under
# Information & settings. Its 200 proves the token and store hash; its 404 that
# the store does not exist; its 403 proves nothing (validation.py).
BASELINE = Probe(None, "GET", "/v2/time", store_level=True)

INFORMATION = Probe("store_v2_information_read_only", "GET", "/v2/store", store_level=True)
PRODUCTS = Probe("store_v2_products_read_only", "GET", "/v3/catalog/products?limit=1")
# The schema wants an array of customers; an object is not one.
CUSTOMERS = _write("store_v2_customers", "/v3/customers", {})
# The schema wants one order object; an array is not one.
ORDERS = _write("store_v2_orders", "/v2/orders", [])
# The schema wants one cart object; an array is not one.
CARTS = _write("store_cart", "/v3/carts", [])
# The schema wants an address object, and no checkout has the nil UUID.
CHECKOUTS = _write("store_checkout", f"/v3/checkouts/{NIL_UUID}/billing-address", [])

PROBES: tuple[Probe, ...] = (CUSTOMERS, INFORMATION, ORDERS, PRODUCTS, CARTS, CHECKOUTS)
