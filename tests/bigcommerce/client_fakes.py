"""Shared helpers for the BigCommerce client tests: fake time, a fake store.

The fake store is registered with `responses`, so requests go through the
real `RequestsTransport` and the client's real URL/header code.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

import responses
from requests.structures import CaseInsensitiveDict

from stores.bigcommerce.client import BigCommerceClient, RawResponse, RequestsTransport
from stores.bigcommerce.report import Credentials

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
