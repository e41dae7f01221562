"""Passing one of Violet's services' calls through to a store's API: the
proxy's HTTP half (`api/proxy.py` is the view).

It lives beside the client because it is HTTP to BigCommerce: the same base
URL, the same store hashes, the same reading of the rate-limit headers
(`client.announced_wait`). Unlike the client it keeps no evidence and buffers
nothing it need not: bodies stream both ways, with a size limit (`RequestBody`
up, `Upstream.chunks` down).

What it guarantees, each tested in tests/api/test_proxy*.py:
- **Confinement** (`confined_path`): only `v2/…` and `v3/…` paths of the
  store's own API, checked on the path *as sent* (percent-encoded): no `.` or
  `..` segment, no empty segment, no encoded slash, backslash or dot, no
  control character, no colon (no scheme, no other host). The URL is built
  from the configured base and the store hash and never re-normalised.
- **No redirect off the store's API**: redirects are never followed; a
  `Location` inside the store's API is rewritten to the proxy's own path, any
  other is refused (502).
- **Headers**: what goes up is an allowlist (content negotiation and
  conditional requests) plus the store's `X-Auth-Token`; what comes back is an
  allowlist (content type, validators, `Retry-After` and `X-Rate-Limit-*`).
  No cookie, no hop-by-hop header, no `Authorization`, either way.
- **Bodies up** (`RequestBody`): passed on chunk by chunk as the ASGI server
  delivers them, never held whole. A declared `Content-Length` goes up as
  such and exactly that many bytes follow; a chunked body goes up chunked.
  Past the limit, short of or past the declared length, or the client gone:
  the upstream request is abandoned mid-body (the connection dropped, no
  last chunk), so BigCommerce never receives a complete request.
- **The token** only ever travels in the upstream `X-Auth-Token` header; a
  transport failure is raised as a fresh `UpstreamError` that quotes nothing.

One pooled `aiohttp.ClientSession` per event loop (a process under uvicorn
has one): `session()`.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urljoin

import aiohttp
from yarl import URL

from .client import announced_wait, header_seconds

API_VERSIONS = frozenset({"v2", "v3"})
# RFC 3986 pchar without ":" (no scheme, no port) and without "%": percent
# escapes are checked one by one below.
_SEGMENT_RE = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=@]*")
_ESCAPE_RE = re.compile(r"%([0-9A-Fa-f]{2})")
# Escapes that would change the path's shape once BigCommerce decodes it:
# "/", "\\", "." and every control character.
_REFUSED_ESCAPES = frozenset({0x2F, 0x5C, 0x2E, 0x7F, *range(0x20)})
_QUERY_RE = re.compile(r"[\x21-\x7e]*")  # printable ASCII; no space, no control

# Sent up: content negotiation and conditional requests. Everything else a
# service sends (Authorization, Cookie, Host, X-Forwarded-*, its own
# X-Auth-Token, hop-by-hop headers) stays here.
REQUEST_HEADERS = ("Accept", "Content-Type", "If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since")
# Passed back: what a client of BigCommerce's API needs, and the quota.
RESPONSE_HEADERS = (
    "Content-Type",
    "ETag",
    "Last-Modified",
    "Retry-After",
    "X-Retry-After",
    "X-Rate-Limit-Requests-Quota",
    "X-Rate-Limit-Requests-Left",
    "X-Rate-Limit-Time-Window-Ms",
    "X-Rate-Limit-Time-Reset-Ms",
)
# Answers read whole before passing on: 401, 403 and 404 (small error
# bodies; the proxy looks at them for signs that the credentials broke), and
# any answer announcing at most SMALL_BODY bytes (one write back, no chunking).
PEEKED_STATUSES = frozenset({401, 403, 404})
PEEK_LIMIT = 16 * 1024  # what the traffic rule is shown of a body
SMALL_BODY = 64 * 1024


class PathRefused(ValueError):
    """The path would leave the store's API; the message says why, in words."""


