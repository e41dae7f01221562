"""The one place that knows how to talk to BigCommerce's REST API.

`BigCommerceClient` builds URLs and headers, retries what is worth retrying,
enforces an overall deadline and records every call as an `Exchange` (evidence
without secrets). It is asyncio code written against a tiny `Transport`
protocol, so the same policy serves both paths:

* the onboarding wizard (one store, a sync Django view): `RequestsTransport`,
  a pooled `requests.Session` driven from a dedicated thread pool, usually via
  `validation.validate_sync()`;
* the fleet revalidation (thousands of stores in one asyncio loop):
  `AiohttpTransport`.

One client holds no per-call state, so it can be shared by any number of
concurrent calls in one event loop. It never reads settings: the base URL and
the knobs come in as arguments.

Secrets: the access token only ever travels in the `X-Auth-Token` header. It
is never logged, never put in an `Exchange`, and transport failures are raised
as fresh `TransportError`s that neither quote nor chain the underlying library
exception (those can hold the prepared request and its headers).
"""

from __future__ import annotations

import asyncio
import functools
import http.cookiejar
import json
import logging
import random as _random
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from types import TracebackType, UnionType
from typing import Any, NamedTuple, Protocol
from urllib.parse import urlsplit

import aiohttp
import orjson
import requests
from requests.adapters import HTTPAdapter
from requests.exceptions import ChunkedEncodingError, ContentDecodingError
from urllib3.exceptions import ReadTimeoutError

from .report import Exchange
from .storable import storable_text

logger = logging.getLogger(__name__)

DEFAULT_USER_AGENT = "VioletConnect/0.1 (+https://violet.io)"
STORE_HASH_RE = re.compile(r"[a-z0-9]{1,20}")
# Printable ASCII without spaces: anything else cannot be a BigCommerce token,
# and would make the HTTP library raise an error that quotes the header value.
_TOKEN_RE = re.compile(r"[\x21-\x7e]+")
_API_VERSIONS = frozenset({"v2", "v3"})

RETRYABLE_STATUSES = frozenset({500, 502, 504})
# `Exchange.error` of a call that ended on the store's spent quota: its reset
# (or X-Retry-After) lay past the deadline, or the retries ran out on it.
RATE_LIMITED = "rate_limited"
# How much of an answer's body a `Call` keeps: enough for any error body and
# the store profile, never a whole catalogue.
MAX_BODY_BYTES = 64 * 1024
# Where BigCommerce's error bodies put their words: v3 `title`, `detail` and
# `error.message`; v2 `message` in each item of a list.
_ERROR_TEXT_KEYS = ("title", "message", "detail", "error")
RETRYABLE_ERRORS = frozenset({"timeout", "connection_error", "reset", "read_error"})
RATE_LIMIT_HEADERS = (
    "X-Rate-Limit-Requests-Quota",
    "X-Rate-Limit-Requests-Left",
    "X-Rate-Limit-Time-Window-Ms",
    "X-Rate-Limit-Time-Reset-Ms",
    "X-Retry-After",
)


class _NoBody:
    """Marker for "send no body" (`None`, `{}` and `[]` are all JSON bodies)."""

    def __repr__(self) -> str:
        return "NO_BODY"


NO_BODY: Any = _NoBody()


# --- the transport protocol --------------------------------------------------


class RawResponse(NamedTuple):
    status: int
    headers: Mapping[str, str]  # case-insensitive
    body: bytes


class TransportError(Exception):
    """No HTTP answer arrived. `kind` says why; the message never holds a secret.

    Kinds: "timeout", "connection_error", "reset", "read_error", "error".
    """

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


class Transport(Protocol):
    async def send(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str],
        body: bytes | None,
        connect_timeout: float,
        read_timeout: float,
    ) -> RawResponse: ...

    async def close(self) -> None: ...


# --- requests, in a dedicated thread pool --------------------------------------


