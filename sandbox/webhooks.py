"""Webhook deliveries: the sandbox sends signed events to registered hooks, as BigCommerce does.

When a store's profile changes (``PATCH /_sandbox/stores/{hash}/profile``) the sandbox
sends ``store/information/updated``; ``POST /_sandbox/stores/{hash}/webhooks/send``
sends any scope on demand. For each event:

* every active hook of the store whose scope matches (exactly, or a ``prefix/*``
  wildcard) gets one delivery, signed with the Client secret of the API account
  that registered the hook (Standard Webhooks: ``webhook-id``, ``webhook-timestamp``,
  ``webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">``, the key
  being the secret's bytes), with the hook's custom headers;
* the body is BigCommerce's payload: ``{scope, store_id, data{type,id}, hash,
  created_at, producer: "stores/<hash>"}``;
* it is sent in the background (the control call does not wait); an attempt that
  gets no 2xx answer is retried after a short pause with the same ``webhook-id``,
  re-signed with a fresh timestamp;
* it is recorded: ``GET /_sandbox/deliveries`` lists deliveries and their attempts
  (never a secret);
* it counts as the hook's activity, and a delivery whose attempts all fail marks
  the hook as failing: :mod:`sandbox.hook_lifecycle` deactivates hooks after 90
  days without events or 48 hours of failures, on the sandbox's movable clock,
  and records the e-mail BigCommerce would send the owner.

For tests of the receiving side a send can be spoiled on purpose: ``signature``
``"wrong_secret"`` (signed with another key) or ``"none"`` (no signature headers),
and ``timestamp_offset`` (seconds; e.g. -600 for a stale timestamp).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import secrets
import time
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import aiohttp

if TYPE_CHECKING:
    from sandbox.state import SandboxState, Store

SIGNATURES = ("valid", "wrong_secret", "none")
#: Pauses before the 2nd and 3rd attempt (BigCommerce waits minutes; a sandbox should not).
RETRY_DELAYS = (0.5, 2.0)
MAX_ATTEMPTS = 1 + len(RETRY_DELAYS)
ATTEMPT_TIMEOUT = 10.0
KEPT_DELIVERIES = 1000
USER_AGENT = "BigCommerce-Sandbox-Webhooks/1.0"


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256(secret bytes, "{id}.{timestamp}.{body}")>``."""
    digest = hmac.new(secret.encode(), f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256)
    return "v1," + base64.b64encode(digest.digest()).decode()


def scope_matches(hook_scope: str, scope: str) -> bool:
    if hook_scope == scope:
        return True
    return hook_scope.endswith("/*") and scope.startswith(hook_scope[:-1])


def payload(store: Store, scope: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
    """The callback body BigCommerce sends for ``scope``."""
    store_id = store.profile.get("store_id") or 0
    if data is None:
        kind = scope.split("/")[1] if scope.count("/") >= 2 else "store"
        data = {"type": "store" if kind in ("information", "app") else kind, "id": store_id}
    created_at = int(time.time())
    digest = hashlib.sha1(  # BigCommerce's event hash, not a security measure
        json.dumps([scope, data, created_at], sort_keys=True).encode(), usedforsecurity=False
    ).hexdigest()
    return {
        "scope": scope,
        "store_id": str(store_id),
        "data": data,
        "hash": digest,
        "created_at": created_at,
        "producer": f"stores/{store.hash}",
    }


@dataclass(slots=True)
class Delivery:
    """One event sent to one hook, with every attempt."""

    id: int
    webhook_id: str
    store_hash: str
    hook_id: int
    client_id: str
    scope: str
    destination: str
    body: bytes
    headers: dict[str, str]
    signature: str = "valid"
    timestamp_offset: int = 0
    max_attempts: int = MAX_ATTEMPTS
    state: str = "pending"  # pending | delivered | failed
    created_at: float = field(default_factory=time.time)
    attempts: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "webhook_id": self.webhook_id,
            "store_hash": self.store_hash,
            "hook_id": self.hook_id,
            "client_id": self.client_id,
            "scope": self.scope,
            "destination": self.destination,
            "payload": json.loads(self.body),
            "signature": self.signature,
            "timestamp_offset": self.timestamp_offset,
            "state": self.state,
            "created_at": self.created_at,
            "attempts": list(self.attempts),
        }


