"""Staff sign in with a second factor, in Chromium: the first login forces
enrolment (the code is computed from the key the page shows, as an
authenticator app would), later logins ask for the code, a wrong code is
refused, a recovery code works once."""

from __future__ import annotations

import base64
import re
import time

import pytest
from django.db.models import F
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from merchants.models import User
from merchants.two_factor.codes import current_code
from tests.conftest import PASSWORD, enrolled

pytestmark = pytest.mark.browser


@pytest.fixture
def staff(transactional_db) -> User:
    return User.objects.create_user(email="newcomer@violet.test", password=PASSWORD, is_staff=True, is_superuser=True)


def app_code(secret_text: str) -> str:
    """What an authenticator app shows for the key typed in by hand."""
    key = base64.b32decode(secret_text.replace(" ", "") + "=" * (-len(secret_text.replace(" ", "")) % 8))
    return f"{totp(key):06d}"


def log_in(page, email: str) -> None:
    page.goto("/admin/")
    expect(page).to_have_url(re.compile(r"/login/\?next=%2Fadmin%2F$"))
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def give_code(page, code: str) -> None:
    page.get_by_label("Code").fill(code)
    page.get_by_role("button", name="Verify").click()


def enrolled_a_step_ago(user: User) -> TOTPDevice:
    """Enrolled, as if with the code of the app's previous 30-second step: a
    TOTP code works once (django-otp keeps the last step used), so the code
    shown now is one the login has not seen yet, without waiting for the next
    step (up to 30 s). tests/merchants/test_two_factor.py proves a used code
    is refused."""
    device, _ = enrolled(user)
    TOTPDevice.objects.filter(pk=device.pk).update(last_t=F("last_t") - 1)
    return device


def test_first_login_forces_enrolment_then_the_console_opens(web, staff):
    page = web.new_page()
    log_in(page, staff.email)
    expect(page).to_have_url(re.compile(r"/account/two-factor/setup/\?next="))
    expect(page.get_by_role("heading", level=1)).to_have_text("Set up your second factor")
    qr = page.get_by_role("img", name="QR code to scan with your authenticator app")
    expect(qr).to_be_visible()
    assert qr.evaluate("img => img.naturalWidth") > 0  # the data: URI loaded under the CSP
    secret = page.locator("#totp-secret").inner_text()
    web.shot(page, "enrol")

    page.get_by_label("Code").fill(app_code(secret))
    page.get_by_role("button", name="Turn on").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your second factor is on")
    codes = page.locator("#recovery-codes code").all_inner_texts()
    assert len(codes) == 10
    assert secret not in page.content() and secret.replace(" ", "") not in page.content()
    # Shown once, so a Copy button (static/js/copy.js) puts them all on the clipboard.
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.get_by_role("button", name="Copy the codes").click()
    expect(page.get_by_role("status").filter(has_text="Copied.")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()").split() == codes
    web.shot(page, "recovery-codes")

    page.get_by_role("link", name="I have saved them — continue").click()
    expect(page).to_have_url(re.compile(r"/admin/$"))
    expect(page.get_by_text("The fleet at a glance")).to_be_visible()


def test_an_enrolled_staff_member_gives_a_code_and_a_wrong_one_is_refused(web, staff):
    device = enrolled_a_step_ago(staff)

    page = web.new_page()
    log_in(page, staff.email)
    expect(page).to_have_url(re.compile(r"/login/code/\?next=%2Fadmin%2F$"))
    right = current_code(device)
    give_code(page, "123456" if right != "123456" else "654321")
    expect(page.get_by_role("alert")).to_contain_text("That code is not right")
    web.shot(page, "wrong-code")
    assert page.goto("/admin/").url.endswith("/login/?next=%2Fadmin%2F")  # still not in

    time.sleep(1.2)  # django-otp's back-off after one wrong code
    log_in(page, staff.email)
    give_code(page, current_code(TOTPDevice.objects.get(pk=device.pk)))
    expect(page).to_have_url(re.compile(r"/admin/$"))
    expect(page.get_by_text("The fleet at a glance")).to_be_visible()


def test_a_recovery_code_works_once(web, staff):
    _, codes = enrolled(staff)

    page = web.new_page()
    log_in(page, staff.email)
    give_code(page, codes[0])
    expect(page).to_have_url(re.compile(r"/admin/$"))
    expect(page.get_by_text("9 left")).to_be_visible()
    page.get_by_role("button", name="Log out").click()

    log_in(page, staff.email)
    give_code(page, codes[0])
    expect(page.get_by_role("alert")).to_contain_text("That code is not right")
    assert "/login/code/" in page.url
