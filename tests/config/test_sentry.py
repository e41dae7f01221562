"""No secret reaches a Sentry event: real events built by sentry_sdk (Django and
logging integrations, a failing request, a logged error, an exception carrying
deployment secrets), captured by a stub transport as the bytes that would be sent."""

from __future__ import annotations

import logging

import pytest
import sentry_sdk
from django.test import Client
from sentry_sdk.transport import Transport

from config import sentry
from tests.config.secrets_for_sentry import ACCESS_TOKEN, BEARER, CLIENT_SECRET, PASSWORD, SESSION

FERNET_KEY = "Zm9vYmFyYmF6cXV4c2VudHJ5a2V5MTIzNDU2Nzg5MA="
SECRET_KEY = "q8Zr3vT1xW0yN6mK2pL5sJ9hG4fD7cB"
MAIL_PASSWORD = "smtp-Kq7vW2xYhunter"


class Captured(Transport):
    envelopes: list[bytes] = []

    def capture_envelope(self, envelope) -> None:
        Captured.envelopes.append(envelope.serialize())


@pytest.fixture
def reporting(settings):
    settings.ROOT_URLCONF = "tests.config.sentry_urls"
    settings.FERNET_KEYS = [FERNET_KEY, "an-older-fernet-key-for-sentry"]
    settings.SECRET_KEY = SECRET_KEY
    settings.EMAIL_HOST_PASSWORD = MAIL_PASSWORD
    settings.DEBUG = False
    Captured.envelopes = []
    client = sentry_sdk.Client(**sentry.options("https://public@sentry.invalid/1", transport=Captured))
    scope = sentry_sdk.get_global_scope()
    previous = scope.client
    scope.set_client(client)
    try:
        yield Captured.envelopes
    finally:
        client.flush(timeout=2)
        scope.set_client(previous)
        client.close()


def sent(envelopes) -> str:
    sentry_sdk.get_client().flush(timeout=2)
    return b"\n".join(envelopes).decode("utf-8", "replace")


SECRETS = [ACCESS_TOKEN, CLIENT_SECRET, PASSWORD, BEARER, SESSION, FERNET_KEY, SECRET_KEY, MAIL_PASSWORD]


