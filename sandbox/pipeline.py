"""How every BigCommerce REST request (``/stores/{store_hash}/v2|v3/...``) is answered.

The endpoints themselves are in :mod:`sandbox.routes_v2`, :mod:`sandbox.routes_v3`
and :mod:`sandbox.routes_webhooks` (joined here in :data:`ROUTES`). Every request goes
through :func:`handle`, which applies BigCommerce's checks in this order (each step
answers and stops when it fails):

1. latency (global + store) is slept;
2. the store's rate window counts the request (the ``X-Rate-Limit-*`` headers go
   on every answer, except the "429 without headers" fault);
3. a path with ``//`` or a trailing ``/`` gets ``403`` (as observed on BigCommerce);
4. an armed fault (store first, then global) may take over (see :mod:`sandbox.faults`;
   ``stall`` and ``malformed`` spoil whatever answer the later steps produce);
5. quota enforcement (when switched on) answers ``429`` with ``X-Retry-After``;
6. unknown store hash -> ``404`` (v2 list or v3 object, by the path's version), or, as
   ``settings.unknown_store`` says (undocumented: the sandbox can answer each way),
   ``401``, a ``403`` that is not the scope error, the scope error, or a ``404``
   that names the store (``404_store``);
7. store (or, globally, every store) in maintenance -> ``503``;
8. missing/unknown token, or a token of another store -> ``401``;
9. unknown route -> ``404`` (``405`` for a known path with the wrong method);
10. a path the store refuses (``store.refuse``) -> ``403`` without the scope error;
    missing scope -> ``403`` with BigCommerce's exact body -- *before* any body is read
    (``GET /v2/time`` needs Information & settings when the store's or the global
    ``v2_time`` mode is "docs");
11. the endpoint itself: body validation (``422`` v3 / ``400`` v2), ids (``404``), and
    on success a real creation, recorded on the store (``GET /_sandbox/created``).
"""

from __future__ import annotations

import asyncio
import socket
import struct
import time
from contextlib import suppress
from dataclasses import dataclass

from aiohttp import web

from sandbox import bodies, routes_v2, routes_v3, routes_webhooks
from sandbox import scopes as sc
from sandbox.faults import DEFAULT_QUOTA, DEFAULT_WINDOW_MS, Fault
from sandbox.routing import JSON, Abort, Call, Reply, Router
from sandbox.state import SandboxState

STATE_KEY: web.AppKey[SandboxState] = web.AppKey("sandbox_state", SandboxState)

#: Every endpoint the sandbox serves.
ROUTES = Router(routes_v2.router, routes_v3.router, routes_webhooks.router)

_DEFAULT_RATE_HEADERS = {
    "X-Rate-Limit-Requests-Quota": str(DEFAULT_QUOTA),
    "X-Rate-Limit-Requests-Left": str(DEFAULT_QUOTA),
    "X-Rate-Limit-Time-Window-Ms": str(DEFAULT_WINDOW_MS),
    "X-Rate-Limit-Time-Reset-Ms": str(DEFAULT_WINDOW_MS),
}


@dataclass(slots=True)
class Trace:
    """What the request log keeps about one request (never the token)."""

    status: int = 0
    store_hash: str | None = None
    client_id: str | None = None
    fault: str | None = None
    armed: Fault | None = None


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
        return Reply(403, bodies.SLASH_403_BODY), rate_headers

    route = "/".join(parts[3:])
    fault = (store.faults.pick(route) if store is not None else None) or state.global_faults.pick(route)
    if fault is not None:
        trace.fault = fault.kind
        trace.armed = fault
        early = await _pre_fault(request, fault, rate_headers, trace)
        if early is not None:
            return early

    if settings.enforce_quota and store is not None and store.window.exhausted:
        retry = {"X-Retry-After": _retry_after(rate_headers)}
        return Reply(429, bodies.RATE_LIMITED_BODY, headers=retry), rate_headers

    if store is None:
        return _unknown_store(settings.unknown_store, shape), rate_headers
    if store.maintenance or settings.maintenance:
        return Reply(503, bodies.MAINTENANCE_BODY[shape]), rate_headers

    token = request.headers.get("X-Auth-Token")
    account = state.tokens.get(token) if token else None
    if account is None or account.store_hash != store.hash:
        if settings.auth_error_style == "text":
            return Reply(401, bodies.UNAUTHORIZED_TEXT, "text/plain"), rate_headers
        return Reply(401, bodies.UNAUTHORIZED_BODY), rate_headers
    trace.client_id = account.client_id

    endpoint, params, path_known = ROUTES.match(request.method, version, parts[4:])
    if endpoint is None:
        if path_known:
            body = bodies.dumps(bodies.error(shape, 405, "The requested method is not allowed "
                                                       "for this resource."))
            return Reply(405, body), rate_headers
        return Reply(404, bodies.NOT_FOUND_BODY[shape]), rate_headers

    route = "/".join([version, *parts[4:]])
    if any(refused == "*" or route.startswith(refused) for refused in store.refuse):
        return Reply(403, bodies.FORBIDDEN_403_BODY), rate_headers
    requirement = endpoint.requirement
    if endpoint.handler is routes_v2.get_time and (store.v2_time or settings.v2_time) == "docs":
        requirement = routes_v2.INFO_READ
    if not sc.satisfies(account.scopes, requirement):
        return Reply(403, bodies.SCOPE_403_BODY), rate_headers

    call = Call(request, state, store, account, version, params)
    try:
        return await endpoint.handler(call), rate_headers
    except Abort as abort:
        return abort.reply, rate_headers


def _unknown_store(mode: str, shape: str) -> Reply:
    """An unknown store hash's answer, in the configured mode."""
    if mode == "401":
        return Reply(401, bodies.UNAUTHORIZED_BODY)
    if mode == "403":
        return Reply(403, bodies.FORBIDDEN_403_BODY)
    if mode == "403_scope":
        return Reply(403, bodies.SCOPE_403_BODY)
    if mode == "404_store":
        return Reply(404, bodies.STORE_NOT_FOUND_BODY)
    return Reply(404, bodies.NOT_FOUND_BODY[shape])


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
        if fault.status in bodies.GATEWAY_HTML:
            return Reply(fault.status, bodies.GATEWAY_HTML[fault.status], "text/html"), rate_headers
        return Reply(fault.status, bodies.SERVER_ERROR_BODY), rate_headers
    if fault.kind == "rate_limit":
        if not fault.headers:
            return Reply(429, bodies.RATE_LIMITED_EMPTY_BODY), None
        limited = {**rate_headers, "X-Rate-Limit-Requests-Left": "0"}
        if fault.reset_ms is not None:
            limited["X-Rate-Limit-Time-Reset-Ms"] = str(fault.reset_ms)
        retry = {"X-Retry-After": _retry_after(limited)}
        return Reply(429, bodies.RATE_LIMITED_EMPTY_BODY, headers=retry), limited
    if fault.kind == "degraded":
        return Reply(503, bodies.degraded(fault.retry_after_seconds)), rate_headers
    if fault.kind == "plan_limit":
        return Reply(507, bodies.PLAN_LIMIT_BODY), rate_headers
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
