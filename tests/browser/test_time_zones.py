"""Times in the reader's zone, in a browser (issue 29, item 17): sign-up takes
the browser's own zone; the Time zone page changes it; pages then name it."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from merchants.models import User

from .conftest import DESKTOP, MOBILE, TIMEOUT_MS, connect_in_db

pytestmark = pytest.mark.browser


def test_sign_up_takes_the_browsers_time_zone(web, transactional_db):
    context = web.browser.new_context(base_url=web.base_url, viewport=DESKTOP, timezone_id="Asia/Tokyo")
    context.set_default_timeout(TIMEOUT_MS)
    web.contexts.append(context)
    page = context.new_page()
    page.goto("/signup/")
    page.get_by_label("Business name").fill("Tokyo Outfitters")
    page.get_by_label("Work email").fill("owner@tokyo.test")
    page.get_by_label("Password").fill("a-long-enough-passphrase-42")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your e-mail")
    assert User.objects.get(email="owner@tokyo.test").time_zone == "Asia/Tokyo"


@pytest.mark.parametrize("viewport", [MOBILE, DESKTOP], ids=["phone", "desktop"])
def test_the_time_zone_page_changes_how_pages_write_times(web, acme, alice, bc_store, viewport):
    store = connect_in_db(acme, bc_store, bc_store.account())
    page = web.new_page(viewport, user=alice)
    page.goto(f"/m/acme/stores/{store.store_hash}/")
    expect(page.locator("main")).to_contain_text(" UTC")
    page.get_by_role("link", name="Time zone").click()
    page.get_by_label("Time zone").select_option("Europe/Paris")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("Times are now shown in Europe/Paris")
    web.shot(page, "time-zone-page")
    page.goto(f"/m/acme/stores/{store.store_hash}/")
    expect(page.locator("main")).to_contain_text(" CET")
    expect(page.locator("main")).not_to_contain_text(" UTC")
    web.shot(page, "store-page-in-paris")
