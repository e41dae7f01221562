"""Browser tests: Debian's Chromium driven by Playwright (sync API) against
pytest-django's live server, which talks to the BigCommerce sandbox on loopback.

Playwright cannot download its own browser here, so it launches
/usr/bin/chromium. Every test gets a fresh browser context (cookies, storage)
and its own sandbox store; the browser, the Playwright driver and the sandbox
live for the whole `tests/browser` package.

Playwright's sync API runs an asyncio loop in the test thread while it is
started, and Django then refuses ORM calls from that thread
(SynchronousOnlyOperation). DJANGO_ALLOW_ASYNC_UNSAFE is therefore set for as
long as Playwright runs, and only then: the driver is package-scoped, so the
rest of the suite runs with neither.
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from merchants.models import Membership, Merchant, User
from sandbox.scopes import PORTAL_REQUIRED
from sandbox.testing import RunningSandbox, running_sandbox
from stores.models import Credential, Store
from stores.status import StoreStatus
from tests.browser.accessibility import AXE_URL
from tests.conftest import PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SKIP_REASON = f"browser tests need Debian's Chromium at {CHROMIUM} (apt-get install chromium)"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
MOBILE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
TIMEOUT_MS = 15_000


def pytest_collection_modifyitems(config, items):
    """Every test under tests/browser is a browser test; without Chromium, all are skipped."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.path).parents:
            item.add_marker(pytest.mark.browser)
            if not CHROMIUM.exists():
                item.add_marker(pytest.mark.skip(reason=SKIP_REASON))


# --- the browser -------------------------------------------------------------------


@pytest.fixture(scope="package")
def playwright_browser() -> Iterator:
    if not CHROMIUM.exists():
        pytest.skip(SKIP_REASON)
    from playwright.sync_api import sync_playwright

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            try:
                yield browser
            finally:
                browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@dataclass
class Browser:
    """Opens pages on the live server, logs people in, takes screenshots."""

    browser: object
    base_url: str
    test_name: str
    contexts: list
    errors: list  # the browser console's errors and uncaught exceptions

    def new_page(self, viewport: dict | None = None, user: User | None = None):
        context = self.browser.new_context(base_url=self.base_url, viewport=viewport or DESKTOP, locale="en-US")
        context.set_default_timeout(TIMEOUT_MS)
        self.contexts.append(context)
        if user is not None:
            from tests.conftest import client_for  # staff: with a verified second factor

            client = client_for(user)
            name = django_settings.SESSION_COOKIE_NAME
            context.add_cookies([{"name": name, "value": client.cookies[name].value, "url": self.base_url}])
        page = context.new_page()
        page.on("console", lambda message: self._console(page, message))
        page.on("pageerror", lambda error: self.errors.append(f"{page.url}: {error}"))
        return page

    def _console(self, page, message) -> None:
        if message.type == "error":
            self.errors.append(f"{page.url}: {message.text} {message.location.get('url', '')}")

    def shot(self, page, step: str) -> Path:
        """A full-page screenshot: var/screenshots/<test>-<step>.png."""
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{self.test_name}-{step}.png"
        page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def web(playwright_browser, live_server, request) -> Iterator[Browser]:
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name).strip("-")
    helper = Browser(playwright_browser, live_server.url, name, [], [])
    yield helper
    for context in helper.contexts:
        context.close()
    # A 4xx page the test asked for (and the missing favicon) is logged as "Failed to load
    # resource"; anything else (a script error, a CSP refusal) is a bug of the page, except
    # what axe-core itself tries (an inline style the CSP refuses: accessibility.py).
    unexpected = [e for e in helper.errors if "Failed to load resource" not in e and AXE_URL not in e]
    assert not unexpected, f"the browser console reported errors: {unexpected}"


# --- the sandbox -------------------------------------------------------------------


@pytest.fixture(scope="package")
def _package_sandbox() -> Iterator[RunningSandbox]:
    with running_sandbox(fixture=None) as running:
        yield running


@pytest.fixture
def sandbox(_package_sandbox, settings) -> RunningSandbox:
    """The sandbox, with the portal (the live server runs in this process) pointed at it."""
    settings.BIGCOMMERCE_API_URL = _package_sandbox.url
    return _package_sandbox


@dataclass
class SandboxStore:
    hash: str
    name: str
    plan: str
    sandbox: RunningSandbox

    def account(self, scopes=PORTAL_REQUIRED) -> dict:
        """A new API account on this store: client_id, client_secret, access_token, api_path."""
        return self.sandbox.control.add_account(self.hash, scopes=list(scopes))


