"""`python manage.py service_clients create|list|rotate|revoke`."""

from __future__ import annotations

import hashlib
import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from api.models import ServiceClient
from api.service_clients import service_client_authenticate


def run(*args) -> str:
    out = StringIO()
    call_command("service_clients", *args, stdout=out)
    return out.getvalue()


def test_create_prints_the_secret_once_as_json(db):
    body = json.loads(run("create", "order-sync", "--scopes", "stores:read,credentials:read", "--json"))
    client = ServiceClient.objects.get()
    assert set(body) == {"id", "name", "secret"} and body["id"] == client.pk and body["name"] == "order-sync"
    assert client.secret_hash == hashlib.sha256(body["secret"].encode()).hexdigest()
    assert client.scopes == ["stores:read", "credentials:read"] and client.networks == []
    assert service_client_authenticate(body["secret"]) == client
    listing = run("list")
    assert "order-sync" in listing and body["secret"] not in listing and body["secret"][8:16] not in listing


def test_create_with_networks_in_words(db):
    out = run("create", "checkout", "--scopes", "proxy:read", "--networks", "10.0.0.0/8,2001:db8::/32")
    client = ServiceClient.objects.get()
    assert client.networks == ["10.0.0.0/8", "2001:db8::/32"]
    secret = out.splitlines()[1]
    assert secret.startswith("vcs_") and service_client_authenticate(secret) == client


@pytest.mark.parametrize(
    "args,message",
    [
        (["create", "x", "--scopes", "stores:read,admin"], "Unknown scope “admin”"),
        (["create", "x", "--scopes", "stores:read", "--networks", "10.0.0.300/8"], "is not a network"),
        (["create", "x", "--scopes", "stores:read", "--networks", "10.0.0.1/8"], "is not a network"),
        (["create", "order-sync", "--scopes", "events:read"], "already exists"),
        (["rotate", "nobody"], "No service client named “nobody”"),
        (["rotate", "order-sync", "--grace", "forever"], "is not a grace period"),
        (["revoke", "nobody"], "No service client named"),
    ],
)
def test_bad_input_says_why_and_changes_nothing(db, args, message):
    run("create", "order-sync", "--scopes", "stores:read")
    before = list(ServiceClient.objects.values())
    with pytest.raises(CommandError, match=message):
        run(*args)
    assert list(ServiceClient.objects.values()) == before


def test_bad_input_exits_non_zero_with_the_message_on_stderr(db, tmp_path):
    import subprocess
    import sys

    result = subprocess.run(  # a real process: the exit status and stderr as a shell sees them
        [sys.executable, "manage.py", "service_clients", "create", "x", "--scopes", "nope"],
        capture_output=True,
        text=True,
        env={**__import__("os").environ, "DATABASE_URL": f"sqlite:///{tmp_path}/none.sqlite3"},
        check=False,
    )
    assert result.returncode != 0 and "Unknown scope “nope”" in result.stderr and result.stdout == ""


def test_rotate_and_revoke(db):
    first = json.loads(run("create", "order-sync", "--scopes", "stores:read", "--json"))["secret"]
    second = json.loads(run("rotate", "order-sync", "--grace", "1h", "--json"))["secret"]
    client = ServiceClient.objects.get()
    assert service_client_authenticate(first) == client == service_client_authenticate(second)
    out = run("rotate", "order-sync", "--grace", "0")
    third = out.splitlines()[1]
    assert "The previous secret stopped working." in out
    assert service_client_authenticate(second) is None and service_client_authenticate(third) == client
    assert "Revoked “order-sync”" in run("revoke", "order-sync")
    assert service_client_authenticate(third) is None
    assert json.loads(run("list", "--json"))[0]["state"] == "revoked"
    assert "already revoked" in run("revoke", "order-sync")
