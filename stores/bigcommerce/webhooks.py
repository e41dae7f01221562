"""The calls behind BigCommerce's webhooks, made through `BigCommerceClient.request`.

- `list_hooks`, `create_hook`, `update_hook`, `delete_hook`: `/v3/hooks`. They
  need no scope: every API account manages its own hooks and sees only those.
- `ensure_hooks`: leave exactly one active hook per wanted scope pointing at
  our receiver, reusing, updating or deleting what the account already has.
- `remove_hooks`: delete the account's hooks that point at our receiver.
- `fetch_profile`: `GET /v2/store`, re-read when BigCommerce says it changed.

Our hooks are recognised by the receiver's path (the host may have moved);
the merchant's other hooks on the same account are never touched.

No Django here. A call that gets no 2xx answer raises `CallFailed`, whose
message holds the method, path and status, never a token.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from .client import BigCommerceClient, Call, parse_json
from .report import Exchange
from .storable import storable
from .validation import PROFILE_FIELDS

PAGE_SIZE = 250
MAX_PAGES = 20
TRANSIENT_STATUSES = frozenset({429, 500, 502, 503, 504})


class CallFailed(Exception):
    """BigCommerce gave no usable answer. `transient` says whether trying later may help."""

    def __init__(self, exchange: Exchange, detail: str = "") -> None:
        self.exchange = exchange
        self.status = exchange.status
        outcome = (
            exchange.status if exchange.status is not None else (exchange.error or "no answer")
        )
        super().__init__(
            f"{exchange.method} {exchange.path} -> {outcome}{': ' + detail if detail else ''}"
        )

    @property
    def transient(self) -> bool:
        return self.status is None or self.status in TRANSIENT_STATUSES


@dataclass(frozen=True)
class Hook:
    id: int
    scope: str
    destination: str
    is_active: bool = True
    headers: Mapping[str, str] | None = None


MISSING, ACTIVE, INACTIVE = "missing", "active", "inactive"


@dataclass
class Registration:
    """What `ensure_hooks` found (scope → "active", "inactive" or "missing"),
    left in place (scope → hook id) and had to do."""

    hooks: dict[str, int] = field(default_factory=dict)
    created: int = 0
    updated: int = 0
    deleted: int = 0
    found: dict[str, str] = field(default_factory=dict)
    reactivated: list[str] = field(default_factory=list)
    recreated: list[str] = field(default_factory=list)
    duplicates_removed: int = 0

    def changes(self) -> dict[str, Any]:
        """What was changed, for the record (empty when nothing was)."""
        changed: dict[str, Any] = {}
        if self.reactivated:
            changed["reactivated"] = list(self.reactivated)
        if self.recreated:
            changed["recreated"] = list(self.recreated)
        if self.duplicates_removed:
            changed["duplicates_removed"] = self.duplicates_removed
        others = self.updated - len(self.reactivated)
        if others > 0:
            changed["updated"] = others
        removed = self.deleted - self.duplicates_removed
        if removed > 0:
            changed["removed_unwanted"] = removed
        return changed


def same_receiver(destination: str, ours: str) -> bool:
    """Whether a hook's destination is our receiver (same path, any host)."""
    return destination == ours or urlsplit(destination).path == urlsplit(ours).path


def _data(call: Call) -> Any:
    """The decoded JSON of a 2xx answer, or `CallFailed`."""
    response = call.response
    if response is None or not 200 <= response.status < 300:
        raise CallFailed(call.exchange)
    try:
        return parse_json(response.body) if response.body else None
    except ValueError:
        raise CallFailed(call.exchange, "the answer is not JSON") from None


def _hook(item: Any, exchange: Exchange) -> Hook:
    if not isinstance(item, dict) or not isinstance(item.get("id"), int):
        raise CallFailed(exchange, "the answer is not a webhook")
    headers = item.get("headers")
    return Hook(
        id=item["id"],
        scope=str(item.get("scope") or ""),
        destination=str(item.get("destination") or ""),
        is_active=item.get("is_active") is not False,
        headers=dict(headers) if isinstance(headers, dict) else None,
    )


def _one_hook(call: Call) -> Hook:
    data = _data(call)
    return _hook(data.get("data") if isinstance(data, dict) else None, call.exchange)


async def list_hooks(
    client: BigCommerceClient, store_hash: str, *, access_token: str
) -> list[Hook]:
    """Every hook of this API account on the store (all pages)."""
    hooks: list[Hook] = []
    for page in range(1, MAX_PAGES + 1):
        call = await client.request(
            "GET", store_hash, f"/v3/hooks?limit={PAGE_SIZE}&page={page}", access_token=access_token
        )
        data = _data(call)
        items = data.get("data") if isinstance(data, dict) else None
        if not isinstance(items, list):
            raise CallFailed(call.exchange, "the answer has no list of webhooks")
        hooks.extend(_hook(item, call.exchange) for item in items)
        pagination = (data.get("meta") or {}).get("pagination") or {}
        total_pages = pagination.get("total_pages") if isinstance(pagination, dict) else None
        if len(items) < PAGE_SIZE or (isinstance(total_pages, int) and page >= total_pages):
            break
    return hooks