_store_numbers = itertools.count(1)


@pytest.fixture
def bc_store(sandbox) -> SandboxStore:
    """A fresh sandbox store, its own in each test.

    Its hash is a fixed 7 characters (vcb0001, vcb0002...), not the sandbox's
    random 8: pages show the domain `<hash>.mybigcommerce.com`, and how wide a
    random hash happens to be must not decide whether a layout check passes
    (see test_layout.py for long domains).
    """
    name, plan = "Violet Browser Outfitters", "Plus"
    store_hash = f"vcb{next(_store_numbers):04d}"
    sandbox.control.add_store(store_hash, profile={"name": name, "plan_name": plan})
    return SandboxStore(store_hash, name, plan, sandbox)


def api_path(store_hash: str) -> str:
    return f"https://api.bigcommerce.com/stores/{store_hash}/v3/"


# --- people and stores in the portal -----------------------------------------------------


def person(email: str, merchant: Merchant, role: str) -> User:
    user = User.objects.create_user(email=email, password=PASSWORD, email_verified_at=timezone.now())
    Membership.objects.create(merchant=merchant, user=user, role=role)
    return user


@pytest.fixture
def acme(transactional_db) -> Merchant:
    return Merchant.objects.create(name="Acme", slug="acme")


@pytest.fixture
def alice(acme) -> User:
    return person("alice@acme.test", acme, Membership.Role.OWNER)


@pytest.fixture
def bob(acme) -> User:
    return person("bob@acme.test", acme, Membership.Role.MEMBER)


@pytest.fixture
def charlie(transactional_db) -> User:
    globex = Merchant.objects.create(name="Globex", slug="globex")
    return person("charlie@globex.test", globex, Membership.Role.OWNER)


def connect_in_db(merchant: Merchant, store: SandboxStore, account: dict) -> Store:
    """A store already connected with `account` (as if through the wizard earlier)."""
    row = Store.objects.create(
        merchant=merchant,
        store_hash=store.hash,
        name=store.name,
        plan_name=store.plan,
        status=StoreStatus.CONNECTED,
    )
    credential = Credential(store=row)
    credential.set_values(
        client_id=account["client_id"],
        client_secret=account["client_secret"],
        access_token=account["access_token"],
    )
    credential.save()
    return row


# --- what the merchant sees ----------------------------------------------------------------


def no_horizontal_overflow(page, width: int = MOBILE["width"]) -> int:
    scroll_width = page.evaluate("document.scrollingElement.scrollWidth")
    assert scroll_width <= width, f"{page.url} is {scroll_width}px wide on a {width}px screen"
    return scroll_width


def assert_no_secret(html: str, *secrets: str) -> None:
    """No 8-character slice of any secret appears in the page."""
    for secret in secrets:
        for i in range(len(secret) - 7):
            assert secret[i : i + 8] not in html, f"a slice of a secret is in the page: {secret[i : i + 8]}"


def fill_credentials(page, account: dict, *, around: str = "", token: str | None = None) -> None:
    page.get_by_label("API path", exact=True).fill(f"{around}{api_path(account['store_hash'])}{around}")
    page.get_by_label("Client ID", exact=True).fill(f"{around}{account['client_id']}{around}")
    page.get_by_label("Client secret", exact=True).fill(f"{around}{account['client_secret']}{around}")
    page.get_by_label("Access token", exact=True).fill(
        token if token is not None else f"{around}{account['access_token']}{around}"
    )


OVERFLOWING_TEXT_JS = """() => {
  const main = document.querySelector('main');
  const style = getComputedStyle(main);
  const right = main.getBoundingClientRect().right - parseFloat(style.paddingRight);
  const found = [];
  const walker = document.createTreeWalker(main, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    if (!node.textContent.trim()) continue;
    const range = document.createRange();
    range.selectNodeContents(node);
    for (const rect of range.getClientRects()) {
      if (rect.width && rect.right > right + 1) {
        const tag = node.parentElement.tagName.toLowerCase();
        const past = Math.round(rect.right - right);
        found.push(`${tag}: ${node.textContent.trim().slice(0, 60)} (${past}px past the edge)`);
        break;
      }
    }
  }
  return found;
}"""


def text_overflowing_main(page) -> list[str]:
    """Text that runs past the right edge of <main>'s content box (into its padding or beyond)."""
    return page.evaluate(OVERFLOWING_TEXT_JS)
