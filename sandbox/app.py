"""Assemble the sandbox's aiohttp application and serve it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from sandbox.control_api import build_control_app
from sandbox.pipeline import STATE_KEY, handle
from sandbox.state import DEFAULT_LOG_SIZE, SandboxState

#: Listen backlog: a fleet opens thousands of connections at once.
BACKLOG = 4096
#: How long shutdown waits for in-flight requests (stalled ones would wait forever).
SHUTDOWN_TIMEOUT = 1.0


def make_state(fixture: str | Path | dict[str, Any] | None = None, *, latency_ms: int = 0,
               enforce_quota: bool = False, log_size: int = DEFAULT_LOG_SIZE) -> SandboxState:
    """A fresh state loaded from a fixture (a path, a parsed document, or ``None``)."""
    state = SandboxState(log_size=log_size)
    if isinstance(fixture, dict):
        state.load_fixture(fixture)
    elif fixture is not None:
        state.load_fixture_file(fixture)
    state.settings.latency_ms = latency_ms
    state.settings.enforce_quota = enforce_quota
    return state


def build_app(state: SandboxState) -> web.Application:
    """The application: BigCommerce's API under ``/stores/`` and control under ``/_sandbox/``."""
    app = web.Application(client_max_size=4 * 1024 * 1024)
    app[STATE_KEY] = state
    app.router.add_route("*", "/stores/{tail:.*}", handle)
    app.add_subapp("/_sandbox/", build_control_app(state))
    app.on_cleanup.append(_close_outbox)
    return app


async def _close_outbox(app: web.Application) -> None:
    """Stop webhook deliveries still in flight and close their HTTP session."""
    await app[STATE_KEY].outbox.close()


async def serve(state: SandboxState, host: str, port: int, *,
                on_ready: Callable[[str], None] | None = None,
                stop: asyncio.Event | None = None) -> None:
    """Serve until ``stop`` is set (or forever); call ``on_ready(url)`` once listening."""
    runner = web.AppRunner(build_app(state), access_log=None, handle_signals=False,
                           shutdown_timeout=SHUTDOWN_TIMEOUT)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port, backlog=BACKLOG, reuse_address=True)
        await site.start()
        actual_host, actual_port = runner.addresses[0][:2]
        url = f"http://{_url_host(actual_host)}:{actual_port}"
        if on_ready is not None:
            on_ready(url)
        await (stop or asyncio.Event()).wait()
    finally:
        await runner.cleanup()


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def write_credentials(state: SandboxState, directory: str | Path) -> list[Path]:
    """Write every account as BigCommerce's ``.txt`` download; return the files written."""
    target = Path(directory)
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for account in state.accounts.values():
        slug = "-".join("".join(c if c.isalnum() else " " for c in account.client_name.lower())
                        .split())
        path = target / f"{account.store_hash}--{slug or account.client_id}.txt"
        path.write_text(account.credentials_text(), encoding="utf-8")
        written.append(path)
    index = target / "index.json"
    index.write_text(json.dumps([
        {"file": p.name, **a.to_dict(secrets_included=False)}
        for p, a in zip(written, state.accounts.values(), strict=True)
    ], indent=2) + "\n", encoding="utf-8")
    return written
