"""Hostile input to every merchant form and the .txt upload: a clear message
and a 4xx, never a 500, nothing saved, no network call."""

from __future__ import annotations

import pytest
import responses
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from connect.models import CredentialDraft
from merchants.models import Invitation, Merchant, User
from stores.models import Store
from tests.conftest import client_for

TOKEN = "a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p"
GOOD = {
    "api_path": "https://api.bigcommerce.com/stores/k9x2mq7/v3/",
    "client_id": "q9w8e7r6t5y4u3i2o1p0a9s8d7f6g5",
    "client_secret": "3f2a9c8b7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a",
    "access_token": TOKEN,
}
HOSTILE = {
    "one megabyte": "a" * 1_000_000,
    "NUL byte": TOKEN[:5] + "\x00" + TOKEN[5:],
    "right-to-left override": TOKEN[:5] + "\u202e" + TOKEN[5:],
    "zero-width space": TOKEN[:5] + "\u200b" + TOKEN[5:],
    "emoji": TOKEN[:5] + "🙂" + TOKEN[5:],
    "replacement character": TOKEN[:5] + "\ufffd" + TOKEN[5:],
    "script tag": "<script>alert(1)</script>",
    "sql": "' OR 1=1; --",
    "only spaces": "     ",
}
FILES = {
    "binary": b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 10,
    "utf-16 without BOM": "ACCESS TOKEN: abc".encode("utf-16-le"),
    "latin-1": "ACCESS TOKEN: caf\xe9\nAPI PATH: x".encode("latin-1"),
    "NUL bytes": b"ACCESS TOKEN: abc\x00def\n",
    "two megabytes": b"A" * (2 * 1024 * 1024),
    "empty": b"",
    "no credentials": b"hello, this is a shopping list\n",
}


@pytest.fixture
def bigcommerce():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


def assert_nothing_saved() -> None:
    assert not Store.objects.exists()


@pytest.mark.parametrize("field", list(GOOD))
@pytest.mark.parametrize("kind", list(HOSTILE))
def test_hostile_values_in_each_credential_field(alice, bigcommerce, field, kind):
    url = reverse("connect:wizard_credentials", args=["acme"])
    response = client_for(alice).post(url, {**GOOD, field: HOSTILE[kind]})
    assert 400 <= response.status_code < 500, (field, kind, response.status_code)
    body = response.content.decode()
    assert 'role="alert"' in body  # a clear message, announced
    assert "<script>alert(1)</script>" not in body  # escaped if echoed at all
    assert len(bigcommerce.calls) == 0
    assert_nothing_saved()


@pytest.mark.parametrize("kind", list(FILES))
def test_hostile_files(alice, bigcommerce, kind):
    upload = SimpleUploadedFile("credentials.txt", FILES[kind], content_type="text/plain")
    response = client_for(alice).post(
        reverse("connect:wizard_credentials", args=["acme"]), {"credentials_file": upload}
    )
    assert 400 <= response.status_code < 500, (kind, response.status_code)
    assert 'role="alert"' in response.content.decode()
    assert len(bigcommerce.calls) == 0
    assert_nothing_saved()


@pytest.mark.parametrize("kind", ["one megabyte", "NUL byte", "right-to-left override"])
def test_hostile_pasted_txt(alice, bigcommerce, kind):
    text = f"ACCESS TOKEN: {HOSTILE[kind]}\nAPI PATH: {GOOD['api_path']}\n"
    response = client_for(alice).post(reverse("connect:wizard_credentials", args=["acme"]), {"credentials_text": text})
    assert 400 <= response.status_code < 500
    assert_nothing_saved()


def test_missing_everything(alice, bigcommerce):
    response = client_for(alice).post(reverse("connect:wizard_credentials", args=["acme"]), {})
    assert response.status_code == 422
    body = response.content.decode()
    for label in ("API path", "Client ID", "Client secret", "Access token"):
        assert label in body
    assert not CredentialDraft.objects.exists()
    assert_nothing_saved()


@pytest.mark.parametrize("kind", ["one megabyte", "NUL byte", "right-to-left override", "zero-width space"])
def test_hostile_sign_up_is_refused(client, db, kind):
    value = HOSTILE[kind]
    response = client.post(
        reverse("signup"), {"merchant_name": value, "email": "x@y.test", "password": "a-good-password-77"}
    )
    assert response.status_code == 200  # the form again, with the message
    assert 'class="errors"' in response.content.decode()
    assert not User.objects.exists() and not Merchant.objects.exists()


def test_markup_in_a_merchant_name_is_only_text(client, db, mailoutbox):
    client.post(
        reverse("signup"),
        {"merchant_name": HOSTILE["script tag"], "email": "x@y.test", "password": "a-good-password-77"},
    )
    link = next(line for line in mailoutbox[0].body.splitlines() if "/verify-email/" in line)
    response = client.post(link.split("8000", 1)[1], follow=True)  # confirms the address, logs in
    body = response.content.decode()
    assert "<script>alert(1)</script>" not in body and "&lt;script&gt;alert(1)&lt;/script&gt;" in body


@pytest.mark.parametrize("kind", ["one megabyte", "NUL byte", "script tag"])
def test_hostile_invitation(alice, kind, mailoutbox):
    response = client_for(alice).post(
        reverse("connect:people", args=["acme"]), {"email": HOSTILE[kind], "role": "member"}
    )
    assert response.status_code != 500
    assert not Invitation.objects.exists() and mailoutbox == []


def test_hostile_invitation_role(alice, mailoutbox):
    response = client_for(alice).post(
        reverse("connect:people", args=["acme"]), {"email": "d@acme.test", "role": "superuser"}
    )
    assert response.status_code != 500
    assert not Invitation.objects.exists()
