"""What the BigCommerce endpoints are made of: routes, the call, the reply, helpers.

An endpoint is an ``async`` function taking a :class:`Call` and returning a
:class:`Reply` (or raising :class:`Abort`). Each ``routes_*`` module registers its
endpoints on a :class:`Router` of its own with ``@router.route(method, path,
requirement)``; :mod:`sandbox.pipeline` joins them into one and runs the checks
before calling the endpoint.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from sandbox import bodies
from sandbox import scopes as sc
from sandbox.state import Account, SandboxState, Store

JSON = "application/json"
MAX_LIMIT = 250


@dataclass(slots=True)
class Reply:
    """What an endpoint answers; turned into an HTTP response by the pipeline."""

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
class RouteInfo:
    """A row of :meth:`Router.table` (for docs and the control API)."""

    method: str
    path: str
    requirement: list[str] | None = field(default=None)


class Router:
    """Endpoints by API version and path; ``Router(a, b)`` holds the endpoints of both."""

    def __init__(self, *parts: Router) -> None:
        self._buckets: dict[tuple[str, int], list[tuple[tuple[str, ...], dict[str, Endpoint]]]] = {}
        for part in parts:
            for endpoint in part.endpoints():
                self._add(endpoint)

    def route(self, method: str, path: str, requirement: sc.Requirement | None
              ) -> Callable[[Handler], Handler]:
        """Register an endpoint, e.g. ``@router.route("GET", "v3/carts/*", read(CARTS, CARTS_RO))``."""
        version, *rest = path.split("/")

        def register(handler: Handler) -> Handler:
            self._add(Endpoint(method, version, tuple(rest), requirement, handler))
            return handler

        return register

    def _add(self, endpoint: Endpoint) -> None:
        bucket = self._buckets.setdefault((endpoint.version, len(endpoint.pattern)), [])
        for existing, methods in bucket:
            if existing == endpoint.pattern:
                methods[endpoint.method] = endpoint
                return
        bucket.append((endpoint.pattern, {endpoint.method: endpoint}))

    def endpoints(self) -> Iterator[Endpoint]:
        """Every endpoint, in the order they were added."""
        for bucket in self._buckets.values():
            for _, methods in bucket:
                yield from methods.values()

    def match(self, method: str, version: str, segments: list[str]
              ) -> tuple[Endpoint | None, tuple[str, ...], bool]:
        """Find the endpoint for a request: ``(endpoint, params, path_known)``."""
        for pattern, methods in self._buckets.get((version, len(segments)), ()):
            params = []
            for want, got in zip(pattern, segments, strict=True):
                if want == "*":
                    params.append(got)
                elif want != got:
                    break
            else:
                return methods.get(method), tuple(params), True
        return None, (), False

    def table(self) -> list[RouteInfo]:
        """Every endpoint served, with the scopes that satisfy it."""
        rows = []
        for (version, _), bucket in sorted(self._buckets.items()):
            for pattern, methods in bucket:
                for method, endpoint in sorted(methods.items()):
                    path = "/".join((version, *pattern)).replace("*", "{id}")
                    need = sorted(endpoint.requirement) if endpoint.requirement else None
                    rows.append(RouteInfo(method, f"/stores/{{store_hash}}/{path}", need))
        return rows


# -- helpers for endpoints ----------------------------------------------------------------


def ok(obj: Any, status: int = 200) -> Reply:
    return Reply(status, bodies.dumps(obj))


def fail(call: Call, status: int, title: str, errors: dict[str, str] | None = None) -> Abort:
    """An :class:`Abort` with an error body shaped for the call's API version."""
    return Abort(Reply(status, bodies.dumps(bodies.error(call.version, status, title, errors))))


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
    except (ValueError, RecursionError):
        raise fail(call, 400, "Input is invalid: the request body is not valid JSON") from None


def int_param(call: Call, name: str, default: int, low: int = 1, high: int = MAX_LIMIT) -> int:
    """An integer query parameter clamped to ``[low, high]``."""
    value = call.request.query.get(name)
    if value is None or value == "":
        return default
    try:
        number = int(float(value))
    except (ValueError, OverflowError):  # not a number, or "inf"
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
    return chosen, bodies.pagination(len(items), len(chosen), limit, page)
