"""The staff console's store import: Operations checks a file (dry run), then
applies the same file; Support cannot; the page never shows a secret."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest
from django.contrib.admin.models import LogEntry
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from sandbox import scopes as sandbox_scopes
from sandbox.testing import RunningSandbox, running_sandbox
from stores.models import Credential, Store
from tests.conftest import client_for, verify_second_factor
from tests.leaks import assert_no_secret
from tests.stores.import_files import Shop, csv_text

pytestmark = pytest.mark.integration

URL = "/admin/stores/store/import/"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[RunningSandbox]:
    with running_sandbox(None) as running:
        yield running


@pytest.fixture(autouse=True)
def _point_at_sandbox(settings, sandbox):
    settings.BIGCOMMERCE_API_URL = sandbox.url
    settings.BIGCOMMERCE_WEBHOOKS_ENABLED = False


@pytest.fixture
def shops(sandbox, acme):
    good = Shop(sandbox)
    missing = Shop(sandbox, scopes=[s for s in sandbox_scopes.PORTAL_REQUIRED if s != "store_cart"])
    return good, missing


def upload(content: str, name: str = "stores.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content.encode(), content_type="text/csv")


def secrets_of(*shops: Shop) -> list[str]:
    return [secret for shop in shops for secret in shop.secrets]


def test_the_url_is_the_one_the_store_list_links_to():
    assert reverse("admin:stores_store_import") == URL


def test_operations_sees_the_link_and_the_page(operations):
    client = client_for(operations)
    assert URL in client.get("/admin/stores/store/").content.decode()
    response = client.get(URL)
    assert response.status_code == 200 and b"Check the file (dry run)" in response.content


def test_support_can_neither_see_nor_use_it(support, shops):
    client = client_for(support)
    assert URL not in client.get("/admin/stores/store/").content.decode()
    assert client.get(URL).status_code == 403
    response = client.post(URL, {"file": upload(csv_text([shops[0].row()])), "check": "1"})
    assert response.status_code == 403
    assert not Store.objects.exists() and not LogEntry.objects.exists()


def test_the_dry_run_report_has_no_secret_and_writes_nothing(operations, shops):
    good, missing = shops
    content = csv_text([good.row(), missing.row(), good.row(merchant=good.account["access_token"])])
    client = client_for(operations)

    response = client.post(URL, {"file": upload(content), "check": "1"})

    page = response.content.decode()
    assert response.status_code == 200
    assert "Dry run: nothing was written yet" in page
    assert good.hash in page and missing.hash in page and "Carts: modify" in page
    assert hashlib.sha256(content.encode()).hexdigest() in page
    assert "…" + good.account["access_token"][-4:] in page  # the fingerprint, at most
    assert_no_secret(page, secrets_of(good, missing), where="the report page")
    assert "no-store" in response["Cache-Control"]
    assert not Store.objects.exists()
    entry = LogEntry.objects.get()
    assert entry.user == operations and "Dry run of a store import: 3 rows" in entry.change_message
    assert_no_secret(entry.change_message + entry.object_repr, secrets_of(good, missing))


def test_applying_the_checked_file_saves_the_stores_and_logs_it(operations, shops, acme):
    good, missing = shops
    content = csv_text([good.row(), missing.row()])
    client = client_for(operations)
    client.post(URL, {"file": upload(content), "check": "1"})
    checked = hashlib.sha256(content.encode()).hexdigest()

    response = client.post(URL, {"file": upload(content), "checked_sha256": checked, "apply": "1"})

    page = response.content.decode()
    assert response.status_code == 200 and "Import applied" in page
    assert_no_secret(page, secrets_of(good, missing), where="the applied report")
    store = Store.objects.get()
    assert store.store_hash == good.hash and store.merchant == acme and store.status == "connected"
    credential = Credential.objects.get(store=store)
    assert credential.created_by == operations
    entry = LogEntry.objects.order_by("-action_time").first()
    assert entry.change_message.startswith("Imported stores: 2 rows: 1 connected, 1 missing_scopes.")
    assert checked[:16] in entry.change_message


def test_keep_broken_is_carried_from_the_check_to_the_apply(operations, shops):
    good, missing = shops
    content = csv_text([missing.row()])
    client = client_for(operations)
    page = client.post(URL, {"file": upload(content), "keep_broken": "on", "check": "1"}).content.decode()
    assert 'name="keep_broken" value="on"' in page
    checked = hashlib.sha256(content.encode()).hexdigest()
    client.post(URL, {"file": upload(content), "keep_broken": "on", "checked_sha256": checked, "apply": "1"})
    assert Store.objects.get().status == "missing_scopes"


def test_another_file_than_the_checked_one_is_not_applied(operations, shops):
    good, missing = shops
    checked = hashlib.sha256(csv_text([missing.row()]).encode()).hexdigest()
    client = client_for(operations)

    other = client.post(URL, {"file": upload(csv_text([good.row()])), "checked_sha256": checked, "apply": "1"})
    unchecked = client.post(URL, {"file": upload(csv_text([good.row()])), "apply": "1"})

    assert other.status_code == unchecked.status_code == 409
    assert b"This is not the file that was checked" in other.content
    assert not Store.objects.exists()


def test_an_unusable_file_is_explained(operations, shops):
    client = client_for(operations)
    response = client.post(URL, {"file": upload('{"merchant": "acme"}\n{oops\n', "s.jsonl"), "check": "1"})
    assert response.status_code == 400 and b"Line 2 is not valid JSON" in response.content
    response = client.post(URL, {"check": "1"})
    assert response.status_code == 400 and not Store.objects.exists()


def test_the_form_needs_its_csrf_token(operations, shops):
    client = Client(enforce_csrf_checks=True)
    client.force_login(operations)
    verify_second_factor(client, operations)
    response = client.post(URL, {"file": upload(csv_text([shops[0].row()])), "check": "1"})
    assert response.status_code == 403 and not LogEntry.objects.exists()


# Issue 29, item 13: the report showed raw outcome codes ("Missing scopes" was
# "missing_scopes" in the summary), literal backticks and "?" for an unknown merchant.
def test_the_report_speaks_words_not_codes(operations, shops):
    good, missing = shops
    content = csv_text([good.row(), missing.row(), good.row(merchant="", api_path="")])
    client = client_for(operations)
    page = client.post(URL, {"file": upload(content), "check": "1"}).content.decode()
    summary = page[page.index('<p id="import-summary">') :]
    summary = summary[: summary.index("</p>")]
    assert "3 rows: 1 connected, 1 missing scopes, 1 not usable." in summary
    table = page[page.index('<table id="import-rows">') :]
    table = table[: table.index("</table>")]
    assert "unknown merchant" in table and "?" not in table
    for code in ("missing_scopes", "malformed_input", "connected_elsewhere"):
        assert code not in page
    assert "`" not in page
    assert "`" not in client.get(URL).content.decode()  # the form's help text too
