"""Everything the sandbox remembers: stores, API accounts, store data, logs.

All state lives in memory and is mutated only on the server's event loop (the
control API runs there too), so no locking is needed. Lookups by store hash, by
access token and by client id are single dict lookups.
"""

from __future__ import annotations

import copy
import hashlib
import json
import secrets
import string
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sandbox import scopes as sc
from sandbox.faults import FaultSet, RateWindow, quota_for_plan
from sandbox.hook_lifecycle import HookLifecycle
from sandbox.webhooks import Outbox

ALPHANUM = string.ascii_lowercase + string.digits
DEFAULT_LOG_SIZE = 10_000

#: Fields of ``GET /v2/store`` a new store gets unless told otherwise.
PROFILE_TEMPLATE: dict[str, Any] = {
    "id": "",
    "account_uuid": "00000000-0000-4000-8000-000000000000",
    "domain": "",
    "secure_url": "",
    "control_panel_base_url": "",
    "status": "live",
    "name": "",
    "first_name": "Sandy",
    "last_name": "Box",
    "address": "1 Loopback Way, Austin, TX 78701",
    "country": "United States",
    "country_code": "US",
    "infrastructure_region": "us-central1",
    "phone": "555-010-0000",
    "admin_email": "",
    "order_email": "",
    "favicon_url": "https://cdn11.bigcommerce.com/r-sandbox/img/bc_favicon.ico",
    "timezone": {
        "name": "America/Chicago",
        "raw_offset": -21600,
        "dst_offset": -18000,
        "dst_correction": True,
        "date_format": {"display": "M jS Y", "export": "M jS Y",
                        "extended_display": "M jS Y @ g:i A"},
    },
    "language": "en",
    "currency": "USD",
    "currency_symbol": "$",
    "decimal_separator": ".",
    "thousands_separator": ",",
    "decimal_places": 2,
    "currency_symbol_location": "left",
    "weight_units": "Ounces",
    "dimension_units": "Inches",
    "dimension_decimal_places": 2,
    "dimension_decimal_token": ".",
    "dimension_thousands_token": ",",
    "plan_name": "Standard",
    "plan_level": "Standard",
    "plan_is_trial": False,
    "industry": "Apparel & Clothing",
    "logo": [],
    "is_price_entered_with_tax": False,
    "store_id": 0,
    "default_channel_id": 1,
    "default_site_id": 1000,
    "active_comparison_modules": [],
    "features": {
        "stencil_enabled": True,
        "sitewidehttps_enabled": True,
        "facebook_catalog_id": "",
        "checkout_type": "optimized",
        "wishlists_enabled": True,
        "graphql_storefront_api_enabled": True,
        "shopper_consent_tracking_enabled": True,
        "multi_storefront_enabled": False,
        "storefront_limits": {"active": 1, "total_including_inactive": 1},
    },
}

#: Products every store lists unless its fixture says otherwise (shared, never mutated).
DEFAULT_PRODUCTS: tuple[dict[str, Any], ...] = (
    {"id": 111, "name": "[Sample] Orbit Terrarium - Large", "type": "physical", "sku": "OTL",
     "price": 109.0, "weight": 1.0, "inventory_level": 12, "is_visible": True},
    {"id": 112, "name": "[Sample] Able Brewing System", "type": "physical", "sku": "ABS",
     "price": 225.0, "weight": 3.0, "inventory_level": 4, "is_visible": True},
)


