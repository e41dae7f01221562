"""The onboarding wizard in a real browser, from sign-up to a connected store,
and the ways a merchant's paste can go wrong."""

from __future__ import annotations

import re
import time
from urllib.parse import urlsplit

import pytest
from django.core import mail
from playwright.sync_api import expect

from sandbox.scopes import CHECKOUTS, PORTAL_REQUIRED
from stores.models import Credential, Store

from .accessibility import axe_violations
from .conftest import (
    DESKTOP,
    MOBILE,
    api_path,
    assert_no_secret,
    fill_credentials,
    no_horizontal_overflow,
)

pytestmark = pytest.mark.browser

SCOPE_LABELS = (
    "Customers: modify",
    "Information & settings: read-only",
    "Orders: modify",
    "Products: read-only",
    "Carts: modify",
    "Checkouts: modify",
)


def wizard_credentials_url(slug: str = "acme") -> str:
    return f"/m/{slug}/connect/credentials/"


def expect_connected(page, store) -> None:
    expect(page).to_have_url(re.compile(rf"/stores/{store.hash}/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(store.name)
    expect(page.locator(".page-head .badge")).to_have_text("Connected")
    expect(page.get_by_role("status")).to_contain_text(f"{store.name} is connected to Violet.")
    expect(page.locator("dl.facts")).to_contain_text(store.plan)


@pytest.mark.parametrize("viewport", [MOBILE, DESKTOP], ids=["mobile", "desktop"])
def test_happy_path_from_sign_up_to_a_connected_store(web, bc_store, viewport, capsys):
    account = bc_store.account()
    page = web.new_page(viewport)
    mobile = viewport is MOBILE

    # Sign up.
    page.goto("/signup/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Create your account")
    page.get_by_label("Business name").fill("Violet Browser Outfitters Ltd")
    page.get_by_label("Work email").fill("owner@outfitters.test")
    page.get_by_label("Password").fill("a-long-enough-passphrase-42")
    web.shot(page, "1-signup")
    page.get_by_role("button", name="Create account").click()

    # Check your e-mail: the link in it leads to a button that confirms the address and logs in.
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your e-mail")
    web.shot(page, "1b-check-your-email")
    [message] = [m for m in mail.outbox if m.to == ["owner@outfitters.test"]]
    link = next(line for line in message.body.splitlines() if "/verify-email/" in line)
    page.goto(urlsplit(link).path)
    page.get_by_role("button", name="Confirm my address").click()  # the link itself logs nobody in

    # The empty dashboard.
    expect(page.get_by_role("status")).to_contain_text("Welcome! Violet Browser Outfitters Ltd is ready.")
    expect(page.get_by_text("No store is connected yet.")).to_be_visible()
    web.shot(page, "2-dashboard")
    page.get_by_role("link", name="Connect your BigCommerce store").click()

    # Step 1.
    steps = page.get_by_role("navigation", name="Steps")
    expect(page.get_by_role("heading", level=2)).to_have_text("Step 1 of 4: Create the Store-level API account")
    expect(steps.locator("[aria-current=step]")).to_have_text(re.compile(r"1\s+Create the API account"))
    expect(page.get_by_text("Settings → API → Store-level API accounts")).to_be_visible()
    if mobile:
        no_horizontal_overflow(page)
    web.shot(page, "3-step1")
    page.get_by_role("link", name="Next: configure scopes").click()

    # Step 2: tick the six scopes as they are set in BigCommerce.
    expect(page.get_by_role("heading", level=2)).to_have_text("Step 2 of 4: Configure scopes")
    expect(steps.locator("[aria-current=step]")).to_have_text(re.compile(r"2\s+Configure scopes"))
    checklist = page.get_by_role("group", name="The six scopes Violet needs")
    expect(checklist.get_by_role("checkbox")).to_have_count(6)
    for label in SCOPE_LABELS:
        box = checklist.get_by_role("checkbox", name=label)
        box.check()
        expect(box).to_be_checked()
    if mobile:
        no_horizontal_overflow(page)
    web.shot(page, "4-step2-scopes-ticked")
    page.get_by_role("link", name="Next: save and copy the credentials").click()

    # Step 3.
    expect(page.get_by_role("heading", level=2)).to_have_text("Step 3 of 4: API credentials")
    expect(page.get_by_text("only once")).to_be_visible()
    if mobile:
        no_horizontal_overflow(page)
    web.shot(page, "5-step3")
    page.get_by_role("link", name="Next: provide the credentials").click()

    # Step 4: paste the four values.
    expect(page.get_by_role("heading", level=2)).to_have_text("Step 4 of 4: Provide credentials")
    expect(steps.locator("[aria-current=step]")).to_have_text(re.compile(r"4\s+Provide credentials"))
    fill_credentials(page, account)
    if mobile:
        no_horizontal_overflow(page)
    web.shot(page, "6-step4-filled")
    began = time.perf_counter()
    page.get_by_role("button", name="Next").click()
    page.wait_for_url(re.compile(rf"/stores/{bc_store.hash}/$"))
    page.wait_for_load_state("load")
    took_ms = (time.perf_counter() - began) * 1000
    with capsys.disabled():
        print(f"\n[{web.test_name}] Next → store page: {took_ms:.0f} ms")

    # The store page.
    expect_connected(page, bc_store)
    expect(page.get_by_text("Violet can use this store. Every scope it needs is granted.")).to_be_visible()
    scopes = page.get_by_role("table").first
    for label in SCOPE_LABELS:
        expect(scopes.get_by_role("row", name=re.compile(re.escape(label)))).to_contain_text("Granted")
    assert_no_secret(page.content(), account["client_secret"], account["access_token"], account["client_id"])
    if mobile:
        no_horizontal_overflow(page)
    web.shot(page, "7-store-connected")

    store = Store.objects.get(store_hash=bc_store.hash)
    assert store.status == "connected" and store.merchant.name == "Violet Browser Outfitters Ltd"
    assert Credential.objects.get(store=store).access_token == account["access_token"]


def test_a_missing_scope_is_named_and_a_new_account_fixes_it(web, alice, bc_store):
    partial = bc_store.account(scopes=[s for s in PORTAL_REQUIRED if s != CHECKOUTS])
    page = web.new_page(user=alice)
    page.goto(wizard_credentials_url())
    fill_credentials(page, partial)
    page.get_by_role("button", name="Next").click()

    problems = page.locator("#problems")
    expect(problems).to_have_attribute("role", "alert")
    expect(problems).to_contain_text(
        f"The API account of {bc_store.name} (store hash {bc_store.hash}) is missing 1 scope:"
    )
    expect(problems.get_by_role("listitem")).to_have_text(["Checkouts: modify"])
    expect(problems).to_contain_text("does not let anyone change a store-level API account's scopes")
    step2 = problems.get_by_role("link", name="see step 2")
    expect(step2).to_have_attribute("href", "/m/acme/connect/scopes/")
    # A new account brings all-new values: nothing is kept from this one.
    expect(page.locator(".kept")).to_have_count(0)
    assert not Store.objects.exists()
    web.shot(page, "1-missing-checkouts")

    step2.click()
    expect(page.get_by_role("heading", level=2)).to_have_text("Step 2 of 4: Configure scopes")
    # (No going back to the refused answer: a signed-in person's pages are
    # `Cache-Control: no-store`, so the browser keeps no copy of that POST.)

    complete = bc_store.account()
    page.goto(wizard_credentials_url())
    fill_credentials(page, complete)
    page.get_by_role("button", name="Next").click()
    expect_connected(page, bc_store)
    web.shot(page, "2-connected")
    assert Credential.objects.get().access_token == complete["access_token"]


def test_values_pasted_with_surrounding_spaces_connect(web, alice, bc_store):
    account = bc_store.account()
    page = web.new_page(user=alice)
    page.goto(wizard_credentials_url())
    fill_credentials(page, account, around="  ")
    page.get_by_label("Access token", exact=True).fill(f" \t{account['access_token']}  ")
    web.shot(page, "1-filled")
    page.get_by_role("button", name="Next").click()
    expect_connected(page, bc_store)
    web.shot(page, "2-connected")
    credential = Credential.objects.get()
    assert (credential.access_token, credential.client_secret, credential.client_id) == (
        account["access_token"],
        account["client_secret"],
        account["client_id"],
    )


def _paste_a_token_with_an_inner_space(web, alice, bc_store):
    account = bc_store.account()
    token = account["access_token"]
    broken = token[:11] + " " + token[11:]
    page = web.new_page(MOBILE, user=alice)
    page.goto(wizard_credentials_url())
    fill_credentials(page, account, token=broken)
    page.get_by_role("button", name="Next").click()
    return account, page


def test_a_token_with_an_inner_space_is_named_beside_its_field(web, alice, bc_store):
    account, page = _paste_a_token_with_an_inner_space(web, alice, bc_store)

    token_box = page.get_by_label("Access token", exact=True)
    error = page.locator("#id_access_token_error")
    expect(error).to_have_attribute("role", "alert")
    expect(error).to_contain_text("Access token")
    expect(error).to_contain_text("space")
    expect(error).to_contain_text("character 12")
    # Wired to its box, and shown right under it.
    expect(token_box).to_have_attribute("aria-invalid", "true")
    expect(token_box).to_have_attribute("aria-describedby", "id_access_token_error")
    expect(token_box).to_have_accessible_description(re.compile("character 12"))
    expect(token_box).to_have_value("")
    box, below = token_box.bounding_box(), error.bounding_box()
    assert 0 <= below["y"] - (box["y"] + box["height"]) < 40, (box, below)
    # Only the token is in error.
    for label in ("API path", "Client ID", "Client secret"):
        expect(page.get_by_label(label, exact=True)).not_to_have_attribute("aria-invalid", "true")

    # The Client secret that was fine is kept, shown only by its end.
    kept = page.locator("#id_client_secret_kept")
    expect(kept).to_contain_text(f"ending in …{account['client_secret'][-4:]}")
    expect(page.get_by_label("Client secret", exact=True)).to_have_accessible_description(
        re.compile(re.escape(f"…{account['client_secret'][-4:]}"))
    )
    expect(page.locator("#id_client_id_kept")).to_contain_text(f"ending in …{account['client_id'][-4:]}")
    expect(page.get_by_label("API path", exact=True)).to_have_value(api_path(bc_store.hash))
    assert_no_secret(page.content(), account["client_secret"], account["access_token"], account["client_id"])
    no_horizontal_overflow(page)
    web.shot(page, "1-inner-space")
    assert not Store.objects.exists()

    # Paste the token again; the kept values complete the attempt.
    page.get_by_label("Access token", exact=True).fill(account["access_token"])
    page.get_by_role("button", name="Next").click()
    expect_connected(page, bc_store)
    web.shot(page, "2-connected")
    assert Credential.objects.get().client_secret == account["client_secret"]


def test_enter_after_fixing_the_token_connects_with_the_kept_values(web, alice, bc_store):
    account, page = _paste_a_token_with_an_inner_space(web, alice, bc_store)
    expect(page.locator("#id_client_secret_kept")).to_be_visible()
    token_box = page.get_by_label("Access token", exact=True)
    token_box.fill(account["access_token"])
    with page.expect_navigation():
        token_box.press("Enter")
    kept_now = page.locator(".kept").all_inner_texts()
    assert f"/stores/{bc_store.hash}/" in page.url, (page.url, kept_now)
    expect_connected(page, bc_store)


# Issue 29, items 8 and 9: "Replace the kept …" emptied the page; kept values
# did not say which store they were kept for.
def test_replacing_a_kept_value_keeps_the_rest_of_the_page(web, alice, bc_store):
    account, page = _paste_a_token_with_an_inner_space(web, alice, bc_store)
    expect(page.locator("#id_client_secret_kept")).to_contain_text(f"for store {bc_store.hash}")
    page.get_by_role("button", name="Replace the kept Client secret").click()
    expect(page.locator("#id_client_secret_kept")).to_have_count(0)
    expect(page.get_by_label("API path", exact=True)).to_have_value(api_path(bc_store.hash))
    expect(page.locator("#id_access_token_error")).to_contain_text("character 12")  # the last error
    expect(page.locator("#id_client_id_kept")).to_contain_text(f"ending in …{account['client_id'][-4:]}")
    assert not axe_violations(page), axe_violations(page)
    web.shot(page, "after-replace")
    page.get_by_label("Client secret", exact=True).fill(account["client_secret"])
    page.get_by_label("Access token", exact=True).fill(account["access_token"])
    page.get_by_role("button", name="Next").click()
    expect_connected(page, bc_store)


def test_the_txt_file_upload_connects(web, alice, bc_store, tmp_path):
    account = bc_store.account()
    txt = tmp_path / "Violet.txt"
    txt.write_text(bc_store.sandbox.control.credentials_text(account["client_id"]), encoding="utf-8")
    page = web.new_page(user=alice)
    page.goto(wizard_credentials_url())

    file_box = page.get_by_label("Upload the .txt file BigCommerce downloaded")
    expect(file_box).to_be_visible()  # the fastest way is offered first, not folded away
    file_box.set_input_files(str(txt))
    web.shot(page, "1-file-chosen")
    page.get_by_role("button", name="Next").click()
    expect_connected(page, bc_store)
    web.shot(page, "2-connected")
    assert Credential.objects.get().client_secret == account["client_secret"]


def test_the_credentials_form_by_keyboard_alone(web, alice, bc_store):
    account = bc_store.account()
    page = web.new_page(MOBILE, user=alice)
    page.goto(wizard_credentials_url())

    def focused() -> dict:
        return page.evaluate(
            """() => {
              const el = document.activeElement;
              const style = getComputedStyle(el);
              return {id: el.id, tag: el.tagName.toLowerCase(), text: (el.innerText || '').trim(),
                      outlineStyle: style.outlineStyle, outlineWidth: style.outlineWidth};
            }"""
        )

    def assert_visible_focus(state: dict) -> None:
        assert state["outlineStyle"] != "none" and state["outlineWidth"] != "0px", state

    # From the top of the page: the skip link comes first.
    page.keyboard.press("Tab")
    first = focused()
    assert first["text"] == "Skip to content", first
    assert_visible_focus(first)
    for _ in range(30):
        if focused()["id"] == "id_api_path":
            break
        page.keyboard.press("Tab")
    else:
        raise AssertionError("Tab never reached the API path")

    values = {
        "id_api_path": account["api_path"],
        "id_client_id": account["client_id"],
        "id_client_secret": account["client_secret"],
        "id_access_token": account["access_token"],
    }
    order = []
    for element_id, value in values.items():
        state = focused()
        assert state["id"] == element_id, (element_id, state)
        assert_visible_focus(state)
        page.keyboard.insert_text(value)
        order.append(state["id"])
        if element_id == "id_access_token":
            break
        page.keyboard.press("Tab")
    assert order == list(values)

    # Past the four boxes (the .txt file comes before them): Back, Next, each with a visible outline.
    rest = []
    for _ in range(2):
        page.keyboard.press("Tab")
        state = focused()
        assert_visible_focus(state)
        rest.append((state["tag"], state["text"]))
        if state["text"] == "Next":
            web.shot(page, "1-focus-on-next")
    assert rest == [("a", "Back"), ("button", "Next")], rest

    # Back to the token box (Shift+Tab twice), and Enter submits.
    for _ in range(2):
        page.keyboard.press("Shift+Tab")
    assert focused()["id"] == "id_access_token"
    page.keyboard.press("Enter")
    expect_connected(page, bc_store)
    no_horizontal_overflow(page)
    web.shot(page, "2-connected")
