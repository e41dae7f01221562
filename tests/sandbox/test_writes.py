"""Writes: scope before body, invalid bodies create nothing, valid ones create and are recorded."""

from __future__ import annotations

import pytest

from sandbox.bodies import SCOPE_403

UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"

#: (path, spec-invalid body, status when granted) -- the portal's probe shapes.
PROBES = [
    ("v3/customers", {"not": "an array"}, 422),
    ("v2/orders", ["not", "an", "object"], 400),
    ("v3/carts", ["not", "an", "object"], 422),
    (f"v3/checkouts/{UNKNOWN_ID}/billing-address", ["not", "an", "object"], 404),
]


@pytest.mark.parametrize(("path", "body", "granted"), PROBES, ids=[p[0] for p in PROBES])
def test_scope_check_comes_before_body_validation(shop, control, path, body, granted):
    response = shop.post(path, body, "readonly")
    assert response.status_code == 403
    assert response.json() == SCOPE_403
    # even a body that is not JSON at all gets the 403, not a 400
    response = shop.call("POST", path, "readonly", data=b"{{{ not json",
                         **{"Content-Type": "application/json"})
    assert response.status_code == 403
    assert control.created(shop.hash) == []


@pytest.mark.parametrize(("path", "body", "granted"), PROBES, ids=[p[0] for p in PROBES])
def test_invalid_bodies_create_nothing(shop, control, path, body, granted):
    response = shop.post(path, body)
    assert response.status_code == granted, response.text
    assert control.created(shop.hash) == []
    counts = control.store(shop.hash)["counts"]
    assert counts["customers"] == counts["orders"] == counts["carts"] == 0


def test_error_bodies_are_versioned(shop):
    v3 = shop.post("v3/customers", {"not": "an array"}).json()
    assert v3["status"] == 422 and v3["title"] and isinstance(v3["errors"], dict)
    v2 = shop.post("v2/orders", ["x"]).json()
    assert isinstance(v2, list) and v2[0]["status"] == 400 and v2[0]["message"]


def test_unparseable_or_empty_body_is_400(shop, control):
    headers = {"Content-Type": "application/json"}
    assert shop.call("POST", "v3/carts", data=b"{nope", **headers).status_code == 400
    assert shop.call("POST", "v3/carts", data=b"", **headers).status_code == 400
    assert shop.call("POST", "v2/orders", data=b"[", **headers).json()[0]["status"] == 400
    assert control.created(shop.hash) == []


def test_valid_customers_are_created_and_recorded(shop, control):
    body = [{"email": "ana@example.com", "first_name": "Ana", "last_name": "Lima"}]
    response = shop.post("v3/customers", body)
    assert response.status_code == 200
    created = response.json()["data"]
    assert created[0]["email"] == "ana@example.com"
    listed = shop.get("v3/customers").json()["data"]
    assert [c["id"] for c in listed] == [created[0]["id"]]
    record = control.created(shop.hash)
    assert [(r["kind"], r["id"], r["client_id"]) for r in record] == [
        ("customer", created[0]["id"], shop.full["client_id"])]
    assert record[0]["via"] == f"POST /stores/{shop.hash}/v3/customers"
    # the same email again is refused and creates nothing more
    assert shop.post("v3/customers", body).status_code == 422
    assert len(control.created(shop.hash)) == 1


def test_an_empty_customer_list_is_valid_and_creates_nothing(shop, control):
    response = shop.post("v3/customers", [])
    assert response.status_code == 200
    assert response.json()["data"] == []
    assert control.created(shop.hash) == []


def test_more_than_ten_customers_is_413(shop, control):
    body = [{"email": f"c{i}@example.com", "first_name": "C", "last_name": str(i)}
            for i in range(11)]
    assert shop.post("v3/customers", body).status_code == 413
    assert control.created(shop.hash) == []


def test_empty_object_is_a_valid_order_and_really_creates_one(shop, control):
    """Per the spec ``{}`` is a valid order body, so the sandbox creates an order: a probe
    that sends ``{}`` would be caught creating data."""
    assert shop.get("v2/orders?limit=1").status_code == 204
    response = shop.post("v2/orders", {})
    assert response.status_code == 200
    order_id = response.json()["id"]
    listed = shop.get("v2/orders?limit=5")
    assert listed.status_code == 200
    assert [o["id"] for o in listed.json()] == [order_id]
    assert [r["kind"] for r in control.created(shop.hash)] == ["order"]


def test_cart_and_checkout_lifecycle(shop, control):
    response = shop.post("v3/carts", {"line_items": [{"product_id": 111, "quantity": 2}]})
    assert response.status_code == 201
    cart = response.json()["data"]
    assert cart["line_items"]["physical_items"][0]["quantity"] == 2
    assert shop.get(f"v3/carts/{cart['id']}").json()["data"]["id"] == cart["id"]
    checkout = shop.get(f"v3/checkouts/{cart['id']}")
    assert checkout.status_code == 200
    assert checkout.json()["data"]["cart"]["id"] == cart["id"]
    # a spec-invalid billing address on a real checkout is 422 and changes nothing
    bad = shop.post(f"v3/checkouts/{cart['id']}/billing-address", {"email": "x@example.com"})
    assert bad.status_code == 422
    assert "billing_address" not in shop.get(f"v3/checkouts/{cart['id']}").json()["data"]
    good = shop.post(f"v3/checkouts/{cart['id']}/billing-address",
                     {"email": "x@example.com", "country_code": "US", "first_name": "X"})
    assert good.status_code == 200
    assert good.json()["data"]["billing_address"]["country_code"] == "US"
    kinds = [r["kind"] for r in control.created(shop.hash)]
    assert kinds == ["cart", "checkout_billing_address"]
    assert control.created()[shop.hash][0]["id"] == cart["id"]


def test_empty_object_is_a_valid_cart(shop, control):
    assert shop.post("v3/carts", {}).status_code == 201
    assert [r["kind"] for r in control.created(shop.hash)] == ["cart"]


def test_webhook_lifecycle_belongs_to_the_creating_account(shop, control):
    body = {"scope": "store/information/updated", "destination": "https://example.com/hook"}
    created = shop.post("v3/hooks", body)
    assert created.status_code == 200
    hook = created.json()["data"]
    assert hook["client_id"] == shop.full["client_id"]
    assert hook["store_hash"] == shop.hash
    assert [h["id"] for h in shop.get("v3/hooks").json()["data"]] == [hook["id"]]
    # another account of the same store does not see it
    assert shop.get("v3/hooks", "readonly").json()["data"] == []
    assert shop.get(f"v3/hooks/{hook['id']}", "readonly").status_code == 404
    updated = shop.call("PUT", f"v3/hooks/{hook['id']}", json={"is_active": False})
    assert updated.json()["data"]["is_active"] is False
    assert shop.call("PUT", f"v3/hooks/{hook['id']}", json={"is_active": "no"}).status_code == 422
    deleted = shop.call("DELETE", f"v3/hooks/{hook['id']}")
    assert deleted.status_code == 200
    assert shop.get(f"v3/hooks/{hook['id']}").status_code == 404


def test_webhook_validation(shop, control):
    assert shop.post("v3/hooks", {"scope": "store/order/*"}).status_code == 422
    http = {"scope": "store/order/*", "destination": "http://example.com/x"}
    assert shop.post("v3/hooks", http).status_code == 422
    assert control.created(shop.hash) == []
