"""Issue 28, item 2: the sign-up confirmation link is no reusable login link.

Opening it (GET) changes nothing and shows a button; the button (a POST with
the CSRF token) confirms the address once, within the hour, for the address it
was sent to and the password of that moment, and logs in only an account with
no second factor (and never staff)."""

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from merchants import services
from merchants.models import User

PASSWORD = "tps-reports-2026!"


@pytest.fixture
def peter(db, mailoutbox):
    client = Client()
    client.post(reverse("signup"), {"merchant_name": "Initech", "email": "peter@initech.test", "password": PASSWORD})
    return User.objects.get(email="peter@initech.test")


def link_path(mailoutbox) -> str:
    line = next(line for line in mailoutbox[-1].body.splitlines() if "/verify-email/" in line)
    return line.split("8000", 1)[1]


def logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_opening_the_link_changes_nothing_and_shows_a_button_that_posts(peter, mailoutbox):
    client = Client()
    page = client.get(link_path(mailoutbox))
    body = page.content.decode()
    assert page.status_code == 200
    assert "peter@initech.test" in body and 'method="post"' in body and "csrfmiddlewaretoken" in body
    assert "no-store" in page["Cache-Control"]
    peter.refresh_from_db()
    assert peter.email_verified_at is None and not logged_in(client)


def test_the_link_works_once(peter, mailoutbox):
    path = link_path(mailoutbox)
    first = Client()
    assert first.post(path).status_code == 302 and logged_in(first)
    peter.refresh_from_db()
    assert peter.email_verified_at is not None
    for method in ("get", "post"):
        again = Client()
        response = getattr(again, method)(path)
        assert response.status_code == 410 and not logged_in(again)
        assert "used already" in response.content.decode()


def test_the_post_needs_the_csrf_token_login_csrf_is_refused(peter, mailoutbox):
    """An attacker's page posting its own account's link into a victim's browser."""
    victim = Client(enforce_csrf_checks=True)
    assert victim.post(link_path(mailoutbox)).status_code == 403
    peter.refresh_from_db()
    assert peter.email_verified_at is None and not logged_in(victim)


def test_the_link_expires_within_the_hour(peter, mailoutbox):
    path = link_path(mailoutbox)
    with time_machine.travel(timezone.now() + timedelta(minutes=services.EMAIL_VERIFICATION_MINUTES + 1)):
        client = Client()
        assert client.get(path).status_code == 410
        assert client.post(path).status_code == 410 and not logged_in(client)
    peter.refresh_from_db()
    assert peter.email_verified_at is None


def test_the_link_is_tied_to_the_address_it_confirms(peter, mailoutbox):
    path = link_path(mailoutbox)
    User.objects.filter(pk=peter.pk).update(email="someone-else@initech.test")
    client = Client()
    assert client.post(path).status_code == 410 and not logged_in(client)
    assert User.objects.get(pk=peter.pk).email_verified_at is None


def test_a_password_reset_voids_the_link(peter, mailoutbox):
    path = link_path(mailoutbox)
    peter.set_password("a-brand-new-password-77")
    peter.save()
    client = Client()
    assert client.post(path).status_code == 410 and not logged_in(client)


def test_an_account_with_a_second_factor_is_confirmed_but_never_logged_in_by_the_link(peter, mailoutbox):
    path = link_path(mailoutbox)
    TOTPDevice.objects.create(user=peter, name="phone", confirmed=True)
    client = Client()
    response = client.post(path)
    assert response.status_code == 302 and response["Location"] == reverse("login")
    assert not logged_in(client)
    peter.refresh_from_db()
    assert peter.email_verified_at is not None


def test_staff_are_never_logged_in_by_the_link(db, mailoutbox):
    staff = User.objects.create_user(email="ops@violet.test", password=PASSWORD, is_staff=True)
    services.email_verification_send(staff)
    client = Client()
    assert client.post(link_path(mailoutbox)).status_code == 302 and not logged_in(client)


def test_a_forged_token_or_one_with_a_foreign_state_is_refused(peter, mailoutbox):
    from django.core import signing

    forged = signing.dumps({"id": peter.pk, "email": "peter@initech.test"}, salt=services.EMAIL_VERIFICATION_SALT)
    for token in (forged, "x", link_path(mailoutbox).rstrip("/").rsplit("/", 1)[1] + "x"):
        client = Client()
        assert client.post(reverse("email_verify", args=[token])).status_code == 410 and not logged_in(client)
    peter.refresh_from_db()
    assert peter.email_verified_at is None
