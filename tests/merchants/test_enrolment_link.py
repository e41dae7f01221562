"""After a colleague in Operations resets a staff member's second factor, the
password alone no longer enrols a new device: only the one-time link the
colleague is shown (and hands over) does: short-lived, single use, for that
person only, logged (issue 28, item 16)."""

from __future__ import annotations

import re
import threading
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import time_machine
from django.contrib.admin.models import LogEntry
from django.contrib.sessions.backends.db import SessionStore
from django.db import connection, connections
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from merchants.models import EnrolmentLink, User
from merchants.two_factor import services
from merchants.two_factor.codes import current_code
from tests.conftest import PASSWORD, client_for, enrolled
from tests.merchants.test_two_factor import password_step, reset_action


def reset(operations: User, person: User) -> tuple[str, object]:
    """Operations resets `person`'s second factor; the link on the page, and the page."""
    page = reset_action(client_for(operations), TOTPDevice.objects.get(user=person))
    assert page.status_code == 200
    link = re.search(r'value="(https?://[^"]+/account/two-factor/link/[^"]+/)"', page.content.decode()).group(1)
    return link, page


def logged_in_with_password(person: User) -> Client:
    client = Client()
    assert password_step(client, person.email).status_code == 302
    return client


def test_after_a_reset_the_password_alone_no_longer_enrols(operations, lost):
    reset(operations, lost)
    client = logged_in_with_password(lost)
    refused = client.get(reverse("two_factor_enrol"))
    assert refused.status_code == 403
    assert "open the one-time link they gave you" in refused.content.decode()
    assert client.post(reverse("two_factor_enrol"), {"code": "123456"}).status_code == 403
    assert not TOTPDevice.objects.filter(user=lost).exists()  # no key was even made
    assert client.get("/admin/").status_code == 302


def test_the_link_is_shown_once_logged_and_lets_them_enrol_once(operations, lost, settings):
    link, page = reset(operations, lost)
    assert link.startswith(settings.PUBLIC_BASE_URL + "/")
    assert "no-store" in page["Cache-Control"]
    entry = LogEntry.objects.get(object_id=str(lost.pk), content_type__model="user")
    assert entry.user == operations and "issued a one-time enrolment link" in entry.change_message
    token = urlsplit(link).path.rstrip("/").rsplit("/", 1)[1]
    assert token not in entry.change_message
    assert not EnrolmentLink.objects.filter(token_digest__contains=token).exists()  # only a digest is kept

    client = logged_in_with_password(lost)
    path = urlsplit(link).path
    opened = client.get(path)
    assert opened.status_code == 200 and "Set up a new second factor" in opened.content.decode()
    assert EnrolmentLink.objects.get(user=lost).used_at is None  # opening it changes nothing

    assert client.post(path)["Location"] == reverse("two_factor_enrol")
    client.get(reverse("two_factor_enrol"))
    device = TOTPDevice.objects.get(user=lost, confirmed=False)
    done = client.post(reverse("two_factor_enrol"), {"code": current_code(device)})
    assert done.status_code == 200 and "recovery codes" in done.content.decode()
    assert client.get("/admin/").status_code == 200

    # Single use: the same link again does nothing.
    assert client.post(path).status_code == 410


def test_the_link_is_for_that_person_only(operations, lost):
    link, _ = reset(operations, lost)
    path = urlsplit(link).path
    other = User.objects.create_user(email="other@violet.test", password=PASSWORD, is_staff=True)
    refused = logged_in_with_password(other).post(path)
    assert refused.status_code == 410
    # Still unused: its owner can still use it.
    assert logged_in_with_password(lost).post(path).status_code == 302


def test_an_anonymous_visitor_is_sent_to_log_in_first(operations, lost):
    link, _ = reset(operations, lost)
    response = Client().post(urlsplit(link).path)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert EnrolmentLink.objects.get(user=lost).used_at is None


def test_the_link_expires(operations, lost, settings):
    link, _ = reset(operations, lost)
    client = logged_in_with_password(lost)
    later = timezone.now() + timedelta(minutes=settings.SECOND_FACTOR_ENROLMENT_LINK_MINUTES + 1)
    with time_machine.travel(later, tick=False):
        assert client.post(urlsplit(link).path).status_code == 410
        assert client.get(reverse("two_factor_enrol")).status_code == 403


def test_a_new_reset_voids_the_earlier_link(operations, lost):
    first, _ = reset(operations, lost)
    enrolled(lost)  # say they got in some other way; then lost it again
    second, _ = reset(operations, lost)
    client = logged_in_with_password(lost)
    assert client.post(urlsplit(first).path).status_code == 410
    assert client.post(urlsplit(second).path).status_code == 302


def test_operations_cannot_reset_a_superusers_second_factor(operations):
    root = User.objects.create_superuser(email="root@violet.test", password=PASSWORD)
    enrolled(root)
    response = reset_action(client_for(operations), TOTPDevice.objects.get(user=root))
    assert response.status_code == 302
    assert TOTPDevice.objects.filter(user=root, confirmed=True).exists()
    assert not EnrolmentLink.objects.filter(user=root).exists()


def test_a_merchant_reset_needs_no_link(operations, alice):
    # A merchant's second factor is theirs to turn on: after a reset their
    # password logs them in and they may set it up again as before.
    enrolled(alice)
    response = reset_action(client_for(operations), TOTPDevice.objects.get(user=alice))
    assert response.status_code == 302
    client = Client()
    client.force_login(alice)
    assert client.get(reverse("two_factor_enrol")).status_code == 200


@pytest.mark.django_db(transaction=True)
def test_two_browsers_using_the_link_at_once_enrol_one(operations, lost):
    """The link is claimed by a conditional update (used_at still empty): of
    two claims racing on their own connections, exactly one wins."""
    if connection.vendor != "postgresql":
        pytest.skip("a race of two transactions needs PostgreSQL; SQLite runs one writer at a time")
    link, _ = reset(operations, lost)
    token = urlsplit(link).path.rstrip("/").rsplit("/", 1)[1]
    start = threading.Barrier(2, timeout=5)
    outcomes = []

    def claim():
        request = RequestFactory().post("/")
        request.user = lost
        request.session = SessionStore()
        try:
            start.wait()
            outcomes.append(services.enrolment_link_claim(request, token=token))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=claim) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == [False, True], outcomes