class SandboxError(Exception):
    """A control-API request that cannot be honoured; ``status`` is its HTTP status."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def random_alnum(length: int = 31) -> str:
    """A random ``[a-z0-9]`` string (the shape of tokens and client ids)."""
    return "".join(secrets.choice(ALPHANUM) for _ in range(length))


def derived(seed: str, purpose: str, length: int) -> str:
    """A deterministic lowercase-hex string derived from ``seed`` (for bulk stores)."""
    digest = hashlib.sha256(f"bigcommerce-sandbox:{purpose}:{seed}".encode()).hexdigest()
    return digest[:length]


@dataclass(slots=True)
class Account:
    """A store-level API account: what a merchant copies out of the control panel."""

    store_hash: str
    client_name: str
    client_id: str
    client_secret: str
    access_token: str
    scopes: frozenset[str]
    created_at: int = field(default_factory=lambda: int(time.time()))

    def to_dict(self, *, secrets_included: bool = True) -> dict[str, Any]:
        data: dict[str, Any] = {
            "store_hash": self.store_hash,
            "client_name": self.client_name,
            "client_id": self.client_id,
            "scopes": sorted(self.scopes),
            "created_at": self.created_at,
            "api_path": api_path(self.store_hash),
        }
        if secrets_included:
            data["client_secret"] = self.client_secret
            data["access_token"] = self.access_token
        return data

    def credentials_text(self) -> str:
        """The ``.txt`` BigCommerce offers for download when the account is created."""
        return (
            f"ACCESS TOKEN: {self.access_token}\n"
            f"CLIENT NAME: {self.client_name}\n"
            f"API PATH: {api_path(self.store_hash)}\n"
            f"CLIENT ID: {self.client_id}\n"
            f"CLIENT SECRET: {self.client_secret}\n"
        )


def api_path(store_hash: str) -> str:
    """The API path BigCommerce shows (always the real host; the portal only takes the hash)."""
    return f"https://api.bigcommerce.com/stores/{store_hash}/v3/"


@dataclass(slots=True)
class Store:
    """One store: its profile, its switches and the data its API serves."""

    hash: str
    profile: dict[str, Any]
    maintenance: bool = False
    latency_ms: int = 0
    #: ``GET /v2/time``: "observed" (no scope), "docs" (Information & settings), None: global.
    v2_time: str | None = None
    #: Paths (after the version, e.g. "v3/customers"; "*" = all) answered with a 403
    #: that is not the scope error (BigCommerce's other causes of 403).
    refuse: list[str] = field(default_factory=list)
    faults: FaultSet = field(default_factory=FaultSet)
    window: RateWindow = field(default_factory=RateWindow)
    quota_override: int | None = None
    account_ids: list[str] = field(default_factory=list)
    products: list[dict[str, Any]] | tuple[dict[str, Any], ...] = DEFAULT_PRODUCTS
    currencies: list[dict[str, Any]] | None = None
    customers: list[dict[str, Any]] = field(default_factory=list)
    orders: list[dict[str, Any]] = field(default_factory=list)
    carts: dict[str, dict[str, Any]] = field(default_factory=dict)
    hooks: dict[int, dict[str, Any]] = field(default_factory=dict)
    created: list[dict[str, Any]] = field(default_factory=list)
    _profile_body: bytes | None = None

    def __post_init__(self) -> None:
        self.refresh_quota()

    def refresh_quota(self) -> None:
        """Re-derive the window quota from the override or the plan."""
        self.window.quota = self.quota_override or quota_for_plan(
            self.profile.get("plan_level"), self.profile.get("plan_name")
        )

    def profile_body(self) -> bytes:
        """``GET /v2/store``'s body, encoded once per profile change."""
        if self._profile_body is None:
            self._profile_body = json.dumps(self.profile).encode()
        return self._profile_body

    def update_profile(self, fields: dict[str, Any]) -> None:
        """Merge ``fields`` into the profile (nested objects merge one level deep)."""
        if "id" in fields and fields["id"] != self.hash:
            raise SandboxError("a store's id (its hash) cannot change")
        profile = dict(self.profile)
        for key, value in fields.items():
            old = profile.get(key)
            if isinstance(old, dict) and isinstance(value, dict):
                merged = copy.deepcopy(old)
                merged.update(value)
                profile[key] = merged
            else:
                profile[key] = value
        self.profile = profile
        self._profile_body = None
        self.refresh_quota()

    def record(self, kind: str, object_id: Any, account: Account, via: str) -> None:
        """Note that a write really created (or changed) something."""
        self.created.append({
            "kind": kind,
            "id": object_id,
            "client_id": account.client_id,
            "via": via,
            "at": time.time(),
        })

    def summary(self) -> dict[str, Any]:
        """Control-API view of the store's switches and counts."""
        return {
            "store_hash": self.hash,
            "profile": self.profile,
            "maintenance": self.maintenance,
            "latency_ms": self.latency_ms,
            "v2_time": self.v2_time,
            "refuse": list(self.refuse),
            "faults": self.faults.to_list(),
            "rate_limit": {"quota": self.window.quota, "window_ms": self.window.window_ms,
                           "used": self.window.used},
            "accounts": list(self.account_ids),
            "counts": {
                "products": len(self.products),
                "customers": len(self.customers),
                "orders": len(self.orders),
                "carts": len(self.carts),
                "hooks": len(self.hooks),
                "created": len(self.created),
            },
        }


