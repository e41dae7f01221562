"""The store list's search: what staff find (every word must match, in the
store hash, name, domain, merchant or id; a word of one or two characters where
a word begins; quotes make a phrase), the "20000+" count of a broad search,
the sorting of a counted one, and on PostgreSQL the one trigram index that
answers it."""

from __future__ import annotations

import importlib
import re

import pytest
from django.contrib import admin
from django.db import connection
from django.db.models import F
from django.db.models.functions import Lower
from django.db.models.sql import Query
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from console.admin import store_search
from console.admin.merchants import MerchantAdmin
from console.admin.pagination import EstimatedCountPaginator, sorted_not_walked
from console.admin.stores import StoreAdmin
from merchants.models import Merchant
from storehooks.models import WebhookDelivery
from stores.models import Check, StatusChange, Store
from tests.conftest import client_for

LIST = reverse("admin:stores_store_changelist")
MIGRATION = importlib.import_module("stores.migrations.0009_store_search_text_trgm")
# Ids far from the numbers searched for below, so that no search finds a store
# by its id by chance (PostgreSQL's sequences are not rolled back between tests).
FIRST_ID = 90_001


@pytest.fixture
def shelf(acme, globex):
    northwind = Merchant.objects.create(name="Northwind Traders", slug="northwind-traders")
    rows = [
        (acme, "acme123", "Acme Outfitters", "acme.example"),
        (globex, "globex9", "Globex Gadgets", ""),
        (acme, "s12ab", "Store 12", "store-12.example"),
        (acme, "s120cd", "Store 120", ""),
        (globex, "s312ef", "Store 312", "shop312.example"),
        (globex, "x9ab12cd", "Big Store 12", ""),
        (northwind, "nw01", "Tea Room", "tearoom.example"),
    ]
    return Store.objects.bulk_create(
        Store(pk=FIRST_ID + i, merchant=merchant, store_hash=store_hash, name=name, domain=domain)
        for i, (merchant, store_hash, name, domain) in enumerate(rows)
    )


def found(user, query: str) -> set[str]:
    """The store hashes the list shows for a search."""
    body = client_for(user).get(LIST, {"q": query}).content.decode()
    return set(re.findall(r'<span class="vc-store-meta"><code>([^<]+)</code>', body))


@pytest.mark.parametrize(
    "query,expected",
    [
        # a whole store hash, part of one, a domain, a word of a name, in any case
        ("acme123", {"acme123"}),
        ("x9ab", {"x9ab12cd"}),
        ("ab12", {"x9ab12cd"}),  # three characters or more: anywhere
        ("tearoom.example", {"nw01"}),
        ("Outfitters", {"acme123"}),
        ("gadgets", {"globex9"}),
        # merchants, by name and by slug
        ("Northwind", {"nw01"}),
        ("northwind-traders", {"nw01"}),
        ("globex", {"globex9", "s312ef", "x9ab12cd"}),
        # one or two characters: where a word begins, never inside one
        ("12", {"s12ab", "s120cd", "x9ab12cd"}),  # Store 12, Store 120, Big Store 12; not Store 312
        ("31", {"s312ef"}),
        ("ab", set()),  # inside s12ab and x9ab12cd only
        ("s1", {"s12ab", "s120cd"}),  # a store hash's start is a word's start
        ("x", {"x9ab12cd"}),
        ("ro", {"nw01"}),  # Tea Room
        ("Tr", {"nw01"}),  # Northwind Traders: a merchant name's second word
        ("tr", {"nw01"}),
        ("Z", set()),
        # every word must match, each in any field
        ("Store 12", {"s12ab", "s120cd", "x9ab12cd"}),
        ("12 Store", {"s12ab", "s120cd", "x9ab12cd"}),
        ("acme 12", {"s12ab", "s120cd"}),  # Acme's stores with a word starting 12
        ("globex store", {"s312ef", "x9ab12cd"}),
        ("Store nothing-like-this", set()),
        # quotes: a phrase, as it stands
        ('"Store 12"', {"s12ab", "s120cd", "x9ab12cd"}),
        ('"Big Store"', {"x9ab12cd"}),
        ('"Store Big"', set()),
        ("'Tea Room'", {"nw01"}),
        # punctuation alone is no word
        ("Tea -", {"nw01"}),
        ("& Room", {"nw01"}),
    ],
)
def test_what_a_search_finds(support, shelf, query, expected):
    assert found(support, query) == expected


