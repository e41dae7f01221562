"""What the login pages say is true: the email is not case-sensitive, and the
lockout lasts what AXES_COOLOFF_TIME says."""

from datetime import timedelta

from django.urls import reverse


def attempt(client, email, password, address="203.0.113.7"):
    return client.post(reverse("login"), {"username": email, "password": password}, REMOTE_ADDR=address)


def test_a_wrong_password_does_not_say_the_email_may_be_case_sensitive(client, alice):
    body = attempt(client, alice.email, "wrong").content.decode()
    assert "case-sensitive" not in body
    assert "Capitals in the email do not matter" in body


def test_the_lockout_page_says_how_long(client, alice, settings):
    for minutes in (15, 30):
        settings.AXES_COOLOFF_TIME = timedelta(minutes=minutes)
        address = f"203.0.113.{minutes}"
        for _ in range(settings.AXES_FAILURE_LIMIT):
            locked = attempt(client, alice.email, "wrong", address=address)
        assert locked.status_code == 429
        body = locked.content.decode()
        assert f"paused for {minutes} minutes" in body and "a few minutes" not in body
