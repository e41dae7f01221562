"""The BigCommerce proxy: `/api/v1/proxy/<store_hash>/<v2|v3 path>`, any method.

A service calls BigCommerce through the portal and never holds the token:
the view authenticates the caller (`proxy:read` for GET/HEAD, `proxy:write`
for any other method), finds the store's token (`stores.proxy_targets`),
answers 429 itself while the store's quota is spent, and streams the call up
and the answer back (`stores.bigcommerce.passthrough`). A request body is
not read before the call is admitted; then it streams up as it arrives
(`request.body_stream`, config/asgi.py), never held whole.

An async view: under the ASGI server (`config/asgi.py`, the `web` process and
`make run`) it holds no thread while BigCommerce answers. The database work
of a call (who is calling, the store's status and version) is one statement on
the process's own asynchronous connections (api/proxy_admission.py); a token
is decrypted only when its version changes (a hop to Django's sync thread).

Answers of its own (never BigCommerce's words): 400 `path_refused` /
`body_incomplete`, 401, 403, 404 `not_found`, 408 `body_timeout`, 409 `store_not_usable`, 413
`body_too_large`, 429 `quota_spent` (with `Retry-After`), 502 `bigcommerce_unreachable` /
`redirect_refused` / `response_too_large`, 504 `bigcommerce_timeout`; each with
`X-Violet-Proxy: refused`, so a service can tell them from BigCommerce's.
Nothing is logged of a body or the token: one line per refusal or failure.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from urllib.parse import quote

import psycopg
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import DatabaseError, close_old_connections
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_variables

from config import metrics
from config.client_address import client_ip
from stores.bigcommerce.passthrough import (
    PEEK_LIMIT,
    PEEKED_STATUSES,
    REQUEST_HEADERS,
    SMALL_BODY,
    BodyAborted,
    PassThrough,
    PathRefused,
    RequestBody,
    UpstreamError,
    confined_path,
    confined_query,
    forwarded_headers,
    quota_wait,
    rewritten_location,
    upstream_url,
)
from stores.models import Store, TrafficSignal
from stores.proxy_targets import QUOTAS, TOKENS, proxy_token, quota_spent, quota_wait_left
from stores.services.traffic import traffic_signal_record
from stores.status import StoreStatus
from stores.traffic_rule import answer_is_definitive

from .auth import Forbidden, Unauthorized, authenticate, bearer_secret
from .models import ServiceClient
from .proxy_admission import STATEMENT, aadmission
from .scopes import PROXY_READ, PROXY_WRITE
from .service_clients import SECRET_PREFIX, address_allowed

logger = logging.getLogger(__name__)

PREFIX = "/api/v1/proxy/"
READ_METHODS = frozenset({"GET", "HEAD"})
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"})

_passthrough: PassThrough | None = None


def passthrough() -> PassThrough:
    """This process's pooled client (one per event loop inside it)."""
    global _passthrough  # noqa: PLW0603 - one per process, made on first use from settings
    if _passthrough is None:
        _passthrough = PassThrough(
            connections=settings.PROXY_CONNECTIONS,
            connect_timeout=settings.PROXY_CONNECT_TIMEOUT_SECONDS,
            read_timeout=settings.PROXY_READ_TIMEOUT_SECONDS,
        )
    return _passthrough


async def close_passthrough() -> None:
    """Close this process's pooled connections, to BigCommerce and to the
    database (the ASGI server's shutdown)."""
    if _passthrough is not None:
        await _passthrough.close()
    await STATEMENT.close()


def refusal(status: int, code: str, message: str, **headers: str) -> JsonResponse:
    response = JsonResponse({"error": {"code": code, "message": message}}, status=status)
    response["X-Violet-Proxy"] = "refused"
    response["Cache-Control"] = "no-store"
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def body_too_large() -> JsonResponse:
    return refusal(413, "body_too_large", f"Bodies up to {settings.PROXY_MAX_REQUEST_BYTES:,} bytes pass.")