def _requests_error_kind(exc: requests.RequestException) -> str:
    # requests reports a read timeout during the body as a ConnectionError
    # wrapping urllib3's ReadTimeoutError, hence the look down the chain.
    if isinstance(exc, requests.Timeout) or _caused_by(exc, ReadTimeoutError | TimeoutError):
        return "timeout"
    if isinstance(exc, ChunkedEncodingError | ContentDecodingError):
        return "read_error"
    if isinstance(exc, requests.ConnectionError):
        return "reset" if _caused_by(exc, ConnectionResetError) else "connection_error"
    return "error"


def _caused_by(exc: BaseException, kind: type | UnionType) -> bool:
    """Whether an exception of `kind` hides in the exception's args or chain."""
    seen: set[int] = set()
    pending: list[object] = [exc]
    while pending:
        item = pending.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, kind):
            return True
        if isinstance(item, BaseException):
            pending.extend(item.args)
            pending.extend(e for e in (item.__cause__, item.__context__) if e is not None)
    return False


class RequestsTransport:
    """A pooled `requests.Session` whose calls run in a dedicated thread pool.

    The pool is ours, not the loop's default executor (cpu+4 threads), so a
    validation's seven simultaneous requests really run at once. Safe to share
    between threads and between successive `asyncio.run()` calls; cookies are
    refused so nothing from one store's answer is sent with another's request.
    """

    def __init__(self, *, max_workers: int = 16, trust_env: bool = False) -> None:
        self._executor = ThreadPoolExecutor(
            max_workers=max_workers, thread_name_prefix="bigcommerce"
        )
        self._session = requests.Session()
        self._session.trust_env = trust_env
        self._session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=max(16, max_workers), max_retries=0)
        self._session.mount("https://", adapter)
        self._session.mount("http://", adapter)

    async def send(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str],
        body: bytes | None,
        connect_timeout: float,
        read_timeout: float,
    ) -> RawResponse:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._executor,
            self._send_blocking,
            method,
            url,
            headers,
            body,
            (connect_timeout, read_timeout),
        )

    def _send_blocking(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        body: bytes | None,
        timeout: tuple[float, float],
    ) -> RawResponse:
        kind = ""
        try:
            response = self._session.request(
                method, url, headers=headers, data=body, timeout=timeout, allow_redirects=False
            )
            return RawResponse(response.status_code, response.headers, response.content)
        except requests.RequestException as exc:
            kind = _requests_error_kind(exc)
        # Raised outside the except block so the library's exception (which
        # holds the prepared request and its headers) is not chained.
        raise TransportError(kind)

    async def close(self) -> None:
        self._session.close()
        self._executor.shutdown(wait=False, cancel_futures=True)


# --- aiohttp, for the fleet ---------------------------------------------------


def _aiohttp_error_kind(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError | aiohttp.ServerTimeoutError):
        return "timeout"
    if isinstance(exc, aiohttp.ClientPayloadError):
        return "read_error"
    if isinstance(exc, aiohttp.ServerDisconnectedError) or _caused_by(exc, ConnectionResetError):
        return "reset"
    if isinstance(exc, aiohttp.ClientConnectionError | OSError):
        return "connection_error"
    return "error"


class AiohttpTransport:
    """An `aiohttp.ClientSession` with a bounded connection pool, for the fleet.

    The session is created on first use inside the running loop; use one
    transport per event loop and close it in that loop. `limit` bounds open
    connections: the fleet should bound its in-flight checks to match, or
    checks queue for a connection and spend their deadline waiting.
    """

    def __init__(
        self, *, limit: int = 200, limit_per_host: int = 0, trust_env: bool = False
    ) -> None:
        self._limit = limit
        self._limit_per_host = limit_per_host
        self._trust_env = trust_env
        self._session: aiohttp.ClientSession | None = None

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            connector = aiohttp.TCPConnector(limit=self._limit, limit_per_host=self._limit_per_host)
            self._session = aiohttp.ClientSession(
                connector=connector,
                cookie_jar=aiohttp.DummyCookieJar(),
                trust_env=self._trust_env,
                raise_for_status=False,
            )
        return self._session

    async def send(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str],
        body: bytes | None,
        connect_timeout: float,
        read_timeout: float,
    ) -> RawResponse:
        # No total/connect timeout: waiting for a pooled connection is not the
        # store's fault; the client's deadline bounds the whole call.
        timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=connect_timeout, sock_read=read_timeout
        )
        session = self._get_session()
        kind = ""
        try:
            async with session.request(
                method, url, headers=headers, data=body, timeout=timeout, allow_redirects=False
            ) as response:
                return RawResponse(response.status, response.headers, await response.read())
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            kind = _aiohttp_error_kind(exc)
        raise TransportError(kind)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


