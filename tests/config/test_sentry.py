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