def _count(outcome: str, status: int) -> None:
    metrics.PROXY_CALLS.labels(outcome=outcome, status=f"{status // 100}xx").inc()


# The request headers that may go up (passthrough.REQUEST_HEADERS), by their
# META keys: read there, `request.headers` (every header's mapping) is not built.
_META_KEYS = tuple(
    (name, name.upper().replace("-", "_") if name == "Content-Type" else "HTTP_" + name.upper().replace("-", "_"))
    for name in REQUEST_HEADERS
)


def _allowed_headers(request: HttpRequest) -> dict[str, str]:
    return {name: request.META[key] for name, key in _META_KEYS if key in request.META}


def raw_path(request: HttpRequest) -> str:
    """The request's path as the client sent it (percent-encoding kept):
    ASGI's `raw_path`, gunicorn's `RAW_URI`, or the decoded path re-encoded."""
    scope = getattr(request, "scope", None)
    if scope and scope.get("raw_path"):
        return scope["raw_path"].decode("latin-1")
    if request.META.get("RAW_URI"):
        return request.META["RAW_URI"].partition("?")[0]
    return quote(request.path, safe="/:@!$&'()*+,;=-._~")


@dataclass(frozen=True)
class _Admitted:
    refused: JsonResponse | None = None
    store_id: int | None = None
    token: str = field(default="", repr=False)
    wait: int = 0
    client_id: int | None = None
    missing_scopes: tuple[str, ...] = ()


def _unauthorized() -> JsonResponse:
    return refusal(
        401,
        "unauthorized",
        "Send an active service client secret as “Authorization: Bearer <secret>”.",
        WWW_Authenticate='Bearer realm="violet-connect"',
    )


@sensitive_variables("secret", "token")
async def _admit(secret: str, address: str, scope: str, store_hash: str, *, again: bool = False) -> _Admitted:
    """Who is calling, may they, the store, its token and its quota. On
    PostgreSQL one statement on the process's asynchronous connection; a hop to
    the sync thread only to decrypt a token new to this process, or to read the
    shared quota (at most every `QUOTA_LOOK_EVERY` per store)."""
    if not secret.startswith(SECRET_PREFIX):
        return await sync_to_async(_refuse_other)(secret, address, scope)
    found = await aadmission(secret, store_hash)
    client = found.client
    if client is None:
        return _Admitted(_unauthorized())
    if not address_allowed(client, address):
        return _Admitted(refusal(403, "forbidden", f"Service client “{client.name}” may not call from {address}."))
    if scope not in client.scopes:
        return _Admitted(refusal(
            403, "forbidden", f"This needs the scope “{scope}”, which service client “{client.name}” does not have."
        ))
    if found.store_id is None:
        return _Admitted(refusal(404, "not_found", f"No store “{store_hash}” is connected to Violet."))
    if not found.usable:
        return _Admitted(refusal(
            409,
            "store_not_usable",
            f"The store is {StoreStatus(found.store_status).label.lower()}: Violet does not call it.",
        ))
    token = TOKENS.get(store_hash, found.version)
    if token is None:
        token = await _in_sync_thread(proxy_token)(store_hash, found.version)
        if token is None and not again:  # new credentials landed between the two reads: read once more
            return await _admit(secret, address, scope, store_hash, again=True)
        if token is None:
            return _Admitted(refusal(
                503, "portal_unavailable", "The store's credentials are changing; try again.", Retry_After="1"
            ))
    wait = QUOTAS.known_wait(store_hash)
    if wait is None:
        wait = QUOTAS.learn(store_hash, await _in_sync_thread(quota_wait_left)(store_hash))
    return _Admitted(
        store_id=found.store_id, token=token, wait=wait, client_id=client.pk, missing_scopes=found.missing_scopes
    )


