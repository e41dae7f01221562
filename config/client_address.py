"""The client's address, decided once: the throttles, django-axes and the
request log all ask `client_ip(request)`.

Behind a load balancer every request comes from the balancer's address
(REMOTE_ADDR); the client's is in `X-Forwarded-For`, which each proxy extends
on the right with the address it received the request from. Anything to the
left of what our own proxies wrote was sent by the client and can be forged,
so the header is read from the right, exactly `TRUSTED_PROXY_COUNT` entries
deep:

    client → proxy A → proxy B → portal          (TRUSTED_PROXY_COUNT = 2)
    X-Forwarded-For: <forged>, <client>, <A>      REMOTE_ADDR = B
                               ^^^^^^^^ the second from the right

With no trusted proxies (the default) the header is ignored entirely: a client
cannot pick its own address. A header shorter than the number of trusted
proxies, or an entry that is not an IP address, means the request did not come
through them as configured: REMOTE_ADDR is used.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest


@lru_cache(maxsize=1024)  # the same few addresses call again and again
def _address(value: str) -> str | None:
    """A normalised IP address, or None (a port, a name, "unknown", garbage)."""
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def client_ip_from(remote_addr: str, forwarded_for: str, trusted_proxies: int) -> str:
    """The pure rule, for tests and for callers without a request."""
    peer = _address(remote_addr or "") or (remote_addr or "")
    if trusted_proxies <= 0 or not forwarded_for:
        return peer
    hops = [hop.strip() for hop in forwarded_for.split(",")]
    if len(hops) < trusted_proxies:
        return peer
    return _address(hops[-trusted_proxies]) or peer


def client_ip(request: HttpRequest) -> str:
    """The address of whoever sent this request, as far as our own proxies vouch."""
    return client_ip_from(
        request.META.get("REMOTE_ADDR", ""),
        request.META.get("HTTP_X_FORWARDED_FOR", ""),
        settings.TRUSTED_PROXY_COUNT,
    )
