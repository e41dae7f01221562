"""The BigCommerce REST endpoints: ``/stores/{store_hash}/v2|v3/...``.

Every request goes through :func:`handle`, which applies BigCommerce's checks in
this order (each step answers and stops when it fails):

1. latency (global + store) is slept;
2. the store's rate window counts the request (the ``X-Rate-Limit-*`` headers go
   on every answer, except the "429 without headers" fault);
3. a path with ``//`` or a trailing ``/`` gets ``403`` (as observed on BigCommerce);
4. an armed fault (store first, then global) may take over (see :mod:`sandbox.faults`;
   ``stall`` and ``malformed`` spoil whatever answer the later steps produce);
5. quota enforcement (when switched on) answers ``429`` with ``X-Retry-After``;
6. unknown store hash -> ``404`` (v2 list or v3 object, by the path's version);
7. store (or, globally, every store) in maintenance -> ``503``;
8. missing/unknown token, or a token of another store -> ``401``;
9. unknown route -> ``404`` (``405`` for a known path with the wrong method);
10. missing scope -> ``403`` with BigCommerce's exact body -- *before* any body is read;
11. the endpoint itself: body validation (``422`` v3 / ``400`` v2), ids (``404``), and
    on success a real creation, recorded on the store (``GET /_sandbox/created``).
"""

from __future__ import annotations

import asyncio
import json
import socket
import struct
import time
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from sandbox import scopes as sc
from sandbox import validation as val
from sandbox import views
from sandbox.faults import DEFAULT_QUOTA, DEFAULT_WINDOW_MS, Fault
from sandbox.state import Account, SandboxState, Store

STATE_KEY: web.AppKey[SandboxState] = web.AppKey("sandbox_state", SandboxState)

JSON = "application/json"
MAX_LIMIT = 250

_DEFAULT_RATE_HEADERS = {
    "X-Rate-Limit-Requests-Quota": str(DEFAULT_QUOTA),
    "X-Rate-Limit-Requests-Left": str(DEFAULT_QUOTA),
    "X-Rate-Limit-Time-Window-Ms": str(DEFAULT_WINDOW_MS),
    "X-Rate-Limit-Time-Reset-Ms": str(DEFAULT_WINDOW_MS),
}


@dataclass(slots=True)
class Reply:
    """What an endpoint answers; turned into an HTTP response by :func:`handle`."""

    status: int
    body: bytes = b""
    content_type: str | None = JSON
    headers: dict[str, str] | None = None


class Abort(Exception):
    """Raised by an endpoint to answer ``reply`` at once (validation errors, 404s)."""

    def __init__(self, reply: Reply) -> None:
        super().__init__(reply.status)
        self.reply = reply


@dataclass(slots=True)
class Call:
    """One authorised API call, handed to an endpoint."""

    request: web.Request
    state: SandboxState
    store: Store
    account: Account
    version: str
    params: tuple[str, ...]

    def where(self) -> str:
        """``METHOD /path`` (for created-object records)."""
        return f"{self.request.method} {self.request.path}"


Handler = Callable[[Call], Awaitable[Reply]]


@dataclass(slots=True, frozen=True)
class Endpoint:
    """A route: method, API version, path segments (``*`` = a parameter) and scope need."""

    method: str
    version: str
    pattern: tuple[str, ...]
    requirement: sc.Requirement | None
    handler: Handler


@dataclass(slots=True)
class Trace:
    """What the request log keeps about one request (never the token)."""

    status: int = 0
    store_hash: str | None = None
    client_id: str | None = None
    fault: str | None = None
    armed: Fault | None = None


_ROUTES: dict[tuple[str, int], list[tuple[tuple[str, ...], dict[str, Endpoint]]]] = {}


def route(method: str, path: str, requirement: sc.Requirement | None
          ) -> Callable[[Handler], Handler]:
    """Register an endpoint, e.g. ``@route("GET", "v3/carts/*", read(CARTS, CARTS_RO))``."""
    version, *rest = path.split("/")
    pattern = tuple(rest)

    def register(handler: Handler) -> Handler:
        bucket = _ROUTES.setdefault((version, len(pattern)), [])
        for existing, methods in bucket:
            if existing == pattern:
                methods[method] = Endpoint(method, version, pattern, requirement, handler)
                break
        else:
            bucket.append((pattern, {method: Endpoint(method, version, pattern, requirement,
                                                      handler)}))
        return handler

    return register


