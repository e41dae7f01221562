"""Real servers for the proxy's tests: the portal under uvicorn (the ASGI
application the `web` process serves) and a programmable stand-in for
BigCommerce (aiohttp), each in a thread of the test process, on loopback.

The portal's thread reads the test database through Django's shared sync
thread, not the test's own: tests using it need
`django_db(transaction=True)` so what they create is committed."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import uvicorn
from aiohttp import web


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serving_portal() -> Iterator[str]:
    """The portal's ASGI application under uvicorn; yields its base URL.

    As under the ASGI server (config/asgi.py), no connection outlives its
    request's thread (CONN_MAX_AGE 0 while it serves)."""
    from django.db import connections

    from config.asgi import application

    kept = connections.settings["default"]["CONN_MAX_AGE"]
    connections.settings["default"]["CONN_MAX_AGE"] = 0

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(application, host="127.0.0.1", port=port, log_level="warning", lifespan="on",
                       loop="asyncio", http="httptools")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        connections.settings["default"]["CONN_MAX_AGE"] = kept


@dataclass
class Seen:
    method: str
    path_qs: str  # as received, percent-encoding kept
    headers: dict[str, str]
    body: bytes = b""  # once the body has ended (whole or not)
    received: int = 0  # bytes of the body so far, as they arrive
    complete: bool = False  # the whole body arrived (its Content-Length, or the last chunk)
    ended: bool = False  # the body ended: complete, or the connection dropped mid-body


@dataclass
class FakeBigCommerce:
    """Answers with `reply(request) -> web.StreamResponse` (default: 200 JSON)
    and records every request it received: from its headers on, the body's
    bytes as they arrive, and whether the body arrived whole."""

    url: str = ""
    seen: list[Seen] = field(default_factory=list)
    reply: Callable[[web.Request], web.StreamResponse] | None = None
    answer_first: bool = False  # answer without waiting for the body (as BigCommerce may with an error)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        seen = Seen(request.method, request.raw_path, dict(request.headers))
        self.seen.append(seen)
        if self.answer_first:
            return web.json_response({"status": 422, "title": "Invalid"}, status=422)
        body = bytearray()
        try:
            async for chunk in request.content.iter_any():
                body += chunk
                seen.received = len(body)
            seen.complete = True
        except Exception:  # noqa: BLE001 - the sender dropped the connection mid-body
            return web.Response(status=400)
        finally:
            seen.body = bytes(body)
            seen.ended = True
        if self.reply is not None:
            answer = self.reply(request)
            return await answer if asyncio.iscoroutine(answer) else answer
        return web.json_response(
            {"data": {"ok": True}},
            headers={"X-Rate-Limit-Requests-Left": "149", "X-Rate-Limit-Requests-Quota": "150",
                     "X-Rate-Limit-Time-Reset-Ms": "29000", "X-Rate-Limit-Time-Window-Ms": "30000"},
        )


@contextmanager
def fake_bigcommerce() -> Iterator[FakeBigCommerce]:
    fake = FakeBigCommerce()
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_route("*", "/{tail:.*}", fake._handle)
    loop = asyncio.new_event_loop()
    port = free_port()
    runner = web.AppRunner(app, lingering_time=0)  # an answer before the body: no wait for the rest

    async def start():
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()

    loop.run_until_complete(start())
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{port}"
    try:
        yield fake
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
