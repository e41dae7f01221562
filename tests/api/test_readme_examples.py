"""The README's "For Violet's services" Python client, run as written against
a live portal (the ASGI application under uvicorn, as `make run` and the
`proxy` process serve it) and a stand-in for BigCommerce: a service written
from the README fetches credentials, polls, calls BigCommerce with them, and
calls it through the proxy; its curl commands follow the event feed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from api.models import CredentialRelease
from tests.api.clients import service_client
from tests.api.proxy_servers import fake_bigcommerce, serving_portal
from tests.conftest import ACME_TOKEN

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_python() -> str:
    section = README.read_text().split("### For Violet's services", 1)[1].split("\n### ", 1)[0]
    [code] = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    return code


@pytest.mark.django_db(transaction=True)
def test_the_readme_client_fetches_credentials_polls_and_calls_bigcommerce(acme_store, settings, monkeypatch):
    _client, secret = service_client(scopes=["credentials:read", "proxy:read"])
    monkeypatch.setenv("VIOLET_SECRET", secret)
    with fake_bigcommerce() as bigcommerce, serving_portal() as portal:
        settings.BIGCOMMERCE_API_URL = bigcommerce.url
        code = readme_python().replace("https://portal.example", portal)
        namespace: dict = {}
        exec(compile(code.replace("abc123", "acme123"), "README.md", "exec"), namespace)  # noqa: S102
        # Asked again, the client gets a 304 and keeps what it has.
        assert namespace["creds"].get("acme123") is namespace["store"]
        namespace["creds"].session.close()  # no kept-alive connection outlives the test
    assert namespace["proxied"].status_code == 200
    assert namespace["proxied"].json() == {"data": {"ok": True}}
    direct, proxied = bigcommerce.seen
    assert direct.path_qs == proxied.path_qs == "/stores/acme123/v2/store"
    assert direct.headers["X-Auth-Token"] == proxied.headers["X-Auth-Token"] == ACME_TOKEN
    assert secret not in str(proxied.headers)
    assert CredentialRelease.objects.count() == 1  # the 304 released nothing


def readme_event_commands() -> list[str]:
    """The README's two curl commands for the event feed, as written."""
    section = README.read_text().split("### For Violet's services", 1)[1].split("\n### ", 1)[0]
    commands = [line for line in section.splitlines() if line.startswith("curl ") and "/api/v1/events/" in line]
    assert len(commands) == 2, commands
    return commands


@pytest.mark.django_db(transaction=True)
def test_the_readme_curl_commands_follow_the_event_feed(acme_store):
    """Run as written (curl, `$VIOLET_SECRET`, `$CURSOR`) against a live portal:
    the first page, then the events after its `next_cursor`, with the keys the
    README shows."""
    import json
    import os
    import subprocess

    from stores import services

    _client, secret = service_client(scopes=["events:read"])
    first_command, next_command = readme_event_commands()

    def run(command: str, portal: str, **env: str) -> dict:
        done = subprocess.run(  # noqa: S603 - the README's own command
            ["sh", "-c", command.replace("https://portal.example", portal)],
            env={**os.environ, "VIOLET_SECRET": secret, **env},
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        return json.loads(done.stdout)

    with serving_portal() as portal:
        services.store_pause(store=acme_store, user=None, reason="testing")
        first = run(first_command, portal)
        services.store_resume(store=acme_store, user=None)
        following = run(next_command, portal, CURSOR=first["next_cursor"])
    assert set(first) == set(following) == {"events", "next_cursor", "has_more"}
    [paused] = first["events"]
    assert set(paused) == {"id", "cursor", "type", "store_hash", "merchant_id", "created_at", "data"}
    assert (paused["type"], paused["store_hash"], paused["data"]["new"]) == ("status_changed", "acme123", "paused")
    assert [(e["type"], e["data"]["new"]) for e in following["events"]] == [("status_changed", "connected")]
