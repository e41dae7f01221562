"""Sign-up and password reset are limited per e-mail address and per client
address (issue 28, item 8): twelve requests no longer mail one address twelve
times, nor create twelve accounts from one client. Over a limit the visitor
gets exactly the answer an accepted request gets (nothing tells whether the
address has an account, nor that a limit was reached), and no mail goes out."""

from __future__ import annotations

import pytest
from django.urls import reverse

from merchants.models import Merchant, User

PER_EMAIL, PER_ADDRESS = 2, 3


@pytest.fixture(autouse=True)
def small_limits(settings):
    settings.ACCOUNT_MAIL_THROTTLE_PER_EMAIL = PER_EMAIL
    settings.ACCOUNT_MAIL_THROTTLE_PER_ADDRESS = PER_ADDRESS
    settings.ACCOUNT_MAIL_THROTTLE_WINDOW_SECONDS = 3600


def reset(client, email: str, ip: str):
    return client.post(reverse("password_reset"), {"email": email}, REMOTE_ADDR=ip)


def sign_up(client, email: str, ip: str, name: str = "Initech"):
    return client.post(
        reverse("signup"),
        {"merchant_name": name, "email": email, "password": "tps-reports-2026!"},
        REMOTE_ADDR=ip,
    )


def test_password_reset_mails_one_address_at_most_per_email_limit(client, alice, mailoutbox):
    # Twelve requests from twelve client addresses, in several spellings.
    answers = [reset(client, " ALICE@acme.test" if n % 2 else "alice@acme.test", f"203.0.113.{n}") for n in range(12)]
    assert len(mailoutbox) == PER_EMAIL
    assert {(a.status_code, a["Location"]) for a in answers} == {(302, reverse("password_reset_done"))}


def test_password_reset_from_one_client_address_is_limited(client, db, mailoutbox):
    people = [User.objects.create_user(email=f"p{n}@acme.test", password="x-long-password-1") for n in range(6)]
    answers = [reset(client, person.email, "203.0.113.9") for person in people]
    assert len(mailoutbox) == PER_ADDRESS
    assert {(a.status_code, a["Location"]) for a in answers} == {(302, reverse("password_reset_done"))}
    # Another client address still gets its mail.
    reset(client, people[-1].email, "198.51.100.1")
    assert len(mailoutbox) == PER_ADDRESS + 1 and mailoutbox[-1].to == [people[-1].email]


def test_a_throttled_reset_answers_as_an_unknown_address_does(client, alice, mailoutbox):
    """The "done" page after a refused request is the one after any request."""
    for n in range(PER_EMAIL):
        reset(client, alice.email, f"203.0.113.{n}")
    throttled = client.post(reverse("password_reset"), {"email": alice.email}, REMOTE_ADDR="203.0.113.50", follow=True)
    unknown = client.post(reverse("password_reset"), {"email": "nobody@acme.test"}, follow=True)
    assert throttled.status_code == unknown.status_code == 200
    assert throttled.content == unknown.content
    assert len(mailoutbox) == PER_EMAIL


def test_sign_up_mails_one_address_at_most_per_email_limit(client, db, mailoutbox):
    answers = [sign_up(client, "peter@initech.test", f"203.0.113.{n}") for n in range(12)]
    # The first creates the account (and mails its link), the next one mails
    # "you already have an account"; then nothing.
    assert len(mailoutbox) == PER_EMAIL
    assert User.objects.filter(email="peter@initech.test").count() == 1
    pages = {a.content.decode() for a in answers}
    assert len(pages) == 1 and "Check your e-mail" in pages.pop()


def test_sign_up_from_one_client_address_is_limited(client, db, mailoutbox):
    answers = [sign_up(client, f"p{n}@initech.test", "203.0.113.9", name=f"Initech {n}") for n in range(6)]
    assert User.objects.count() == Merchant.objects.count() == PER_ADDRESS
    assert len(mailoutbox) == PER_ADDRESS
    # Refused or not, the same page, naming the address typed.
    for n, answer in enumerate(answers):
        assert answer.status_code == 200
        assert answer.content.decode().replace(f"p{n}@initech.test", "X") == answers[0].content.decode().replace(
            "p0@initech.test", "X"
        )
    # Another client address may still sign up.
    sign_up(client, "late@initech.test", "198.51.100.1", name="Late")
    assert User.objects.filter(email="late@initech.test").exists()


def test_sign_up_and_reset_have_their_own_budgets(client, alice, mailoutbox):
    for n in range(PER_EMAIL):
        sign_up(client, alice.email, f"203.0.113.{n}")
    assert len(mailoutbox) == PER_EMAIL
    reset(client, alice.email, "198.51.100.1")
    assert len(mailoutbox) == PER_EMAIL + 1 and "password" in mailoutbox[-1].body.lower()


def test_the_cache_keys_carry_no_e_mail_address(client, alice, mailoutbox):
    from django.core.cache import cache

    if not hasattr(cache, "_cache"):
        pytest.skip("reads the per-process memory cache's keys")
    reset(client, alice.email, "203.0.113.1")
    keys = list(cache._cache.keys())
    assert keys and not any("alice" in str(key) for key in keys)


def test_requests_a_client_address_is_refused_leave_the_email_budget_alone(client, alice, mailoutbox):
    """A client over its limit cannot use up someone else's e-mail budget."""
    for n in range(PER_ADDRESS):
        reset(client, f"nobody{n}@acme.test", "203.0.113.9")
    for _ in range(5):
        reset(client, alice.email, "203.0.113.9")
    assert mailoutbox == []
    for n in range(PER_EMAIL):
        reset(client, alice.email, f"198.51.100.{n}")
    assert len(mailoutbox) == PER_EMAIL