def match(method: str, version: str, segments: list[str]
          ) -> tuple[Endpoint | None, tuple[str, ...], bool]:
    """Find the endpoint for a request: ``(endpoint, params, path_known)``."""
    for pattern, methods in _ROUTES.get((version, len(segments)), ()):
        params = []
        for want, got in zip(pattern, segments, strict=True):
            if want == "*":
                params.append(got)
            elif want != got:
                break
        else:
            return methods.get(method), tuple(params), True
    return None, (), False


# -- the pipeline --------------------------------------------------------------------


async def handle(request: web.Request) -> web.StreamResponse:
    """Entry point of every ``/stores/...`` request."""
    state = request.app[STATE_KEY]
    started = time.perf_counter()
    state.in_flight += 1
    if state.in_flight > state.max_in_flight:
        state.max_in_flight = state.in_flight
    trace = Trace()
    try:
        return await _serve(request, state, trace)
    finally:
        state.in_flight -= 1
        state.log_request(request.method, request.path, trace.status, trace.store_hash,
                          (time.perf_counter() - started) * 1000.0, trace.client_id, trace.fault)


async def _serve(request: web.Request, state: SandboxState, trace: Trace) -> web.StreamResponse:
    outcome = await _answer(request, state, trace)
    if isinstance(outcome, web.StreamResponse):
        return outcome
    reply, rate_headers = outcome
    fault = trace.armed
    if fault is not None and fault.kind == "malformed":
        reply = _malformed(reply)
    elif fault is not None and fault.kind == "stall" and rate_headers is not None:
        return await _stall(request, reply, rate_headers, fault.seconds, trace)
    return _respond(trace, reply, rate_headers)


async def _answer(request: web.Request, state: SandboxState, trace: Trace
                  ) -> tuple[Reply, dict[str, str] | None] | web.StreamResponse:
    """Run the checks in order; return the reply (or a response for a dropped connection)."""
    settings = state.settings
    raw_path = request.raw_path.partition("?")[0]
    parts = raw_path.split("/")  # ['', 'stores', hash, version, ...]
    store_hash = parts[2] if len(parts) > 2 else ""
    version = parts[3] if len(parts) > 3 else ""
    shape = version if version in ("v2", "v3") else "v3"
    store = state.stores.get(store_hash)
    trace.store_hash = store_hash or None

    latency = settings.latency_ms + (store.latency_ms if store is not None else 0)
    if latency > 0:
        await asyncio.sleep(latency / 1000.0)

    if store is not None:
        left, reset_ms = store.window.hit()
        rate_headers = store.window.headers(left, reset_ms)
    else:
        rate_headers = dict(_DEFAULT_RATE_HEADERS)

    if settings.strict_slashes and ("//" in raw_path or raw_path.endswith("/")):
        return Reply(403, views.SLASH_403_BODY), rate_headers

    fault = (store.faults.pick() if store is not None else None) or state.global_faults.pick()
    if fault is not None:
        trace.fault = fault.kind
        trace.armed = fault
        early = await _pre_fault(request, fault, rate_headers, trace)
        if early is not None:
            return early

    if settings.enforce_quota and store is not None and store.window.exhausted:
        retry = {"X-Retry-After": _retry_after(rate_headers)}
        return Reply(429, views.RATE_LIMITED_BODY, headers=retry), rate_headers

    if store is None:
        return Reply(404, views.NOT_FOUND_BODY[shape]), rate_headers
    if store.maintenance or settings.maintenance:
        return Reply(503, views.MAINTENANCE_BODY[shape]), rate_headers

    token = request.headers.get("X-Auth-Token")
    account = state.tokens.get(token) if token else None
    if account is None or account.store_hash != store.hash:
        if settings.auth_error_style == "text":
            return Reply(401, views.UNAUTHORIZED_TEXT, "text/plain"), rate_headers
        return Reply(401, views.UNAUTHORIZED_BODY), rate_headers
    trace.client_id = account.client_id

    endpoint, params, path_known = match(request.method, version, parts[4:])
    if endpoint is None:
        if path_known:
            body = views.dumps(views.error(shape, 405, "The requested method is not allowed "
                                                       "for this resource."))
            return Reply(405, body), rate_headers
        return Reply(404, views.NOT_FOUND_BODY[shape]), rate_headers

    if not sc.satisfies(account.scopes, endpoint.requirement):
        return Reply(403, views.SCOPE_403_BODY), rate_headers

    call = Call(request, state, store, account, version, params)
    try:
        return await endpoint.handler(call), rate_headers
    except Abort as abort:
        return abort.reply, rate_headers


