"""Service clients: machine identities with scopes, hashed secrets, a grace
period after rotation, source networks, and the API's 401/403 for each."""

from __future__ import annotations

import hashlib
import logging
from datetime import timedelta

import pytest
import time_machine
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Group
from django.utils import timezone

from api.models import ServiceClient
from api.service_clients import (
    ServiceClientError,
    address_allowed,
    parse_grace,
    secret_issuer_has_rights,
    service_client_authenticate,
    service_client_create,
    service_client_revoke,
    service_client_rotate,
)
from merchants.models import User
from tests.api.clients import bearer, service_client

STORES = "/api/v1/stores/"


@pytest.fixture
def ops(db):
    user = User.objects.create_user(email="ops@violet.test", password="x", is_staff=True)
    user.groups.add(Group.objects.get(name="Operations"))
    return user


def test_a_secret_is_stored_as_its_digest_with_a_recognisable_prefix(db):
    client, secret = service_client()
    stored = ServiceClient.objects.get(pk=client.pk)
    assert secret.startswith("vcs_") and len(secret) > 40
    assert stored.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret.startswith(stored.secret_prefix) and len(stored.secret_prefix) == 7
    assert secret not in repr(stored.__dict__)


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"scopes": ["stores:write"]}, "Unknown scope “stores:write”"),
        ({"scopes": []}, "at least one scope"),
        ({"networks": ["10.0.0.1/8"]}, "is not a network"),
        ({"networks": ["example.com"]}, "is not a network"),
        ({"name": "Order Sync!"}, "is not a service client name"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_saved(db, kwargs, message):
    with pytest.raises(ServiceClientError, match=message):
        service_client_create(**{"name": "order-sync", "scopes": ["stores:read"], **kwargs})
    assert not ServiceClient.objects.exists()


def test_a_name_is_taken_once(db):
    service_client()
    with pytest.raises(ServiceClientError, match="already exists"):
        service_client_create(name="order-sync", scopes=["events:read"])
    assert ServiceClient.objects.count() == 1


def test_create_rotate_and_revoke_are_logged_without_the_secret(ops, caplog):
    caplog.set_level(logging.INFO, logger="violet.service_clients")
    client, first = service_client(by=ops)
    second = service_client_rotate(client=client, by=ops).secret
    service_client_revoke(client=client, by=ops)
    messages = [entry.change_message for entry in LogEntry.objects.order_by("pk")]
    assert messages[0].startswith("Created the service client with scopes stores:read, from any network")
    assert messages[1].startswith("Rotated the secret:") and messages[2].startswith("Revoked")
    assert all(entry.user == ops for entry in LogEntry.objects.all())
    lines = [r.getMessage() for r in caplog.records if r.name == "violet.service_clients"]
    assert len(lines) == 3
    for text in [*messages, *lines]:
        for secret in (first, second):
            assert secret[8:16] not in text and secret not in text


def test_the_previous_secret_works_for_the_grace_period_only(db):
    client, old = service_client()
    now = timezone.now()
    new = service_client_rotate(client=client, grace=timedelta(hours=24)).secret
    assert service_client_authenticate(new) == client
    assert service_client_authenticate(old, now=now + timedelta(hours=23)) == client
    assert service_client_authenticate(old, now=now + timedelta(hours=24, seconds=1)) is None
    # Rotating again ends the first secret at once, whatever its grace.
    newest = service_client_rotate(client=client, grace=timedelta(hours=1)).secret
    assert service_client_authenticate(old) is None
    assert service_client_authenticate(new) == client and service_client_authenticate(newest) == client


def test_an_expired_previous_secret_gets_401_on_the_api(db):
    client, old = service_client()
    service_client_rotate(client=client, grace=timedelta(minutes=30))
    assert bearer(old).get(STORES).status_code == 200
    with time_machine.travel(timezone.now() + timedelta(minutes=31)):
        response = bearer(old).get(STORES)
    assert response.status_code == 401 and response.json()["error"]["code"] == "unauthorized"


def test_a_revoked_client_gets_401_on_its_next_call_with_either_secret(db):
    client, old = service_client()
    new = service_client_rotate(client=client).secret
    assert bearer(new).get(STORES).status_code == 200
    assert service_client_revoke(client=client) is True
    for secret in (old, new):
        response = bearer(secret).get(STORES)
        assert response.status_code == 401 and response["WWW-Authenticate"] == 'Bearer realm="violet-connect"'
    assert service_client_revoke(client=client) is False
    with pytest.raises(ServiceClientError, match="revoked"):
        service_client_rotate(client=client)


def test_grace_periods(db):
    assert parse_grace("24h") == timedelta(hours=24) and parse_grace("0") == timedelta(0)
    assert parse_grace("7d") == timedelta(days=7) and parse_grace("30m") == timedelta(minutes=30)
    for bad in ("", "1w", "-1h", "31d", "24 h", "٢h"):
        with pytest.raises(ServiceClientError):
            parse_grace(bad)


# --- scopes -------------------------------------------------------------------------------------


def test_a_client_without_the_scope_gets_403_and_nothing_is_done(db, acme_store, monkeypatch):
    sent = []
    monkeypatch.setattr("stores.tasks.check_stores.delay", lambda *a: sent.append(a))
    _client, secret = service_client(scopes=["events:read"])
    for method, path, scope in [
        ("get", STORES, "stores:read"),
        ("get", STORES + "acme123/", "stores:read"),
        ("post", STORES + "acme123/check/", "checks:write"),
    ]:
        response = getattr(bearer(secret), method)(path)
        assert response.status_code == 403, path
        error = response.json()["error"]
        assert error["code"] == "forbidden" and f"the scope “{scope}”" in error["message"]
    assert sent == []


def test_stores_read_and_checks_write_work_for_service_clients(db, acme_store, monkeypatch):
    sent = []
    monkeypatch.setattr("stores.tasks.check_stores.delay", lambda *a: sent.append(a))
    _client, reader = service_client(name="reader", scopes=["stores:read"])
    _client, checker = service_client(name="checker", scopes=["checks:write"])
    assert bearer(reader).get(STORES).json()["count"] == 1
    assert bearer(reader).get(STORES + "acme123/").json()["store_hash"] == "acme123"
    assert bearer(reader).post(STORES + "acme123/check/").status_code == 403
    assert bearer(checker).get(STORES).status_code == 403
    assert bearer(checker).post(STORES + "acme123/check/").status_code == 202
    assert len(sent) == 1


def test_a_client_records_its_last_use(db):
    client, secret = service_client()
    assert client.last_used_at is None
    bearer(secret).get(STORES)
    client.refresh_from_db()
    assert client.last_used_at is not None


# --- networks -----------------------------------------------------------------------------------


def test_networks_are_matched_against_the_trusted_client_address(db, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    _client, secret = service_client(networks=["10.20.0.0/16", "2001:db8::/32"])
    inside = bearer(secret, REMOTE_ADDR="192.0.2.1", HTTP_X_FORWARDED_FOR="10.20.3.4")
    assert inside.get(STORES).status_code == 200
    outside = bearer(secret, REMOTE_ADDR="192.0.2.1", HTTP_X_FORWARDED_FOR="10.21.3.4")
    response = outside.get(STORES)
    assert response.status_code == 403 and "may not call from 10.21.3.4" in response.json()["error"]["message"]
    # A forged left-most entry does not help: only the proxy's entry counts.
    forged = bearer(secret, REMOTE_ADDR="192.0.2.1", HTTP_X_FORWARDED_FOR="10.20.3.4, 10.21.3.4")
    assert forged.get(STORES).status_code == 403


def test_without_trusted_proxies_the_peer_address_is_matched(db, settings):
    settings.TRUSTED_PROXY_COUNT = 0
    _client, secret = service_client(networks=["10.20.0.0/16"])
    assert bearer(secret, REMOTE_ADDR="10.20.0.9", HTTP_X_FORWARDED_FOR="8.8.8.8").get(STORES).status_code == 200
    assert bearer(secret, REMOTE_ADDR="8.8.8.8", HTTP_X_FORWARDED_FOR="10.20.0.9").get(STORES).status_code == 403


def test_address_rules(db):
    client, _secret = service_client(networks=["10.20.0.0/16"])
    assert address_allowed(client, "::ffff:10.20.1.1")  # IPv4-mapped is its IPv4 address
    assert not address_allowed(client, "") and not address_allowed(client, "garbage")
    anywhere, _ = service_client(name="anywhere")
    assert address_allowed(anywhere, "203.0.113.9")


# --- the issuer's rights ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "lose_rights",
    [
        pytest.param(lambda u: User.objects.filter(pk=u.pk).update(is_active=False), id="deactivated"),
        pytest.param(lambda u: u.groups.clear(), id="left Operations"),
        pytest.param(lambda u: u.delete(), id="deleted"),
    ],
)
def test_a_client_whose_issuer_lost_operations_is_flagged_and_keeps_working(ops, lose_rights):
    client, secret = service_client(by=ops)
    assert secret_issuer_has_rights(client)
    lose_rights(ops)
    client.refresh_from_db()
    assert not secret_issuer_has_rights(client)
    assert bearer(secret).get(STORES).status_code == 200  # no service breaks at night
    # Someone with the rights rotates it: the flag goes.
    other = User.objects.create_superuser(email="root@violet.test", password="x")
    service_client_rotate(client=client, by=other)
    client.refresh_from_db()
    assert secret_issuer_has_rights(client)


def test_a_secret_issued_from_the_command_line_is_not_flagged(db):
    client, _secret = service_client(by=None)
    assert secret_issuer_has_rights(client)


def test_staff_tokens_keep_their_scopes_and_no_more(db, ops):
    from api.auth import Forbidden, authenticate
    from api.tokens import api_token_issue

    _token, raw = api_token_issue(name="Dashboards", created_by=ops)
    assert authenticate(raw, address="", scope="stores:read").token is not None
    with pytest.raises(Forbidden):
        authenticate(raw, address="", scope="credentials:read")


def test_the_same_rule_serves_async_views(db):
    """The proxy (an async view) will call `aauthenticate_request`."""
    from asgiref.sync import async_to_sync
    from django.test import RequestFactory

    from api.auth import Forbidden, Unauthorized, aauthenticate_request

    client, secret = service_client(scopes=["proxy:read"], networks=["10.0.0.0/8"])
    request = RequestFactory().get("/", HTTP_AUTHORIZATION=f"Bearer {secret}", REMOTE_ADDR="10.1.1.1")
    assert async_to_sync(aauthenticate_request)(request, "proxy:read").client == client
    with pytest.raises(Forbidden):
        async_to_sync(aauthenticate_request)(request, "proxy:write")
    outside = RequestFactory().get("/", HTTP_AUTHORIZATION=f"Bearer {secret}", REMOTE_ADDR="192.0.2.1")
    with pytest.raises(Forbidden):
        async_to_sync(aauthenticate_request)(outside, "proxy:read")
    service_client_revoke(client=client)
    with pytest.raises(Unauthorized):
        async_to_sync(aauthenticate_request)(request, "proxy:read")
