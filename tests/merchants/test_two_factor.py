"""Signing in with a second factor: staff must (the console is unreachable
without it), merchants may. Codes are computed from the device's key as an
authenticator app would; wrong ones are refused, throttled and counted by
django-axes; recovery codes work once."""

from __future__ import annotations

import base64
import logging
import re
from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from merchants.models import SecondFactor, SecondFactorKey, User
from merchants.two_factor import services
from merchants.two_factor.codes import current_code
from tests.conftest import PASSWORD, client_for, enrolled
from tests.security.routes import url_patterns


def password_step(client: Client, email: str, next_url: str = "", address: str = "203.0.113.7"):
    data = {"username": email, "password": PASSWORD}
    if next_url:
        data["next"] = next_url
    return client.post(reverse("login"), data, REMOTE_ADDR=address)


def code_step(client: Client, code: str, next_url: str = "", address: str = "203.0.113.7"):
    return client.post(reverse("two_factor_verify"), {"code": code, "next": next_url}, REMOTE_ADDR=address)


def later(seconds: int):
    """A moment past django-otp's back-off after a wrong code (and into a new TOTP step)."""
    return time_machine.travel(timezone.now() + timedelta(seconds=seconds), tick=False)


def wrong_code(device: TOTPDevice) -> str:
    right = current_code(device)
    return "123456" if right != "123456" else "654321"


def key_fragments(device: TOTPDevice) -> list[str]:
    """The key as hex and as base32 (with and without the enrolment page's spaces)."""
    seed = SecondFactorKey.objects.get(device_id=device.pk).seed
    b32 = base64.b32encode(bytes.fromhex(seed)).decode().rstrip("=")
    return [seed, b32, services.enrolment_secret(SecondFactor.objects.get(pk=device.pk))]


def assert_no_key(text: str, device: TOTPDevice) -> None:
    for fragment in key_fragments(device):
        flat = fragment.replace(" ", "")
        for i in range(len(flat) - 7):
            assert flat[i : i + 8] not in text.replace(" ", ""), "a slice of the TOTP key is in the text"


@pytest.fixture
def staff(db) -> User:
    return User.objects.create_user(email="newcomer@violet.test", password=PASSWORD, is_staff=True, is_superuser=True)


def password_only(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- the console is unreachable without a verified second factor -----------------------------


def test_admin_sends_an_unverified_staff_session_to_the_code_step(staff):
    enrolled(staff)
    response = password_only(staff).get("/admin/")
    assert response.status_code == 302
    assert response["Location"] == reverse("two_factor_verify") + "?next=%2Fadmin%2F"


def test_admin_sends_staff_without_a_device_to_enrolment(staff):
    response = password_only(staff).get("/admin/stores/store/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("two_factor_enrol") + "?next=")


def admin_urls() -> list[str]:
    """Every admin URL pattern, with sample values for its parameters."""
    samples = {"app_label": "stores", "object_id": "1", "content_type_id": "1", "id": "1", "url": "anything/"}
    found: list[str] = []
    for _, route, _ in url_patterns(admin.site.get_urls()):
        route = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: samples.get(m.group(1), "1"), route)
        route = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: samples.get(m.group(1), "1"), route)
        found.append("/admin/" + route.lstrip("^").rstrip("$").replace("\\", ""))
    return sorted(set(found))


def test_a_password_only_staff_session_reaches_no_admin_url(staff, acme_store):
    urls = admin_urls()
    assert len(urls) > 60 and "/admin/login/" in urls and "/admin/jsi18n/" in urls
    assert "/admin/autocomplete/" in urls
    enrolled(staff)
    client = password_only(staff)
    for url in urls:
        for method in (client.get, client.post):
            response = method(url)
            assert response.status_code == 302, (url, response.status_code)
            assert response["Location"].startswith(reverse("two_factor_verify")), url
    # The same walk with a verified session does reach the console.
    verified = client_for(staff)
    assert verified.get("/admin/").status_code == 200
    assert verified.get("/admin/stores/store/").status_code == 200