@sensitive_variables("secret")
def _refuse_other(secret: str, address: str, scope: str) -> _Admitted:
    """A staff API token (it never holds a proxy scope) or no secret: the API's usual answers."""
    tidy_connection()
    try:
        authenticate(secret, address=address, scope=scope)
    except Unauthorized:
        return _Admitted(_unauthorized())
    except Forbidden as exc:
        return _Admitted(refusal(403, "forbidden", str(exc)))
    return _Admitted(refusal(403, "forbidden", "The proxy takes service clients' secrets only."))


_tidied_at = 0.0


def _in_sync_thread(function):
    """`function` run in Django's sync thread, its connection tidied first."""

    def run(*args):
        tidy_connection()
        return function(*args)

    return sync_to_async(run)


def tidy_connection() -> None:
    """What Django does at each request's start for the sync thread's
    connection (drop it if broken or past CONN_MAX_AGE), at most once a second:
    the proxy's handler sends no request signals (config/asgi.py)."""
    global _tidied_at  # noqa: PLW0603 - one sync thread per process
    now = time.monotonic()
    if now - _tidied_at >= 1.0:
        _tidied_at = now
        close_old_connections()


@csrf_exempt
@sensitive_variables("admitted", "headers", "secret")
async def proxy(request: HttpRequest, store_hash: str, path: str) -> HttpResponse:
    started = time.perf_counter()
    method = request.method or "GET"
    if method not in METHODS:
        _count("refused", 405)
        return refusal(405, "method_not_allowed", f"The proxy passes {', '.join(sorted(METHODS))}.")
    prefix = f"{PREFIX}{store_hash}/"
    sent_path = raw_path(request)
    try:
        if not sent_path.startswith(prefix):
            raise PathRefused("The path must not contain encoded characters before the API path.")
        api_path = confined_path(sent_path[len(prefix) :])
        confined_path(path)  # and as Django decoded it
        query = confined_query(request.META.get("QUERY_STRING", ""))
    except PathRefused as exc:
        _count("refused", 400)
        return refusal(400, "path_refused", str(exc))

    length = request.META.get("CONTENT_LENGTH", "")
    if length.isdigit() and int(length) > settings.PROXY_MAX_REQUEST_BYTES:
        _count("refused", 413)
        return body_too_large()

    scope = PROXY_READ if method in READ_METHODS else PROXY_WRITE
    secret = bearer_secret(request)
    try:
        admitted = await _admit(secret, client_ip(request), scope, store_hash)
    except (DatabaseError, psycopg.Error):
        logger.warning("proxy: the database did not answer", extra={"store_hash": store_hash})
        _count("failed", 503)
        return refusal(503, "portal_unavailable", "The portal cannot reach its database; try again.", Retry_After="1")
    if admitted.refused is not None:
        _count("refused", admitted.refused.status_code)
        return admitted.refused
    if admitted.wait:
        _count("quota", 429)
        return refusal(
            429,
            "quota_spent",
            f"The store's BigCommerce quota is spent; it comes back in {admitted.wait} s.",
            Retry_After=str(admitted.wait),
            X_Rate_Limit_Time_Reset_Ms=str(admitted.wait * 1000),
        )

    body = None if method in READ_METHODS else _request_body(request, length)
    if isinstance(body, RequestBody) and body.length is not None and body.length <= SMALL_BODY:
        try:  # small: read whole, so a stale pooled connection can be retried with it
            body = await body.read_whole()
        except BodyAborted:
            return _body_failed(body.failure)
    if isinstance(body, bytes) and len(body) > settings.PROXY_MAX_REQUEST_BYTES:
        _count("refused", 413)
        return body_too_large()
    url = upstream_url(settings.BIGCOMMERCE_API_URL, store_hash, api_path, query)
    headers = forwarded_headers(_allowed_headers(request), admitted.token)
    try:
        upstream = await passthrough().send(
            method, url, headers=headers, body=body, max_response_bytes=settings.PROXY_MAX_RESPONSE_BYTES
        )
    except UpstreamError as exc:
        if isinstance(body, RequestBody) and body.failure is not None:
            return _body_failed(body.failure)
        return _failed(exc, store_hash, method, started)

    wait = quota_wait(upstream.status, upstream.headers)
    if wait:
        QUOTAS.learn(store_hash, wait)
        await _in_sync_thread(quota_spent)(store_hash, wait)

    if "Location" in upstream.headers:
        location = rewritten_location(
            upstream.headers.pop("Location"),
            upstream=url,
            base_url=settings.BIGCOMMERCE_API_URL,
            store_hash=store_hash,
            proxy_root=prefix,
        )
        if location is None:
            upstream.close()
            return _failed(UpstreamError("redirect_refused"), store_hash, method, started)
        upstream.headers["Location"] = location

    if upstream.content_length is not None and upstream.content_length > settings.PROXY_MAX_RESPONSE_BYTES:
        upstream.close()
        return _failed(UpstreamError("too_large"), store_hash, method, started)

    small = upstream.content_length is not None and upstream.content_length <= SMALL_BODY
    if small or upstream.status in PEEKED_STATUSES or method == "HEAD":
        try:
            content = await upstream.read_whole()
        except UpstreamError as exc:
            return _failed(exc, store_hash, method, started)
        if upstream.status in PEEKED_STATUSES:
            peeked = content[:PEEK_LIMIT]
            full_path = api_path + (f"?{query}" if query else "")
            kind = answer_is_definitive(upstream.status, full_path, peeked, admitted.missing_scopes, method=method)
            if kind is not None:  # detection from real traffic: the store's confirming check, at once
                await _in_sync_thread(_signal)(admitted, store_hash, upstream.status, method, api_path, peeked)
        response = HttpResponse(content if method != "HEAD" else b"", status=upstream.status)
    else:
        response = StreamingHttpResponse(upstream.chunks(), status=upstream.status)
    for name, value in upstream.headers.items():
        response[name] = value
    response["Cache-Control"] = "no-store"
    _count("forwarded", upstream.status)
    return response