def test_a_number_also_finds_the_store_with_that_id(support, shelf):
    assert found(support, str(FIRST_ID + 6)) == {"nw01"}
    assert found(support, f"tea {FIRST_ID + 6}") == {"nw01"}
    assert found(support, f"store {FIRST_ID + 6}") == set()
    assert found(support, "99999999999999999999999") == set()  # past any id: no error
    assert found(support, "9" * 5000) == set()  # past what int() reads


def test_search_words():
    words = store_search.search_words
    assert words('Store 12 "Big Store" - & 12 store') == ["Store", "12", "Big Store"]
    assert words("'a b'") == ["a b"]
    assert words('"') == []
    assert words("-- &") == []


def test_a_search_of_punctuation_alone_filters_nothing(support, shelf):
    assert found(support, "- &") == {store.store_hash for store in shelf}


def test_the_help_text_says_the_rule(support, shelf):
    body = client_for(support).get(LIST, {"q": "x"}).content.decode()
    assert "Every word must match; a word of one or two characters matches the start of a word" in body


def test_merchants_are_looked_up_once_whatever_the_number_of_words(support, shelf):
    def merchant_queries(query: str) -> int:
        client = client_for(support)
        with CaptureQueriesContext(connection) as captured:
            assert client.get(LIST, {"q": query}).status_code == 200
        return sum('FROM "merchants_merchant"' in q["sql"] for q in captured.captured_queries)

    assert merchant_queries("Store") == merchant_queries("Store 12 big tea room acme globex x") == 1


def test_more_matching_merchants_than_the_limit_still_find_their_stores(support, shelf, monkeypatch):
    monkeypatch.setattr(store_search, "MERCHANT_IDS_LIMIT", 0)  # every merchant match is a subquery
    assert found(support, "globex") == {"globex9", "s312ef", "x9ab12cd"}
    assert found(support, "Tr") == {"nw01"}
    assert found(support, "acme 12") == {"s12ab", "s120cd"}


# --- a broad search counts no further than it must ----------------------------------


def test_a_broad_search_says_how_many_at_least(support, shelf, monkeypatch):
    monkeypatch.setattr(StoreAdmin, "SEARCH_COUNT_LIMIT", 2)
    monkeypatch.setattr(StoreAdmin, "list_per_page", 2)
    monkeypatch.setattr(StoreAdmin, "list_max_show_all", 2)
    client = client_for(support)
    first = client.get(LIST, {"q": "store"}).content.decode()  # 4 stores: counted up to 3
    assert "2+ results" in first and "2+ stores" in first
    assert 'href="?p=2&amp;q=store"' in first and 'class="showall"' not in first
    second = client.get(LIST, {"q": "store", "p": "2"}).content.decode()  # counted up to 5: all 4
    assert "4 results" in second and "4 stores" in second and "+ results" not in second
    assert "2 results" in client.get(LIST, {"q": "globex store"}).content.decode()  # 2: not "2+"


def test_the_paginator_counts_one_row_past_its_limit(shelf):
    stores = Store.objects.filter(name__icontains="store").order_by("name")  # 4
    bounded = EstimatedCountPaginator(stores, 2, count_limit=2)
    assert bounded.count == 3 and bounded.count_is_bounded and bounded.num_pages == 2
    assert [s.store_hash for s in bounded.page(2).object_list] == ["s120cd"]  # Big Store 12, Store 12 | Store 120
    exact = EstimatedCountPaginator(stores, 2, count_limit=4)
    assert exact.count == 4 and not exact.count_is_bounded and exact.counted_all
    assert "COALESCE" in str(exact.page(1).object_list.query) and "COALESCE" not in str(
        bounded.page(1).object_list.query
    )
    assert EstimatedCountPaginator(stores, 2).count == 4