def assert_no_secret(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text
        # nor an 8-character slice of one (as the leak scan does)
        slices = [secret[i : i + 8] for i in range(len(secret) - 7) if secret[i : i + 8] in text]
        assert not slices, (secret, [text[max(0, text.index(s) - 80) : text.index(s) + 40] for s in slices[:2]])


def test_a_failing_request_reaches_sentry_without_a_secret(reporting, db):
    response = Client(raise_request_exception=False).get(
        f"/fail/?password={PASSWORD}",
        headers={"Authorization": f"Bearer {BEARER}", "X-Auth-Token": ACCESS_TOKEN},
        HTTP_COOKIE=f"sessionid={SESSION}",
    )
    assert response.status_code == 500
    text = sent(reporting)
    assert "RuntimeError" in text and "BigCommerce refused" in text  # the event itself arrived
    assert "failing" in text  # with its stack
    assert_no_secret(text)


def test_a_logged_error_and_deployment_secrets_are_scrubbed(reporting):
    logger = logging.getLogger("notifications.services")
    logger.error("SMTP login failed for password=%s with key %s", MAIL_PASSWORD, FERNET_KEY)
    try:
        raise ValueError(f"cannot decrypt with {FERNET_KEY}; SECRET_KEY is {SECRET_KEY}")
    except ValueError:
        sentry_sdk.capture_exception()
    text = sent(reporting)
    assert "SMTP login failed" in text and "cannot decrypt" in text
    assert_no_secret(text)


def test_the_scrubber_filters_by_key_and_by_shape():
    event = {
        "request": {"headers": {"Authorization": "Bearer x", "X-Auth-Token": "y", "Accept": "text/html"}},
        "extra": {"client_secret": "z", "store_hash": "abc123"},
        "message": "retry with Authorization: Bearer abcdefgh",
        "headers": [["X-Auth-Token", "q"], ["Content-Type", "json"]],
    }
    scrubbed = sentry.scrub(event, ["deploy-secret"])
    assert scrubbed["request"]["headers"] == {
        "Authorization": "[Filtered]",
        "X-Auth-Token": "[Filtered]",
        "Accept": "text/html",
    }
    assert scrubbed["extra"] == {"client_secret": "[Filtered]", "store_hash": "abc123"}
    assert "abcdefgh" not in scrubbed["message"]
    assert scrubbed["headers"] == [["X-Auth-Token", "[Filtered]"], ["Content-Type", "json"]]


def test_the_sdk_is_told_to_collect_nothing_personal(reporting):
    """sentry-sdk 3 collects bodies, cookies, headers, query strings and the
    user by default: every one of them is switched off or allowlisted here."""
    collected = sentry_sdk.get_client().options["data_collection"]
    assert collected["http_bodies"] == []
    assert collected["user_info"] is False
    assert collected["cookies"] == {"mode": "off"}
    assert collected["url_query_params"] == {"mode": "off"}
    assert collected["stack_frame_variables"] is False
    assert collected["database_query_data"] is False
    assert collected["http_headers"]["request"]["mode"] == "allowlist"
    for header in ("authorization", "x-auth-token", "cookie"):
        assert not any(term in header for term in collected["http_headers"]["request"]["terms"])


WIZARD_TOKEN = "wizt0k3nq9w8e7r6t5y4u3i2o1p0zz"
WIZARD_SECRET = "9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a1f0e9d8c"
WIZARD_CLIENT_ID = "wizcl1ent1dq9w8e7r6t5y4u3i2o1"


def test_an_exception_inside_the_wizards_post_sends_neither_token_nor_secret(reporting, settings, alice):
    """A real POST to the wizard with a pasted token and secret; BigCommerce's
    client blows up mid-check. The event arrives, without the body, the
    cookies, the user's e-mail, or any frame's variables."""
    import re

    import responses
    from django.urls import reverse

    from tests.conftest import client_for

    settings.ROOT_URLCONF = "config.urls"
    client = client_for(alice)
    client.raise_request_exception = False
    data = {
        "api_path": "https://api.bigcommerce.com/stores/k9x2mq7/v3/",
        "client_id": WIZARD_CLIENT_ID,
        "client_secret": WIZARD_SECRET,
        "access_token": WIZARD_TOKEN,
    }
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add(responses.GET, re.compile(r".*"), body=RuntimeError("the BigCommerce client broke"))
        response = client.post(reverse("connect:wizard_credentials", args=["acme"]), data)
    assert response.status_code == 500
    text = sent(reporting)
    assert "the BigCommerce client broke" in text  # the event arrived
    assert "/connect/" in text or "wizard" in text or "credentials" in text  # with its request
    assert_no_secret(text)
    for secret in (WIZARD_TOKEN, WIZARD_SECRET, WIZARD_CLIENT_ID, alice.email, "sessionid", "csrftoken"):
        assert secret not in text


def test_an_error_in_a_check_sends_no_credential(reporting, acme_store, monkeypatch):
    """A store's check raises in a Celery task while its frames hold the
    decrypted token: the task's failure is reported, the token is not."""
    from stores import fleet
    from stores.tasks import check_stores
    from tests.conftest import ACME_TOKEN

    async def broken(credentials, *, client, full):
        access_token = credentials.access_token  # noqa: F841 - a local a traceback would carry
        raise RuntimeError(f"the validation layer broke on store {credentials.store_hash}")

    monkeypatch.setattr(fleet, "validate_escalating", broken)
    result = check_stores.apply(args=[[acme_store.id], ""])
    assert result.failed()
    text = sent(reporting)
    assert "the validation layer broke on store acme123" in text  # the event arrived
    assert "check_stores" in text  # from the task
    assert ACME_TOKEN not in text and ACME_TOKEN[:8] not in text
    assert_no_secret(text)
