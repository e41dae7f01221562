"""Who is calling the BigCommerce proxy, and which store: one SQL statement per call.

The proxy's hot path. The rule is the one the rest of the API follows
(api/auth.py, api/service_clients.py, stores/release.py) — an active service
client whose current secret, or previous secret within its grace, is the one
sent; a store whose status releases credentials and which has some — but read
in one round trip instead of two (each of those two is hand-written SQL too,
config.statements: the ORM's compilation alone cost more than the proxy's
whole budget per call, docs/benchmarks.md). tests/api/test_proxy_admission.py holds the statement to
the ORM's rule case by case, so the two cannot drift apart silently.

Exact on every call: a revoked client is refused on its next call, a
disconnected store or new credentials take effect on the next call.

`aadmission` is the proxy's: on PostgreSQL it runs the statement on
asynchronous psycopg connections of the process's own (a few per event loop,
opened as calls need them, reopened after an error), so a call holds no thread
and hops to none, and calls arriving together do not queue on one connection;
elsewhere (SQLite in development) it runs `admission` in
Django's sync thread.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import UTC
from functools import cache, lru_cache

import psycopg
from asgiref.sync import sync_to_async
from django.db import connection
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from config.statements import column, table
from stores.models import Credential, Store
from stores.release import RELEASABLE

from .models import ServiceClient
from .service_clients import secret_digest
from .tokens import TOUCH_EVERY, last_used_touch


@dataclass(frozen=True)
class AdmittedClient:
    """What the proxy needs of a service client (a model instance per call costs more than the rest)."""

    pk: int
    name: str
    scopes: tuple[str, ...]
    networks: tuple[str, ...]


@dataclass(frozen=True)
class Admission:
    client: AdmittedClient | None  # None: no such active client (401)
    store_id: int | None  # None: no such store (404)
    store_status: str = ""
    version: str = ""  # "" when the store has no credentials
    usable: bool = False
    missing_scopes: tuple[str, ...] = ()  # what the store is known to lack (the traffic rule reads it)


@cache
def _statement() -> str:
    """Names from the models' metadata, values as parameters (config.statements)."""
    col, client, store, credential = column, ServiceClient, Store, Credential
    return (
        f"SELECT c.{col(client, 'id')}, c.{col(client, 'name')}, CAST(c.{col(client, 'scopes')} AS TEXT), "  # noqa: S608
        f"CAST(c.{col(client, 'networks')} AS TEXT), c.{col(client, 'last_used_at')}, "
        f"s.{col(store, 'id')}, s.{col(store, 'status')}, s.{col(store, 'credentials_version')}, "
        f"CAST(s.{col(store, 'missing_scopes')} AS TEXT), "
        f"EXISTS (SELECT 1 FROM {table(credential)} k WHERE k.{col(credential, 'store')} = s.{col(store, 'id')}) "
        f"FROM (SELECT 1 AS one) AS one "
        f"LEFT JOIN {table(client)} c ON c.{col(client, 'revoked_at')} IS NULL AND ("
        f"c.{col(client, 'secret_hash')} = %s OR (c.{col(client, 'previous_secret_hash')} = %s "
        f"AND c.{col(client, 'previous_secret_expires_at')} > %s)) "
        f"LEFT JOIN {table(store)} s ON s.{col(store, 'store_hash')} = %s"
    )


@lru_cache(maxsize=4096)
def _json_list(text: str | None) -> tuple[str, ...]:
    """A JSON list column, read as text: the same few texts (scopes, networks)
    come back on every call, so each is parsed once."""
    value = json.loads(text) if text else []
    return tuple(str(item) for item in value) if isinstance(value, list) else ()


@sensitive_variables("raw", "wanted")
def admission(raw: str, store_hash: str) -> Admission:
    """The active service client holding `raw` and the store `store_hash`, in one statement."""
    now = timezone.now()
    wanted = secret_digest(raw)
    with connection.cursor() as cursor:
        cursor.execute(_statement(), [wanted, wanted, connection.ops.adapt_datetimefield_value(now), store_hash])
        row = cursor.fetchone()
    admitted, touch = _admission(row, bool(wanted), now)
    if touch is not None:
        last_used_touch(touch, now=now)
    return admitted


