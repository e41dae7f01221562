"""Times in the reader's zone (issue 29, item 17): each person's time zone,
guessed at sign-up, changed on their account page, applied to their pages by
the middleware and to the e-mails they receive; every time names its zone."""

from __future__ import annotations

import zoneinfo
from datetime import datetime

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from merchants import services
from merchants.models import User
from stores import services as store_services
from tests.conftest import client_for
from tests.reports import credentials, report

HASH = "tz7k2m9"
WINTER = datetime(2026, 12, 1, 14, 5, tzinfo=zoneinfo.ZoneInfo("UTC"))


@pytest.fixture
def store(acme, alice):
    with time_machine.travel(WINTER, tick=False):
        return store_services.store_connect(
            merchant=acme, credentials=credentials(HASH), report=report(store_hash=HASH), user=alice
        )


def store_page(user) -> str:
    return client_for(user).get(reverse("connect:store_detail", args=["acme", HASH])).content.decode()


def test_a_persons_pages_write_times_in_their_zone_and_name_it(alice, bob, store):
    User.objects.filter(pk=alice.pk).update(time_zone="America/New_York")
    body = store_page(alice)
    assert "2026-12-01 09:05 EST" in body and "2026-12-01 14:05 UTC" not in body
    assert 'datetime="2026-12-01T14:05:00+00:00"' in body  # machines keep the instant
    assert "2026-12-01 14:05 UTC" in store_page(bob)  # bob's zone is the default


def test_a_zone_without_an_abbreviation_is_named(alice, store):
    User.objects.filter(pk=alice.pk).update(time_zone="Asia/Dubai")
    body = store_page(alice)
    assert "2026-12-01 18:05 Asia/Dubai" in body and "+04" not in body


def test_the_zone_ends_with_the_request(alice, store):
    User.objects.filter(pk=alice.pk).update(time_zone="Europe/Paris")
    store_page(alice)
    assert timezone.get_current_timezone_name() == "UTC"


def test_the_console_writes_times_in_the_staff_members_zone(admin_user, store):
    User.objects.filter(pk=admin_user.pk).update(time_zone="Europe/Paris")
    body = client_for(admin_user).get(reverse("admin:stores_store_change", args=[store.pk])).content.decode()
    assert "2026-12-01 15:05 CET" in body


# --- the account page ---------------------------------------------------------------

URL = reverse("account_time_zone")


def test_the_account_page_sets_the_zone(alice):
    client = client_for(alice)
    page = client.get(URL).content.decode()
    assert '<option value="UTC" selected>' in page and '<option value="Europe/Paris">' in page
    response = client.post(URL, {"time_zone": "Europe/Paris"})
    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.time_zone == "Europe/Paris"
    assert '<option value="Europe/Paris" selected>' in client.get(URL).content.decode()


@pytest.mark.parametrize("bad", ["Mars/Olympus_Mons", "", "Europe/Paris\x00", "../../etc/passwd", "x" * 500])
def test_a_zone_not_on_the_list_is_refused_and_changes_nothing(alice, bad):
    User.objects.filter(pk=alice.pk).update(time_zone="Europe/Paris")
    response = client_for(alice).post(URL, {"time_zone": bad})
    assert response.status_code == 400
    assert "Choose a time zone from the list" in response.content.decode()
    alice.refresh_from_db()
    assert alice.time_zone == "Europe/Paris"


def test_the_account_page_needs_a_login(client, db):
    response = client.get(URL)
    assert response.status_code == 302 and reverse("login") in response.url


def test_the_model_refuses_an_unknown_zone(alice):
    from django.core.exceptions import ValidationError

    alice.time_zone = "Nowhere/Land"
    with pytest.raises(ValidationError):
        alice.full_clean()


# --- sign-up: guessed by the browser ----------------------------------------------------


@pytest.mark.parametrize(
    ("guess", "saved"),
    [("Europe/Paris", "Europe/Paris"), ("", "UTC"), ("Not/AZone", "UTC"), ("Europe/Paris\x00", "UTC"), (None, "UTC")],
)
def test_sign_up_keeps_the_browsers_zone_when_it_is_one(client, db, mailoutbox, guess, saved):
    data = {"merchant_name": "Initech", "email": "peter@initech.test", "password": "tps-reports-2026!"}
    if guess is not None:
        data["time_zone"] = guess
    response = client.post(reverse("signup"), data)
    assert response.status_code == 200 and "Check your e-mail" in response.content.decode()
    assert User.objects.get(email="peter@initech.test").time_zone == saved


def test_the_sign_up_page_asks_the_browser_with_a_script_not_inline(client, db):
    body = client.get(reverse("signup")).content.decode()
    assert '<input type="hidden" name="time_zone" data-guess-time-zone' in body
    assert "js/time-zone" in body and "<script>" not in body


# --- e-mails: in the recipient's zone ------------------------------------------------


def test_an_invitation_gives_its_expiry_in_the_recipients_zone(acme, alice, django_user_model, mailoutbox):
    django_user_model.objects.create_user(email="dana@acme.test", password="x" * 16, time_zone="Asia/Tokyo")
    with time_machine.travel(WINTER, tick=False):
        invitation = services.invitation_create(merchant=acme, email="dana@acme.test", role="member", invited_by=alice)
        services.invitation_create(merchant=acme, email="erin@acme.test", role="member", invited_by=alice)
    tokyo = timezone.localtime(invitation.expires_at, zoneinfo.ZoneInfo("Asia/Tokyo"))
    assert f"{tokyo:%Y-%m-%d %H:%M} JST" in mailoutbox[0].body
    utc = timezone.localtime(invitation.expires_at, zoneinfo.ZoneInfo("UTC"))
    assert f"{utc:%Y-%m-%d %H:%M} UTC" in mailoutbox[1].body  # no account: UTC


def test_the_console_links_to_the_time_zone_page(admin_user):
    body = client_for(admin_user).get(reverse("admin:index")).content.decode()
    assert f'<a href="{URL}">Time zone</a>' in body


def test_the_console_index_names_the_readers_zone_on_its_hourly_chart(admin_user, store):
    store_services.store_record_check(
        store_id=store.pk, report=report(store_hash=HASH), trigger="schedule", started_at=timezone.now(), duration_ms=5
    )
    User.objects.filter(pk=admin_user.pk).update(time_zone="Europe/Paris")
    body = client_for(admin_user).get(reverse("admin:index")).content.decode()
    assert 'aria-label="Checks per hour"' in body
    assert " CET: " in body and " UTC: " not in body
