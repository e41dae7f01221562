"""The fleet at a glance (admin index), the store list's columns and filters,
merchant search, and the CSV export of the store list."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse
from django.utils import timezone

from merchants.models import Merchant
from notifications.models import WebhookEndpoint
from stores.models import Check, Store
from tests.conftest import client_for
from tests.console.conftest import assert_no_secret


def url(name, *args):
    return reverse(f"admin:{name}", args=args)


@pytest.fixture
def fleet(acme, globex, acme_store, globex_store):
    """acme123 connected; globex9 connected; revoked 2 days ago; unreachable 1 hour ago; paused."""
    now = timezone.now()
    Store.objects.create(
        merchant=acme,
        store_hash="old1",
        name="Long Broken",
        plan_name="Pro",
        status="revoked",
        status_changed_at=now - timedelta(days=2),
        last_checked_at=now - timedelta(days=2),
    )
    Store.objects.create(
        merchant=globex,
        store_hash="new1",
        name="Fresh Break",
        plan_name="Standard",
        status="unreachable",
        status_changed_at=now - timedelta(hours=1),
        last_checked_at=now - timedelta(minutes=5),
    )
    Store.objects.create(
        merchant=acme, store_hash="zzz9", name='=HYPERLINK("http://x")', status="paused"
    )
    for hours_ago in (0, 0, 3, 30):
        Check.objects.create(
            store=acme_store,
            trigger="schedule",
            outcome="connected",
            scopes={},
            started_at=now - timedelta(hours=hours_ago),
        )
    return Store.objects.all()


def hashes_in(body: str) -> set[str]:
    return {h for h in ("acme123", "globex9", "old1", "new1", "zzz9") if f">{h}<" in body}


def test_the_index_shows_the_fleet_at_a_glance(support, fleet):
    WebhookEndpoint.objects.create(
        name="Flaky receiver",
        url="https://x.test/h",
        last_error="Timed out waiting for the endpoint.",
    )
    WebhookEndpoint.objects.create(name="Healthy receiver", url="https://y.test/h")
    body = client_for(support).get(url("index")).content.decode()
    assert "The fleet at a glance" in body
    stores = url("stores_store_changelist")
    # counts by status, each linked to the filtered list
    assert f'href="{stores}?status__exact=connected">2</a>' in body
    assert f'href="{stores}?status__exact=revoked">1</a>' in body
    assert f'href="{stores}?status__exact=paused">1</a>' in body
    # broke in the last 24 hours: the unreachable store, not the one broken for 2 days
    assert "Fresh Break" in body and "Long Broken" not in body
    assert f"{stores}?broken=recent" in body
    # checks per hour: 3 in the last 24 hours, 24 bars
    assert body.count('class="vc-bar vc-h-') == 24 and "vc-h-100" in body
    assert '>3</span><span class="vc-tile-label">checks in the last 24 h' in body
    # failing webhook endpoints
    assert "Flaky receiver" in body and "Timed out" in body and "Healthy receiver" not in body
    # django-celery-beat's admin is still there
    assert "Periodic tasks" in body


def test_the_index_says_when_all_is_quiet(support, db):
    body = client_for(support).get(url("index")).content.decode()
    assert "No stores yet" in body and "Nothing broke in the last 24 hours" in body
    assert (
        "No checks ran in the last 24 hours" in body and "Every webhook endpoint is healthy" in body
    )


def test_the_store_list_columns(support, fleet):
    body = client_for(support).get(url("stores_store_changelist")).content.decode()
    for column in (
        "Store",
        "Merchant",
        "Plan",
        "Status",
        "In this status for",
        "Last check",
        "Next check",
    ):
        assert f">{column}<" in body, column
    # Each store's hash and domain sit under its name (the list fits 1280 px).
    assert '<span class="vc-store-meta"><code>acme123</code> · acme.example</span>' in body
    assert (
        'class="vc-badge vc-ok"' in body
        and 'class="vc-badge vc-bad"' in body
        and 'class="vc-badge vc-warn"' in body
    )
    assert url("merchants_merchant_change", Merchant.objects.get(slug="acme").pk) in body
    assert "not checked" in body  # the paused store's next check
    assert hashes_in(body) == {"acme123", "globex9", "old1", "new1", "zzz9"}


@pytest.mark.parametrize(
    "query,expected",
    [
        ("?status__exact=revoked", {"old1"}),
        ("?broken=now", {"old1", "new1"}),
        ("?broken=day", {"old1"}),
        ("?broken=recent", {"new1"}),
        ("?plan=Pro", {"old1"}),
        ("?plan=-", {"globex9", "zzz9"}),
        ("?checked=hour", {"new1"}),
        ("?checked=stale", {"old1"}),
        ("?checked=never", {"acme123", "globex9", "zzz9"}),
        ("?q=globex", {"globex9", "new1"}),
        ("?q=acme.example", {"acme123"}),
        ("?q=old1", {"old1"}),
    ],
)
def test_the_store_list_filters_and_search(support, fleet, query, expected):
    body = client_for(support).get(url("stores_store_changelist") + query).content.decode()
    assert hashes_in(body) == expected


def test_the_plan_filter_offers_the_plans_in_use(support, fleet):
    body = client_for(support).get(url("stores_store_changelist")).content.decode()
    for plan in ("Plus", "Pro", "Standard", "No plan known yet"):
        assert f"{plan}</a>" in body


def test_an_empty_search_says_what_to_do(support, fleet):
    body = (
        client_for(support)
        .get(url("stores_store_changelist") + "?q=nothing-like-this")
        .content.decode()
    )
    assert "No store matches “nothing-like-this”" in body and "Show every store" in body


def test_merchants_are_found_by_name_owner_email_and_store_hash(support, fleet, alice, charlie):
    def names(query):
        body = (
            client_for(support).get(url("merchants_merchant_changelist") + query).content.decode()
        )
        return {name for name in ("Acme", "Globex") if f">{name}</a>" in body}

    assert names("?q=acme") == {"Acme"}
    assert names("?q=charlie@globex.test") == {"Globex"}
    assert names("?q=new1") == {"Globex"}
    body = (
        client_for(support)
        .get(url("merchants_merchant_change", charlie.merchants.get().pk))
        .content.decode()
    )
    assert "charlie@globex.test" in body and "Globex Gadgets" in body and "Fresh Break" in body
    assert "vc-badge" in body  # stores inline with their status


def read_csv(response) -> list[dict]:
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith('attachment; filename="stores-')
    text = b"".join(response.streaming_content).decode()
    assert_no_secret(text)
    return list(csv.DictReader(io.StringIO(text)))


def test_the_csv_export_respects_the_filters_and_holds_no_secret(support, fleet):
    client = client_for(support)
    rows = read_csv(client.get(url("stores_store_export")))
    assert {row["store_hash"] for row in rows} == {"acme123", "globex9", "old1", "new1", "zzz9"}
    broken = read_csv(client.get(url("stores_store_export") + "?broken=now&q=acme"))
    assert [(row["store_hash"], row["status"], row["merchant"]) for row in broken] == [
        ("old1", "revoked", "Acme")
    ]
    assert int(broken[0]["in_status_seconds"]) >= 2 * 24 * 3600
    assert set(broken[0]) >= {
        "merchant",
        "store_hash",
        "name",
        "domain",
        "plan",
        "status",
        "status_changed_at",
        "last_checked_at",
        "next_check_at",
    }
    entry = LogEntry.objects.order_by("-id").first()
    assert (
        entry.user == support
        and entry.change_message == "Exported the store list as CSV (filters: broken=now, q=acme)."
    )


def test_the_csv_export_neutralises_spreadsheet_formulas(support, fleet):
    rows = read_csv(client_for(support).get(url("stores_store_export") + "?q=zzz9"))
    assert rows[0]["name"] == '\'=HYPERLINK("http://x")'


@pytest.mark.parametrize(
    "value",
    [
        "=1+1",
        "+1+1",
        "-1+1",
        "@SUM(A1)",
        "\t=1+1",
        "\r=1+1",
        " =1+1",
        "\u00a0\u2003=1+1",
        "\n=1+1",
        ";=1+1",
        ",=1+1",
        '"=1+1',
        "'=1+1",
        " ; @SUM(A1)",
        "\x00=1+1",
        "\uff1dcmd|' /C calc'!A0",
    ],
)
def test_a_cell_a_spreadsheet_would_run_as_a_formula_is_prefixed(value):
    from console.admin.exports import csv_cell

    assert csv_cell(value) == "'" + value


@pytest.mark.parametrize("value", ["Acme Store", "acme.example", "a=b", "Store - Outlet", "", 42, None, "x;y"])
def test_an_ordinary_cell_is_exported_as_it_is(value):
    from console.admin.exports import csv_cell

    assert csv_cell(value) == value


def test_the_csv_export_neutralises_formulas_after_leading_space_or_a_separator(support, acme):
    """A store name (from BigCommerce), a domain and a merchant name (from sign-up)
    that start a cell with a formula after a separator or whitespace, and a
    separator in the middle of a value: every cell is quoted, every formula prefixed."""
    acme.name = ";=HYPERLINK(\"http://x\")"
    acme.save(update_fields=["name"])
    Store.objects.create(merchant=acme, store_hash="csv1", name=" @SUM(1+1)", domain="x.test;+1", status="paused")
    response = client_for(support).get(url("stores_store_export") + "?q=csv1")
    body = b"".join(response.streaming_content).decode()
    [row] = list(csv.DictReader(io.StringIO(body)))
    assert row["name"] == "' @SUM(1+1)"
    assert row["merchant"] == "';=HYPERLINK(\"http://x\")"
    assert row["domain"] == "x.test;+1"  # inside a quoted cell a separator starts nothing
    assert '"x.test;+1"' in body and body.startswith('"merchant",')


def test_the_list_links_to_the_export_with_its_filters(support, fleet):
    body = (
        client_for(support)
        .get(url("stores_store_changelist") + "?status__exact=revoked")
        .content.decode()
    )
    assert f'href="{url("stores_store_export")}?status__exact=revoked"' in body


def test_checks_and_status_changes_are_read_only_lists(support, history):
    client = client_for(support)
    checks = client.get(url("stores_check_changelist") + "?outcome=missing_scopes").content.decode()
    assert "Acme Outfitters" in checks and "Missing scopes" in checks
    check = history.checks.first()
    assert client.post(url("stores_check_change", check.pk), {}).status_code == 403
    assert client.get(url("stores_check_delete", check.pk)).status_code == 403
    changes = client.get(url("stores_statuschange_changelist")).content.decode()
    assert "Acme Outfitters" in changes