class Outbox:
    """Sends deliveries from the server's event loop and remembers them."""

    def __init__(self, state: SandboxState, *,
                 retry_delays: tuple[float, ...] = RETRY_DELAYS) -> None:
        self._state = state
        self.retry_delays = retry_delays
        self.deliveries: deque[Delivery] = deque(maxlen=KEPT_DELIVERIES)
        self._session: aiohttp.ClientSession | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._next_id = 0

    # -- sending -------------------------------------------------------------------
    def emit(self, store: Store, scope: str, data: dict[str, Any] | None = None, *,
             signature: str = "valid", timestamp_offset: int = 0,
             attempts: int | None = None) -> list[Delivery]:
        """Queue one delivery per matching active hook; must run on the server's loop."""
        if signature not in SIGNATURES:
            raise ValueError(f"signature must be one of {', '.join(SIGNATURES)}")
        max_attempts = MAX_ATTEMPTS if attempts is None else attempts
        if not 1 <= max_attempts <= 1 + len(self.retry_delays):
            raise ValueError(f"attempts must be between 1 and {1 + len(self.retry_delays)}")
        body = json.dumps(payload(store, scope, data), separators=(",", ":")).encode()
        queued = []
        for hook in list(store.hooks.values()):
            account = self._state.accounts.get(hook["client_id"])
            if not hook.get("is_active", True) or account is None:
                continue
            if not scope_matches(hook["scope"], scope):
                continue
            self._next_id += 1
            delivery = Delivery(
                id=self._next_id, webhook_id=f"msg_{secrets.token_hex(12)}", store_hash=store.hash,
                hook_id=hook["id"], client_id=account.client_id, scope=scope,
                destination=hook["destination"], body=body,
                headers={str(k): str(v) for k, v in (hook.get("headers") or {}).items()},
                signature=signature, timestamp_offset=timestamp_offset, max_attempts=max_attempts,
            )
            self.deliveries.append(delivery)
            key = account.client_secret if signature == "valid" else secrets.token_hex(32)
            task = asyncio.get_running_loop().create_task(self._send(delivery, key))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            queued.append(delivery)
        return queued

    def _session_for_loop(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=ATTEMPT_TIMEOUT),
                cookie_jar=aiohttp.DummyCookieJar(),
            )
        return self._session

    async def _send(self, delivery: Delivery, key: str) -> None:
        life = self._state.hook_life
        life.touched(delivery.hook_id)
        first_attempt_at = life.now()
        await self._attempts(delivery, key)
        life.delivery_settled(delivery.store_hash, delivery.hook_id,
                              delivered=delivery.state == "delivered",
                              first_attempt_at=first_attempt_at)

    async def _attempts(self, delivery: Delivery, key: str) -> None:
        for attempt in range(delivery.max_attempts):
            if attempt:
                await asyncio.sleep(self.retry_delays[attempt - 1])
            timestamp = int(time.time()) + delivery.timestamp_offset
            headers = {**delivery.headers, "Content-Type": "application/json",
                       "User-Agent": USER_AGENT}
            if delivery.signature != "none":
                headers.update({
                    "webhook-id": delivery.webhook_id,
                    "webhook-timestamp": str(timestamp),
                    "webhook-signature": sign(key, delivery.webhook_id, timestamp, delivery.body),
                })
            started = time.perf_counter()
            status: int | None = None
            error = ""
            try:
                async with self._session_for_loop().post(
                    delivery.destination, data=delivery.body, headers=headers, allow_redirects=False
                ) as response:
                    await response.read()
                    status = response.status
            except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                error = type(exc).__name__
            delivery.attempts.append({
                "at": time.time(), "status": status, "error": error,
                "elapsed_ms": round((time.perf_counter() - started) * 1000, 2),
            })
            if status is not None and 200 <= status < 300:
                delivery.state = "delivered"
                return
        delivery.state = "failed"

    # -- reading and housekeeping --------------------------------------------------
    def listed(self, *, store_hash: str | None = None, scope: str | None = None
               ) -> list[dict[str, Any]]:
        return [d.to_dict() for d in self.deliveries
                if (store_hash is None or d.store_hash == store_hash)
                and (scope is None or d.scope == scope)]

    def clear(self) -> None:
        self.deliveries.clear()

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None