def _request_body(request: HttpRequest, length: str) -> RequestBody | bytes | None:
    """What goes up as the body of a POST, PUT, PATCH or DELETE.

    Under the proxy's handler (config/asgi.py) `request.body_stream`: streamed
    up as it arrives, never read before the call is admitted; with its
    declared Content-Length, or chunked. None when the request has no body
    (no Content-Length or 0, not chunked: aiohttp sends Content-Length: 0).
    Under the portal's own handler (the test client, `runserver`) the body
    Django read."""
    stream: RequestBody | None = getattr(request, "body_stream", None)
    if stream is None:
        return request.body or None
    if "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower():
        stream.length = None  # chunked wins over any Content-Length (RFC 9112 6.3)
        return stream
    if length.isdigit() and int(length) > 0:
        stream.length = int(length)
        return stream
    return None


def _body_failed(failure: str) -> JsonResponse:
    """The body did not go up whole; the upstream request was abandoned
    mid-body (BigCommerce never received a complete request)."""
    if failure == "too_large":
        _count("refused", 413)
        return body_too_large()
    if failure == "client_idle":
        _count("refused", 408)
        return refusal(
            408,
            "body_timeout",
            f"The request body stalled for over {settings.PROXY_BODY_IDLE_TIMEOUT_SECONDS:g} s; send it again.",
        )
    # "client_gone" (nobody reads this answer) or "length_mismatch"
    _count("refused", 400)
    return refusal(400, "body_incomplete", "The request body did not match its Content-Length, or ended early.")


# The proxy's own refusals, for the OpenAPI document (api/views.py adds the
# path): BigCommerce's answers pass through with their own status and body.
REFUSALS = {
    400: "path_refused: not a v2/v3 path of the store's API; body_incomplete: the body ended before its "
    "Content-Length or last chunk",
    401: "unauthorized: no secret, or an unknown, revoked or expired one",
    403: "forbidden: no proxy:read (GET, HEAD) or proxy:write (other methods), or outside the client's networks",
    404: "not_found: no such store",
    405: "method_not_allowed",
    408: "body_timeout: the request body stalled for over PROXY_BODY_IDLE_TIMEOUT_SECONDS",
    409: "store_not_usable: revoked, refused, disconnected or pending",
    413: "body_too_large: over PROXY_MAX_REQUEST_BYTES (declared, or counted while streaming)",
    429: "quota_spent: the store's BigCommerce quota is spent (Retry-After); or BigCommerce's own 429",
    502: "bigcommerce_unreachable, redirect_refused or response_too_large",
    503: "portal_unavailable: the portal cannot reach its database (Retry-After)",
    504: "bigcommerce_timeout",
}


