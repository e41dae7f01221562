"""Where Violet's outgoing webhooks may go: public web addresses only.

An endpoint's URL is set by staff, but a mistake or a compromised staff
account must not turn deliveries into requests to Violet's own network (the
database, a cloud metadata service at 169.254.169.254, an admin port on
loopback). So:

- at save time (`url_problem`): https only in production; no address that is
  not globally routable (loopback, private, link-local — which includes the
  metadata service —, carrier-grade NAT, reserved, multicast, IPv6
  site-local), whether typed as an address or what the name resolves to now,
  an IPv6 address wrapping an IPv4 one (NAT64, 6to4, IPv4-compatible or
  -mapped) judged by the IPv4 address it leads to;
- at delivery (`PinnedSession`): the name is resolved again, every address
  checked, and the connection is made to the checked address itself (no
  second lookup a rebinding DNS server could answer differently); TLS still
  verifies the certificate against the name.

`WEBHOOK_ENDPOINTS_ALLOW_LOCAL` (on outside production) also lets
`http://` and loopback through, for the demo and the tests' local receivers;
private and link-local addresses are refused even then.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError
from urllib3.util import connection

LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}


class DestinationRefused(NewConnectionError):
    """The endpoint's name resolved to an address deliveries may not go to."""

    def __init__(self, conn, message: str):
        super().__init__(conn, message)
        self.message = message


def _allow_local() -> bool:
    return bool(settings.WEBHOOK_ENDPOINTS_ALLOW_LOCAL)


# IPv6 forms that carry an IPv4 address in their last 32 bits (or, for 6to4,
# bits 16-48) and reach it: NAT64 (RFC 6052's well-known prefix and RFC 8215's
# local-use one), 6to4 (2002::/16), IPv4-compatible (::a.b.c.d, deprecated)
# and IPv4-mapped (::ffff:a.b.c.d). `[64:ff9b::a9fe:a9fe]` is the metadata
# service through a NAT64 gateway; ipaddress calls it global.
_NAT64 = (ipaddress.IPv6Network("64:ff9b::/96"), ipaddress.IPv6Network("64:ff9b:1::/48"))
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
# Deprecated site-local (RFC 3879); ipaddress (3.11) calls it global.
_SITE_LOCAL = ipaddress.IPv6Network("fec0::/10")


def embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address wraps and leads to, or None."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if any(ip in network for network in _NAT64) or ip in _IPV4_COMPATIBLE:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def address_problem(address: str) -> str | None:
    """Why deliveries may not go to this IP address, or None.

    An IPv6 address that wraps an IPv4 one is judged by the IPv4 address it
    leads to; then only what `ipaddress` calls global (and not multicast,
    reserved or site-local) is allowed, loopback too where local is allowed."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return "it is not an IP address"
    if isinstance(ip, ipaddress.IPv6Address):
        inner = embedded_ipv4(ip)
        if inner is not None:
            ip = inner
        elif ip in _SITE_LOCAL:
            return "it is a private network address (IPv6 site-local)"
    if ip.is_loopback:
        return None if _allow_local() else "it is a loopback address (this machine)"
    if ip.is_link_local:
        return "it is a link-local address (e.g. a cloud metadata service)"
    if ip.is_private:
        return "it is a private network address"
    if not ip.is_global or ip.is_multicast or ip.is_reserved or ip.is_unspecified:
        return "it is not a public internet address"
    return None


def resolve(host: str, port: int) -> list[str]:
    """Every address the name resolves to now (socket.gaierror if none)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))


def url_problem(url: str, *, resolve_name: bool = True) -> str | None:
    """Why deliveries may not go to this URL, in staff's words, or None.

    A name that does not resolve now is not refused (DNS may be down); the
    delivery checks again."""
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return "The URL is not valid."
    allowed = {"https", "http"} if _allow_local() else {"https"}
    if parts.scheme not in allowed:
        return "Use an https:// address."
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        return "The URL has no host name."
    if parts.username is not None or parts.password is not None:
        return "Put no user name or password in the URL."
    if host in LOCAL_NAMES or host.endswith(".localhost"):
        return None if _allow_local() else "Deliveries cannot go to this machine (localhost)."
    try:
        ipaddress.ip_address(host)
        addresses = [host]
    except ValueError:
        if not resolve_name:
            return None
        try:
            addresses = resolve(host, port)
        except (socket.gaierror, UnicodeError):
            return None
    for address in addresses:
        problem = address_problem(address)
        if problem:
            return f"Deliveries cannot go to {address}: {problem}."
    return None


class _PinnedConnectionMixin:
    """Resolve once, check every address, connect to a checked one."""

    def _new_conn(self):
        host = self._dns_host.rstrip(".")
        try:
            addresses = resolve(host, self.port)
        except socket.gaierror as error:
            raise NewConnectionError(self, f"Could not resolve the endpoint's host name: {error}") from error
        for address in addresses:
            problem = address_problem(address)
            if problem:
                raise DestinationRefused(self, f"The endpoint's host resolves to {address}: {problem}.")
        last_error: OSError | None = None
        for address in addresses:
            try:
                return connection.create_connection(
                    (address, self.port),
                    self.timeout,
                    source_address=self.source_address,
                    socket_options=self.socket_options,
                )
            except TimeoutError as error:
                raise ConnectTimeoutError(self, f"Connection to {host} timed out.") from error
            except OSError as error:
                last_error = error
        raise NewConnectionError(self, f"Failed to establish a new connection: {last_error}")


class _PinnedHTTPConnection(_PinnedConnectionMixin, HTTPConnection):
    pass


class _PinnedHTTPSConnection(_PinnedConnectionMixin, HTTPSConnection):
    pass


class _PinnedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _PinnedHTTPConnection


class _PinnedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _PinnedHTTPSConnection


class _PinnedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _PinnedHTTPPool, "https": _PinnedHTTPSPool}


def pinned_session() -> requests.Session:
    """A session whose connections go only to checked public addresses (no proxies from the environment)."""
    session = requests.Session()
    session.trust_env = False
    adapter = _PinnedAdapter()
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def refused_reason(error: requests.ConnectionError) -> str | None:
    """The message of a DestinationRefused inside a requests error, or None."""
    seen = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, DestinationRefused):
            return current.message
        reason = getattr(current, "reason", None)
        nested = current.args[0] if current.args and isinstance(current.args[0], BaseException) else None
        current = reason if isinstance(reason, BaseException) else nested or current.__cause__ or current.__context__
    return None
