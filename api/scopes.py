"""What a service client may be given, and what a staff API token holds."""

from __future__ import annotations

STORES_READ = "stores:read"
CHECKS_WRITE = "checks:write"
CREDENTIALS_READ = "credentials:read"
PROXY_READ = "proxy:read"  # GET and HEAD through the BigCommerce proxy
PROXY_WRITE = "proxy:write"  # any other method through the proxy
EVENTS_READ = "events:read"

SCOPES = {
    STORES_READ: "Read stores' health (list, detail).",
    CHECKS_WRITE: "Queue a check of a store (“check now”).",
    CREDENTIALS_READ: "Receive a store's access token (every release is recorded).",
    PROXY_READ: "Call BigCommerce through the proxy with GET or HEAD.",
    PROXY_WRITE: "Call BigCommerce through the proxy with any other method.",
    EVENTS_READ: "Follow the event feed.",
}

# A staff API token does what it always did (read stores, check now) and no more:
# never a credential.
STAFF_TOKEN_SCOPES = frozenset({STORES_READ, CHECKS_WRITE})


class UnknownScope(ValueError):
    pass


def parse_scopes(values) -> list[str]:
    """Known scopes, deduplicated, in SCOPES' order; `UnknownScope` names the first unknown one."""
    wanted = [value.strip() for value in values if value and value.strip()]
    for value in wanted:
        if value not in SCOPES:
            raise UnknownScope(f"Unknown scope “{value}”. Scopes: {', '.join(SCOPES)}.")
    if not wanted:
        raise UnknownScope(f"Give at least one scope: {', '.join(SCOPES)}.")
    return [scope for scope in SCOPES if scope in wanted]