class _AsyncStatement:
    """The statement on this process's own asynchronous connections (PostgreSQL):
    up to `size` per event loop, opened as calls need them and kept. Calls that
    arrive together run their statements side by side instead of queueing on
    one connection; at most `size` calls hold one, the others wait for one to
    come back (so a burst of first calls opens `size` connections, not one each)."""

    def __init__(self, size: int = 4) -> None:
        self.size = size
        # Each connection's one cursor, kept with it (a new cursor per call costs more than its statement).
        self._idle: dict[asyncio.AbstractEventLoop, list[psycopg.AsyncCursor]] = {}
        self._slots: dict[asyncio.AbstractEventLoop, asyncio.Semaphore] = {}
        self._open: dict[asyncio.AbstractEventLoop, set[psycopg.AsyncConnection]] = {}

    async def _connect(self, loop: asyncio.AbstractEventLoop) -> psycopg.AsyncCursor:
        params = {
            key: value
            for key, value in connection.get_connection_params().items()
            if key not in {"cursor_factory", "context", "prepare_threshold"}
        }
        conn = await psycopg.AsyncConnection.connect(**params, autocommit=True, connect_timeout=5)
        self._open.setdefault(loop, set()).add(conn)
        return conn.cursor()

    async def _discard(self, loop: asyncio.AbstractEventLoop, conn: psycopg.AsyncConnection) -> None:
        self._open.get(loop, set()).discard(conn)
        await conn.close()

    async def fetchone(self, params: list) -> tuple:
        loop = asyncio.get_running_loop()
        slots = self._slots.get(loop)
        if slots is None:
            slots = self._slots[loop] = asyncio.Semaphore(self.size)
        idle = self._idle.setdefault(loop, [])
        async with slots:
            cursor = None
            while idle and cursor is None:
                cursor = idle.pop()
                if cursor.connection.closed:
                    await self._discard(loop, cursor.connection)
                    cursor = None
            if cursor is None:
                return await self._run(loop, idle, await self._connect(loop), params)
            try:
                return await self._run(loop, idle, cursor, params)
            except psycopg.Error:
                if not cursor.connection.broken:
                    raise
            # A kept connection the server dropped while it sat idle (a restart, a
            # failover): those kept beside it are likely gone too. Drop them, and
            # run the statement (a read) once more on a new connection, so a
            # restart costs no call its 503.
            while idle:
                await self._discard(loop, idle.pop().connection)
            return await self._run(loop, idle, await self._connect(loop), params)

    async def _run(self, loop, idle: list, cursor: psycopg.AsyncCursor, params: list) -> tuple:
        """The statement on `cursor`; the cursor back among the idle after, or
        its connection dropped if it broke or the call was cancelled mid-statement."""
        try:
            await cursor.execute(_statement(), params, prepare=True)
            row = await cursor.fetchone()
        except psycopg.Error:
            if cursor.connection.broken:
                await self._discard(loop, cursor.connection)  # another is opened when needed
            else:
                idle.append(cursor)
            raise
        except BaseException:  # cancelled mid-statement: the connection's state is unknown
            await self._discard(loop, cursor.connection)
            raise
        idle.append(cursor)
        return row

    async def close(self) -> None:
        for conns in self._open.values():
            for conn in conns:
                await conn.close()
        self._open.clear()
        self._idle.clear()
        self._slots.clear()


STATEMENT = _AsyncStatement()


@cache
def _on_postgresql() -> bool:
    return connection.vendor == "postgresql"


@sensitive_variables("raw", "wanted")
async def aadmission(raw: str, store_hash: str) -> Admission:
    """`admission` from the event loop, holding no thread on PostgreSQL."""
    if not _on_postgresql():
        return await sync_to_async(admission)(raw, store_hash)
    now = timezone.now()
    wanted = secret_digest(raw)
    row = await STATEMENT.fetchone([wanted, wanted, now, store_hash])
    admitted, touch = _admission(row, bool(wanted), now)
    if touch is not None:
        await sync_to_async(last_used_touch)(touch, now=now)
    return admitted


def _admission(row: tuple, wanted: bool, now) -> tuple[Admission, ServiceClient | None]:
    """The row read as an Admission, and the client if its last use is due to be recorded."""
    client_id, name, scopes, networks, last_used_at, store_id, status, version, missing, has_credentials = row
    client = touch = None
    if client_id is not None and wanted:
        if isinstance(last_used_at, str):  # SQLite, raw
            last_used_at = ServiceClient._meta.get_field("last_used_at").to_python(last_used_at)
        if last_used_at is not None and timezone.is_naive(last_used_at):  # SQLite keeps UTC without a zone
            last_used_at = timezone.make_aware(last_used_at, UTC)
        client = AdmittedClient(client_id, name, _json_list(scopes), _json_list(networks))
        if last_used_at is None or last_used_at < now - TOUCH_EVERY:
            touch = ServiceClient(id=client_id, last_used_at=last_used_at)
    if store_id is None:
        return Admission(client, None), touch
    version = str(version) if has_credentials and version else ""
    return Admission(
        client,
        store_id,
        status,
        version,
        usable=status in RELEASABLE and bool(version),
        missing_scopes=_json_list(missing),
    ), touch