class UpstreamError(Exception):
    """No usable answer from BigCommerce. `kind`: "timeout", "connection_error",
    "too_large", "redirect_refused". The message never holds a secret."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


class BodyAborted(Exception):
    """The request body stopped being passed on; `RequestBody.failure` says why."""


class RequestBody:
    """A request body as the ASGI server delivers it (`receive`'s
    `http.request` messages), an async iterator of its chunks: aiohttp sends
    each one up as it comes, so at most one chunk is held here.

    Nothing is read until it is iterated (a refused call reads nothing).
    `length` is the declared Content-Length (None: chunked), set before
    iterating. Iterating raises `BodyAborted`, and leaves `failure` set, when
    the body passes `limit` ("too_large"), passes or falls short of `length`
    ("length_mismatch"), the client goes away ("client_gone") or sends nothing
    for `idle_timeout` seconds ("client_idle": a client trickling its body
    must not hold an upstream connection for ever): aiohttp then drops the
    upstream connection without finishing the request.
    """

    __slots__ = ("_receive", "failure", "idle_timeout", "length", "limit", "received")

    def __init__(
        self, receive: Callable[[], Awaitable[dict]], *, limit: int, idle_timeout: float | None = None
    ) -> None:
        self._receive = receive
        self.limit = limit
        self.idle_timeout = idle_timeout
        self.length: int | None = None
        self.received = 0
        self.failure: str | None = None

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._chunks()

    async def read_whole(self) -> bytes:
        """The whole body, for one declared to be small: sent up as bytes, so
        aiohttp may send it again on a fresh connection when a pooled one
        turns out closed (a streamed body cannot be replayed). Raises
        `BodyAborted` as iterating does."""
        return b"".join([chunk async for chunk in self])

    def _abort(self, failure: str) -> BodyAborted:
        self.failure = failure
        return BodyAborted(failure)

    async def _chunks(self) -> AsyncIterator[bytes]:
        if self.received or self.failure:  # one pass only: never replayed
            raise self._abort(self.failure or "length_mismatch")
        # The chunk that reaches a declared length completes the request
        # upstream: it is held until the body is known to have ended (a server
        # may say so in a message of its own), so a disconnect, a stall or a
        # surplus after it still leaves BigCommerce an incomplete request.
        held = b""
        while True:
            try:
                async with asyncio.timeout(self.idle_timeout):
                    message = await self._receive()
            except TimeoutError:
                raise self._abort("client_idle") from None
            if message["type"] != "http.request":  # http.disconnect
                raise self._abort("client_gone")
            chunk = message.get("body", b"")
            self.received += len(chunk)
            more = message.get("more_body", False)
            if self.received > self.limit:
                raise self._abort("too_large")
            if self.length is not None and (
                self.received > self.length or (not more and self.received != self.length)
            ):
                raise self._abort("length_mismatch")
            if more and self.length is not None and self.received == self.length:
                held += chunk
                continue
            if held or chunk:
                yield held + chunk
                held = b""
            if not more:
                return


def confined_path(raw: str) -> str:
    """`raw` (the part after `/api/v1/proxy/<store_hash>/`, percent-encoded as
    sent) if it names a v2/v3 resource of the store's API; `PathRefused` otherwise."""
    if not raw:
        raise PathRefused("Name a BigCommerce API path after the store hash, e.g. v3/catalog/summary.")
    if "\\" in raw or "://" in raw:
        raise PathRefused("The path must be a BigCommerce API path, not a URL.")
    segments = raw.split("/")
    if segments[0] not in API_VERSIONS:
        raise PathRefused("The path must start with v2/ or v3/.")
    if segments[-1] == "":
        segments = segments[:-1]  # one trailing slash is BigCommerce's business
    for segment in segments:
        if segment in {"", ".", ".."}:
            raise PathRefused("The path must not contain empty, '.' or '..' segments.")
        plain = _ESCAPE_RE.sub("", segment)
        if "%" in plain or not _SEGMENT_RE.fullmatch(plain):
            raise PathRefused("The path contains characters a BigCommerce API path cannot have.")
        if any(int(code, 16) in _REFUSED_ESCAPES for code in _ESCAPE_RE.findall(segment)):
            raise PathRefused("The path must not contain encoded slashes, backslashes, dots or control characters.")
    return raw


def confined_query(raw: str) -> str:
    if len(raw) > 8192 or not _QUERY_RE.fullmatch(raw):
        raise PathRefused("The query string must be printable ASCII, at most 8,192 characters.")
    return raw


def store_api_root(base_url: str, store_hash: str) -> str:
    return f"{base_url.rstrip('/')}/stores/{store_hash}/"


def upstream_url(base_url: str, store_hash: str, path: str, query: str = "") -> URL:
    """The BigCommerce URL for a confined path, built as given (never re-quoted)."""
    root = store_api_root(base_url, store_hash)
    url = URL(root + path + (f"?{query}" if query else ""), encoded=True)
    if not str(url).startswith(root):  # belt and braces: confined_path makes this impossible
        raise PathRefused("The path would leave the store's API.")
    return url


def forwarded_headers(incoming: Mapping[str, str], token: str) -> dict[str, str]:
    headers = {name: incoming[name] for name in REQUEST_HEADERS if name in incoming}
    headers["X-Auth-Token"] = token
    return headers


