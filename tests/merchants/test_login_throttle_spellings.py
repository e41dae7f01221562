"""The login lockout holds across every spelling of one address: case,
surrounding spaces and Unicode compatibility forms (django-axes counts per
`merchants.identity.canonical_email`). The staff console has no password form
of its own (staff sign in at /login/, then give their second factor), so the
same lockout covers it."""

import pytest
from django.urls import reverse

from merchants.identity import canonical_email
from merchants.models import User
from tests.conftest import PASSWORD

SPELLINGS = [
    "alice@acme.test",
    "ALICE@ACME.TEST",
    "  Alice@Acme.Test ",
    "ａｌｉｃｅ@acme.test",  # full-width letters: NFKC makes them ASCII
    "AlIcE@aCmE.tEsT",
]


def attempt(client, url, email, password, address="203.0.113.7"):
    return client.post(url, {"username": email, "password": password}, REMOTE_ADDR=address)


def test_canonical_email():
    assert {canonical_email(s) for s in SPELLINGS} == {"alice@acme.test"}
    assert canonical_email("STRASSE@x.test") == canonical_email("straße@x.test")  # casefold, not lower


def test_each_spelling_logs_in(client, alice):
    for spelling in SPELLINGS:
        assert attempt(client, reverse("login"), spelling, PASSWORD).status_code == 302
        client.logout()


@pytest.mark.parametrize("staff", [False, True])
def test_changing_the_spelling_does_not_reset_the_count(client, alice, settings, staff):
    User.objects.filter(pk=alice.pk).update(is_staff=staff)
    url = reverse("login")
    for n in range(settings.AXES_FAILURE_LIMIT):
        attempt(client, url, SPELLINGS[n % len(SPELLINGS)], "wrong")
    for spelling in SPELLINGS:
        locked = attempt(client, url, spelling, PASSWORD)
        assert locked.status_code == 429, spelling


def test_password_reset_finds_the_account_by_any_spelling(client, alice, mailoutbox):
    client.post(reverse("password_reset"), {"email": " ａｌｉｃｅ@ACME.test "})
    assert [m.to for m in mailoutbox] == [["alice@acme.test"]]


def test_invitations_key_on_the_canonical_address(alice, acme, mailoutbox):
    from merchants import services

    first = services.invitation_create(merchant=acme, email="Dana@Acme.test", role="member", invited_by=alice)
    second = services.invitation_create(merchant=acme, email=" ＤＡＮＡ@acme.test", role="member", invited_by=alice)
    first.refresh_from_db()
    assert second.email == "dana@acme.test" and first.revoked_at is not None


def test_an_address_is_stored_in_its_one_spelling_whoever_saves_it(db):
    user = User(email=" Bob@Example.TEST ")
    user.save()
    assert User.objects.get(pk=user.pk).email == "bob@example.test"


def test_the_console_login_takes_no_password(client, alice):
    """A password posted to /admin/login/ logs no one in: it sends the visitor
    to /login/, the one password form, where the lockout above holds."""
    User.objects.filter(pk=alice.pk).update(is_staff=True)
    for spelling in SPELLINGS:
        response = attempt(client, reverse("admin:login"), spelling, PASSWORD)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
        assert "_auth_user_id" not in client.session