@dataclass(slots=True)
class Settings:
    """Switches that apply to every store."""

    latency_ms: int = 0
    #: Every store answers 503 (a platform-wide maintenance window).
    maintenance: bool = False
    enforce_quota: bool = False
    #: ``"json"`` (v3 error body) or ``"text"`` (plain text, as some real 401s are).
    auth_error_style: str = "json"
    #: Answer ``403`` to paths with ``//`` or a trailing ``/`` (observed on BigCommerce).
    strict_slashes: bool = True
    #: Accept ``http://`` webhook destinations (BigCommerce wants https; tests serve http).
    allow_http_webhooks: bool = False
    #: ``GET /v2/time``: "observed" (needs no scope, as recorded on real stores) or "docs"
    #: (needs Information & settings, as BigCommerce's API-accounts page says).
    v2_time: str = "observed"
    #: How an unknown store hash is answered (undocumented): "404", "401", "403" (a 403
    #: that is not the scope error) or "403_scope" (the scope error).
    unknown_store: str = "404"

    def to_dict(self) -> dict[str, Any]:
        return {
            "latency_ms": self.latency_ms,
            "maintenance": self.maintenance,
            "enforce_quota": self.enforce_quota,
            "auth_error_style": self.auth_error_style,
            "strict_slashes": self.strict_slashes,
            "allow_http_webhooks": self.allow_http_webhooks,
            "v2_time": self.v2_time,
            "unknown_store": self.unknown_store,
        }


V2_TIME_MODES = ("observed", "docs")
UNKNOWN_STORE_MODES = ("404", "401", "403", "403_scope", "404_store")


def check_mode(name: str, value: Any, modes: tuple[str, ...]) -> str:
    """``value`` if it is one of ``modes``, else a 400 :class:`SandboxError`."""
    if value not in modes:
        raise SandboxError(f"{name} must be one of {list(modes)}, not {value!r}")
    return value


