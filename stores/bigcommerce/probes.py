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

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from .client import NO_BODY, error_texts


class Verdict(StrEnum):
    GRANTED = "granted"  # for the baseline: the store answered
    MISSING = "missing"  # 403 with BigCommerce's scope error
    FORBIDDEN = "forbidden"  # 403 with any other body: refused, not for a scope
    NOT_FOUND = "not_found"  # 404 on the baseline: wrong store hash
    INVALID_TOKEN = "invalid_token"  # 401 anywhere
    UNAVAILABLE = "unavailable"  # 503: maintenance, upgrade, suspension
    TRANSIENT = "transient"  # no answer, 429 or 5xx after the retries
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

    @property
    def is_write(self) -> bool:
        return self.method != "GET"

    def interpret(self, status: int | None, body: bytes | str | None = None) -> Verdict:
        """What an answer (after the client's retries) means for this probe.

        `body` matters only for a 403: the scope error is a missing scope,
        anything else (or no body) is `FORBIDDEN`.
        """
        if status is None or status == 429:
            return Verdict.TRANSIENT
        if status == 401:
            return Verdict.INVALID_TOKEN
        if status == 503:
            return Verdict.UNAVAILABLE
        if status >= 500:
            return Verdict.TRANSIENT
        if status in self.granted:
            return Verdict.GRANTED
        if status == 403:
            return Verdict.MISSING if is_scope_error(body) else Verdict.FORBIDDEN
        if status == 404 and self.scope is None:
            return Verdict.NOT_FOUND
        return Verdict.UNEXPECTED


# The recorded scope error's title, "You don't have a required scope to access
# the endpoint" (docs/bigcommerce/answers.json, "scope_error"), normalised; a
# body matches when any of its texts contains it, or says "missing scope(s)".
_SCOPE_ERROR = "you dont have a required scope to access the endpoint"
_MISSING_SCOPE = re.compile(r"\b(missing|required|insufficient) (oauth )?scopes?\b")
_APOSTROPHES = dict.fromkeys(map(ord, "'`´ʼ‘’′"), None)


def _normalise_text(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).translate(_APOSTROPHES).casefold()
    return " ".join(re.sub(r"[^\w\s]", " ", text).split())


def is_scope_error(body: bytes | str | None) -> bool:
    """Whether a 403's body is BigCommerce's "missing scope" error.

    Tolerant of case, whitespace, punctuation and apostrophe variants, and of
    both error shapes: v3 `{"title": ...}` and v2 `[{"message": ...}]`.
    """
    for text in error_texts(body):
        normalised = _normalise_text(text)
        if _SCOPE_ERROR in normalised or _MISSING_SCOPE.search(normalised):
            return True
    return False



def _write(scope: str, path: str, body: Any) -> Probe:
    return Probe(scope, "POST", path, body, granted=SUCCESS | REJECTED_CONTENT)


# GET /v2/time: observed to need no scope (docs/bigcommerce/answers.json,
# "time_without_any_scope"), but BigCommerce's API-accounts page lists it under
# Information & settings. Its 200 proves the token and store hash; its 404 that
# the store does not exist; its 403 proves nothing (validation.py).
BASELINE = Probe(None, "GET", "/v2/time")

INFORMATION = Probe("store_v2_information_read_only", "GET", "/v2/store")
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