def page_query(support, params) -> tuple[str, list[str]]:
    """The store list's page: the SQL of its rows' query, and the hashes in order."""
    client = client_for(support)
    with CaptureQueriesContext(connection) as captured:
        body = client.get(LIST, params).content.decode()
    [sql] = [q["sql"] for q in captured.captured_queries if q["sql"].startswith('SELECT "stores_store"."id"')]
    return sql, re.findall(r'<span class="vc-store-meta"><code>([^<]+)</code>', body)


def test_a_counted_search_sorts_its_matches_instead_of_walking_the_name_index(support, shelf, monkeypatch):
    monkeypatch.setattr(StoreAdmin, "list_per_page", 2)
    monkeypatch.setattr(StoreAdmin, "list_max_show_all", 2)
    pages = [{"q": "store"}, {"q": "store", "o": "-1.0"}]  # by name; by merchant (descending), name
    sorted_ = [page_query(support, params) for params in pages]  # 4 matches, all counted
    assert all("ORDER BY COALESCE(" in sql for sql, _ in sorted_)
    assert [hashes for _, hashes in sorted_] == [["x9ab12cd", "s12ab"], ["x9ab12cd", "s312ef"]]
    monkeypatch.setattr(StoreAdmin, "SEARCH_COUNT_LIMIT", 2)
    monkeypatch.setattr(StoreAdmin, "list_max_show_all", 1)  # 3 of 4 counted: the list's own order
    walked = [page_query(support, params) for params in pages]
    assert not any("COALESCE(" in sql for sql, _ in walked)
    assert [hashes for _, hashes in walked] == [hashes for _, hashes in sorted_]


def test_sorted_not_walked_keeps_the_order_and_leaves_what_it_cannot_rewrite(shelf):
    for ordering in (["name", "store_hash"], ["-merchant__name", "-pk"], [F("name").desc(nulls_last=True)]):
        stores = Store.objects.order_by(*ordering)
        sorted_ = sorted_not_walked(stores)
        assert "COALESCE" in str(sorted_.query).split("ORDER BY")[1]
        assert list(sorted_) == list(stores)
    for ordering in (["merchant"], ["?"], [Lower("name")]):
        stores = Store.objects.order_by(*ordering)
        assert sorted_not_walked(stores) is stores


# --- on PostgreSQL, one trigram index answers the search -----------------------------


def test_the_index_and_the_search_read_the_same_expression():
    """The migration's index expression is SearchText's, as the database gets it."""
    query = Query(Store, alias_cols=False)
    compiler = query.get_compiler(connection=connection)
    sql, params = compiler.compile(store_search.SearchText().resolve_expression(query))
    assert (sql, params) == (MIGRATION.SEARCH_TEXT, [])


@pytest.mark.skipif(connection.vendor != "postgresql", reason="pg_trgm is PostgreSQL's")
@pytest.mark.parametrize("query", ["acme123", "12", "x", "Store 12", '"Big Store"', "northwind", "tea room"])
def test_the_search_can_read_the_trigram_index(shelf, query):
    """With every other way to read the stores turned off, the plan reads
    store_search_trgm_idx: the search's expression is the index's. (Whether the
    planner picks it on a real fleet is the benchmark's business.)"""
    sql, params = store_search.search_stores(Store.objects.order_by(), query).values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        for setting in ("enable_seqscan", "enable_indexscan", "enable_indexonlyscan"):
            cursor.execute(f"SET LOCAL {setting} = off")
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Bitmap Index Scan on store_search_trgm_idx" in plan, plan
    assert "Seq Scan on stores_store" not in plan, plan


# --- the other lists find their rows by store, by the same rule ----------------------