class SandboxState:
    """The registry of stores and accounts plus logs and counters."""

    def __init__(self, *, log_size: int = DEFAULT_LOG_SIZE) -> None:
        self.stores: dict[str, Store] = {}
        self.tokens: dict[str, Account] = {}
        self.accounts: dict[str, Account] = {}
        self.settings = Settings()
        self.global_faults = FaultSet()
        self.log: deque[tuple[Any, ...]] = deque(maxlen=log_size)
        self.status_counts: Counter[int] = Counter()
        self.requests = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.started = time.time()
        self._next_id = 100
        #: Webhook deliveries: sent from the server's loop, remembered here.
        self.outbox = Outbox(self)
        #: The clock hooks live by, their deactivation, and the owner e-mails.
        self.hook_life = HookLifecycle(self)

    # -- ids ---------------------------------------------------------------
    def next_id(self) -> int:
        """A fresh numeric id for orders, customers and hooks."""
        self._next_id += 1
        return self._next_id

    # -- stores --------------------------------------------------------------
    def add_store(self, profile: dict[str, Any] | None = None, *, store_hash: str | None = None,
                  **switches: Any) -> Store:
        """Create a store from (partial) profile fields; missing fields get defaults."""
        fields = dict(profile or {})
        store_hash = store_hash or fields.get("id") or random_alnum(8)
        if not store_hash or any(c not in ALPHANUM for c in store_hash):
            raise SandboxError(f"store hash must be [a-z0-9]+, not {store_hash!r}")
        if store_hash in self.stores:
            raise SandboxError(f"store {store_hash} already exists", 409)
        fields["id"] = store_hash
        store = Store(hash=store_hash, profile=default_profile(store_hash, len(self.stores) + 1))
        store.update_profile(fields)
        for name, value in switches.items():
            if name not in {"maintenance", "latency_ms", "quota_override", "v2_time", "refuse"}:
                raise SandboxError(f"unknown store switch {name!r}")
            setattr(store, name, value)
        store.refresh_quota()
        self.stores[store_hash] = store
        return store

    def store(self, store_hash: str) -> Store:
        """The store with this hash, or a 404 :class:`SandboxError`."""
        try:
            return self.stores[store_hash]
        except KeyError:
            raise SandboxError(f"no store {store_hash}", 404) from None

    def delete_store(self, store_hash: str) -> None:
        store = self.store(store_hash)
        for client_id in list(store.account_ids):
            self.revoke(client_id)
        del self.stores[store_hash]

    # -- accounts --------------------------------------------------------------
    def add_account(self, store_hash: str, scopes: list[str] | tuple[str, ...] | frozenset[str],
                    *, client_name: str | None = None, client_id: str | None = None,
                    client_secret: str | None = None, access_token: str | None = None) -> Account:
        """Create an API account on a store; values not given get BigCommerce's shapes."""
        store = self.store(store_hash)
        account = Account(
            store_hash=store_hash,
            client_name=client_name or f"Sandbox account {len(store.account_ids) + 1}",
            client_id=client_id or random_alnum(31),
            client_secret=client_secret or secrets.token_hex(32),
            access_token=access_token or random_alnum(31),
            scopes=sc.normalise(scopes),
        )
        if account.access_token in self.tokens:
            raise SandboxError("that access token is already in use", 409)
        if account.client_id in self.accounts:
            raise SandboxError("that client id is already in use", 409)
        self.tokens[account.access_token] = account
        self.accounts[account.client_id] = account
        store.account_ids.append(account.client_id)
        return account

    def account(self, client_id: str) -> Account:
        try:
            return self.accounts[client_id]
        except KeyError:
            raise SandboxError(f"no API account {client_id}", 404) from None

    def set_scopes(self, client_id: str, scopes: list[str]) -> Account:
        """Change an account's scopes (as the control panel's Edit page does)."""
        account = self.account(client_id)
        account.scopes = sc.normalise(scopes)
        return account

    def revoke(self, client_id: str) -> Account:
        """Delete an API account: its token stops working and its webhooks go too."""
        account = self.account(client_id)
        del self.accounts[client_id]
        self.tokens.pop(account.access_token, None)
        store = self.stores.get(account.store_hash)
        if store is not None:
            store.account_ids.remove(client_id)
            for hook_id in [h for h, hook in store.hooks.items() if hook["client_id"] == client_id]:
                del store.hooks[hook_id]
        return account

    # -- bulk ---------------------------------------------------------------------
    def bulk_create(self, count: int, prefix: str = "bench", *, scopes: list[str] | None = None,
                    plan_name: str = "Standard", start: int = 0) -> list[tuple[str, str, str]]:
        """Create ``count`` stores with one account each; tokens derive from the hash.

        Returns ``(store_hash, access_token, client_id)`` triples.
        """
        if count < 1 or count > 1_000_000:
            raise SandboxError("count must be between 1 and 1000000")
        if not prefix or any(c not in ALPHANUM for c in prefix):
            raise SandboxError("prefix must be [a-z0-9]+")
        width = max(len(str(start + count - 1)), 10 - len(prefix))
        granted = sc.normalise(scopes if scopes is not None else sc.PORTAL_REQUIRED)
        hashes = [f"{prefix}{index:0{width}d}" for index in range(start, start + count)]
        clashes = [h for h in hashes if h in self.stores]
        if clashes:
            raise SandboxError(f"{len(clashes)} stores already exist, e.g. {clashes[0]}", 409)
        created: list[tuple[str, str, str]] = []
        for index, store_hash in enumerate(hashes, start):
            store = Store(hash=store_hash, profile=default_profile(store_hash, index + 1))
            if plan_name != "Standard":
                store.update_profile({"plan_name": plan_name, "plan_level": plan_name})
            self.stores[store_hash] = store
            account = Account(
                store_hash=store_hash,
                client_name=f"{prefix} benchmark",
                client_id=derived(store_hash, "client_id", 31),
                client_secret=derived(store_hash, "client_secret", 64),
                access_token=derived(store_hash, "access_token", 31),
                scopes=granted,
            )
            self.tokens[account.access_token] = account
            self.accounts[account.client_id] = account
            store.account_ids.append(account.client_id)
            created.append((store_hash, account.access_token, account.client_id))
        return created

    # -- fixtures -------------------------------------------------------------------
    def load_fixture(self, data: dict[str, Any]) -> None:
        """Add the stores and accounts of a fixture document (see ``fixtures/demo.json``)."""
        for entry in data.get("stores", []):
            profile = dict(entry.get("profile", {}))
            store = self.add_store(profile, store_hash=entry.get("store_hash") or profile.get("id"))
            store.maintenance = bool(entry.get("maintenance", False))
            store.latency_ms = int(entry.get("latency_ms", 0))
            if entry.get("rate_limit_quota"):
                store.quota_override = int(entry["rate_limit_quota"])
                store.refresh_quota()
            if "products" in entry:
                store.products = list(entry["products"])
            if "currencies" in entry:
                store.currencies = list(entry["currencies"])
            store.customers = [dict(c) for c in entry.get("customers", [])]
            store.orders = [dict(o) for o in entry.get("orders", [])]
            for account in entry.get("accounts", []):
                self.add_account(
                    store.hash,
                    account.get("scopes", []),
                    client_name=account.get("client_name"),
                    client_id=account.get("client_id"),
                    client_secret=account.get("client_secret"),
                    access_token=account.get("access_token"),
                )

    def load_fixture_file(self, path: str | Path) -> None:
        with Path(path).open(encoding="utf-8") as fh:
            self.load_fixture(json.load(fh))

    # -- logs and counters --------------------------------------------------------------
    def log_request(self, method: str, path: str, status: int, store_hash: str | None,
                    elapsed_ms: float, client_id: str | None, fault: str | None) -> None:
        """Record one API request. The access token is never part of a log entry."""
        self.requests += 1
        self.status_counts[status] += 1
        self.log.append((time.time(), method, path, status, store_hash, round(elapsed_ms, 2),
                         client_id, fault))

    def log_entries(self, *, limit: int | None = None, store_hash: str | None = None
                    ) -> list[dict[str, Any]]:
        keys = ("at", "method", "path", "status", "store_hash", "elapsed_ms", "client_id", "fault")
        rows = [r for r in self.log if store_hash is None or r[4] == store_hash]
        if limit is not None:
            rows = rows[-limit:] if limit > 0 else []
        return [dict(zip(keys, row, strict=True)) for row in rows]

    def stats(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "by_status": {str(k): v for k, v in sorted(self.status_counts.items())},
            "in_flight": self.in_flight,
            "max_in_flight": self.max_in_flight,
            "stores": len(self.stores),
            "accounts": len(self.accounts),
            "uptime_s": round(time.time() - self.started, 3),
            "process_cpu_s": round(time.process_time(), 3),
        }

    def reset(self, *, log: bool = True, counters: bool = True, windows: bool = True,
              created: bool = False, faults: bool = False, deliveries: bool = False) -> None:
        """Clear logs, counters, rate windows and optionally created-records, faults and
        the webhook deliveries' record."""
        if log:
            self.log.clear()
        if deliveries:
            self.outbox.clear()
            self.hook_life.clear()
        if counters:
            self.status_counts.clear()
            self.requests = 0
            self.max_in_flight = self.in_flight
        for store in self.stores.values():
            if windows:
                store.window.reset()
            if created:
                store.created.clear()
            if faults:
                store.faults.clear()
        if faults:
            self.global_faults.clear()


def default_profile(store_hash: str, number: int) -> dict[str, Any]:
    """A complete ``GET /v2/store`` profile for a store nobody described."""
    profile = dict(PROFILE_TEMPLATE)  # nested dicts are shared until update_profile copies them
    profile.update({
        "id": store_hash,
        "account_uuid": f"00000000-0000-4000-8000-{number:012d}",
        "domain": f"{store_hash}.mybigcommerce.com",
        "secure_url": f"https://{store_hash}.mybigcommerce.com",
        "control_panel_base_url": f"https://store-{store_hash}.mybigcommerce.com",
        "name": f"Sandbox store {store_hash}",
        "admin_email": f"owner@{store_hash}.example.com",
        "order_email": f"orders@{store_hash}.example.com",
        "store_id": 1_000_000 + number,
    })
    return profile


__all__ = [
    "Account",
    "SandboxError",
    "SandboxState",
    "Settings",
    "Store",
    "api_path",
    "default_profile",
]
