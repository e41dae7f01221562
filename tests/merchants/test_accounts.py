"""Sign-up, login by email, logout and password reset."""

import pytest
from django.test import override_settings
from django.urls import reverse

from merchants.models import Membership, User
from tests.conftest import PASSWORD


def _link(mail, marker):
    line = next(line for line in mail.body.splitlines() if marker in line)
    return line.split("testserver", 1)[1] if "testserver" in line else line.split("8000", 1)[1]


def test_sign_up_creates_a_merchant_and_mails_a_link_that_confirms_the_address(client, db, mailoutbox):
    response = client.post(
        reverse("signup"),
        {"merchant_name": "Initech", "email": "Peter@Initech.test", "password": "tps-reports-2026!"},
    )
    assert response.status_code == 200
    assert "Check your e-mail" in response.content.decode()
    membership = Membership.objects.get(user__email="peter@initech.test")
    assert membership.merchant.name == "Initech" and membership.is_owner
    assert membership.user.email_verified_at is None
    assert client.get(reverse("connect:dashboard", args=["initech"])).status_code == 302  # not logged in yet

    [mail] = mailoutbox
    assert mail.to == ["peter@initech.test"]
    path = _link(mail, "/verify-email/")
    page = client.get(path)  # a page with a button: opening the link changes nothing
    assert page.status_code == 200 and "Confirm my address" in page.content.decode()
    response = client.post(path)
    assert response.status_code == 302
    assert response["Location"] == reverse("connect:dashboard", args=["initech"])
    assert client.get(response["Location"]).status_code == 200  # logged in
    membership.user.refresh_from_db()
    assert membership.user.email_verified_at is not None


def test_a_forged_or_foreign_verification_link_confirms_nothing(client, db, mailoutbox):
    client.post(reverse("signup"), {"merchant_name": "I", "email": "p@i.test", "password": "tps-reports-2026!"})
    path = _link(mailoutbox[0], "/verify-email/")
    response = client.get(path[:-3] + "xx/")
    assert response.status_code == 410
    assert User.objects.get().email_verified_at is None


def test_sign_up_does_not_tell_whether_an_address_has_an_account(client, alice, mailoutbox):
    """Sign-up, login and password reset never reveal an account: the same page for
    a taken address (in any spelling), and a mail to its owner instead."""
    fresh = client.post(
        reverse("signup"), {"merchant_name": "New Co", "email": "new@new.test", "password": "tps-reports-2026!"}
    )
    taken = client.post(
        reverse("signup"), {"merchant_name": "Acme Two", "email": " ALICE@acme.test ", "password": "tps-reports-2026!"}
    )
    assert taken.status_code == fresh.status_code == 200
    assert taken.content.decode().replace("alice@acme.test", "X") == fresh.content.decode().replace("new@new.test", "X")
    assert "already exists" not in taken.content.decode()
    assert User.objects.filter(email__iexact="alice@acme.test").count() == 1
    assert not Membership.objects.filter(merchant__name="Acme Two").exists()
    assert mailoutbox[1].to == ["alice@acme.test"]
    assert "already has one" in mailoutbox[1].body


def test_sign_up_keeps_what_was_entered_on_error(client, db):
    response = client.post(
        reverse("signup"), {"merchant_name": "Acme Two", "email": "someone@acme.test", "password": "x"}
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert 'class="errors"' in body
    assert 'value="Acme Two"' in body
    assert not User.objects.exists()


def test_duplicate_merchant_names_get_distinct_slugs(client, acme):
    client.post(reverse("signup"), {"merchant_name": "Acme", "email": "x@y.test", "password": "tps-reports-2026!"})
    assert Membership.objects.get(user__email="x@y.test").merchant.slug == "acme-2"


@override_settings(SIGNUP_ENABLED=False)
def test_sign_up_can_be_turned_off(client, db):
    assert client.get(reverse("signup")).status_code == 404
    assert "Create an account" not in client.get(reverse("login")).content.decode()


@pytest.mark.parametrize("email", ["alice@acme.test", "ALICE@Acme.Test"])
def test_login_by_email_any_case(client, alice, email):
    response = client.post(reverse("login"), {"username": email, "password": PASSWORD})
    assert response.status_code == 302


def test_wrong_password_says_so(client, alice):
    response = client.post(reverse("login"), {"username": alice.email, "password": "nope"})
    assert response.status_code == 200
    assert "That email and password do not match an account" in response.content.decode()


def test_logout_is_a_post(client, alice):
    client.force_login(alice)
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert client.get(reverse("connect:dashboard", args=["acme"])).status_code == 302


def test_password_reset_round_trip(client, alice, mailoutbox):
    client.post(reverse("password_reset"), {"email": alice.email})
    assert len(mailoutbox) == 1
    path = _link(mailoutbox[0], "/password-reset/")  # on PUBLIC_BASE_URL, not the request's host
    response = client.get(path, follow=True)
    form_url = response.redirect_chain[-1][0]
    response = client.post(form_url, {"new_password1": "brand-new-pass-77", "new_password2": "brand-new-pass-77"})
    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.check_password("brand-new-pass-77")


def test_password_reset_does_not_reveal_whether_an_account_exists(client, db, mailoutbox):
    response = client.post(reverse("password_reset"), {"email": "nobody@nowhere.test"})
    assert response.status_code == 302
    assert mailoutbox == []
