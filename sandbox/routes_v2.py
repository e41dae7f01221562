"""The ``/stores/{store_hash}/v2/...`` endpoints: time, store profile, currencies, orders."""

from __future__ import annotations

import time

from sandbox import bodies
from sandbox import request_schemas as schemas
from sandbox import scopes as sc
from sandbox.routing import Call, Reply, Router, int_param, invalid, json_body, ok

router = Router()

INFO_READ = sc.read(sc.INFORMATION, sc.INFORMATION_RO)


@router.route("GET", "v2/time", None)
async def get_time(call: Call) -> Reply:
    return ok({"time": int(time.time())})


@router.route("GET", "v2/store", INFO_READ)
async def get_store(call: Call) -> Reply:
    return Reply(200, call.store.profile_body())


@router.route("GET", "v2/currencies", INFO_READ)
async def get_currencies(call: Call) -> Reply:
    store = call.store
    if store.currencies is None:
        listed = [bodies.currency(store.profile)]
    else:
        listed = [bodies.currency(store.profile, c, i + 1) for i, c in enumerate(store.currencies)]
    return ok(listed)


@router.route("GET", "v2/orders", sc.read(sc.ORDERS, sc.ORDERS_RO))
async def get_orders(call: Call) -> Reply:
    limit = int_param(call, "limit", 50)
    page = int_param(call, "page", 1, 1, 1_000_000)
    chosen = call.store.orders[(page - 1) * limit: page * limit]
    if not chosen:
        return Reply(204)  # BigCommerce's v2 answer to "nothing to list"
    return ok([bodies.order(o) for o in chosen])


@router.route("POST", "v2/orders", sc.write(sc.ORDERS))
async def create_order(call: Call) -> Reply:
    body = await json_body(call)
    problems = schemas.validate_body(schemas.CREATE_ORDER, body)
    if problems:
        raise invalid(call, problems)
    order = bodies.new_order(call.state.next_id(), body, call.store.profile.get("currency", "USD"))
    call.store.orders.append(order)
    call.store.record("order", order["id"], call.account, call.where())
    return ok(order)
