"""A small synchronous client for the sandbox's ``/_sandbox/`` control API.

Example::

    control = SandboxControl("http://127.0.0.1:8100")
    store = control.add_store(profile={"name": "Test shop", "plan_name": "Pro"})
    account = control.add_account(store["store_hash"], scopes=list(PORTAL_REQUIRED))
    control.set_maintenance(store["store_hash"], True)
    control.revoke(account["client_id"])
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

import requests

from sandbox.scopes import PORTAL_REQUIRED


class SandboxControlError(RuntimeError):
    """The control API refused a request."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


class SandboxControl:
    """Wraps every control route; methods return the decoded JSON answer."""

    def __init__(self, base_url: str, *, timeout: float = 30.0,
                 session: requests.Session | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = session or requests.Session()

    # -- plumbing ------------------------------------------------------------------
    def _call(self, method: str, path: str, json: Any = None,
              params: dict[str, Any] | None = None) -> Any:
        response = self.session.request(method, f"{self.base_url}/_sandbox/{path}", json=json,
                                        params=params, timeout=self.timeout)
        if response.status_code >= 400:
            try:
                message = response.json().get("error", response.text)
            except ValueError:
                message = response.text
            raise SandboxControlError(response.status_code, message)
        if response.headers.get("Content-Type", "").startswith("application/json"):
            return response.json()
        return response.text

    def close(self) -> None:
        self.session.close()

    # -- global ------------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        return self._call("GET", "health")

    def routes(self) -> list[dict[str, Any]]:
        return self._call("GET", "routes")

    def settings(self, **changes: Any) -> dict[str, Any]:
        """Read, or change (``latency_ms``, ``maintenance``, ``enforce_quota``,
        ``auth_error_style``, ``strict_slashes``, ``allow_http_webhooks``), the global
        settings."""
        if changes:
            return self._call("PATCH", "settings", json=changes)
        return self._call("GET", "settings")

    def set_global_latency(self, ms: int) -> dict[str, Any]:
        return self.settings(latency_ms=ms)

    def set_global_maintenance(self, enabled: bool = True) -> dict[str, Any]:
        """Put every store into (or out of) maintenance: all answer 503."""
        return self.settings(maintenance=enabled)

    def enforce_quota(self, enabled: bool = True) -> dict[str, Any]:
        return self.settings(enforce_quota=enabled)

    def set_v2_time(self, mode: str | None, store_hash: str | None = None) -> dict[str, Any]:
        """``GET /v2/time`` as "observed" (no scope) or "docs" (Information & settings),
        for every store, or for one (``None`` there: follow the global mode)."""
        if store_hash is None:
            return self.settings(v2_time=mode)
        return self._call("PUT", f"stores/{store_hash}/v2-time", json={"mode": mode})

    def set_unknown_store(self, mode: str) -> dict[str, Any]:
        """How an unknown store hash is answered: "404", "401", "403" or "403_scope"."""
        return self.settings(unknown_store=mode)

    def refuse(self, store_hash: str, paths: list[str]) -> dict[str, Any]:
        """Answer these paths ("v3/customers", or "*") with a 403 that is not the scope error."""
        return self._call("PUT", f"stores/{store_hash}/refuse", json={"paths": paths})

    def add_global_fault(self, kind: str, **options: Any) -> list[dict[str, Any]]:
        return self._call("POST", "faults", json={"kind": kind, **options})["faults"]

    def clear_global_faults(self) -> None:
        self._call("DELETE", "faults")

    # -- stores ---------------------------------------------------------------------------
    def stores(self) -> list[str]:
        return self._call("GET", "stores")["stores"]

    def add_store(self, store_hash: str | None = None, *, profile: dict[str, Any] | None = None,
                  maintenance: bool = False, latency_ms: int = 0,
                  rate_limit_quota: int | None = None,
                  accounts: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """Create a store; answers its summary plus ``accounts`` (with secrets)."""
        body: dict[str, Any] = {"profile": profile or {}, "maintenance": maintenance,
                                "latency_ms": latency_ms, "accounts": accounts or []}
        if store_hash:
            body["store_hash"] = store_hash
        if rate_limit_quota:
            body["rate_limit_quota"] = rate_limit_quota
        return self._call("POST", "stores", json=body)

    def store(self, store_hash: str) -> dict[str, Any]:
        return self._call("GET", f"stores/{store_hash}")

    def delete_store(self, store_hash: str) -> None:
        self._call("DELETE", f"stores/{store_hash}")

    def update_profile(self, store_hash: str, **fields: Any) -> dict[str, Any]:
        """Change ``GET /v2/store`` fields, e.g. ``update_profile(h, plan_name="Pro")``."""
        return self._call("PATCH", f"stores/{store_hash}/profile", json=fields)

    def set_maintenance(self, store_hash: str, enabled: bool = True) -> dict[str, Any]:
        return self._call("PUT", f"stores/{store_hash}/maintenance", json={"enabled": enabled})

    def set_latency(self, store_hash: str, ms: int) -> dict[str, Any]:
        return self._call("PUT", f"stores/{store_hash}/latency", json={"ms": ms})

    def set_rate_limit(self, store_hash: str, quota: int | None,
                       window_ms: int | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"quota": quota}
        if window_ms is not None:
            body["window_ms"] = window_ms
        return self._call("PUT", f"stores/{store_hash}/rate-limit", json=body)

    def add_fault(self, store_hash: str, kind: str, **options: Any) -> list[dict[str, Any]]:
        """Arm a fault: ``kind`` in error/reset/stall/malformed/slow/rate_limit/degraded/
        plan_limit; options ``status``, ``probability``, ``count``, ``seconds``, ``headers``,
        ``path``, ``reset_ms``, ``retry_after_seconds`` (sandbox/faults.py)."""
        return self._call("POST", f"stores/{store_hash}/faults",
                          json={"kind": kind, **options})["faults"]

    def faults(self, store_hash: str) -> list[dict[str, Any]]:
        return self._call("GET", f"stores/{store_hash}/faults")["faults"]

    def clear_faults(self, store_hash: str) -> None:
        self._call("DELETE", f"stores/{store_hash}/faults")

    def hooks(self, store_hash: str) -> list[dict[str, Any]]:
        """The store's webhooks, whichever account registered them."""
        return self._call("GET", f"stores/{store_hash}/hooks")["hooks"]

    def send_webhook(self, store_hash: str, scope: str, *, data: dict[str, Any] | None = None,
                     signature: str = "valid", timestamp_offset: int = 0,
                     attempts: int | None = None) -> list[dict[str, Any]]:
        """Send ``scope`` to the store's matching hooks (in the background); answers the
        queued deliveries. ``signature``: ``valid``, ``wrong_secret`` or ``none``."""
        body: dict[str, Any] = {"scope": scope, "signature": signature,
                                "timestamp_offset": timestamp_offset}
        if data is not None:
            body["data"] = data
        if attempts is not None:
            body["attempts"] = attempts
        return self._call("POST", f"stores/{store_hash}/webhooks/send", json=body)["deliveries"]

    def deliveries(self, store_hash: str | None = None, scope: str | None = None
                   ) -> list[dict[str, Any]]:
        params = {k: v for k, v in (("store_hash", store_hash), ("scope", scope)) if v}
        return self._call("GET", "deliveries", params=params)["deliveries"]

    def clock(self) -> dict[str, Any]:
        """The clock hooks live by: ``{now, offset_seconds}``."""
        return self._call("GET", "clock")

    def advance_clock(self, seconds: float) -> list[dict[str, Any]]:
        """Move the clock forward; the owner e-mails of the hooks this deactivated."""
        return self._call("POST", "clock/advance", json={"seconds": seconds})["deactivated"]

    def emails(self, store_hash: str | None = None) -> list[dict[str, Any]]:
        """The e-mails BigCommerce would have sent store owners (hooks deactivated)."""
        params = {"store_hash": store_hash} if store_hash else None
        return self._call("GET", "emails", params=params)["emails"]

    def clear_deliveries(self) -> None:
        self._call("DELETE", "deliveries")

    def wait_for_deliveries(self, store_hash: str, count: int, *, timeout: float = 10.0,
                            scope: str | None = None) -> list[dict[str, Any]]:
        """Wait until at least ``count`` deliveries of the store are settled (delivered
        or failed); answer them all. Raises ``TimeoutError``."""
        deadline = time.monotonic() + timeout
        while True:
            listed = self.deliveries(store_hash, scope)
            settled = [d for d in listed if d["state"] != "pending"]
            if len(settled) >= count:
                return listed
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(settled)} of {count} deliveries settled in {timeout}s")
            time.sleep(0.05)

    def created(self, store_hash: str | None = None) -> Any:
        """What writes really created: a list for one store, else ``{hash: [...]}``."""
        if store_hash:
            return self._call("GET", f"stores/{store_hash}/created")["created"]
        return self._call("GET", "created")

    # -- accounts ---------------------------------------------------------------------------
    def accounts(self, store_hash: str) -> list[dict[str, Any]]:
        return self._call("GET", f"stores/{store_hash}/accounts")["accounts"]

    def add_account(self, store_hash: str, scopes: Iterable[str] = PORTAL_REQUIRED, *,
                    client_name: str | None = None, client_id: str | None = None,
                    client_secret: str | None = None,
                    access_token: str | None = None) -> dict[str, Any]:
        """Create an API account; answers ``client_id``, ``client_secret``, ``access_token``..."""
        body: dict[str, Any] = {"scopes": list(scopes)}
        for key, value in (("client_name", client_name), ("client_id", client_id),
                           ("client_secret", client_secret), ("access_token", access_token)):
            if value:
                body[key] = value
        return self._call("POST", f"stores/{store_hash}/accounts", json=body)

    def account(self, client_id: str) -> dict[str, Any]:
        return self._call("GET", f"accounts/{client_id}")

    def credentials_text(self, client_id: str) -> str:
        return self._call("GET", f"accounts/{client_id}/credentials.txt")

    def set_scopes(self, client_id: str, scopes: Iterable[str]) -> dict[str, Any]:
        return self._call("PUT", f"accounts/{client_id}/scopes", json={"scopes": list(scopes)})

    def revoke(self, client_id: str) -> dict[str, Any]:
        """Delete the API account (its token stops working; its webhooks are deleted)."""
        return self._call("DELETE", f"accounts/{client_id}")

    # -- logs, counters, bulk ---------------------------------------------------------------
    def log(self, limit: int | None = None, store_hash: str | None = None
            ) -> list[dict[str, Any]]:
        params: dict[str, Any] = {}
        if limit is not None:
            params["limit"] = limit
        if store_hash:
            params["store_hash"] = store_hash
        return self._call("GET", "log", params=params)["entries"]

    def clear_log(self) -> None:
        self._call("DELETE", "log")

    def stats(self) -> dict[str, Any]:
        return self._call("GET", "stats")

    def reset(self, **options: bool) -> dict[str, Any]:
        """Reset ``log``, ``counters``, ``windows`` (default on) and ``created``, ``faults``,
        ``deliveries``."""
        return self._call("POST", "reset", json=options)

    def bulk(self, count: int, prefix: str = "bench", *, scopes: Iterable[str] | None = None,
             plan_name: str = "Standard", start: int = 0,
             write_to: str | None = None) -> dict[str, Any]:
        """Create ``count`` stores with one account each. Answers ``stores`` as
        ``[store_hash, access_token, client_id]`` rows, or ``file`` when ``write_to`` is set
        (JSON lines)."""
        body: dict[str, Any] = {"count": count, "prefix": prefix, "plan_name": plan_name,
                                "start": start}
        if scopes is not None:
            body["scopes"] = list(scopes)
        if write_to:
            body["write_to"] = write_to
        return self._call("POST", "bulk", json=body)
