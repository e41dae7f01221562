"""Sign-up, login by email, logout and password reset."""

import pytest
from django.test import override_settings
from django.urls import reverse

from merchants.models import Membership, User
from tests.conftest import PASSWORD


def test_sign_up_creates_a_merchant_owned_by_the_new_person(client, db):
    response = client.post(
        reverse("signup"),
        {"merchant_name": "Initech", "email": "Peter@Initech.test", "password": "tps-reports-2026!"},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("connect:dashboard", args=["initech"])
    membership = Membership.objects.get(user__email="peter@initech.test")
    assert membership.merchant.name == "Initech" and membership.is_owner
    assert client.get(response["Location"]).status_code == 200  # logged in


def test_sign_up_keeps_what_was_entered_on_error(client, alice):
    response = client.post(
        reverse("signup"), {"merchant_name": "Acme Two", "email": "ALICE@acme.test", "password": "x"}
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "already exists" in body
    assert 'value="Acme Two"' in body
    assert User.objects.count() == 1


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
    link = next(line for line in mailoutbox[0].body.splitlines() if "/password-reset/" in line)
    path = link.split("testserver", 1)[1]
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