def test_anonymous_visitors_never_see_the_admins_own_password_form(client, db):
    response = client.get("/admin/login/?next=/admin/stores/store/")
    assert response.status_code == 302
    assert response["Location"] == reverse("login") + "?next=%2Fadmin%2Fstores%2Fstore%2F"
    # A password posted to the admin login logs nobody in.
    User.objects.create_user(email="root@violet.test", password=PASSWORD, is_staff=True, is_superuser=True)
    response = client.post("/admin/login/", {"username": "root@violet.test", "password": PASSWORD})
    assert response.status_code == 302 and "_auth_user_id" not in client.session


def test_a_merchant_at_the_admin_login_is_told_it_is_for_staff(alice):
    response = client_for(alice).get("/admin/login/")
    assert response.status_code == 403
    assert "staff console" in response.content.decode()
    assert 'name="password"' not in response.content.decode()


def test_the_admin_site_itself_wants_a_verified_session(staff, settings):
    """With the middleware removed, the admin site still refuses a password-only session."""
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if not m.endswith("SecondFactorMiddleware")]
    enrolled(staff)
    response = password_only(staff).get("/admin/stores/store/")
    assert response.status_code == 302 and response["Location"].startswith(reverse("admin:login"))
    assert client_for(staff).get("/admin/stores/store/").status_code == 200


# --- enrolment ---------------------------------------------------------------------------


def test_staff_first_login_forces_enrolment_confirmed_only_by_a_valid_code(client, staff):
    response = password_step(client, staff.email)
    assert response.status_code == 302
    response = client.get(response["Location"], follow=True)
    assert response.redirect_chain[-1][0].startswith(reverse("two_factor_enrol"))
    page = response.content.decode()
    device = TOTPDevice.objects.get(user=staff)
    assert not device.confirmed
    assert services.enrolment_secret(device) in page
    assert 'src="data:image/svg+xml;base64,' in page

    refused = client.post(reverse("two_factor_enrol"), {"code": wrong_code(device), "next": "/admin/"})
    assert refused.status_code == 400 and "not right" in refused.content.decode()
    device.refresh_from_db()
    assert not device.confirmed and not StaticDevice.objects.filter(user=staff).exists()
    assert client.get("/admin/").status_code == 302

    with later(3):
        done = client.post(reverse("two_factor_enrol"), {"code": current_code(device), "next": "/admin/"})
        assert done.status_code == 200
        body = done.content.decode()
        codes = re.findall(r"<code>([a-z2-7]{5}-[a-z2-7]{5})</code>", body)
        assert len(codes) == 10 and len(set(codes)) == 10
        assert "no-store" in done["Cache-Control"]
        assert_no_key(body, device)
        device.refresh_from_db()
        assert device.confirmed
        assert client.get("/admin/").status_code == 200
        # The enrolment page now shows no key either: it sends to the account page.
        again = client.get(reverse("two_factor_enrol"), follow=True)
        assert_no_key(again.content.decode(), device)


def test_enrolment_and_login_log_no_key_and_no_recovery_code(client, staff, caplog):
    caplog.set_level(logging.DEBUG)
    password_step(client, staff.email)
    client.get(reverse("two_factor_enrol"))
    device = TOTPDevice.objects.get(user=staff)
    response = client.post(reverse("two_factor_enrol"), {"code": current_code(device)})
    codes = re.findall(r"<code>([a-z2-7]{5}-[a-z2-7]{5})</code>", response.content.decode())
    client.logout()
    password_step(client, staff.email)
    code_step(client, codes[0])
    assert client.get("/admin/").status_code == 200
    assert caplog.records, "the logs were captured"
    assert_no_key(caplog.text, device)
    for code in codes:
        assert code not in caplog.text and code.replace("-", "") not in caplog.text


# --- login with a device ---------------------------------------------------------------------


