"""api/proxy_admission.py reads, in one hand-written statement, what
api/service_clients.py and stores/release.py decide with the ORM. Held to
them case by case, so the two rules cannot drift apart."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from api.proxy_admission import admission
from api.service_clients import service_client_authenticate, service_client_revoke, service_client_rotate
from stores.models import Credential, Store
from stores.release import store_release_read
from stores.status import StoreStatus
from tests.api.clients import service_client

pytestmark = pytest.mark.django_db


def same_client(raw: str, store_hash: str = "acme123") -> None:
    by_orm = service_client_authenticate(raw)
    by_sql = admission(raw, store_hash).client
    assert (by_sql.pk if by_sql else None) == (by_orm.pk if by_orm else None)
    if by_sql is not None:
        by_sql_fields = (by_sql.name, list(by_sql.scopes), list(by_sql.networks))
        assert by_sql_fields == (by_orm.name, by_orm.scopes, by_orm.networks)


def same_store(store_hash: str) -> None:
    by_orm = store_release_read(store_hash)
    by_sql = admission("", store_hash)
    if by_orm is None:
        assert by_sql.store_id is None
        return
    assert (by_sql.store_id, by_sql.store_status, by_sql.version, by_sql.usable, list(by_sql.missing_scopes)) == (
        by_orm.store.pk,
        by_orm.store.status,
        by_orm.version,
        by_orm.usable,
        list(by_orm.store.missing_scopes),
    )


def test_clients_active_rotated_within_and_past_grace_and_revoked(acme_store):
    client, secret = service_client(name="a", scopes=["proxy:read"], networks=["10.0.0.0/8"])
    same_client(secret)
    same_client("vcs_unknown")
    same_client("")
    same_client("vc_a-staff-token")
    issued = service_client_rotate(client=client, grace=timedelta(hours=1))
    same_client(secret)  # previous, within its grace
    same_client(issued.secret)
    client.refresh_from_db()
    type(client).objects.filter(pk=client.pk).update(previous_secret_expires_at=timezone.now() - timedelta(seconds=1))
    same_client(secret)  # previous, past its grace
    assert admission(secret, "acme123").client is None
    service_client_revoke(client=client)
    same_client(issued.secret)
    assert admission(issued.secret, "acme123").client is None


@pytest.mark.parametrize("status", [choice for choice, _ in StoreStatus.choices])
def test_stores_in_every_status(acme_store, status):
    Store.objects.filter(pk=acme_store.pk).update(status=status, missing_scopes=["store_cart"])
    same_store("acme123")


def test_stores_without_credentials_or_unknown(acme_store, globex_store):
    same_store("globex9")  # no credentials
    same_store("nosuch1")
    Credential.objects.filter(store=acme_store).delete()
    same_store("acme123")
    Store.objects.filter(pk=acme_store.pk).update(credentials_version=0)
    same_store("acme123")


def test_the_client_s_last_use_is_recorded_at_most_once_a_minute(acme_store):
    client, secret = service_client(name="b", scopes=["proxy:read"])
    admission(secret, "acme123")
    client.refresh_from_db()
    first = client.last_used_at
    assert first is not None
    admission(secret, "acme123")
    client.refresh_from_db()
    assert client.last_used_at == first


@pytest.mark.django_db(transaction=True)
def test_calls_that_find_no_connection_open_a_few_between_them(acme_store, monkeypatch):
    """The guard in `_AsyncStatement.fetchone`: 50 first calls at once open at
    most `size` connections (without it, each opened its own: 'too many clients')."""
    import asyncio

    import psycopg
    from django.db import connection

    from api.proxy_admission import _AsyncStatement

    if connection.vendor != "postgresql":
        pytest.skip("the asynchronous connection is PostgreSQL's")
    opened = []
    real = psycopg.AsyncConnection.connect

    async def counting(*args, **kwargs):
        opened.append(1)
        await asyncio.sleep(0.05)  # a connection takes a while: the others arrive meanwhile
        return await real(*args, **kwargs)

    monkeypatch.setattr(psycopg.AsyncConnection, "connect", counting)
    statement = _AsyncStatement(size=3)

    async def fifty():
        try:
            calls = [statement.fetchone(["", "", "2026-01-01T00:00:00Z", "acme123"]) for _ in range(50)]
            return await asyncio.gather(*calls)
        finally:
            await statement.close()

    rows = asyncio.run(fifty())
    assert len(rows) == 50 and all(row[5] == acme_store.pk for row in rows)
    assert len(opened) == 3


@pytest.mark.django_db(transaction=True)
def test_kept_connections_the_server_dropped_are_replaced_without_a_failed_call(acme_store):
    """PostgreSQL dropped the kept connections while they sat idle (a restart):
    the next call finds one broken, drops them all, and answers from a new one
    (a read, so running it again is safe); without the retry it raised, and the
    proxy answered 503. A statement that fails on a fresh connection still raises."""
    import asyncio

    import psycopg
    from asgiref.sync import sync_to_async
    from django.db import connection

    from api.proxy_admission import _AsyncStatement

    if connection.vendor != "postgresql":
        pytest.skip("the asynchronous connection is PostgreSQL's")
    statement = _AsyncStatement(size=2)
    params = ["", "", "2026-01-01T00:00:00Z", "acme123"]

    def terminate(pids: list[int]) -> None:  # in a thread of its own: its connection closed after
        try:
            with connection.cursor() as cursor:
                for pid in pids:
                    cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
        finally:
            connection.close()

    async def calls():
        try:
            first = await asyncio.gather(statement.fetchone(params), statement.fetchone(params))
            kept = {conn for conns in statement._open.values() for conn in conns}
            assert len(kept) == 2
            await sync_to_async(terminate, thread_sensitive=False)([conn.info.backend_pid for conn in kept])
            await asyncio.sleep(0.2)
            again = await statement.fetchone(params)
            now_open = [not conn.closed for conns in statement._open.values() for conn in conns]
            with pytest.raises(psycopg.Error):  # not a dropped connection: raised as before
                await statement.fetchone(["", "", "not a time", "acme123"])
            return first, again, now_open
        finally:
            await statement.close()

    first, again, now_open = asyncio.run(calls())
    assert first[0][5] == again[5] == acme_store.pk
    assert now_open == [True]  # both dropped ones gone, one new one open
