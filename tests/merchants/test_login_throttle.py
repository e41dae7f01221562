"""Login throttling (django-axes): a wrong-password streak locks one email from one address."""

from django.urls import reverse

from tests.conftest import PASSWORD


def attempt(client, email, password, address="203.0.113.7"):
    return client.post(reverse("login"), {"username": email, "password": password}, REMOTE_ADDR=address)


def test_five_wrong_passwords_lock_that_email_from_that_address(client, alice, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert attempt(client, alice.email, "wrong").status_code == 200
    locked = attempt(client, alice.email, "wrong")
    assert locked.status_code == 429
    assert "Too many wrong passwords" in locked.content.decode()
    # Even the right password is refused while locked.
    assert attempt(client, alice.email, PASSWORD).status_code == 429


def test_the_lock_is_per_address_so_alice_is_not_locked_out_by_an_attacker(client, alice, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt(client, alice.email, "wrong", address="198.51.100.9")
    assert attempt(client, alice.email, PASSWORD, address="203.0.113.7").status_code == 302


def test_a_success_resets_the_count(client, alice, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        attempt(client, alice.email, "wrong")
    assert attempt(client, alice.email, PASSWORD).status_code == 302
    client.logout()
    assert attempt(client, alice.email, "wrong").status_code == 200