def test_login_with_a_device_asks_for_the_code_and_refuses_a_wrong_one(client, staff):
    device, _ = enrolled(staff)
    response = password_step(client, staff.email, next_url="/admin/stores/store/")
    assert response.status_code == 302
    assert response["Location"] == reverse("two_factor_verify") + "?next=%2Fadmin%2Fstores%2Fstore%2F"
    assert "_auth_user_id" not in client.session  # not logged in yet
    assert client.get("/admin/").status_code == 302

    refused = code_step(client, wrong_code(device), "/admin/stores/store/")
    assert refused.status_code == 400 and "not right" in refused.content.decode()
    assert "_auth_user_id" not in client.session

    with later(31):
        accepted = code_step(client, current_code(device), "/admin/stores/store/")
        assert accepted.status_code == 302 and accepted["Location"] == "/admin/stores/store/"
        assert client.get("/admin/stores/store/").status_code == 200


def test_a_code_works_once_the_enrolment_s_code_does_not_log_in_again(client, staff):
    """django-otp keeps the last time step used: the code the enrolment took is
    refused at the login in the same 30 seconds (the clock stands still here)."""
    with time_machine.travel(timezone.now(), tick=False):
        device, _ = enrolled(staff)
        password_step(client, staff.email)
        refused = code_step(client, current_code(device))
    assert refused.status_code == 400 and "not right" in refused.content.decode()
    assert client.get("/admin/").status_code == 302


def test_django_otp_throttling_is_on_a_right_code_right_after_a_wrong_one_waits(client, staff, settings):
    assert settings.OTP_TOTP_THROTTLE_FACTOR >= 1 and settings.OTP_STATIC_THROTTLE_FACTOR >= 1
    device, _ = enrolled(staff)
    password_step(client, staff.email)
    code_step(client, wrong_code(device))
    throttled = code_step(client, current_code(device))
    assert throttled.status_code == 400 and "wait" in throttled.content.decode()
    assert "_auth_user_id" not in client.session


def test_wrong_codes_count_as_failed_logins_for_axes(client, staff, settings):
    device, _ = enrolled(staff)
    password_step(client, staff.email)
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert code_step(client, wrong_code(device)).status_code == 400
    assert code_step(client, wrong_code(device)).status_code == 429
    with later(60):
        # Locked: even the right code and the right password are refused.
        assert code_step(client, current_code(device)).status_code == 429
        assert password_step(Client(), staff.email).status_code == 429
    assert "_auth_user_id" not in client.session


def test_a_recovery_code_works_once(client, staff):
    device, codes = enrolled(staff)
    password_step(client, staff.email)
    used = code_step(client, codes[3].upper())  # capitals and the dash do not matter
    assert used.status_code == 302
    assert client.get("/admin/").status_code == 200
    assert StaticToken.objects.filter(device__user=staff).count() == 9
    client.logout()

    password_step(client, staff.email)
    assert code_step(client, codes[3]).status_code == 400
    assert "_auth_user_id" not in client.session
    with later(5):
        assert code_step(client, codes[4]).status_code == 302


def test_the_pending_login_expires(client, staff):
    device, _ = enrolled(staff)
    password_step(client, staff.email)
    with later(services.PENDING_MAX_AGE_SECONDS + 31):
        response = code_step(client, current_code(device))
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
        assert "_auth_user_id" not in client.session


# --- a lost device: Operations reset it --------------------------------------------------------


def reset_action(client: Client, device: TOTPDevice):
    return client.post(
        reverse("admin:merchants_secondfactor_changelist"),
        {"action": "reset_second_factor", "_selected_action": [device.pk]},
    )


