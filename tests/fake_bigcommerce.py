"""BigCommerce faked with `responses`, for unit tests.

Requests go through the real `RequestsTransport` and the client's real URL and
header code; only the answers are made up, as FACTS.md
(`docs/bigcommerce/FACTS.md`) says BigCommerce gives them. Two levels:

- one store (`STORE_HASH`) whose answers are queued per endpoint: `add`,
  `add_store` (a healthy store, with overrides), `requested`; plus `FakeTime`,
  `make_client` and `ScriptedTransport`, for the client and validation tests;
- `FakeBigCommerce`: any number of stores with their tokens and scopes,
  answering the portal's probes, for view, form and command tests.

The real HTTP sandbox in `sandbox/` does the same over loopback for
integration tests.
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass, field
from typing import Any

import responses
from requests.structures import CaseInsensitiveDict

from stores.bigcommerce.client import BigCommerceClient, RawResponse, RequestsTransport
from stores.bigcommerce.report import Credentials
from tests import reports

BASE_URL = "https://api.bigcommerce.com"
STORE_HASH = "abc123"
TOKEN = "s3cr3tt0k3n1234567890abcdefghij"
CREDENTIALS = Credentials(STORE_HASH, TOKEN, client_id="clientid123", client_secret="f" * 64)
STORE_URL = f"{BASE_URL}/stores/{STORE_HASH}"
NIL_UUID = "00000000-0000-0000-0000-000000000000"

TIME = ("GET", "/v2/time")
STORE = ("GET", "/v2/store")
PRODUCTS = ("GET", "/v3/catalog/products?limit=1")
CUSTOMERS = ("POST", "/v3/customers")
ORDERS = ("POST", "/v2/orders")
CARTS = ("POST", "/v3/carts")
CHECKOUTS = ("POST", f"/v3/checkouts/{NIL_UUID}/billing-address")
PROBE_ENDPOINTS = (CUSTOMERS, STORE, ORDERS, PRODUCTS, CARTS, CHECKOUTS)
ALL_ENDPOINTS = (TIME, *PROBE_ENDPOINTS)
WRITE_ENDPOINTS = (CUSTOMERS, ORDERS, CARTS, CHECKOUTS)

MISSING_SCOPE_BODY = {
    "status": 403,
    "title": "You don't have a required scope to access the endpoint",
    "type": "https://developer.bigcommerce.com/api-docs/getting-started/api-status-codes",
    "errors": {},
}
PROFILE = {
    "id": STORE_HASH,
    "account_uuid": "8d4d492f-17a1-4d95-b396-e1c5720815a5",
    "domain": "my-awesome.store",
    "secure_url": "https://my-awesome.store",
    "control_panel_base_url": f"https://store-{STORE_HASH}.mybigcommerce.com",
    "status": "live",
    "name": "Awesome Store",
    "first_name": "Jane",
    "country_code": "US",
    "admin_email": "jane@example.com",
    "timezone": {"name": "America/Chicago", "raw_offset": -21600},
    "currency": "USD",
    "currency_symbol": "$",
    "decimal_places": 2,
    "weight_units": "Ounces",
    "dimension_units": "Inches",
    "plan_name": "Standard",
    "plan_level": "Standard",
    "plan_is_trial": False,
    "features": {"stencil_enabled": True},
}
# What a healthy store with every scope answers to each endpoint.
HEALTHY: dict[tuple[str, str], tuple[int, Any]] = {
    TIME: (200, {"time": 1764240000}),
    STORE: (200, PROFILE),
    PRODUCTS: (200, {"data": [], "meta": {"pagination": {"total": 0}}}),
    CUSTOMERS: (422, {"status": 422, "title": "Input is invalid", "errors": {}}),
    ORDERS: (400, [{"status": 400, "message": "The field 'products' is invalid."}]),
    CARTS: (422, {"status": 422, "title": "Input is invalid", "errors": {}}),
    CHECKOUTS: (404, {"status": 404, "title": "Checkout not found"}),
}
RATE_HEADERS = {
    "X-Rate-Limit-Requests-Quota": "150",
    "X-Rate-Limit-Requests-Left": "149",
    "X-Rate-Limit-Time-Window-Ms": "30000",
    "X-Rate-Limit-Time-Reset-Ms": "29000",
}


def url(endpoint: tuple[str, str]) -> str:
    return STORE_URL + endpoint[1]


@dataclass
class FakeTime:
    """A clock that only moves when the client sleeps; records every wait."""

    now: float = 1000.0
    waits: list[float] = field(default_factory=list)

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


def make_client(
    transport: Any = None, *, fake_time: FakeTime | None = None, **options: Any
) -> BigCommerceClient:
    fake_time = fake_time or FakeTime()
    defaults: dict[str, Any] = {
        "sleep": fake_time.sleep,
        "clock": fake_time.clock,
        "random": lambda: 0.5,
    }
    return BigCommerceClient(BASE_URL, transport or RequestsTransport(), **(defaults | options))


def add(
    rsps: responses.RequestsMock,
    endpoint: tuple[str, str],
    status: int = 200,
    body: Any = None,
    *,
    headers: dict[str, str] | None = None,
) -> None:
    """Queue one answer for an endpoint (several queued answers come in order)."""
    method, _ = endpoint
    if isinstance(body, BaseException):
        rsps.add(method, url(endpoint), body=body)
    elif isinstance(body, str | bytes):
        rsps.add(method, url(endpoint), status=status, body=body, headers=headers)
    elif body is None:
        rsps.add(method, url(endpoint), status=status, body=b"", headers=headers)
    else:
        rsps.add(method, url(endpoint), status=status, json=body, headers=headers)


def add_store(
    rsps: responses.RequestsMock,
    overrides: dict[tuple[str, str], Any] | None = None,
) -> None:
    """A healthy store, except for `overrides`: endpoint → (status, body) or an exception."""
    answers: dict[tuple[str, str], Any] = HEALTHY | (overrides or {})
    for endpoint, answer in answers.items():
        if isinstance(answer, BaseException):
            add(rsps, endpoint, body=answer)
        else:
            add(rsps, endpoint, *answer)


def requested(rsps: responses.RequestsMock) -> list[tuple[str, str]]:
    """(method, path relative to the store) of every request sent, in order."""
    return [(call.request.method, call.request.url[len(STORE_URL) :]) for call in rsps.calls]


def run(coro: Any) -> Any:
    return asyncio.run(coro)


class ScriptedTransport:
    """An in-memory transport: answers by (method, url) and counts what is in flight."""

    def __init__(self, answers: dict[tuple[str, str], int] | None = None, latency: float = 0.0):
        self.answers = {(m, STORE_URL + p): s for (m, p), s in (answers or {}).items()}
        self.latency = latency
        self.in_flight = 0
        self.max_in_flight = 0
        self.sent: list[tuple[str, str]] = []
        self.closed = False

    async def send(self, method, url, *, headers, body, connect_timeout, read_timeout):
        self.sent.append((method, url))
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await self.wait(method, url)
        finally:
            self.in_flight -= 1
        key = (method, url)
        status = self.answers.get(key, HEALTHY.get((method, url[len(STORE_URL) :]), (200,))[0])
        payload = PROFILE if url.endswith("/v2/store") else {}
        return RawResponse(status, CaseInsensitiveDict(), _json_bytes(payload))

    async def wait(self, method: str, url: str) -> None:
        if self.latency:
            await asyncio.sleep(self.latency)

    async def close(self) -> None:
        self.closed = True


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value).encode()


# -- many stores: FakeBigCommerce -----------------------------------------------------

ALL_SCOPES = {
    "store_v2_customers",
    "store_v2_information_read_only",
    "store_v2_orders",
    "store_v2_products_read_only",
    "store_cart",
    "store_checkout",
}
NEEDS = {
    ("GET", "/v2/time"): None,
    ("GET", "/v2/store"): {"store_v2_information_read_only", "store_v2_information"},
    ("GET", "/v3/catalog/products"): {"store_v2_products_read_only", "store_v2_products"},
    ("POST", "/v3/customers"): {"store_v2_customers"},
    ("POST", "/v2/orders"): {"store_v2_orders"},
    ("POST", "/v3/carts"): {"store_cart"},
    ("POST", "/v3/checkouts/*"): {"store_checkout"},
}


@dataclass
class FakeBigCommerce:
    """Stores, their tokens and scopes, and maintenance, answering every request to
    `BASE_URL`; `GET /v2/store` answers `tests.reports.PROFILE` (the conftest's Acme)."""

    rsps: responses.RequestsMock
    tokens: dict[tuple[str, str], set[str]] = field(default_factory=dict)  # (hash, token) → scopes
    maintenance: set[str] = field(default_factory=set)
    calls: int = 0

    def __post_init__(self):
        pattern = re.compile(re.escape(BASE_URL) + r"/stores/[^/]+/.*")
        for method in ("GET", "POST"):
            self.rsps.add_callback(method, pattern, callback=self._answer)

    def add_token(self, store_hash: str, token: str, scopes=ALL_SCOPES) -> None:
        self.tokens[(store_hash, token)] = set(scopes)

    def _answer(self, request):
        self.calls += 1
        path = request.path_url.split("?")[0]
        _, _, store_hash, *rest = path.split("/")
        route = "/" + "/".join(rest)
        if route.startswith("/v3/checkouts/"):
            route = "/v3/checkouts/*"
        if store_hash in self.maintenance:
            return 503, {}, json.dumps({"status": 503, "title": "Store unavailable"})
        known_store = any(h == store_hash for h, _ in self.tokens)
        if not known_store:
            return 404, {}, json.dumps([{"status": 404, "message": "Store not found"}])
        scopes = self.tokens.get((store_hash, request.headers.get("X-Auth-Token", "")))
        if scopes is None:
            return 401, {}, json.dumps({"status": 401, "title": "Unauthorized"})
        needs = NEEDS[(request.method, route)]
        if needs is not None and not (needs & scopes):
            return 403, {}, json.dumps(MISSING_SCOPE_BODY)
        if route == "/v2/store":
            return 200, {}, json.dumps(dict(reports.PROFILE, id=store_hash))
        if route == "/v2/time":
            return 200, {}, json.dumps({"time": 1790000000})
        if route.startswith("/v3/checkouts/"):
            return 404, {}, json.dumps({"status": 404, "title": "Checkout not found"})
        if request.method == "POST":
            return 422, {}, json.dumps({"status": 422, "title": "Input is invalid"})
        return 200, {}, json.dumps({"data": [], "meta": {}})
