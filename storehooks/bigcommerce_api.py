"""BigCommerce's webhook API (and the store profile), called with the store's
own API account from sync Django code (tasks, signal receivers): the calls of
`stores.bigcommerce.webhooks`, run as `stores.verification` runs live checks.

They share the live checks' pooled transport (`stores.verification`). Each
call gets a fresh client with its own deadline, and the whole operation an
overall timeout.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from django.conf import settings

from stores.bigcommerce import webhooks as hooks
from stores.bigcommerce.client import BigCommerceClient
from stores.bigcommerce.report import Exchange
from stores.verification import client_options, shared_transport

T = TypeVar("T")


def run(
    operation: Callable[[BigCommerceClient], Awaitable[T]],
    *,
    timeout: float,
    max_attempts: int = 3,
) -> T:
    """Run `operation(client)` to completion; `hooks.CallFailed` after `timeout` seconds."""
    options = client_options()
    client = BigCommerceClient(
        settings.BIGCOMMERCE_API_URL,
        shared_transport(),
        deadline=timeout,
        connect_timeout=min(options["connect_timeout"], timeout),
        read_timeout=min(options["read_timeout"], timeout),
        max_attempts=max_attempts,
    )

    async def bounded() -> T:
        try:
            async with asyncio.timeout(timeout):
                return await operation(client)
        except TimeoutError:
            raise hooks.CallFailed(Exchange("*", "webhooks", None, int(timeout * 1000), error="timeout")) from None

    # Never aclose() the client: that would close the shared transport.
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(bounded())
    # Called from inside an event loop (an async view): run in a thread of our own.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="storehooks") as pool:
        return pool.submit(asyncio.run, bounded()).result()


def ensure_hooks(
    store_hash: str,
    *,
    access_token: str,
    destination: str,
    scopes: list[str],
    headers: dict[str, str],
) -> hooks.Registration:
    return run(
        lambda client: hooks.ensure_hooks(
            client,
            store_hash,
            access_token=access_token,
            destination=destination,
            scopes=scopes,
            headers=headers,
        ),
        timeout=settings.BIGCOMMERCE_WEBHOOKS_CALL_TIMEOUT_SECONDS,
    )


def remove_hooks(store_hash: str, *, access_token: str, destination: str, timeout: float) -> int:
    return run(
        lambda client: hooks.remove_hooks(client, store_hash, access_token=access_token, destination=destination),
        timeout=timeout,
        max_attempts=1,
    )


def fetch_profile(store_hash: str, *, access_token: str) -> dict[str, Any]:
    return run(
        lambda client: hooks.fetch_profile(client, store_hash, access_token=access_token),
        timeout=settings.BIGCOMMERCE_WEBHOOKS_CALL_TIMEOUT_SECONDS,
    )
