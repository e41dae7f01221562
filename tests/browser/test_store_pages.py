"""A connected store's page in a real browser: replacing its credentials,
disconnecting it, and what members and strangers get."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from stores.models import Credential, Store

from .conftest import (
    MOBILE,
    assert_no_secret,
    connect_in_db,
    fill_credentials,
    no_horizontal_overflow,
)

pytestmark = pytest.mark.browser


def store_url(store_hash: str, slug: str = "acme") -> str:
    return f"/m/{slug}/stores/{store_hash}/"


def test_replace_the_credentials_then_disconnect(web, acme, alice, bc_store):
    old, new = bc_store.account(), bc_store.account()
    connect_in_db(acme, bc_store, old)
    page = web.new_page(MOBILE, user=alice)
    page.goto(store_url(bc_store.hash))
    expect(page.get_by_role("heading", level=1)).to_have_text(bc_store.name)
    actions = page.locator(".actions")
    expect(actions.get_by_role("button", name="Check now")).to_be_visible()
    no_horizontal_overflow(page)
    web.shot(page, "1-store")

    # Replace.
    actions.get_by_role("link", name="Replace credentials").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Replace the credentials of {bc_store.name}")
    expect(page.get_by_role("heading", level=2)).to_have_text(f"New API account for {bc_store.name}")
    expect(page.get_by_role("link", name="Cancel")).to_have_attribute("href", store_url(bc_store.hash))
    no_horizontal_overflow(page)
    fill_credentials(page, new)
    web.shot(page, "2-replace-filled")
    page.get_by_role("button", name="Next").click()
    expect(page).to_have_url(re.compile(rf"{store_url(bc_store.hash)}$"))
    expect(page.get_by_role("status")).to_contain_text(
        f"New credentials saved for {bc_store.name}. Every scope Violet needs is granted."
    )
    expect(page.locator(".page-head .badge")).to_have_text("Connected")
    assert_no_secret(page.content(), new["access_token"], new["client_secret"], new["client_id"])
    web.shot(page, "3-replaced")
    credential = Credential.objects.get(store__store_hash=bc_store.hash)
    assert credential.access_token == new["access_token"]
    assert credential.client_secret == new["client_secret"]

    # Disconnect: a confirmation page first, and "Keep it connected" changes nothing.
    page.locator(".actions").get_by_role("link", name="Disconnect").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Disconnect {bc_store.name}?")
    expect(page.get_by_text("Violet deletes this store's credentials at once")).to_be_visible()
    no_horizontal_overflow(page)
    web.shot(page, "4-disconnect-confirm")
    page.get_by_role("link", name="Keep it connected").click()
    expect(page).to_have_url(re.compile(rf"{store_url(bc_store.hash)}$"))
    assert Store.objects.get().status == "connected"

    page.locator(".actions").get_by_role("link", name="Disconnect").click()
    page.get_by_role("button", name="Disconnect and delete the credentials").click()
    expect(page).to_have_url(re.compile(r"/m/acme/$"))
    expect(page.get_by_role("status")).to_contain_text(
        f"{bc_store.name} is disconnected and its credentials are deleted."
    )
    expect(page.get_by_role("heading", name="Disconnected", level=2)).to_be_visible()
    expect(page.get_by_role("link", name=bc_store.name)).to_be_visible()
    web.shot(page, "5-disconnected")
    assert Store.objects.get().status == "disconnected"
    assert not Credential.objects.exists()

    page.get_by_role("link", name=bc_store.name).click()
    expect(page.locator(".page-head .badge")).to_have_text("Disconnected")
    expect(page.get_by_role("link", name="Connect it again")).to_be_visible()
    expect(page.get_by_role("link", name="Replace credentials")).to_have_count(0)
    web.shot(page, "6-store-disconnected")


def test_a_member_sees_the_store_but_cannot_change_it(web, acme, alice, bob, bc_store):
    connect_in_db(acme, bc_store, bc_store.account())
    page = web.new_page(MOBILE, user=bob)
    page.goto(store_url(bc_store.hash))
    expect(page.get_by_role("heading", level=1)).to_have_text(bc_store.name)
    expect(page.locator(".page-head .badge")).to_have_text("Connected")
    expect(page.locator("dl.facts")).to_contain_text(bc_store.plan)
    for name in ("Check now", "Disconnect and delete the credentials"):
        expect(page.get_by_role("button", name=name)).to_have_count(0)
    for name in ("Replace credentials", "Disconnect", "Connect it again"):
        expect(page.get_by_role("link", name=name, exact=True)).to_have_count(0)
    no_horizontal_overflow(page)
    web.shot(page, "1-store-as-member")

    page.goto("/m/acme/")
    expect(page.get_by_role("link", name="Connect a store")).to_have_count(0)

    response = page.goto(f"{store_url(bc_store.hash)}replace/")
    assert response.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("You can't do that here")
    expect(page.get_by_role("alert")).to_be_visible()
    web.shot(page, "2-replace-forbidden")
    response = page.goto(f"{store_url(bc_store.hash)}disconnect/")
    assert response.status == 403


def test_a_strangers_store_page_is_not_found(web, acme, charlie, bc_store):
    connect_in_db(acme, bc_store, bc_store.account())
    page = web.new_page(user=charlie)
    for path in ("", "replace/", "disconnect/"):
        response = page.goto(f"{store_url(bc_store.hash)}{path}")
        assert response.status == 404, path
        expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")
        expect(page.get_by_text(bc_store.name)).to_have_count(0)
    web.shot(page, "1-not-found")
