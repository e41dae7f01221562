"""The webhooks API, ``/stores/{store_hash}/v3/hooks``: no scope needed; each API
account (client id) sees and manages only the hooks it created. Deliveries to the
hooks are sent by :mod:`sandbox.webhooks`; BigCommerce's deactivation of hooks
(90 days without events, 48 hours of failures) is :mod:`sandbox.hook_lifecycle`."""

from __future__ import annotations

from typing import Any

from sandbox import bodies
from sandbox import request_schemas as schemas
from sandbox.routing import Call, Reply, Router, fail, invalid, json_body, ok, page_of

router = Router()


def _own_hooks(call: Call) -> list[dict[str, Any]]:
    """Webhooks belong to the API account (client id) that created them."""
    return [h for h in call.store.hooks.values() if h["client_id"] == call.account.client_id]


def _own_hook(call: Call) -> dict[str, Any]:
    try:
        hook_id = int(call.params[0])
    except ValueError:
        raise fail(call, 404, "Webhook not found") from None
    hook = call.store.hooks.get(hook_id)
    if hook is None or hook["client_id"] != call.account.client_id:
        raise fail(call, 404, "Webhook not found")
    return hook


def _check_destination(call: Call, body: dict[str, Any]) -> None:
    destination = body.get("destination")
    if destination is None:
        return
    schemes = ("https://", "http://") if call.state.settings.allow_http_webhooks else ("https://",)
    if not str(destination).startswith(schemes):
        raise fail(call, 422, "Webhook destination must be an https URL",
                   {"destination": "must start with https://"})


@router.route("GET", "v3/hooks", None)
async def list_hooks(call: Call) -> Reply:
    chosen, meta = page_of(call, _own_hooks(call))
    return ok({"data": [bodies.hook(h) for h in chosen], "meta": meta})


@router.route("POST", "v3/hooks", None)
async def create_hook(call: Call) -> Reply:
    body = await json_body(call)
    problems = schemas.validate_body(schemas.CREATE_WEBHOOK, body)
    if problems:
        raise invalid(call, problems)
    _check_destination(call, body)
    now = int(call.state.hook_life.now())
    hook = {
        "id": call.state.next_id(),
        "client_id": call.account.client_id,
        "store_hash": call.store.hash,
        "scope": body["scope"],
        "destination": body["destination"],
        "headers": body.get("headers"),
        "is_active": body.get("is_active", True),
        "created_at": now,
        "updated_at": now,
    }
    call.store.hooks[hook["id"]] = hook
    call.state.hook_life.touched(hook["id"])
    call.store.record("hook", hook["id"], call.account, call.where())
    return ok({"data": bodies.hook(hook), "meta": {}})


@router.route("GET", "v3/hooks/*", None)
async def get_hook(call: Call) -> Reply:
    return ok({"data": bodies.hook(_own_hook(call)), "meta": {}})


@router.route("PUT", "v3/hooks/*", None)
async def update_hook(call: Call) -> Reply:
    hook = _own_hook(call)
    body = await json_body(call)
    problems = schemas.validate_body(schemas.UPDATE_WEBHOOK, body)
    if problems:
        raise invalid(call, problems)
    _check_destination(call, body)
    was_active = hook.get("is_active", True)
    for key in ("scope", "destination", "headers", "is_active"):
        if key in body:
            hook[key] = body[key]
    hook["updated_at"] = int(call.state.hook_life.now())
    if hook.get("is_active") and not was_active:
        call.state.hook_life.reactivated(hook["id"])
    return ok({"data": bodies.hook(hook), "meta": {}})


@router.route("DELETE", "v3/hooks/*", None)
async def delete_hook(call: Call) -> Reply:
    hook = _own_hook(call)
    del call.store.hooks[hook["id"]]
    return ok({"data": bodies.hook(hook), "meta": {}})
