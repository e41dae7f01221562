"""BigCommerce's webhook API (and the store profile), called with the store's
own API account from sync Django code (tasks, signal receivers): the calls of
`stores.bigcommerce.webhooks`, run as `stores.verification` runs live checks.

They share the live checks' pooled transport (`stores.verification`). Each
call gets a fresh client with its own deadline, and the whole operation an
overall timeout.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.conf import settings
from django.views.decorators.debug import sensitive_variables

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
    return _run_loop(_bounded(operation, timeout=timeout, max_attempts=max_attempts))


def _client(timeout: float, max_attempts: int) -> BigCommerceClient:
    options = client_options()
    return BigCommerceClient(
        settings.BIGCOMMERCE_API_URL,
        shared_transport(),
        deadline=timeout,
        connect_timeout=min(options["connect_timeout"], timeout),
        read_timeout=min(options["read_timeout"], timeout),
        max_attempts=max_attempts,
    )


async def _bounded(
    operation: Callable[[BigCommerceClient], Awaitable[T]], *, timeout: float, max_attempts: int
) -> T:
    # Each operation gets a fresh client with its own deadline. Never aclose()
    # the client: that would close the shared transport.
    client = _client(timeout, max_attempts)
    try:
        async with asyncio.timeout(timeout):
            return await operation(client)
    except TimeoutError:
        raise hooks.CallFailed(Exchange("*", "webhooks", None, int(timeout * 1000), error="timeout")) from None


def _run_loop(coroutine: Coroutine[Any, Any, T]) -> T:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    # Called from inside an event loop (an async view): run in a thread of our own.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="storehooks") as pool:
        return pool.submit(asyncio.run, coroutine).result()


@sensitive_variables("access_token")
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


@dataclass(frozen=True)
class HookJob:
    """One store's hooks to ensure (see `ensure_hooks_many`)."""

    key: int
    store_hash: str
    access_token: str = field(repr=False)  # a job's repr must not show the token
    destination: str
    headers: dict[str, str]


@sensitive_variables("jobs")
def ensure_hooks_many(
    jobs: list[HookJob], *, scopes: list[str], concurrency: int, timeout: float
) -> dict[int, hooks.Registration | hooks.CallFailed]:
    """`ensure_hooks` for many stores on one event loop, at most `concurrency`
    at once, each within `timeout`; by job key, the result or the failure."""

    async def one(job: HookJob, gate: asyncio.Semaphore) -> hooks.Registration | hooks.CallFailed:
        async with gate:
            try:
                return await _bounded(
                    lambda client: hooks.ensure_hooks(
                        client,
                        job.store_hash,
                        access_token=job.access_token,
                        destination=job.destination,
                        scopes=scopes,
                        headers=job.headers,
                    ),
                    timeout=timeout,
                    max_attempts=3,
                )
            except hooks.CallFailed as error:
                return error

    async def all_jobs() -> list[hooks.Registration | hooks.CallFailed]:
        gate = asyncio.Semaphore(max(1, concurrency))
        return await asyncio.gather(*(one(job, gate) for job in jobs))

    return {job.key: result for job, result in zip(jobs, _run_loop(all_jobs()), strict=True)}


@sensitive_variables("access_token")
def remove_hooks(store_hash: str, *, access_token: str, destination: str, timeout: float) -> int:
    return run(
        lambda client: hooks.remove_hooks(client, store_hash, access_token=access_token, destination=destination),
        timeout=timeout,
        max_attempts=1,
    )


@sensitive_variables("access_token")
def fetch_profile(store_hash: str, *, access_token: str) -> dict[str, Any]:
    return run(
        lambda client: hooks.fetch_profile(client, store_hash, access_token=access_token),
        timeout=settings.BIGCOMMERCE_WEBHOOKS_CALL_TIMEOUT_SECONDS,
    )
