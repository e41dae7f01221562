"""Checking many stores at once: the revalidation worker's engine.

A check waits on the network, so one worker process keeps many checks in
flight on one asyncio loop (aiohttp), then writes each result through
`services.store_record_checks`. The loop lives in a background thread for the
life of the process, so connections are pooled across batches.

Secrets are read here, from the database, by store id: they never travel in
a task's arguments.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from config.crypto import UndecryptableCredential
from config.logging import bind, checks_recorded

from . import lifecycle, services
from .bigcommerce.client import AiohttpTransport, BigCommerceClient
from .bigcommerce.report import Credentials
from .bigcommerce.validation import validate_escalating
from .models import Check, Credential
from .services import CheckResult
from .verification import client_options

logger = logging.getLogger(__name__)


def _new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop when installed: the fleet path is CPU-bound on HTTP parsing and
    scheduling, and uvloop does both for less."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


class _LoopThread:
    """One event loop per process, in a daemon thread, with a shared client."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: BigCommerceClient | None = None
        self._pid: int | None = None

    def _start(self) -> None:
        loop = _new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="bigcommerce-fleet", daemon=True)
        thread.start()
        self._loop, self._pid = loop, os.getpid()
        self._client = BigCommerceClient(
            settings.BIGCOMMERCE_API_URL,
            AiohttpTransport(limit=settings.FLEET_CONNECTIONS),
            **client_options(),
        )

    def close(self) -> None:
        """Close the pooled connections and stop the loop (this process's only)."""
        with self._lock:
            loop, client = self._loop, self._client
            if loop is None or self._pid != os.getpid():
                return
            asyncio.run_coroutine_threadsafe(client.aclose(), loop).result(timeout=10)
            loop.call_soon_threadsafe(loop.stop)
            self._loop = self._client = None

    def submit(self, coroutine_factory) -> concurrent.futures.Future:
        """Start `coroutine_factory(client)` on the loop; its future, at once."""
        with self._lock:
            # A forked worker child must not reuse its parent's loop.
            if self._loop is None or self._pid != os.getpid():
                self._start()
        return asyncio.run_coroutine_threadsafe(coroutine_factory(self._client), self._loop)

    def run(self, coroutine_factory):
        return self.submit(coroutine_factory).result()


_engine = _LoopThread()


def reset_engine() -> None:
    """Start afresh (after settings changed, in tests and benchmarks)."""
    global _engine
    _engine.close()
    _engine = _LoopThread()


@dataclass(frozen=True)
class BatchItem:
    credentials: Credentials
    full: bool  # every scope probe, or the light check (GET /v2/store)


@sensitive_variables("rows", "row", "access_token")
def load_batch(
    store_ids: Iterable[int], *, claim_token: str = "", trigger: str = "schedule", now=None
) -> tuple[dict[int, BatchItem], list[int]]:
    """Each store's credentials and whether its check is full
    (`lifecycle.needs_full_check`), and the ids of stores whose token no key
    decrypts.

    One query; only if a row cannot be decrypted, one query per row to find it,
    so one bad row never stops the rest of the batch.
    """
    # Tuples, not model instances: building 500 Credentials and their Stores
    # cost more than the query. The token's field still decrypts it on read.
    rows = Credential.objects.filter(store_id__in=list(store_ids))
    if claim_token:
        rows = rows.filter(store__claim_token=claim_token)
    rows = rows.values_list(
        "store_id",
        "access_token",
        "store__store_hash",
        "store__status",
        "store__failure_count",
        "store__suspected_status",
        "store__scopes_verified_at",
    )
    now = now or timezone.now()
    policy = services.check_policy()
    scheduled = trigger == "schedule"

    def item(row: tuple) -> BatchItem:
        _, access_token, store_hash, status, failures, suspected, scopes_verified_at = row
        full = lifecycle.needs_full_check(
            status=status,
            streak=lifecycle.Streak(failures=failures, suspected=suspected),
            scopes_verified_at=scopes_verified_at,
            scheduled=scheduled,
            now=now,
            policy=policy,
        )
        return BatchItem(Credentials(store_hash=store_hash, access_token=access_token), full)

    try:
        return {row[0]: item(row) for row in rows}, []
    except UndecryptableCredential:
        pass
    usable, undecryptable = {}, []
    for store_id in rows.values_list("store_id", flat=True):
        try:
            usable[store_id] = item(rows.get(store_id=store_id))
        except UndecryptableCredential:
            undecryptable.append(store_id)
    return usable, undecryptable


async def _gate(concurrency: int) -> asyncio.Semaphore:
    return asyncio.Semaphore(concurrency)  # made on the loop that will use it


async def _check_many(
    client: BigCommerceClient, items: dict[int, BatchItem], gate: asyncio.Semaphore
) -> list[CheckResult]:
    async def one(store_id: int, item: BatchItem) -> CheckResult:
        async with gate:
            bind(store_hash=item.credentials.store_hash)  # this check's own asyncio task: its lines carry its store
            started_at = timezone.now()
            began = time.perf_counter()
            report, full = await validate_escalating(item.credentials, client=client, full=item.full)
            kind = Check.Kind.FULL if full else Check.Kind.LIGHT
            return CheckResult(store_id, report, started_at, int((time.perf_counter() - began) * 1000), kind)

    return await asyncio.gather(*(one(sid, item) for sid, item in items.items()))


def check_stores(store_ids: list[int], *, claim_token: str = "", trigger: str = "schedule") -> int:
    """Check these stores (those still claimed by `claim_token`) and record the results.

    A pipeline, so the batch never waits on itself: the stores are read
    `FLEET_RECORD_CHUNK` at a time, just enough chunks to keep
    FLEET_CHECKS_IN_FLIGHT checks on the wire; each chunk is recorded as soon
    as its checks are done, and the next one read and started in its place.
    Reading the whole batch, checking it and then recording it left the
    network idle for a third of every batch; reading every chunk up front
    delayed the first recording by the whole reading.

    Returns how many results were recorded.
    """
    chunk, window = settings.FLEET_RECORD_CHUNK, settings.FLEET_CHECKS_IN_FLIGHT
    gate = _engine.run(lambda _client: _gate(window))  # the hard cap, across the chunks
    unread = [store_ids[start : start + chunk] for start in range(0, len(store_ids), chunk)][::-1]
    checking: dict[concurrent.futures.Future, int] = {}  # each chunk's checks, and how many
    recorded = 0
    while unread or checking:
        while unread and sum(checking.values()) < window:
            items = _read_chunk(unread.pop(), claim_token=claim_token, trigger=trigger)
            if items:
                checking[_engine.submit(lambda client, items=items: _check_many(client, items, gate))] = len(items)
        if not checking:
            continue
        done, _ = concurrent.futures.wait(checking, return_when=concurrent.futures.FIRST_COMPLETED)
        for checked in done:
            del checking[checked]
            batch = services.store_record_results(results=checked.result(), trigger=trigger, claim_token=claim_token)
            checks_recorded(batch.checks)
            recorded += batch.recorded
    return recorded


def _read_chunk(store_ids: list[int], *, claim_token: str, trigger: str) -> dict[int, BatchItem]:
    """`load_batch`, releasing (and naming in the log) the stores whose token no key decrypts."""
    items, undecryptable = load_batch(store_ids, claim_token=claim_token, trigger=trigger)
    if undecryptable:
        logger.error(
            "stores %s: the Access token cannot be decrypted with any of FERNET_KEYS; not checked",
            undecryptable,
        )
        services.stores_release_claims(store_ids=undecryptable, claim_token=claim_token)
    return items