def rewritten_location(location: str, *, upstream: URL, base_url: str, store_hash: str, proxy_root: str) -> str | None:
    """A redirect's target as the proxy's own URL, if it stays inside the
    store's API; None if it leaves (another host, another store, another scheme)."""
    target = urljoin(str(upstream), location)
    root = store_api_root(base_url, store_hash)
    if not target.startswith(root):
        return None
    rest = target[len(root) :]
    path, _, query = rest.partition("?")
    try:
        confined_path(path)
        if query:
            confined_query(query)
    except PathRefused:
        return None
    return proxy_root + rest


def quota_wait(status: int, headers: Mapping[str, str]) -> float | None:
    """How long the store's quota stays spent, by this answer: a 429's
    announced wait, or the window's reset when it says 0 requests are left.
    None when the quota is not spent (or a 429 announces no wait: platform
    load, BigCommerce's docs say; the service backs off by itself)."""
    if status == 429:
        return announced_wait(headers)
    if (headers.get("X-Rate-Limit-Requests-Left") or "").strip() == "0":
        return header_seconds(headers, "X-Rate-Limit-Time-Reset-Ms", 1000.0)
    return None


@dataclass
class Upstream:
    """An answer being received: status and kept headers now, body as it comes."""

    status: int
    headers: dict[str, str]
    content_length: int | None
    response: aiohttp.ClientResponse = field(repr=False)
    max_bytes: int

    async def read_whole(self) -> bytes:
        """The whole body (small answers: errors, single resources), up to the
        size limit (`UpstreamError("too_large")` past it), then released."""
        body = bytearray()
        try:
            async for chunk in self.response.content.iter_any():
                body += chunk
                if len(body) > self.max_bytes:
                    raise UpstreamError("too_large")
            return bytes(body)
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise UpstreamError(_error_kind(exc)) from None
        finally:
            if len(body) > self.max_bytes:
                self.response.close()
            else:
                self.response.release()

    async def chunks(self) -> AsyncIterator[bytes]:
        """The body as it arrives; `UpstreamError("too_large")` past the limit
        (the service sees a broken transfer, never a silently cut body)."""
        received = 0
        try:
            async for chunk in self.response.content.iter_any():
                received += len(chunk)
                if received > self.max_bytes:
                    raise UpstreamError("too_large")
                yield chunk
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise UpstreamError(_error_kind(exc)) from None
        finally:
            if received > self.max_bytes:
                self.response.close()  # the rest is not wanted: drop the connection
            else:
                self.response.release()

    def close(self) -> None:
        self.response.close()


def _error_kind(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError | aiohttp.ServerTimeoutError):  # asyncio's is TimeoutError
        return "timeout"
    return "connection_error"


class PassThrough:
    """One pooled session per event loop; `send` opens an upstream answer."""

    def __init__(self, *, connections: int, connect_timeout: float, read_timeout: float):
        self.connections = connections
        self.timeout = aiohttp.ClientTimeout(total=None, sock_connect=connect_timeout, sock_read=read_timeout)
        self._sessions: dict[asyncio.AbstractEventLoop, aiohttp.ClientSession] = {}

    def session(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        session = self._sessions.get(loop)
        if session is None or session.closed:
            for old in [old for old in self._sessions if old.is_closed()]:
                del self._sessions[old]
            session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self.connections, ttl_dns_cache=300),
                cookie_jar=aiohttp.DummyCookieJar(),
                trust_env=False,
                raise_for_status=False,
                skip_auto_headers=("User-Agent",),
            )
            self._sessions[loop] = session
        return session

    async def send(
        self,
        method: str,
        url: URL,
        *,
        headers: dict[str, str],
        body: bytes | RequestBody | None,
        max_response_bytes: int,
    ) -> Upstream:
        """Open the upstream answer. A `RequestBody` goes up as it arrives:
        with its declared `Content-Length`, or chunked; one that fails
        (`body.failure`) ends in `UpstreamError("connection_error")`, BigCommerce
        never having received a complete request."""
        if isinstance(body, RequestBody) and body.length is not None:
            headers = {**headers, "Content-Length": str(body.length)}
        try:
            response = await self.session().request(
                method,
                url,
                headers=headers,
                data=body if body else None,
                allow_redirects=False,
                timeout=self.timeout,
            )
        except (aiohttp.ClientError, TimeoutError, OSError, ValueError) as exc:
            # A fresh error, neither chained nor quoting: aiohttp's can hold the
            # request and its headers (the token); ValueError is a header aiohttp refused.
            raise UpstreamError(_error_kind(exc)) from None
        kept = {name: response.headers[name] for name in RESPONSE_HEADERS if name in response.headers}
        if "Location" in response.headers:
            kept["Location"] = response.headers["Location"]
        return Upstream(
            status=response.status,
            headers=kept,
            content_length=response.content_length,
            response=response,
            max_bytes=max_response_bytes,
        )

    async def close(self) -> None:
        for session in self._sessions.values():
            await session.close()
        self._sessions.clear()
