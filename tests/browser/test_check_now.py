"""“Check now” on the store page: the page says a check is running and
updates itself when the check ends (static/js/store-status.js polls the
store's status.json); nobody presses reload."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from stores.models import Store
from stores.tasks import check_stores

from .conftest import MOBILE, connect_in_db

pytestmark = pytest.mark.browser


def test_the_store_page_updates_itself_when_the_check_ends(web, acme, alice, bc_store):
    connect_in_db(acme, bc_store, bc_store.account())
    page = web.new_page(MOBILE, user=alice)
    page.goto(f"/m/acme/stores/{bc_store.hash}/")
    expect(page.get_by_text("No checks yet.")).to_be_visible()

    page.get_by_role("button", name="Check now").click()
    progress = page.locator("#check-progress")
    expect(progress).to_contain_text("A check is running")
    expect(page.locator(".facts")).to_contain_text("Running now")  # not the lease's end
    web.shot(page, "1-running")

    # The worker's part, done here: run the queued check against the sandbox.
    store = Store.objects.get(store_hash=bc_store.hash)
    assert store.claim_token
    check_stores.run([store.pk], store.claim_token, "merchant")

    expect(progress).to_have_count(0, timeout=10_000)  # the page reloaded by itself
    checks = page.locator("table.table", has=page.locator("th", has_text="Outcome"))
    row = checks.locator("tbody tr").first
    expect(row.locator('td[data-label="Outcome"]')).to_have_text("Everything works")
    expect(row.locator('td[data-label="Why"]')).to_contain_text("erchant")
    # Stacked on a phone, each value keeps its column's name.
    label = row.locator('td[data-label="When"]').evaluate("td => getComputedStyle(td, '::before').content")
    assert "When" in label
    expect(row.locator('td[data-label="When"]')).to_contain_text("UTC")
    web.shot(page, "2-result")


def test_the_console_store_page_updates_itself_when_the_check_ends(web, acme, bc_store):
    """The same on the staff console's store page: "Check now", a notice that
    a check is running, and the result without a reload by hand."""
    from merchants.models import User
    from tests.conftest import PASSWORD

    store = connect_in_db(acme, bc_store, bc_store.account())
    root = User.objects.create_superuser(email="root@violet.test", password=PASSWORD)
    page = web.new_page(user=root)
    page.goto(f"/admin/stores/store/{store.pk}/change/")
    expect(page.locator("#check-progress")).to_have_count(0)

    page.get_by_role("button", name="Check now").click()
    progress = page.locator("#check-progress")
    expect(progress).to_contain_text("A check is running")
    web.shot(page, "1-running")

    store.refresh_from_db()
    assert store.claim_token
    check_stores.run([store.pk], store.claim_token, "staff")

    expect(progress).to_have_count(0, timeout=10_000)  # the page reloaded by itself
    expect(page.locator(".field-in_flight")).to_contain_text("no")
    expect(page.locator(".field-last_check")).not_to_contain_text("never")
    web.shot(page, "2-result")