def openapi_paths(error_schema_ref: str) -> dict:
    """The proxy's entry in `/api/v1/openapi.json`, built from what this module serves."""
    error = {"content": {"application/json": {"schema": {"$ref": error_schema_ref}}}}
    responses = {
        "default": {
            "description": "BigCommerce's own answer: its status, body, Content-Type, ETag, "
            "Last-Modified, Retry-After and X-Rate-Limit-* headers, streamed."
        },
        **{
            str(status): {
                "description": f"The proxy's own refusal ({words}); header X-Violet-Proxy: refused.",
                **error,
                **({"headers": {"Retry-After": {"schema": {"type": "string"}}}} if status == 429 else {}),
            }
            for status, words in REFUSALS.items()
        },
    }
    parameters = [
        {"name": "store_hash", "in": "path", "required": True, "schema": {"type": "string"}},
        {
            "name": "path",
            "in": "path",
            "required": True,
            "description": "A BigCommerce API path of the store, starting v2/ or v3/ (slashes allowed).",
            "schema": {"type": "string", "pattern": "^v[23]/"},
        },
    ]

    def operation(method: str) -> dict:
        scope = PROXY_READ if method in READ_METHODS else PROXY_WRITE
        return {
            "operationId": f"proxy_{method.lower()}",
            "summary": f"{method} a store's BigCommerce API through the portal (scope {scope})",
            "description": "The portal adds the store's X-Auth-Token; the service never holds it. "
            "Bodies stream both ways, with size limits.",
            "security": [{"BearerAuth": []}],
            "parameters": parameters,
            "responses": responses,
        }

    return {f"{PREFIX}{{store_hash}}/{{path}}": {m.lower(): operation(m) for m in sorted(METHODS)}}


@sensitive_variables("admitted")
def _signal(admitted: _Admitted, store_hash: str, status: int, method: str, path: str, body: bytes) -> None:
    """Record what a proxied call saw (stores/services/traffic.py decides, and
    queues the store's check at most once a minute). Never fails the call."""
    store = Store(pk=admitted.store_id, store_hash=store_hash, missing_scopes=list(admitted.missing_scopes))
    try:
        traffic_signal_record(
            store,
            status=status,
            method=method,
            path=path,
            excerpt=body[:1000],
            source_client=ServiceClient(pk=admitted.client_id),
            via=TrafficSignal.Via.PROXY,
        )
    except Exception:  # noqa: BLE001 - the service's answer matters more than the signal
        logger.warning("proxy: a signal was not recorded", extra={"store_hash": store_hash}, exc_info=True)


def _failed(exc: UpstreamError, store_hash: str, method: str, started: float) -> JsonResponse:
    status, code, message = {
        "timeout": (504, "bigcommerce_timeout", "BigCommerce did not answer in time."),
        "redirect_refused": (502, "redirect_refused", "BigCommerce redirected outside the store's API."),
        "too_large": (
            502,
            "response_too_large",
            f"BigCommerce's answer is over {settings.PROXY_MAX_RESPONSE_BYTES:,} bytes.",
        ),
    }.get(exc.kind, (502, "bigcommerce_unreachable", "BigCommerce could not be reached."))
    logger.warning(
        "proxy call failed",
        extra={"store_hash": store_hash, "method": method, "reason": exc.kind,
               "ms": round((time.perf_counter() - started) * 1000)},
    )
    _count("failed", status)
    return refusal(status, code, message)
