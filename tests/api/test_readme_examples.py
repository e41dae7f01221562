"""The README's "For Violet's services" Python client, run as written against
a live portal (and a faked BigCommerce): a service written from the README works."""

from __future__ import annotations

import re
from pathlib import Path

import responses

from api.models import CredentialRelease
from tests.api.clients import service_client
from tests.conftest import ACME_TOKEN

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_python() -> str:
    section = README.read_text().split("### For Violet's services", 1)[1].split("\n### ", 1)[0]
    [code] = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    return code


def test_the_readme_client_fetches_credentials_polls_and_calls_bigcommerce(
    transactional_db, live_server, acme_store, settings, monkeypatch
):
    settings.BIGCOMMERCE_API_URL = "https://api.bigcommerce.test"
    _client, secret = service_client(scopes=["credentials:read"])
    monkeypatch.setenv("VIOLET_SECRET", secret)
    code = readme_python().replace("https://portal.example", live_server.url)
    with responses.RequestsMock() as bigcommerce:
        bigcommerce.add_passthru(live_server.url)
        store_call = bigcommerce.get("https://api.bigcommerce.test/stores/acme123/v2/store", json={"id": "acme123"})
        namespace: dict = {}
        exec(compile(code.replace("abc123", "acme123"), "README.md", "exec"), namespace)  # noqa: S102
        # Asked again, the client gets a 304 and keeps what it has.
        assert namespace["creds"].get("acme123") is namespace["store"]
        namespace["creds"].session.close()  # no kept-alive connection outlives the test
    assert store_call.call_count == 1
    assert store_call.calls[0].request.headers["X-Auth-Token"] == ACME_TOKEN
    assert CredentialRelease.objects.count() == 1  # the 304 released nothing