def _hashes(rows, path: str = "store__store_hash") -> set[str]:
    return set(rows.values_list(path, flat=True))


def test_checks_status_changes_and_deliveries_are_found_by_their_store(support, shelf):
    """A check, a status change, a webhook delivery: a word finds the row if it
    finds its store (hash, name, domain, merchant, id; short words where a word
    begins), every word must match, and `also` fields are searched word by word."""
    Check.objects.bulk_create(Check(store=store, trigger="schedule", outcome="connected") for store in shelf)
    for store in shelf:
        StatusChange.objects.create(
            store=store, old_status="connected", new_status="revoked", reason=f"reason of {store.store_hash}"
        )
        WebhookDelivery.objects.create(store=store, webhook_id=f"hook-{store.store_hash}")
    search = store_search.search_by_store
    checks = Check.objects.all()
    assert _hashes(search(checks, "Outfitters")) == {"acme123"}  # a name's word
    assert _hashes(search(checks, "tearoom.example")) == {"nw01"}  # a domain
    assert _hashes(search(checks, "northwind")) == {"nw01"}  # a merchant
    assert _hashes(search(checks, "12")) == {"s12ab", "s120cd", "x9ab12cd"}  # where a word begins
    assert _hashes(search(checks, "globex store")) == {"s312ef", "x9ab12cd"}  # every word
    assert _hashes(search(checks, str(FIRST_ID + 6))) == {"nw01"}  # the store's id
    assert _hashes(search(checks, "nothing-like-this")) == set()
    assert search(checks, "  ") is checks
    changes = StatusChange.objects.all()
    assert _hashes(search(changes, "of x9ab12cd", also=("reason",))) == {"x9ab12cd"}  # "of" in the reason only
    assert _hashes(search(changes, "of x9ab12cd")) == set()
    deliveries = WebhookDelivery.objects.all()
    assert _hashes(search(deliveries, "hook-nw01", also=("webhook_id",))) == {"nw01"}


def test_the_lists_search_by_store(support, shelf):
    """Through the console: each list's search box finds its rows by their store."""
    Check.objects.bulk_create(Check(store=store, trigger="schedule", outcome="connected") for store in shelf)
    for store in shelf:
        StatusChange.objects.create(store=store, old_status="connected", new_status="revoked", reason="gone")
    client = client_for(support)
    for name in ("stores_check", "stores_statuschange"):
        body = client.get(reverse(f"admin:{name}_changelist"), {"q": "Tea Room"}).content.decode()
        assert "nw01" in body and "acme123" not in body, name
        assert "as in the store list" in body


def test_merchants_are_found_by_one_of_their_stores(support, shelf):
    merchants = Merchant.objects.all()
    found_merchants, duplicates = MerchantAdmin(Merchant, admin.site).get_search_results(None, merchants, "tearoom")
    assert {m.slug for m in found_merchants.distinct()} == {"northwind-traders"}
    assert duplicates  # through stores and memberships: the admin makes it distinct
    found_merchants, _ = MerchantAdmin(Merchant, admin.site).get_search_results(None, merchants, "globex")
    assert {m.slug for m in found_merchants.distinct()} == {"globex"}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="pg_trgm is PostgreSQL's")
def test_a_check_search_reads_the_store_search_index(shelf):
    """Checks are found through the store search's index, not per-column ones
    (dropped in stores.0010: they only cost writes)."""
    sql, params = store_search.search_by_store(Check.objects.order_by(), "Outfitters").query.sql_with_params()
    with connection.cursor() as cursor:
        for setting in ("enable_seqscan", "enable_indexscan", "enable_indexonlyscan"):
            cursor.execute(f"SET LOCAL {setting} = off")
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'stores_store' AND indexname LIKE '%%trgm%%'"
        )
        indexes = {row[0] for row in cursor.fetchall()}
    assert "Bitmap Index Scan on store_search_trgm_idx" in plan, plan
    assert indexes == {"store_search_trgm_idx"}