# --- the client -----------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    """What one logical call produced: the evidence, and the answer if one came."""

    exchange: Exchange
    response: RawResponse | None

    @property
    def status(self) -> int | None:
        return self.response.status if self.response is not None else None


def is_valid_store_hash(store_hash: str) -> bool:
    return isinstance(store_hash, str) and STORE_HASH_RE.fullmatch(store_hash) is not None


def is_valid_access_token(access_token: str) -> bool:
    return isinstance(access_token, str) and _TOKEN_RE.fullmatch(access_token) is not None


@functools.lru_cache(maxsize=512)
def normalise_path(path: str) -> str:
    """`"v3//catalog/products/?limit=1"` → `"/v3/catalog/products?limit=1"`.

    Raises ValueError for anything that is not a v2/v3 API path. Cached: the
    fleet asks for the same few probe paths millions of times (a path with
    ids in it only pushes the oldest out).
    """
    route, sep, query = path.partition("?")
    segments = [segment for segment in route.split("/") if segment]
    if not segments or segments[0] not in _API_VERSIONS:
        raise ValueError("API path must start with /v2/ or /v3/")
    if any(segment in {".", ".."} or ":" in segment for segment in segments):
        raise ValueError("API path must not contain '.', '..' or ':' segments")
    return "/" + "/".join(segments) + (sep + query if query else "")


def _normalise_base_url(base_url: str) -> str:
    parts = urlsplit(base_url)
    if parts.scheme not in {"http", "https"} or not parts.netloc or parts.query or parts.fragment:
        raise ValueError("base_url must be an http(s) URL without query or fragment")
    return base_url.rstrip("/")