def test_operations_reset_is_logged_and_forces_enrolment_again(operations, support, lost):
    colleague, device = lost, TOTPDevice.objects.get(user=lost)

    listing = client_for(support).get(reverse("admin:merchants_secondfactor_changelist"))
    assert listing.status_code == 200 and "lost@violet.test" in listing.content.decode()
    assert "reset_second_factor" not in listing.content.decode()
    assert_no_key(listing.content.decode(), device)
    reset_action(client_for(support), device)
    assert TOTPDevice.objects.filter(user=colleague).exists()

    response = reset_action(client_for(operations), device)
    assert response.status_code == 200  # the one-time enrolment link, shown once
    assert not TOTPDevice.objects.filter(user=colleague).exists()
    assert not StaticDevice.objects.filter(user=colleague).exists()
    entry = LogEntry.objects.get(object_id=str(colleague.pk), content_type__model="user")
    assert entry.user == operations
    assert "Reset the second factor of lost@violet.test" in entry.change_message

    client = Client()
    password_step(client, colleague.email)
    response = client.get("/admin/")
    assert response.status_code == 302 and response["Location"].startswith(reverse("two_factor_enrol"))
    # ... where the password alone no longer enrols: tests/merchants/test_enrolment_link.py.


def test_nobody_resets_their_own_second_factor(operations):
    client = client_for(operations)
    device = TOTPDevice.objects.get(user=operations)
    reset_action(client, device)
    assert TOTPDevice.objects.filter(user=operations).exists()
    assert not LogEntry.objects.filter(change_message__contains="Reset the second factor").exists()


# --- merchants may turn it on ----------------------------------------------------------------


def test_a_merchant_turns_it_on_then_their_login_asks_for_the_code(client, alice):
    client.force_login(alice)
    assert "off" in client.get(reverse("two_factor_account")).content.decode()
    client.get(reverse("two_factor_enrol"))
    device = TOTPDevice.objects.get(user=alice)
    done = client.post(reverse("two_factor_enrol"), {"code": current_code(device)})
    assert done.status_code == 200 and "recovery codes" in done.content.decode()
    client.logout()

    response = password_step(client, alice.email)
    assert response["Location"].startswith(reverse("two_factor_verify"))
    assert client.get("/m/acme/").status_code == 302  # not logged in without the code
    with later(31):
        assert code_step(client, current_code(device)).status_code == 302
        assert client.get("/m/acme/").status_code == 200
        # ...and off again, with a code.
        with later(31):
            client.post(reverse("two_factor_account"), {"code": current_code(device)})
    assert not TOTPDevice.objects.filter(user=alice).exists()


def test_staff_cannot_turn_it_off(operations):
    client = client_for(operations)
    device = TOTPDevice.objects.get(user=operations)
    response = client.post(reverse("two_factor_account"), {"code": current_code(device)})
    assert response.status_code == 400 and "always sign in with a second factor" in response.content.decode()
    assert TOTPDevice.objects.filter(user=operations).exists()


# --- the demo ---------------------------------------------------------------------------------


def test_demo_staff_login_works_with_the_demo_code_command(client, db):
    call_command("seed_demo", stdout=StringIO())
    out = StringIO()
    call_command("demo_otp_code", "staff@violet.test", stdout=out, stderr=StringIO())
    code = out.getvalue().strip()
    assert re.fullmatch(r"\d{6}", code)
    client.post(reverse("login"), {"username": "staff@violet.test", "password": "violet-staff-demo"})
    assert code_step(client, code).status_code == 302
    assert client.get("/admin/").status_code == 200


def test_seed_demo_says_how_to_get_the_code(db):
    out = StringIO()
    call_command("seed_demo", stdout=out)
    assert "manage.py demo_otp_code staff@violet.test" in out.getvalue()


def test_demo_otp_code_refuses_in_production(db, settings):
    call_command("seed_demo", stdout=StringIO())
    settings.PRODUCTION = True
    with pytest.raises(CommandError, match="not in production"):
        call_command("demo_otp_code", "staff@violet.test", stdout=StringIO())


def test_demo_otp_code_refuses_a_device_that_is_not_the_demo_one(staff):
    enrolled(staff)
    out = StringIO()
    with pytest.raises(CommandError, match="no demo authenticator"):
        call_command("demo_otp_code", staff.email, stdout=out)
    assert out.getvalue() == ""
