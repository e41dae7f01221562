"""The ``/stores/{store_hash}/v3/...`` endpoints: catalog products, customers, carts,
checkouts (the webhooks API, also v3, is in :mod:`sandbox.routes_webhooks`)."""

from __future__ import annotations

from typing import Any

from sandbox import bodies
from sandbox import request_schemas as schemas
from sandbox import scopes as sc
from sandbox.routing import Abort, Call, Reply, Router, fail, invalid, json_body, ok, page_of

router = Router()


@router.route("GET", "v3/catalog/products", sc.read(sc.PRODUCTS, sc.PRODUCTS_RO))
async def get_products(call: Call) -> Reply:
    chosen, meta = page_of(call, call.store.products)
    return ok({"data": [bodies.product(p) for p in chosen], "meta": meta})


@router.route("GET", "v3/customers", sc.read(sc.CUSTOMERS, sc.CUSTOMERS_RO))
async def get_customers(call: Call) -> Reply:
    chosen, meta = page_of(call, call.store.customers)
    return ok({"data": [bodies.customer(c) for c in chosen], "meta": meta})


@router.route("POST", "v3/customers", sc.write(sc.CUSTOMERS))
async def create_customers(call: Call) -> Reply:
    body = await json_body(call)
    problems = schemas.validate_body(schemas.CREATE_CUSTOMERS, body)
    if problems:
        raise invalid(call, problems)
    if len(body) > 10:
        raise fail(call, 413, "The request payload is too large. The maximum number of items "
                   "allowed in the array is 10.")
    known = {c.get("email", "").lower() for c in call.store.customers}
    for index, item in enumerate(body):
        if item["email"].lower() in known:
            raise fail(call, 422, "Create customers failed.",
                       {f".customer_create[{index}]": "Email address is already in use"})
        known.add(item["email"].lower())
    created = []
    for item in body:
        customer = bodies.new_customer(call.state.next_id(), item)
        call.store.customers.append(customer)
        call.store.record("customer", customer["id"], call.account, call.where())
        created.append(customer)
    return ok({"data": [bodies.customer(c) for c in created], "meta": {}})


@router.route("GET", "v3/carts/*", sc.read(sc.CARTS, sc.CARTS_RO))
async def get_cart(call: Call) -> Reply:
    cart = call.store.carts.get(call.params[0])
    if cart is None:
        raise fail(call, 404, "Cart not found")
    return ok({"data": bodies.cart(cart), "meta": {}})


@router.route("POST", "v3/carts", sc.write(sc.CARTS))
async def create_cart(call: Call) -> Reply:
    body = await json_body(call)
    problems = schemas.validate_body(schemas.CREATE_CART, body)
    if problems:
        raise invalid(call, problems)
    cart = bodies.new_cart(body, call.store.profile.get("currency", "USD"))
    call.store.carts[cart["id"]] = cart
    call.store.record("cart", cart["id"], call.account, call.where())
    return ok({"data": bodies.cart(cart), "meta": {}}, 201)


def _checkout_cart(call: Call) -> dict[str, Any]:
    cart = call.store.carts.get(call.params[0])
    if cart is None:
        raise Abort(Reply(404, bodies.dumps(bodies.checkout_not_found(call.params[0]))))
    return cart


@router.route("GET", "v3/checkouts/*", sc.read(sc.CHECKOUTS, sc.CHECKOUTS_RO))
async def get_checkout(call: Call) -> Reply:
    return ok({"data": bodies.checkout(_checkout_cart(call)), "meta": {}})


@router.route("POST", "v3/checkouts/*/billing-address", sc.write(sc.CHECKOUTS))
async def add_billing_address(call: Call) -> Reply:
    cart = _checkout_cart(call)  # an unknown checkout is 404 whatever the body
    body = await json_body(call)
    problems = schemas.validate_body(schemas.ADD_CHECKOUT_BILLING_ADDRESS, body)
    if problems:
        raise invalid(call, problems)
    address = {"id": str(call.state.next_id()), **body}
    cart["_billing_address"] = address
    cart["_version"] = cart.get("_version", 1) + 1
    call.store.record("checkout_billing_address", cart["id"], call.account, call.where())
    return ok({"data": bodies.checkout(cart), "meta": {}})
