"""The control interface: JSON over HTTP under ``/_sandbox/``, loopback only, no auth.

Routes (all bodies and answers are JSON; errors are ``{"error": "..."}``)::

    GET    /_sandbox/health                       liveness + counters
    GET    /_sandbox/routes                       the BigCommerce endpoints served, with scopes
    GET    /_sandbox/settings                     global switches
    PATCH  /_sandbox/settings                     {latency_ms, maintenance, enforce_quota,
                                                   auth_error_style, strict_slashes,
                                                   allow_http_webhooks, v2_time: observed|docs,
                                                   unknown_store: 404|401|403|403_scope}
    GET    /_sandbox/faults                       global faults
    POST   /_sandbox/faults                       arm a global fault {kind, status, probability,
                                                   count, seconds, headers}
    DELETE /_sandbox/faults                       clear global faults
    GET    /_sandbox/stores                       {"count": n, "stores": [hash, ...]}
    POST   /_sandbox/stores                       {store_hash?, profile?, maintenance?,
                                                   latency_ms?, rate_limit_quota?, accounts?: [...]}
    GET    /_sandbox/stores/{hash}                profile, switches, faults, counts
    DELETE /_sandbox/stores/{hash}                delete the store and its accounts
    PATCH  /_sandbox/stores/{hash}/profile        merge fields into GET /v2/store's answer; when
                                                   it changed, send store/information/updated
                                                   to the store's hooks (see sandbox.webhooks)
    PUT    /_sandbox/stores/{hash}/maintenance    {"enabled": true|false}
    PUT    /_sandbox/stores/{hash}/latency        {"ms": 250}
    PUT    /_sandbox/stores/{hash}/v2-time        {"mode": "observed"|"docs"|null (the global mode)}
    PUT    /_sandbox/stores/{hash}/refuse         {"paths": ["v3/customers", ...] | ["*"]}: answer
                                                   these with a 403 that is not the scope error
    PUT    /_sandbox/stores/{hash}/rate-limit     {"quota": 10|null, "window_ms": 30000}
    GET    /_sandbox/stores/{hash}/faults         the store's armed faults
    POST   /_sandbox/stores/{hash}/faults         arm a fault on the store
    DELETE /_sandbox/stores/{hash}/faults         clear the store's faults
    GET    /_sandbox/stores/{hash}/accounts       the store's API accounts (with secrets)
    POST   /_sandbox/stores/{hash}/accounts       {scopes, client_name?, client_id?,
                                                   client_secret?, access_token?}
    GET    /_sandbox/stores/{hash}/created        what writes really created on the store
    GET    /_sandbox/stores/{hash}/hooks          the store's webhooks, of every account
    POST   /_sandbox/stores/{hash}/webhooks/send  {scope, data?, signature?: valid|wrong_secret|
                                                   none, timestamp_offset?, attempts?}: send a
                                                   delivery to each matching hook (202, async)
    GET    /_sandbox/accounts/{client_id}         one account (with secrets)
    GET    /_sandbox/accounts/{client_id}/credentials.txt   BigCommerce's .txt download
    PUT    /_sandbox/accounts/{client_id}/scopes  {"scopes": [...]}
    DELETE /_sandbox/accounts/{client_id}         revoke: delete the account and its webhooks
    GET    /_sandbox/created                      {hash: [records]} for every store with any
    GET    /_sandbox/log?limit=&store_hash=       request log (never contains a token)
    DELETE /_sandbox/log                          clear the request log
    GET    /_sandbox/stats                        counters
    GET    /_sandbox/deliveries?store_hash=&scope=  webhook deliveries and their attempts
    DELETE /_sandbox/deliveries                   forget the deliveries
    GET    /_sandbox/clock                        {now, offset_seconds}: the clock hooks live by
    POST   /_sandbox/clock/advance                {"seconds": n}: move it forward; deactivates
                                                   hooks past 90 days without events or 48 h of
                                                   failures (sandbox.hook_lifecycle)
    GET    /_sandbox/emails?store_hash=           the e-mails BigCommerce would have sent the
                                                   owner (hooks deactivated)
    POST   /_sandbox/reset                        {log, counters, windows, created, faults,
                                                   deliveries (and e-mails)}
    POST   /_sandbox/bulk                         {count, prefix, scopes?, plan_name?, start?,
                                                   write_to?}
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from sandbox.faults import Fault, FaultError, FaultSet
from sandbox.pipeline import ROUTES, STATE_KEY
from sandbox.state import (
    UNKNOWN_STORE_MODES,
    V2_TIME_MODES,
    SandboxError,
    SandboxState,
    Store,
    check_mode,
)

ControlHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _state(request: web.Request) -> SandboxState:
    return request.app[STATE_KEY]


def _json(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status)


async def _body(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    try:
        data = await request.json()
    except ValueError:
        raise SandboxError("the body is not valid JSON") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise SandboxError("the body must be a JSON object")
    return data


def _is_loopback(remote: str | None) -> bool:
    if not remote:
        return False
    try:
        return ipaddress.ip_address(remote.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


@web.middleware
async def _guard(request: web.Request, handler: ControlHandler) -> web.StreamResponse:
    """Loopback only; turn :class:`SandboxError`/:class:`FaultError` into JSON errors."""
    if not _is_loopback(request.remote):
        return _json({"error": "the sandbox control API only answers loopback clients"}, 403)
    try:
        return await handler(request)
    except SandboxError as exc:
        return _json({"error": str(exc)}, exc.status)
    except (FaultError, ValueError, TypeError, KeyError) as exc:
        return _json({"error": f"{type(exc).__name__}: {exc}"}, 400)


def _store(request: web.Request) -> Store:
    return _state(request).store(request.match_info["store_hash"])


# -- global ------------------------------------------------------------------------------


async def health(request: web.Request) -> web.Response:
    return _json({"status": "ok", **_state(request).stats()})


async def routes(request: web.Request) -> web.Response:
    return _json([{"method": r.method, "path": r.path, "scopes": r.requirement}
                  for r in ROUTES.table()])


async def get_settings(request: web.Request) -> web.Response:
    return _json(_state(request).settings.to_dict())


async def patch_settings(request: web.Request) -> web.Response:
    settings = _state(request).settings
    body = await _body(request)
    unknown = set(body) - set(settings.to_dict())
    if unknown:
        raise SandboxError(f"unknown settings: {sorted(unknown)}")
    if "latency_ms" in body:
        settings.latency_ms = max(0, int(body["latency_ms"]))
    if "enforce_quota" in body:
        settings.enforce_quota = bool(body["enforce_quota"])
    if "maintenance" in body:
        settings.maintenance = bool(body["maintenance"])
    if "auth_error_style" in body:
        if body["auth_error_style"] not in ("json", "text"):
            raise SandboxError("auth_error_style must be 'json' or 'text'")
        settings.auth_error_style = body["auth_error_style"]
    if "strict_slashes" in body:
        settings.strict_slashes = bool(body["strict_slashes"])
    if "allow_http_webhooks" in body:
        settings.allow_http_webhooks = bool(body["allow_http_webhooks"])
    if "v2_time" in body:
        settings.v2_time = check_mode("v2_time", body["v2_time"], V2_TIME_MODES)
    if "unknown_store" in body:
        settings.unknown_store = check_mode("unknown_store", str(body["unknown_store"]),
                                            UNKNOWN_STORE_MODES)
    return _json(settings.to_dict())


def _faults_view(faults: FaultSet) -> web.Response:
    return _json({"faults": faults.to_list()})


async def get_global_faults(request: web.Request) -> web.Response:
    return _faults_view(_state(request).global_faults)


async def add_global_fault(request: web.Request) -> web.Response:
    faults = _state(request).global_faults
    faults.add(Fault.from_dict(await _body(request)))
    return _faults_view(faults)


async def clear_global_faults(request: web.Request) -> web.Response:
    faults = _state(request).global_faults
    faults.clear()
    return _faults_view(faults)


# -- stores ---------------------------------------------------------------------------------


async def list_stores(request: web.Request) -> web.Response:
    stores = _state(request).stores
    return _json({"count": len(stores), "stores": list(stores)})


async def add_store(request: web.Request) -> web.Response:
    state = _state(request)
    body = await _body(request)
    unknown = set(body) - {"store_hash", "profile", "maintenance", "latency_ms",
                           "rate_limit_quota", "accounts", "v2_time", "refuse"}
    if unknown:
        raise SandboxError(f"unknown fields: {sorted(unknown)} (profile fields go in 'profile')")
    store = state.add_store(body.get("profile") or {}, store_hash=body.get("store_hash"),
                            maintenance=bool(body.get("maintenance", False)),
                            latency_ms=int(body.get("latency_ms", 0)),
                            quota_override=body.get("rate_limit_quota"),
                            v2_time=_v2_time_mode(body.get("v2_time")),
                            refuse=_refused_paths(body.get("refuse", [])))
    accounts = [
        state.add_account(store.hash, a.get("scopes", []), client_name=a.get("client_name"),
                          client_id=a.get("client_id"), client_secret=a.get("client_secret"),
                          access_token=a.get("access_token")).to_dict()
        for a in body.get("accounts", [])
    ]
    return _json({**store.summary(), "accounts": accounts}, 201)


async def get_store(request: web.Request) -> web.Response:
    return _json(_store(request).summary())


async def delete_store(request: web.Request) -> web.Response:
    _state(request).delete_store(request.match_info["store_hash"])
    return _json({"deleted": request.match_info["store_hash"]})


async def patch_profile(request: web.Request) -> web.Response:
    store = _store(request)
    before = store.profile
    store.update_profile(await _body(request))
    if store.profile != before:
        _state(request).outbox.emit(store, "store/information/updated")
    return _json(store.profile)


async def put_maintenance(request: web.Request) -> web.Response:
    store = _store(request)
    body = await _body(request)
    store.maintenance = bool(body.get("enabled", True))
    return _json({"store_hash": store.hash, "maintenance": store.maintenance})


async def put_latency(request: web.Request) -> web.Response:
    store = _store(request)
    body = await _body(request)
    store.latency_ms = max(0, int(body.get("ms", 0)))
    return _json({"store_hash": store.hash, "latency_ms": store.latency_ms})


async def put_rate_limit(request: web.Request) -> web.Response:
    store = _store(request)
    body = await _body(request)
    quota = body.get("quota")
    store.quota_override = int(quota) if quota else None
    if "window_ms" in body:
        store.window.window_ms = max(1, int(body["window_ms"]))
    store.refresh_quota()
    store.window.reset()
    return _json({"store_hash": store.hash, "quota": store.window.quota,
                  "window_ms": store.window.window_ms})


def _v2_time_mode(mode: Any) -> str | None:
    return None if mode is None else check_mode("v2_time", mode, V2_TIME_MODES)


def _refused_paths(paths: Any) -> list[str]:
    if not isinstance(paths, list) or not all(isinstance(p, str) and p.strip("/") for p in paths):
        raise SandboxError('refuse must be a list of paths such as "v3/customers", or ["*"]')
    return [p.strip("/") for p in paths]


async def put_v2_time(request: web.Request) -> web.Response:
    store = _store(request)
    store.v2_time = _v2_time_mode((await _body(request)).get("mode"))
    return _json({"store_hash": store.hash, "v2_time": store.v2_time})


async def put_refuse(request: web.Request) -> web.Response:
    store = _store(request)
    store.refuse = _refused_paths((await _body(request)).get("paths", []))
    return _json({"store_hash": store.hash, "refuse": store.refuse})


async def get_store_faults(request: web.Request) -> web.Response:
    return _faults_view(_store(request).faults)


async def add_store_fault(request: web.Request) -> web.Response:
    store = _store(request)
    store.faults.add(Fault.from_dict(await _body(request)))
    return _faults_view(store.faults)


async def clear_store_faults(request: web.Request) -> web.Response:
    store = _store(request)
    store.faults.clear()
    return _faults_view(store.faults)


async def list_accounts(request: web.Request) -> web.Response:
    state = _state(request)
    store = _store(request)
    return _json({"accounts": [state.accounts[c].to_dict() for c in store.account_ids]})


async def add_account(request: web.Request) -> web.Response:
    body = await _body(request)
    unknown = set(body) - {"scopes", "client_name", "client_id", "client_secret", "access_token"}
    if unknown:
        raise SandboxError(f"unknown fields: {sorted(unknown)}")
    scopes = body.get("scopes", [])
    if not isinstance(scopes, list):
        raise SandboxError("scopes must be a list of scope names")
    account = _state(request).add_account(
        request.match_info["store_hash"], scopes, client_name=body.get("client_name"),
        client_id=body.get("client_id"), client_secret=body.get("client_secret"),
        access_token=body.get("access_token"))
    return _json(account.to_dict(), 201)


async def store_created(request: web.Request) -> web.Response:
    store = _store(request)
    return _json({"store_hash": store.hash, "created": store.created})


async def store_hooks(request: web.Request) -> web.Response:
    store = _store(request)
    return _json({"store_hash": store.hash, "hooks": list(store.hooks.values())})


async def send_webhook(request: web.Request) -> web.Response:
    store = _store(request)
    body = await _body(request)
    unknown = set(body) - {"scope", "data", "signature", "timestamp_offset", "attempts"}
    if unknown:
        raise SandboxError(f"unknown fields: {sorted(unknown)}")
    scope = body.get("scope")
    if not isinstance(scope, str) or not scope.startswith("store/"):
        raise SandboxError("scope must be a webhook scope, e.g. store/information/updated")
    data = body.get("data")
    if data is not None and not isinstance(data, dict):
        raise SandboxError("data must be an object")
    attempts = body.get("attempts")
    sent = _state(request).outbox.emit(
        store, scope, data, signature=str(body.get("signature", "valid")),
        timestamp_offset=int(body.get("timestamp_offset", 0)),
        attempts=int(attempts) if attempts is not None else None)
    return _json({"count": len(sent), "deliveries": [d.to_dict() for d in sent]}, 202)


async def list_deliveries(request: web.Request) -> web.Response:
    listed = _state(request).outbox.listed(store_hash=request.query.get("store_hash") or None,
                                           scope=request.query.get("scope") or None)
    return _json({"count": len(listed), "deliveries": listed})


def _clock_view(state: SandboxState, **extra: Any) -> web.Response:
    life = state.hook_life
    return _json({"now": life.now(), "offset_seconds": life.offset, **extra})


async def get_clock(request: web.Request) -> web.Response:
    return _clock_view(_state(request))


async def advance_clock(request: web.Request) -> web.Response:
    body = await _body(request)
    seconds = body.get("seconds")
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
        raise SandboxError("seconds must be a number >= 0 (the clock only moves forward)")
    state = _state(request)
    emails = state.hook_life.advance(float(seconds))
    return _clock_view(state, deactivated=emails)


async def list_emails(request: web.Request) -> web.Response:
    emails = _state(request).hook_life.listed_emails(request.query.get("store_hash") or None)
    return _json({"count": len(emails), "emails": emails})


async def clear_deliveries(request: web.Request) -> web.Response:
    _state(request).outbox.clear()
    return _json({"cleared": True})


# -- accounts ---------------------------------------------------------------------------------


async def get_account(request: web.Request) -> web.Response:
    return _json(_state(request).account(request.match_info["client_id"]).to_dict())


async def get_credentials(request: web.Request) -> web.Response:
    account = _state(request).account(request.match_info["client_id"])
    return web.Response(text=account.credentials_text(), content_type="text/plain")


async def put_scopes(request: web.Request) -> web.Response:
    body = await _body(request)
    scopes = body.get("scopes")
    if not isinstance(scopes, list):
        raise SandboxError("scopes must be a list of scope names")
    account = _state(request).set_scopes(request.match_info["client_id"], scopes)
    return _json(account.to_dict())


async def delete_account(request: web.Request) -> web.Response:
    account = _state(request).revoke(request.match_info["client_id"])
    return _json({"revoked": account.client_id, "store_hash": account.store_hash})


# -- records, logs, bulk ------------------------------------------------------------------------


async def all_created(request: web.Request) -> web.Response:
    stores = _state(request).stores
    return _json({h: s.created for h, s in stores.items() if s.created})


async def get_log(request: web.Request) -> web.Response:
    limit = request.query.get("limit")
    entries = _state(request).log_entries(
        limit=int(limit) if limit else None, store_hash=request.query.get("store_hash") or None)
    return _json({"count": len(entries), "entries": entries})


async def clear_log(request: web.Request) -> web.Response:
    _state(request).log.clear()
    return _json({"cleared": True})


async def stats(request: web.Request) -> web.Response:
    return _json(_state(request).stats())


async def reset(request: web.Request) -> web.Response:
    body = await _body(request)
    options = {k: bool(body[k])
               for k in ("log", "counters", "windows", "created", "faults", "deliveries")
               if k in body}
    unknown = set(body) - set(options)
    if unknown:
        raise SandboxError(f"unknown reset options: {sorted(unknown)}")
    _state(request).reset(**options)
    return _json({"reset": True, **_state(request).stats()})


async def bulk(request: web.Request) -> web.Response:
    body = await _body(request)
    created = _state(request).bulk_create(
        int(body.get("count", 0)), str(body.get("prefix", "bench")), scopes=body.get("scopes"),
        plan_name=str(body.get("plan_name", "Standard")), start=int(body.get("start", 0)))
    write_to = body.get("write_to")
    if write_to:
        path = Path(write_to)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8") as fh:
            for store_hash, token, client_id in created:
                fh.write(json.dumps({"store_hash": store_hash, "access_token": token,
                                     "client_id": client_id}) + "\n")
        return _json({"count": len(created), "file": str(path)}, 201)
    return _json({"count": len(created), "fields": ["store_hash", "access_token", "client_id"],
                  "stores": created}, 201)


def build_control_app(state: SandboxState) -> web.Application:
    """The ``/_sandbox/`` sub-application."""
    app = web.Application(middlewares=[_guard])
    app[STATE_KEY] = state
    r = app.router
    r.add_get("/health", health)
    r.add_get("/routes", routes)
    r.add_get("/settings", get_settings)
    r.add_patch("/settings", patch_settings)
    r.add_put("/settings", patch_settings)
    r.add_get("/faults", get_global_faults)
    r.add_post("/faults", add_global_fault)
    r.add_delete("/faults", clear_global_faults)
    r.add_get("/stores", list_stores)
    r.add_post("/stores", add_store)
    r.add_get("/stores/{store_hash}", get_store)
    r.add_delete("/stores/{store_hash}", delete_store)
    r.add_patch("/stores/{store_hash}/profile", patch_profile)
    r.add_put("/stores/{store_hash}/maintenance", put_maintenance)
    r.add_put("/stores/{store_hash}/latency", put_latency)
    r.add_put("/stores/{store_hash}/v2-time", put_v2_time)
    r.add_put("/stores/{store_hash}/refuse", put_refuse)
    r.add_put("/stores/{store_hash}/rate-limit", put_rate_limit)
    r.add_get("/stores/{store_hash}/faults", get_store_faults)
    r.add_post("/stores/{store_hash}/faults", add_store_fault)
    r.add_delete("/stores/{store_hash}/faults", clear_store_faults)
    r.add_get("/stores/{store_hash}/accounts", list_accounts)
    r.add_post("/stores/{store_hash}/accounts", add_account)
    r.add_get("/stores/{store_hash}/created", store_created)
    r.add_get("/stores/{store_hash}/hooks", store_hooks)
    r.add_post("/stores/{store_hash}/webhooks/send", send_webhook)
    r.add_get("/accounts/{client_id}", get_account)
    r.add_get("/accounts/{client_id}/credentials.txt", get_credentials)
    r.add_put("/accounts/{client_id}/scopes", put_scopes)
    r.add_delete("/accounts/{client_id}", delete_account)
    r.add_get("/created", all_created)
    r.add_get("/log", get_log)
    r.add_delete("/log", clear_log)
    r.add_get("/stats", stats)
    r.add_get("/deliveries", list_deliveries)
    r.add_delete("/deliveries", clear_deliveries)
    r.add_get("/clock", get_clock)
    r.add_post("/clock/advance", advance_clock)
    r.add_get("/emails", list_emails)
    r.add_post("/reset", reset)
    r.add_post("/bulk", bulk)
    return app