class BigCommerceClient:
    """Calls BigCommerce for one store at a time; safe to share across tasks.

    `base_url` comes from settings (e.g. "https://api.bigcommerce.com"), never
    from user input. Timeouts, deadline and waits are in seconds.
    """

    def __init__(
        self,
        base_url: str,
        transport: Transport,
        *,
        user_agent: str = DEFAULT_USER_AGENT,
        connect_timeout: float = 5,
        read_timeout: float = 10,
        deadline: float = 20,
        max_attempts: int = 3,
        backoff_base: float = 0.5,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        random: Callable[[], float] = _random.random,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.base_url = _normalise_base_url(base_url)
        self.transport = transport
        self.user_agent = user_agent
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.deadline = deadline
        self.max_attempts = max_attempts
        # store hash → clock time its spent quota resets (set by a 429 with a
        # reset): the store's other calls wait for it instead of each spending
        # a request. Empty on a healthy fleet, so it costs nothing there.
        self._quota_resets: dict[str, float] = {}
        self.backoff_base = backoff_base
        self._sleep = sleep
        self._random = random
        self._clock = clock

    async def __aenter__(self) -> BigCommerceClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self.transport.close()

    def url_for(self, store_hash: str, path: str) -> str:
        if not is_valid_store_hash(store_hash):
            raise ValueError("store hash must be 1-20 characters a-z, 0-9")
        return f"{self.base_url}/stores/{store_hash}{normalise_path(path)}"

    def headers_for(self, access_token: str, *, with_body: bool) -> dict[str, str]:
        if not is_valid_access_token(access_token):
            raise ValueError("access token must be printable ASCII without spaces")
        headers = {
            "X-Auth-Token": access_token,
            "Accept": "application/json",
            "User-Agent": self.user_agent,
        }
        if with_body:
            headers["Content-Type"] = "application/json"
        return headers

    async def request(
        self,
        method: str,
        store_hash: str,
        path: str,
        *,
        access_token: str,
        json_body: Any = NO_BODY,
    ) -> Call:
        """One logical call, retried per policy, never past the deadline.

        Never raises for HTTP or network trouble: the `Call` says what happened.
        Raises ValueError for a malformed store hash, path or token.
        """
        method = method.upper()
        path = normalise_path(path)
        url = self.url_for(store_hash, path)
        body = None if json_body is NO_BODY else _encode_json(json_body)
        headers = self.headers_for(access_token, with_body=body is not None)

        started = self._clock()
        attempts = 0
        rate_limit: dict[str, str] = {}
        response: RawResponse | None = None
        error = ""
        while True:
            if not await self._await_store_quota(store_hash, started):
                error = RATE_LIMITED  # the store's quota resets past the deadline: not sent
                break
            attempts += 1
            response, error = await self._attempt(method, url, headers, body, started)
            if response is not None:
                rate_limit = _rate_limit_headers(response.headers) or rate_limit
            wait = self._retry_wait(response, error, attempts)
            quota_wait = response is not None and response.status == 429 and wait is not None
            quota_wait = quota_wait and announced_wait(response.headers) is not None
            if quota_wait:
                self._note_quota_reset(store_hash, wait)
            if wait is None or attempts >= self.max_attempts or self._clock() - started + wait >= self.deadline:
                if quota_wait:
                    error = RATE_LIMITED
                break
            await self._sleep(wait)
        detail = error_detail(response)
        if response is not None and len(response.body) > MAX_BODY_BYTES:
            response = response._replace(body=response.body[:MAX_BODY_BYTES])
        exchange = Exchange(
            method=method,
            path=path,
            status=response.status if response is not None else None,
            elapsed_ms=round((self._clock() - started) * 1000),
            attempts=attempts,
            error=error,
            rate_limit=rate_limit,
            detail=detail,
        )
        logger.debug(
            "bigcommerce %s %s store=%s -> %s %s attempts=%d",
            method, exchange.path, store_hash, exchange.status, error, attempts,
        )  # fmt: skip
        return Call(exchange, response)

    async def _await_store_quota(self, store_hash: str, started: float) -> bool:
        """Wait for the store's spent quota to reset; False when it resets past the deadline."""
        if not self._quota_resets:
            return True
        resets_at = self._quota_resets.get(store_hash)
        if resets_at is None:
            return True
        pause = resets_at - self._clock()
        if pause <= 0:
            self._quota_resets.pop(store_hash, None)
            return True
        if self._clock() - started + pause >= self.deadline:
            return False
        await self._sleep(pause)
        return True

    def _note_quota_reset(self, store_hash: str, wait: float) -> None:
        now = self._clock()
        if len(self._quota_resets) > 10_000:  # forget resets that passed
            self._quota_resets = {k: v for k, v in self._quota_resets.items() if v > now}
        resets_at = now + wait
        if resets_at > self._quota_resets.get(store_hash, 0.0):
            self._quota_resets[store_hash] = resets_at

    async def _attempt(
        self, method: str, url: str, headers: dict[str, str], body: bytes | None, started: float
    ) -> tuple[RawResponse | None, str]:
        remaining = self.deadline - (self._clock() - started)
        if remaining <= 0:
            return None, "timeout"
        try:
            async with asyncio.timeout(remaining):
                response = await self.transport.send(
                    method,
                    url,
                    headers=headers,
                    body=body,
                    connect_timeout=min(self.connect_timeout, remaining),
                    read_timeout=min(self.read_timeout, remaining),
                )
        except TransportError as exc:
            return None, exc.kind
        except TimeoutError:  # the deadline, not the transport's own timeout
            return None, "timeout"
        return response, ""

    def _retry_wait(self, response: RawResponse | None, error: str, attempts: int) -> float | None:
        """Seconds to wait before trying again, or None when this is the answer."""
        if response is None:
            return self._backoff(attempts) if error in RETRYABLE_ERRORS else None
        if response.status == 429:
            announced = announced_wait(response.headers)
            return self._backoff(attempts) if announced is None else announced
        if response.status == 503:
            return unavailable_retry_delay(response)
        if response.status in RETRYABLE_STATUSES:
            return self._backoff(attempts)
        return None

    def _backoff(self, attempts: int) -> float:
        """Exponential backoff with full jitter: uniform in [0, base * 2**(n-1))."""
        return self._random() * self.backoff_base * 2 ** (attempts - 1)


def parse_json(body: bytes | str) -> Any:
    """A body from BigCommerce as JSON, or ValueError (never RecursionError: a
    deeply nested body would otherwise end the whole check). orjson first (fast,
    refuses nesting past 1,024 levels); what it refuses, json reads if it can:
    lone surrogates (`\ud800`), which `storable` then makes storable."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        pass
    try:
        return json.loads(body)
    except RecursionError:
        raise ValueError("JSON nested too deep") from None


def error_texts(body: bytes | str | None) -> list[str]:
    """The human words in an error body: v3 object, v2 list, or plain text."""
    if not body:
        return []
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    try:
        data = parse_json(text)
    except ValueError:  # not JSON, or nested deeper than 1,024 levels
        return [storable_text(" ".join(text.split())[:500])] if text.strip() else []
    found: list[str] = []

    def collect(value: Any, depth: int) -> None:
        if isinstance(value, str) and value.strip():
            found.append(storable_text(" ".join(value.split())[:500]))
        elif isinstance(value, dict) and depth < 3:
            for key in _ERROR_TEXT_KEYS:
                collect(value.get(key), depth + 1)
        elif isinstance(value, list) and depth < 3:
            for item in value[:10]:
                collect(item, depth + 1)

    collect(data, 0)
    return found


def error_detail(response: RawResponse | None) -> str:
    """BigCommerce's own words in an error answer, for staff (one line, bounded)."""
    if response is None or response.status < 400:
        return ""
    return " / ".join(error_texts(response.body))[:200]


def _encode_json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def _rate_limit_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {name: storable_text(headers[name]) for name in RATE_LIMIT_HEADERS if headers.get(name) is not None}


def header_seconds(headers: Mapping[str, str], name: str, scale: float = 1.0) -> float | None:
    # ASCII digits only: float() also reads "inf", "nan", "1e400", "١٢" and " 1_0 ".
    raw = (headers.get(name) or "").strip()
    if raw and len(raw) <= 12 and raw.isascii() and raw.isdigit():
        return int(raw) / scale
    return None


def announced_wait(headers: Mapping[str, str]) -> float | None:
    """The wait a 429 announces: the longer of X-Rate-Limit-Time-Reset-Ms and
    X-Retry-After (seconds), as BigCommerce's rate-limit docs say; None without either."""
    waits = [
        wait
        for wait in (
            header_seconds(headers, "X-Rate-Limit-Time-Reset-Ms", 1000.0),
            header_seconds(headers, "X-Retry-After"),
        )
        if wait is not None
    ]
    return max(waits) if waits else None


def unavailable_retry_delay(response: RawResponse) -> float | None:
    """The delay a 503 announces: `Retry-After` (seconds), or `retry_after_seconds`
    in its body (price lists' SERVICE_DEGRADED); None when it announces none."""
    delay = header_seconds(response.headers, "Retry-After")
    if delay is not None:
        return delay
    try:
        data = parse_json(response.body[:MAX_BODY_BYTES]) if response.body else None
    except ValueError:
        return None
    for item in data if isinstance(data, list) else [data]:
        if isinstance(item, dict):
            for holder in (item, item.get("error"), item.get("errors"), item.get("details")):
                value = holder.get("retry_after_seconds") if isinstance(holder, dict) else None
                if isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value < 3600:
                    return float(value)
    return None
