"""A tiny BigCommerce for view and form tests, on `responses` callbacks.

It knows stores, their tokens and scopes, and answers the portal's probes as
FACTS.md says BigCommerce does. (The real HTTP sandbox in `sandbox/` does the
same over loopback for integration tests.)
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

import responses

from tests.reports import PROFILE

BASE = "https://api.bigcommerce.com"
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
GRANTED_STATUS = {"POST": 422, "GET": 200}
MISSING_SCOPE = {
    "status": 403,
    "title": "You don't have a required scope to access the endpoint",
    "type": "https://developer.bigcommerce.com/api-docs/getting-started/api-status-codes",
    "errors": {},
}


@dataclass
class FakeBigCommerce:
    rsps: responses.RequestsMock
    tokens: dict[tuple[str, str], set[str]] = field(default_factory=dict)  # (hash, token) → scopes
    maintenance: set[str] = field(default_factory=set)
    calls: int = 0

    def __post_init__(self):
        pattern = re.compile(re.escape(BASE) + r"/stores/[^/]+/.*")
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
            return 403, {}, json.dumps(MISSING_SCOPE)
        if route == "/v2/store":
            return 200, {}, json.dumps(dict(PROFILE, id=store_hash))
        if route == "/v2/time":
            return 200, {}, json.dumps({"time": 1790000000})
        if route.startswith("/v3/checkouts/"):
            return 404, {}, json.dumps({"status": 404, "title": "Checkout not found"})
        if request.method == "POST":
            return 422, {}, json.dumps({"status": 422, "title": "Input is invalid"})
        return 200, {}, json.dumps({"data": [], "meta": {}})
