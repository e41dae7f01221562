"""Service clients in the console: Operations create (shown once), rotate and
revoke; Support only looks; a client whose issuer lost Operations is flagged."""

from __future__ import annotations

import hashlib

from django.contrib.admin.models import LogEntry
from django.urls import reverse

from api.models import ServiceClient
from api.service_clients import service_client_authenticate, service_client_create
from tests.conftest import client_for
from tests.console.conftest import assert_no_secret


def url(name, *args):
    return reverse(f"admin:{name}", args=args)


def secret_in(body: str) -> str:
    start = body.index('value="vcs_') + len('value="')
    return body[start : body.index('"', start)]


def test_operations_create_a_client_and_see_its_secret_once(operations):
    client = client_for(operations)
    response = client.post(
        url("api_serviceclient_add"),
        {"name": "order-sync", "scopes": ["stores:read", "credentials:read"], "networks": "10.0.0.0/8\n192.0.2.0/24"},
    )
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    secret = secret_in(response.content.decode())
    stored = ServiceClient.objects.get()
    assert stored.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert stored.scopes == ["stores:read", "credentials:read"] and stored.networks == ["10.0.0.0/8", "192.0.2.0/24"]
    assert stored.created_by == operations == stored.secret_issued_by
    for page in (url("api_serviceclient_changelist"), url("api_serviceclient_change", stored.pk)):
        assert_no_secret(client.get(page).content.decode(), (secret,))
    [entry] = LogEntry.objects.all()
    assert entry.change_message.startswith("Created the service client") and entry.user == operations
    assert_no_secret(str(client.session.items()) + str(client.cookies), (secret,))


def test_bad_input_in_the_console_changes_nothing(operations):
    client = client_for(operations)
    response = client.post(url("api_serviceclient_add"), {"name": "x", "scopes": ["nope"], "networks": "10.0.0.1/8"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "is not a network" in body and "Select a valid choice" in body
    assert not ServiceClient.objects.exists()


def test_rotate_shows_the_new_secret_once_and_revoke_stops_it(operations):
    issued = service_client_create(name="order-sync", scopes=["stores:read"], by=operations)
    client = client_for(operations)
    assert client.get(url("api_serviceclient_rotate", issued.client.pk)).status_code == 200
    response = client.post(url("api_serviceclient_rotate", issued.client.pk), {"grace": "3600"})
    new = secret_in(response.content.decode())
    assert service_client_authenticate(new) == issued.client == service_client_authenticate(issued.secret)
    client.post(url("api_serviceclient_revoke", issued.client.pk))
    assert service_client_authenticate(new) is None and service_client_authenticate(issued.secret) is None
    messages = list(LogEntry.objects.order_by("pk").values_list("change_message", flat=True))
    assert messages[1].startswith("Rotated the secret") and messages[2].startswith("Revoked")


def test_support_sees_clients_but_cannot_create_rotate_or_revoke(support, operations):
    issued = service_client_create(name="order-sync", scopes=["stores:read"], by=operations)
    client = client_for(support)
    assert client.get(url("api_serviceclient_changelist")).status_code == 200
    assert client.get(url("api_serviceclient_add")).status_code == 403
    assert client.post(url("api_serviceclient_rotate", issued.client.pk), {"grace": "0"}).status_code == 403
    assert client.post(url("api_serviceclient_revoke", issued.client.pk)).status_code == 403
    assert service_client_authenticate(issued.secret) == issued.client


def test_a_client_whose_issuer_left_operations_is_flagged_for_rotation(operations, superuser):
    issued = service_client_create(name="order-sync", scopes=["stores:read"], by=operations)
    operations.groups.clear()
    client = client_for(superuser)
    listing = client.get(url("api_serviceclient_changelist")).content.decode()
    assert ">Rotate<" in listing
    page = client.get(url("api_serviceclient_change", issued.client.pk)).content.decode()
    assert "Rotate this secret: it was issued by someone who no longer has Operations rights" in page
    assert service_client_authenticate(issued.secret) == issued.client  # still works


def test_staff_read_the_credential_releases(support, operations, acme_store):
    from api.models import CredentialRelease

    issued = service_client_create(name="order-sync", scopes=["credentials:read"], by=operations)
    CredentialRelease.objects.create(client=issued.client, store=acme_store, version="7-1", client_address="10.0.0.1")
    client = client_for(support)
    listing = client.get(url("api_credentialrelease_changelist")).content.decode()
    assert "order-sync" in listing and "10.0.0.1" in listing
    assert client.get(url("api_credentialrelease_add")).status_code == 403
    page = client.get(url("api_serviceclient_change", issued.client.pk)).content.decode()
    assert "acme123" in page  # the client's page lists what it read