async def create_hook(
    client: BigCommerceClient,
    store_hash: str,
    *,
    access_token: str,
    scope: str,
    destination: str,
    headers: Mapping[str, str] | None = None,
) -> Hook:
    body: dict[str, Any] = {"scope": scope, "destination": destination, "is_active": True}
    if headers:
        body["headers"] = dict(headers)
    call = await client.request(
        "POST", store_hash, "/v3/hooks", access_token=access_token, json_body=body
    )
    return _one_hook(call)


async def update_hook(
    client: BigCommerceClient,
    store_hash: str,
    hook_id: int,
    *,
    access_token: str,
    changes: Mapping[str, Any],
) -> Hook:
    call = await client.request(
        "PUT",
        store_hash,
        f"/v3/hooks/{int(hook_id)}",
        access_token=access_token,
        json_body=dict(changes),
    )
    return _one_hook(call)


async def delete_hook(
    client: BigCommerceClient, store_hash: str, hook_id: int, *, access_token: str
) -> None:
    """Delete one hook; one that is already gone (404) counts as deleted."""
    call = await client.request(
        "DELETE", store_hash, f"/v3/hooks/{int(hook_id)}", access_token=access_token
    )
    if call.status == 404:
        return
    _data(call)


async def ensure_hooks(
    client: BigCommerceClient,
    store_hash: str,
    *,
    access_token: str,
    destination: str,
    scopes: Iterable[str],
    headers: Mapping[str, str] | None = None,
) -> Registration:
    """One active hook per scope at `destination`, with `headers`; safe to repeat.

    1. List the account's hooks and keep those pointing at our receiver.
    2. Per wanted scope, keep the best match (exact destination, active, oldest),
       update it if its destination, headers or activity differ (re-activating
       a hook BigCommerce deactivated), delete the other matches (duplicates);
       create one if there is none.
    3. Delete our hooks for scopes no longer wanted.
    """
    wanted = list(dict.fromkeys(scopes))
    want_headers = dict(headers or {})
    ours = [
        h
        for h in await list_hooks(client, store_hash, access_token=access_token)
        if same_receiver(h.destination, destination)
    ]
    result = Registration()
    extras: list[Hook] = [h for h in ours if h.scope not in wanted]
    for scope in wanted:
        matches = sorted(
            (h for h in ours if h.scope == scope),
            key=lambda h: (h.destination != destination, not h.is_active, h.id),
        )
        if not matches:
            result.found[scope] = MISSING
            result.recreated.append(scope)
            hook = await create_hook(
                client,
                store_hash,
                access_token=access_token,
                scope=scope,
                destination=destination,
                headers=want_headers,
            )
            result.created += 1
        else:
            hook, *duplicates = matches
            extras.extend(duplicates)
            result.duplicates_removed += len(duplicates)
            result.found[scope] = ACTIVE if hook.is_active else INACTIVE
            changes: dict[str, Any] = {}
            if hook.destination != destination:
                changes["destination"] = destination
            if not hook.is_active:
                # BigCommerce deactivates a hook after 90 days without deliveries and
                # after ~48 h of failed ones ("set `is_active` back to `true`").
                changes["is_active"] = True
                result.reactivated.append(scope)
            if dict(hook.headers or {}) != want_headers:
                changes["headers"] = want_headers
            if changes:
                hook = await update_hook(
                    client, store_hash, hook.id, access_token=access_token, changes=changes
                )
                result.updated += 1
        result.hooks[scope] = hook.id
    for hook in extras:
        await delete_hook(client, store_hash, hook.id, access_token=access_token)
        result.deleted += 1
    return result


async def remove_hooks(
    client: BigCommerceClient, store_hash: str, *, access_token: str, destination: str
) -> int:
    """Delete every hook of the account that points at our receiver; how many went."""
    ours = [
        h
        for h in await list_hooks(client, store_hash, access_token=access_token)
        if same_receiver(h.destination, destination)
    ]
    await asyncio.gather(
        *(delete_hook(client, store_hash, h.id, access_token=access_token) for h in ours)
    )
    return len(ours)


async def fetch_profile(
    client: BigCommerceClient, store_hash: str, *, access_token: str
) -> dict[str, Any]:
    """The store profile's fields the portal keeps (`GET /v2/store`; see
    `validation.PROFILE_FIELDS`, the same as a check keeps)."""
    call = await client.request("GET", store_hash, "/v2/store", access_token=access_token)
    data = _data(call)
    if not isinstance(data, dict):
        raise CallFailed(call.exchange, "the profile is not a JSON object")
    return storable({key: data[key] for key in PROFILE_FIELDS if key in data})