def _retry_after(rate_headers: dict[str, str]) -> str:
    """``X-Retry-After`` in whole seconds until the window resets."""
    return str(max(1, -(-int(rate_headers["X-Rate-Limit-Time-Reset-Ms"]) // 1000)))


def _respond(trace: Trace, reply: Reply, rate_headers: dict[str, str] | None
             ) -> web.Response:
    trace.status = reply.status
    headers = rate_headers if rate_headers is not None else {}
    if reply.headers:
        headers = {**headers, **reply.headers}
    if reply.status == 204:
        return web.Response(status=204, headers=headers)
    return web.Response(status=reply.status, body=reply.body, headers=headers,
                        content_type=reply.content_type)


# -- faults ----------------------------------------------------------------------------


async def _pre_fault(request: web.Request, fault: Fault, rate_headers: dict[str, str],
                     trace: Trace
                     ) -> tuple[Reply, dict[str, str] | None] | web.StreamResponse | None:
    """Apply a fault that replaces (or delays) the answer; ``None`` = carry on."""
    if fault.kind == "slow":
        await asyncio.sleep(fault.seconds)
        return None
    if fault.kind == "error":
        if fault.status in views.GATEWAY_HTML:
            return Reply(fault.status, views.GATEWAY_HTML[fault.status], "text/html"), rate_headers
        return Reply(fault.status, views.SERVER_ERROR_BODY), rate_headers
    if fault.kind == "rate_limit":
        if not fault.headers:
            return Reply(429, views.RATE_LIMITED_BODY), None
        limited = {**rate_headers, "X-Rate-Limit-Requests-Left": "0"}
        retry = {"X-Retry-After": _retry_after(rate_headers)}
        return Reply(429, views.RATE_LIMITED_BODY, headers=retry), limited
    if fault.kind == "reset":
        _reset_connection(request)
        trace.status = 0
        # The client is gone; aiohttp swallows the ConnectionError of writing this.
        return web.Response(status=500)
    return None


def _reset_connection(request: web.Request) -> None:
    """Drop the connection with a TCP RST, without answering."""
    transport = request.transport
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


def _malformed(reply: Reply) -> Reply:
    """The same answer with a body cut in half (never parseable JSON)."""
    body = reply.body[: len(reply.body) // 2] if len(reply.body) > 1 else b'{"data":['
    status = 200 if reply.status == 204 else reply.status
    return Reply(status, body, JSON, reply.headers)


async def _stall(request: web.Request, reply: Reply, rate_headers: dict[str, str],
                 seconds: float, trace: Trace) -> web.StreamResponse:
    """Send headers and half the body, stall ``seconds``, then finish (if anyone listens)."""
    trace.status = reply.status
    body = reply.body if reply.status != 204 else b""
    response = web.StreamResponse(status=reply.status if body else 200,
                                  headers={**rate_headers, **(reply.headers or {})})
    response.content_type = reply.content_type or JSON
    if not body:
        body = b"{}"
    response.content_length = len(body)
    half = len(body) // 2
    try:
        await response.prepare(request)
        await response.write(body[:half])
        await asyncio.sleep(seconds)
        await response.write(body[half:])
        await response.write_eof()
    except ConnectionError:
        pass
    return response


# -- helpers for endpoints ----------------------------------------------------------------


def ok(obj: Any, status: int = 200) -> Reply:
    return Reply(status, views.dumps(obj))


def fail(call: Call, status: int, title: str, errors: dict[str, str] | None = None) -> Abort:
    """An :class:`Abort` with an error body shaped for the call's API version."""
    return Abort(Reply(status, views.dumps(views.error(call.version, status, title, errors))))


def invalid(call: Call, problems: list[str]) -> Abort:
    """Schema validation failure: ``422`` on v3, ``400`` on v2 (BigCommerce's habits)."""
    details = {}
    for problem in problems[:20]:
        where, _, message = problem.partition(": ")
        details.setdefault(where, message)
    if call.version == "v2":
        return fail(call, 400, "The request body does not match the schema: "
                    + "; ".join(problems[:5]), details)
    return fail(call, 422, "JSON data is missing or invalid", details)


async def json_body(call: Call) -> Any:
    """The request's JSON body; ``400`` when it is missing or not JSON."""
    raw = await call.request.read()
    if not raw.strip():
        raise fail(call, 400, "Input is invalid: the request body is empty")
    try:
        return json.loads(raw)
    except ValueError:
        raise fail(call, 400, "Input is invalid: the request body is not valid JSON") from None


def int_param(call: Call, name: str, default: int, low: int = 1, high: int = MAX_LIMIT) -> int:
    """An integer query parameter clamped to ``[low, high]``."""
    value = call.request.query.get(name)
    if value is None or value == "":
        return default
    try:
        number = int(float(value))
    except ValueError:
        status = 400 if call.version == "v2" else 422
        raise fail(call, status, f"The query parameter {name!r} must be an integer",
                   {name: "not an integer"}) from None
    return min(max(number, low), high)


def page_of(call: Call, items: list[Any] | tuple[Any, ...], default_limit: int = 50
            ) -> tuple[list[Any], dict[str, Any]]:
    """Slice ``items`` by ``page``/``limit``; also return the v3 ``meta``."""
    limit = int_param(call, "limit", default_limit)
    page = int_param(call, "page", 1, 1, 1_000_000)
    chosen = list(items[(page - 1) * limit: page * limit])
    return chosen, views.pagination(len(items), len(chosen), limit, page)


# -- endpoints -----------------------------------------------------------------------------

INFO_READ = sc.read(sc.INFORMATION, sc.INFORMATION_RO)


@route("GET", "v2/time", None)
async def get_time(call: Call) -> Reply:
    return ok({"time": int(time.time())})


@route("GET", "v2/store", INFO_READ)
async def get_store(call: Call) -> Reply:
    return Reply(200, call.store.profile_body())


@route("GET", "v2/currencies", INFO_READ)
async def get_currencies(call: Call) -> Reply:
    store = call.store
    if store.currencies is None:
        listed = [views.currency(store.profile)]
    else:
        listed = [views.currency(store.profile, c, i + 1) for i, c in enumerate(store.currencies)]
    return ok(listed)


@route("GET", "v3/catalog/products", sc.read(sc.PRODUCTS, sc.PRODUCTS_RO))
async def get_products(call: Call) -> Reply:
    chosen, meta = page_of(call, call.store.products)
    return ok({"data": [views.product(p) for p in chosen], "meta": meta})


@route("GET", "v3/customers", sc.read(sc.CUSTOMERS, sc.CUSTOMERS_RO))
async def get_customers(call: Call) -> Reply:
    chosen, meta = page_of(call, call.store.customers)
    return ok({"data": [views.customer(c) for c in chosen], "meta": meta})


@route("POST", "v3/customers", sc.write(sc.CUSTOMERS))
async def create_customers(call: Call) -> Reply:
    body = await json_body(call)
    problems = val.validate_body(val.CREATE_CUSTOMERS, body)
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
        customer = views.new_customer(call.state.next_id(), item)
        call.store.customers.append(customer)
        call.store.record("customer", customer["id"], call.account, call.where())
        created.append(customer)
    return ok({"data": [views.customer(c) for c in created], "meta": {}})


@route("GET", "v2/orders", sc.read(sc.ORDERS, sc.ORDERS_RO))
async def get_orders(call: Call) -> Reply:
    limit = int_param(call, "limit", 50)
    page = int_param(call, "page", 1, 1, 1_000_000)
    chosen = call.store.orders[(page - 1) * limit: page * limit]
    if not chosen:
        return Reply(204)  # BigCommerce's v2 answer to "nothing to list"
    return ok([views.order(o) for o in chosen])


@route("POST", "v2/orders", sc.write(sc.ORDERS))
async def create_order(call: Call) -> Reply:
    body = await json_body(call)
    problems = val.validate_body(val.CREATE_ORDER, body)
    if problems:
        raise invalid(call, problems)
    order = views.new_order(call.state.next_id(), body, call.store.profile.get("currency", "USD"))
    call.store.orders.append(order)
    call.store.record("order", order["id"], call.account, call.where())
    return ok(order)


@route("GET", "v3/carts/*", sc.read(sc.CARTS, sc.CARTS_RO))
async def get_cart(call: Call) -> Reply:
    cart = call.store.carts.get(call.params[0])
    if cart is None:
        raise fail(call, 404, "Cart not found")
    return ok({"data": views.cart(cart), "meta": {}})


@route("POST", "v3/carts", sc.write(sc.CARTS))
async def create_cart(call: Call) -> Reply:
    body = await json_body(call)
    problems = val.validate_body(val.CREATE_CART, body)
    if problems:
        raise invalid(call, problems)
    cart = views.new_cart(body, call.store.profile.get("currency", "USD"))
    call.store.carts[cart["id"]] = cart
    call.store.record("cart", cart["id"], call.account, call.where())
    return ok({"data": views.cart(cart), "meta": {}}, 201)


def _checkout_cart(call: Call) -> dict[str, Any]:
    cart = call.store.carts.get(call.params[0])
    if cart is None:
        raise Abort(Reply(404, views.dumps(views.checkout_not_found(call.params[0]))))
    return cart


@route("GET", "v3/checkouts/*", sc.read(sc.CHECKOUTS, sc.CHECKOUTS_RO))
async def get_checkout(call: Call) -> Reply:
    return ok({"data": views.checkout(_checkout_cart(call)), "meta": {}})


@route("POST", "v3/checkouts/*/billing-address", sc.write(sc.CHECKOUTS))
async def add_billing_address(call: Call) -> Reply:
    cart = _checkout_cart(call)  # an unknown checkout is 404 whatever the body
    body = await json_body(call)
    problems = val.validate_body(val.ADD_CHECKOUT_BILLING_ADDRESS, body)
    if problems:
        raise invalid(call, problems)
    address = {"id": str(call.state.next_id()), **body}
    cart["_billing_address"] = address
    cart["_version"] = cart.get("_version", 1) + 1
    call.store.record("checkout_billing_address", cart["id"], call.account, call.where())
    return ok({"data": views.checkout(cart), "meta": {}})


def _own_hooks(call: Call) -> list[dict[str, Any]]:
    """Webhooks belong to the API account (client id) that created them."""
    return [h for h in call.store.hooks.values() if h["client_id"] == call.account.client_id]


def _own_hook(call: Call) -> dict[str, Any]:
    try:
        hook_id = int(call.params[0])
    except ValueError:
        raise fail(call, 404, "Webhook not found") from None
    hook = call.store.hooks.get(hook_id)
    if hook is None or hook["client_id"] != call.account.client_id:
        raise fail(call, 404, "Webhook not found")
    return hook


def _check_destination(call: Call, body: dict[str, Any]) -> None:
    destination = body.get("destination")
    if destination is None:
        return
    schemes = ("https://", "http://") if call.state.settings.allow_http_webhooks else ("https://",)
    if not str(destination).startswith(schemes):
        raise fail(call, 422, "Webhook destination must be an https URL",
                   {"destination": "must start with https://"})


@route("GET", "v3/hooks", None)
async def list_hooks(call: Call) -> Reply:
    chosen, meta = page_of(call, _own_hooks(call))
    return ok({"data": [views.hook(h) for h in chosen], "meta": meta})


@route("POST", "v3/hooks", None)
async def create_hook(call: Call) -> Reply:
    body = await json_body(call)
    problems = val.validate_body(val.CREATE_WEBHOOK, body)
    if problems:
        raise invalid(call, problems)
    _check_destination(call, body)
    now = int(time.time())
    hook = {
        "id": call.state.next_id(),
        "client_id": call.account.client_id,
        "store_hash": call.store.hash,
        "scope": body["scope"],
        "destination": body["destination"],
        "headers": body.get("headers"),
        "is_active": body.get("is_active", True),
        "created_at": now,
        "updated_at": now,
    }
    call.store.hooks[hook["id"]] = hook
    call.store.record("hook", hook["id"], call.account, call.where())
    return ok({"data": views.hook(hook), "meta": {}})


@route("GET", "v3/hooks/*", None)
async def get_hook(call: Call) -> Reply:
    return ok({"data": views.hook(_own_hook(call)), "meta": {}})


@route("PUT", "v3/hooks/*", None)
async def update_hook(call: Call) -> Reply:
    hook = _own_hook(call)
    body = await json_body(call)
    problems = val.validate_body(val.UPDATE_WEBHOOK, body)
    if problems:
        raise invalid(call, problems)
    _check_destination(call, body)
    for key in ("scope", "destination", "headers", "is_active"):
        if key in body:
            hook[key] = body[key]
    hook["updated_at"] = int(time.time())
    return ok({"data": views.hook(hook), "meta": {}})


@route("DELETE", "v3/hooks/*", None)
async def delete_hook(call: Call) -> Reply:
    hook = _own_hook(call)
    del call.store.hooks[hook["id"]]
    return ok({"data": views.hook(hook), "meta": {}})


@dataclass(slots=True)
class RouteInfo:
    """A row of :func:`route_table` (for docs and the control API)."""

    method: str
    path: str
    requirement: list[str] | None = field(default=None)


def route_table() -> list[RouteInfo]:
    """Every endpoint the sandbox serves, with the scopes that satisfy it."""
    rows = []
    for (version, _), bucket in sorted(_ROUTES.items()):
        for pattern, methods in bucket:
            for method, endpoint in sorted(methods.items()):
                path = "/".join((version, *pattern)).replace("*", "{id}")
                need = sorted(endpoint.requirement) if endpoint.requirement else None
                rows.append(RouteInfo(method, f"/stores/{{store_hash}}/{path}", need))
    return rows
