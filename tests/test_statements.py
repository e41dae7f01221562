"""The hand-written statements (config.statements) held to the ORM queries
they replace, field by field, on SQLite and on PostgreSQL: the store read of
the credential release and the proxy (stores.release.store_release_read) and
the service client lookup of every API call (api.service_clients)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db.models import BinaryField, ExpressionWrapper, F, Q
from django.utils import timezone

from api.models import ServiceClient
from api.service_clients import (
    secret_digest,
    service_client_authenticate,
    service_client_revoke,
    service_client_rotate,
)
from stores.models import Credential, Store
from stores.release import _READ_FIELDS, store_release_read
from stores.status import StoreStatus
from tests.api.clients import service_client

pytestmark = pytest.mark.django_db


# --- the store read -------------------------------------------------------------------------------


def orm_store_read(store_hash: str):
    """What the statement replaced: the same columns through the ORM."""
    sealed = {
        f"sealed_{name}": ExpressionWrapper(F(f"credential__{name}"), output_field=BinaryField())
        for name in ("client_id", "access_token")
    }
    return Store.objects.only(*_READ_FIELDS).annotate(**sealed).filter(store_hash=store_hash).first()


def same_store(store_hash: str) -> None:
    by_orm = orm_store_read(store_hash)
    by_sql = store_release_read(store_hash)
    if by_orm is None:
        assert by_sql is None
        return
    for name in _READ_FIELDS:
        assert getattr(by_sql.store, name) == getattr(by_orm, name), name
    assert by_sql.store.get_deferred_fields() == by_orm.get_deferred_fields()
    assert not by_sql.store._state.adding
    if by_orm.sealed_access_token is None or not by_orm.credentials_version:
        assert by_sql.sealed is None
    else:
        assert by_sql.sealed.access_token == bytes(by_orm.sealed_access_token)
        assert by_sql.sealed.client_id == bytes(by_orm.sealed_client_id)


@pytest.mark.parametrize("status", [choice for choice, _ in StoreStatus.choices])
def test_the_store_read_in_every_status(acme_store, status):
    Store.objects.filter(pk=acme_store.pk).update(
        status=status,
        missing_scopes=["store_cart", "store_v2_orders"],
        last_checked_at=timezone.now() - timedelta(minutes=3),
        scopes_verified_at=timezone.now() - timedelta(days=2),
    )
    same_store("acme123")


def test_the_store_read_without_credentials_unknown_or_empty(acme_store, globex_store):
    same_store("globex9")  # no credentials, no timestamps
    same_store("nosuch1")
    same_store("")
    Store.objects.filter(pk=acme_store.pk).update(credentials_version=0)
    same_store("acme123")
    Credential.objects.filter(store=acme_store).delete()
    same_store("acme123")


def test_the_store_read_loads_only_its_fields(acme_store, django_assert_num_queries):
    with django_assert_num_queries(1):
        store = store_release_read("acme123").store
        assert store.store_hash == "acme123"
    assert {"name", "merchant_id", "profile"} <= store.get_deferred_fields()


# --- the service client lookup --------------------------------------------------------------------


def orm_client(raw: str):
    """What the statement replaced."""
    wanted, now = secret_digest(raw), timezone.now()
    if not wanted:
        return None
    return (
        ServiceClient.objects.active()
        .filter(Q(secret_hash=wanted) | Q(previous_secret_hash=wanted, previous_secret_expires_at__gt=now))
        .first()
    )


def same_client(raw: str) -> None:
    by_orm = orm_client(raw)
    by_sql = service_client_authenticate(raw)
    if by_orm is None:
        assert by_sql is None
        return
    by_orm.refresh_from_db()  # last_used_at, just touched by the lookup
    for field in ServiceClient._meta.concrete_fields:
        assert getattr(by_sql, field.attname) == getattr(by_orm, field.attname) or field.name == "last_used_at"
    assert not by_sql._state.adding


def test_the_client_lookup_current_previous_past_grace_and_revoked(admin_user):
    client, secret = service_client(name="a", scopes=["proxy:read", "credentials:read"], networks=["10.0.0.0/8"])
    same_client(secret)
    for other in ("vcs_unknown", "", "vc_a-staff-token", secret + "x", secret.upper()):
        same_client(other)
        assert service_client_authenticate(other) is None
    issued = service_client_rotate(client=client, grace=timedelta(hours=1), by=admin_user)
    same_client(secret)  # previous, within its grace
    same_client(issued.secret)
    assert service_client_authenticate(secret).pk == client.pk
    ServiceClient.objects.filter(pk=client.pk).update(previous_secret_expires_at=timezone.now() - timedelta(seconds=1))
    same_client(secret)  # previous, past its grace
    assert service_client_authenticate(secret) is None
    service_client_revoke(client=client)
    same_client(issued.secret)
    assert service_client_authenticate(issued.secret) is None


def test_the_client_s_lists_and_times_come_back_as_the_orm_gives_them():
    client, secret = service_client(name="b", scopes=["stores:read", "events:read"], networks=["2001:db8::/32"])
    found = service_client_authenticate(secret)
    assert found.scopes == ["events:read", "stores:read"] or found.scopes == client.scopes
    assert found.networks == ["2001:db8::/32"]
    assert found.created_at == ServiceClient.objects.get(pk=client.pk).created_at
    assert timezone.is_aware(found.created_at)
