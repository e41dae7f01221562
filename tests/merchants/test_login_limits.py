"""The login's wide locks (issue 28, item 7; merchants/login_limits.py): one
account from many addresses, and one address against many accounts, beside
django-axes' one account from one address. A browser that logged in to the
account before, or reset its password by e-mail, is held by neither, so a
stranger cannot keep the owner out."""

from __future__ import annotations

import re

import time_machine
from django.contrib.auth import SESSION_KEY
from django.core import mail
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from merchants.models import User
from tests.conftest import PASSWORD, enrolled
from tests.merchants.test_two_factor import wrong_code

FIFTH = "192.0.2.55"


def attempt(client, email, password, address):
    return client.post(reverse("login"), {"username": email, "password": password}, REMOTE_ADDR=address)


def logged_in(client) -> bool:
    return SESSION_KEY in client.session


def spread_guesses(email: str, guesses: int = 17, addresses: int = 4) -> None:
    """`guesses` wrong passwords for `email`, in turn from `addresses` addresses,
    each from its own fresh browser (no cookie)."""
    for n in range(guesses):
        attempt(Client(), email, f"guess-{n}", f"198.51.100.{n % addresses + 1}")


def test_17_guesses_from_four_addresses_then_the_right_password_from_a_fifth_is_refused(alice, settings):
    # django-axes alone locks none of the four before its fifth guess, and
    # never the fifth address: this passed before the per-account lock.
    assert settings.AXES_FAILURE_LIMIT == 5 and settings.LOGIN_FAILURES_PER_ACCOUNT < 17
    spread_guesses(alice.email)
    client = Client()
    refused = attempt(client, alice.email, PASSWORD, FIFTH)
    assert refused.status_code == 429
    assert not logged_in(client)
    body = refused.content.decode()
    assert "Too many wrong passwords for this email" in body
    assert "reset your password" in body


def test_the_per_account_lock_counts_every_spelling_of_the_address(alice):
    for n in range(17):
        email = ["ALICE@acme.test", " alice@ACME.test ", "ａｌｉｃｅ@acme.test"][n % 3]
        attempt(Client(), email, f"guess-{n}", f"198.51.100.{n % 4 + 1}")
    assert attempt(Client(), alice.email, PASSWORD, FIFTH).status_code == 429


def test_a_lock_on_an_address_without_an_account_looks_the_same(db):
    # A lock says nothing about whether the address has an account.
    spread_guesses("nobody@acme.test")
    body = attempt(Client(), "nobody@acme.test", PASSWORD, FIFTH).content.decode()
    assert "Too many wrong passwords for this email" in body


def test_one_address_trying_many_accounts_is_stopped(alice, settings):
    attacker = "203.0.113.99"
    for n in range(settings.LOGIN_FAILURES_PER_ADDRESS):
        # One guess each: django-axes (per account and address) never locks.
        assert attempt(Client(), f"person{n}@example.test", "Winter2026!", attacker).status_code == 200
    client = Client()
    refused = attempt(client, alice.email, PASSWORD, attacker)
    assert refused.status_code == 429
    assert not logged_in(client)
    assert "Too many wrong passwords from your network" in refused.content.decode()
    # Another address is not held by it.
    assert attempt(Client(), alice.email, PASSWORD, "203.0.113.7").status_code == 302


def test_the_lock_lifts_by_itself_after_its_window(alice, settings):
    with time_machine.travel("2026-12-07 12:00:00 +0000", tick=False) as traveller:
        spread_guesses(alice.email)
        assert attempt(Client(), alice.email, PASSWORD, FIFTH).status_code == 429
        traveller.shift(settings.LOGIN_FAILURES_PER_ACCOUNT_WINDOW_SECONDS + 60)
        client = Client()
        assert attempt(client, alice.email, PASSWORD, FIFTH).status_code == 302
        assert logged_in(client)


def test_the_owners_usual_browser_is_not_held_by_the_per_account_lock(alice, bob):
    browser = Client()
    assert attempt(browser, alice.email, PASSWORD, "203.0.113.7").status_code == 302
    browser.post(reverse("logout"))  # the test client's logout() would drop every cookie
    assert not logged_in(browser)
    spread_guesses(alice.email, guesses=40)
    # A stranger cannot keep alice out of the browser she uses.
    assert attempt(browser, alice.email, PASSWORD, "203.0.113.7").status_code == 302
    assert logged_in(browser)
    # The cookie is alice's only: bob's account on the same browser is held.
    browser.post(reverse("logout"))
    spread_guesses(bob.email)
    assert attempt(browser, bob.email, PASSWORD, "203.0.113.7").status_code == 429


def test_a_forged_known_browser_cookie_does_not_pass(alice, settings):
    spread_guesses(alice.email)
    browser = Client()
    browser.cookies[settings.LOGIN_KNOWN_BROWSER_COOKIE_NAME] = "forged"
    assert attempt(browser, alice.email, PASSWORD, FIFTH).status_code == 429


def test_a_password_reset_lets_the_locked_out_owner_in_at_once(alice):
    spread_guesses(alice.email)
    browser = Client()
    assert attempt(browser, alice.email, PASSWORD, FIFTH).status_code == 429
    browser.post(reverse("password_reset"), {"email": alice.email}, REMOTE_ADDR=FIFTH)
    link = re.search(r"http://\S+/password-reset/\S+/\S+/", mail.outbox[-1].body).group(0)
    path = link.split("://", 1)[1].split("/", 1)[1]
    form_page = browser.get("/" + path, follow=True)
    assert form_page.status_code == 200
    new_password = "a-new-long-password-4821"
    done = browser.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": new_password, "new_password2": new_password},
        REMOTE_ADDR=FIFTH,
    )
    assert done.status_code == 302
    assert attempt(browser, alice.email, new_password, FIFTH).status_code == 302
    assert logged_in(browser)


def test_the_normal_path_still_logs_in_after_a_few_mistakes(alice):
    client = Client()
    for n in range(3):
        assert attempt(client, alice.email, f"typo-{n}", "203.0.113.7").status_code == 200
    assert attempt(client, alice.email, PASSWORD, "203.0.113.7").status_code == 302
    assert logged_in(client)
    assert User.objects.get(pk=alice.pk).last_login is not None


def test_wrong_codes_at_the_second_step_count_for_the_account_too(alice, settings):
    """Someone who has the password guesses codes from many addresses: each
    wrong code counts as a failed login for the account, as a wrong password does."""
    device, _ = enrolled(alice)
    for n in range(settings.LOGIN_FAILURES_PER_ACCOUNT):
        client = Client()
        address = f"198.51.100.{n % 4 + 1}"
        assert attempt(client, alice.email, PASSWORD, address).status_code == 302
        client.post(reverse("two_factor_verify"), {"code": wrong_code(device)}, REMOTE_ADDR=address)
        TOTPDevice.objects.filter(pk=device.pk).update(throttling_failure_count=0)
    assert attempt(Client(), alice.email, PASSWORD, FIFTH).status_code == 429
