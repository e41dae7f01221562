"""Each endpoint's answers: granted, missing scope, read-only, bad token, maintenance, bad hash."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from sandbox import scopes as sc
from sandbox.bodies import SCOPE_403

UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"


@dataclass(frozen=True)
class Case:
    method: str
    path: str
    body: Any
    #: scopes any one of which grants the call (empty = no scope needed)
    grants: frozenset[str]
    #: status when granted (probes get 404/422/400 by construction)
    granted: int
    #: does the read-only account get through?
    readonly_ok: bool

    @property
    def id(self) -> str:
        return f"{self.method} {self.path}"


CASES = [
    Case("GET", "v2/time", None, frozenset(), 200, True),
    Case("GET", "v2/store", None, frozenset({sc.INFORMATION, sc.INFORMATION_RO}), 200, True),
    Case("GET", "v2/currencies", None, frozenset({sc.INFORMATION, sc.INFORMATION_RO}), 200, True),
    Case("GET", "v3/catalog/products?limit=1", None, frozenset({sc.PRODUCTS, sc.PRODUCTS_RO}),
         200, True),
    Case("GET", "v3/customers?limit=1", None, frozenset({sc.CUSTOMERS, sc.CUSTOMERS_RO}), 200,
         True),
    Case("POST", "v3/customers", {"probe": "an object where the schema wants an array"},
         frozenset({sc.CUSTOMERS}), 422, False),
    Case("GET", "v2/orders?limit=1", None, frozenset({sc.ORDERS, sc.ORDERS_RO}), 204, True),
    Case("POST", "v2/orders", ["a list where the schema wants an object"],
         frozenset({sc.ORDERS}), 400, False),
    Case("GET", f"v3/carts/{UNKNOWN_ID}", None, frozenset({sc.CARTS, sc.CARTS_RO}), 404, True),
    Case("POST", "v3/carts", ["a list where the schema wants an object"],
         frozenset({sc.CARTS}), 422, False),
    Case("GET", f"v3/checkouts/{UNKNOWN_ID}", None, frozenset({sc.CHECKOUTS, sc.CHECKOUTS_RO}),
         404, True),
    Case("POST", f"v3/checkouts/{UNKNOWN_ID}/billing-address", ["not an address"],
         frozenset({sc.CHECKOUTS}), 404, False),
    Case("GET", "v3/hooks", None, frozenset(), 200, True),
    Case("GET", "v3/hooks/999999999", None, frozenset(), 404, True),
]
SCOPED = [c for c in CASES if c.grants]
IDS = [c.id for c in CASES]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_granted(shop, case):
    response = shop.call(case.method, case.path, json=case.body)
    assert response.status_code == case.granted, response.text
    assert response.headers["X-Rate-Limit-Requests-Quota"] == "150"


@pytest.mark.parametrize("case", SCOPED, ids=[c.id for c in SCOPED])
def test_missing_scope_is_the_exact_403(shop, control, case):
    everything_else = [s for s in sc.PORTAL_REQUIRED + sc.READ_ONLY_VARIANTS
                       + (sc.INFORMATION, sc.PRODUCTS) if s not in case.grants]
    account = shop.account_with(control, everything_else)
    response = shop.call(case.method, case.path, account["access_token"], json=case.body)
    assert response.status_code == 403
    assert response.json() == SCOPE_403
    assert response.json()["title"] == "You don't have a required scope to access the endpoint"


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_read_only_variants(shop, case):
    response = shop.call(case.method, case.path, "readonly", json=case.body)
    if case.readonly_ok:
        assert response.status_code == case.granted, response.text
    else:
        assert response.status_code == 403
        assert response.json() == SCOPE_403


@pytest.mark.parametrize("case", [c for c in CASES if not c.grants],
                         ids=[c.id for c in CASES if not c.grants])
def test_no_scope_endpoints_only_need_a_valid_token(shop, case):
    assert shop.call(case.method, case.path, "noscopes").status_code == case.granted


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_unknown_or_missing_token_is_401(shop, case):
    assert shop.call(case.method, case.path, "not-a-token", json=case.body).status_code == 401
    response = shop.call(case.method, case.path, None, json=case.body)
    assert response.status_code == 401
    assert response.json()["status"] == 401


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_token_of_another_store_is_401(shop, sandbox, case):
    other_store_token = sandbox.fixture["stores"][0]["accounts"][0]["access_token"]
    assert shop.call(case.method, case.path, other_store_token, json=case.body).status_code == 401


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_maintenance_is_503_before_auth(shop, control, case):
    control.set_maintenance(shop.hash, True)
    assert shop.call(case.method, case.path, json=case.body).status_code == 503
    assert shop.call(case.method, case.path, "bad", json=case.body).status_code == 503
    control.set_maintenance(shop.hash, False)
    assert shop.call(case.method, case.path, json=case.body).status_code == case.granted


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_wrong_store_hash_is_404_shaped_by_version(shop, case):
    response = shop.call(case.method, case.path, json=case.body, store_hash="zz9nothere")
    assert response.status_code == 404
    if case.path.startswith("v2/"):
        assert response.json()[0]["status"] == 404
    else:
        assert response.json()["status"] == 404
        assert "title" in response.json()


def test_modify_scope_satisfies_its_read_only_variant(shop, control):
    account = shop.account_with(control, [sc.INFORMATION, sc.PRODUCTS])
    assert shop.get("v2/store", account["access_token"]).status_code == 200
    assert shop.get("v3/catalog/products?limit=1", account["access_token"]).status_code == 200


def test_store_profile_is_the_store(shop, sandbox):
    profile = shop.get("v2/store").json()
    assert profile["id"] == shop.hash
    assert profile["control_panel_base_url"] == f"https://store-{shop.hash}.mybigcommerce.com"
    for field in ("plan_name", "plan_level", "plan_is_trial", "currency", "currency_symbol",
                  "decimal_places", "weight_units", "dimension_units", "status", "features"):
        assert field in profile


def test_demo_store_profiles(sandbox, shop):
    demo = sandbox.fixture["stores"][1]
    token = demo["accounts"][0]["access_token"]
    profile = shop.get("v2/store", token, store_hash="vcdemo02").json()
    assert profile["plan_name"] == "Pro"
    assert profile["currency"] == "CAD"
    currencies = shop.get("v2/currencies", token, store_hash="vcdemo02").json()
    assert [c["currency_code"] for c in currencies] == ["CAD", "USD"]


def test_time_is_now(shop):
    import time

    assert abs(shop.get("v2/time").json()["time"] - time.time()) < 5


def test_orders_list_when_there_are_orders(sandbox, shop):
    token = sandbox.fixture["stores"][0]["accounts"][0]["access_token"]
    response = shop.get("v2/orders?limit=1", token, store_hash="vcdemo01")
    assert response.status_code == 200
    assert len(response.json()) == 1
    assert shop.get("v2/orders?limit=5", token, store_hash="vcdemo01").json()[1]["id"] == 101


def test_empty_orders_is_204_with_an_empty_body(shop):
    response = shop.get("v2/orders?limit=1")
    assert response.status_code == 204
    assert response.content == b""


def test_limit_is_applied(shop, sandbox):
    token = sandbox.fixture["stores"][1]["accounts"][0]["access_token"]
    body = shop.get("v3/catalog/products?limit=2", token, store_hash="vcdemo02").json()
    assert len(body["data"]) == 2
    assert body["meta"]["pagination"]["total"] == 3


def test_bad_limit_is_rejected_by_version(shop):
    assert shop.get("v3/catalog/products?limit=abc").status_code == 422
    assert shop.get("v2/orders?limit=abc").status_code == 400


def test_unknown_route_and_wrong_method(shop):
    assert shop.get("v3/nothing/here").status_code == 404
    assert shop.get("v2/nothing").json()[0]["status"] == 404
    assert shop.call("DELETE", "v2/store").status_code == 405


def test_doubled_or_trailing_slash_is_403_like_bigcommerce(shop, control):
    assert shop.get("v2/time/").status_code == 403
    assert shop.get("v3//hooks").status_code == 403
    assert shop.get("v2/time/").json() != SCOPE_403
    control.settings(strict_slashes=False)
    assert shop.get("v2/time/").status_code == 404


def test_plain_text_401_style(shop, control):
    control.settings(auth_error_style="text")
    response = shop.get("v2/time", "nope")
    assert response.status_code == 401
    assert response.headers["Content-Type"].startswith("text/plain")
