"""The store list renders in a bounded number of queries, whatever the number
of stores on the page or in the fleet; so does the admin index."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from merchants.models import Merchant
from stores.models import Check, Credential, StatusChange, Store
from tests.conftest import client_for

MAX_QUERIES = 10
PLANS = ["Standard", "Plus", "Pro", "Enterprise"]
STATUSES = ["connected", "connected", "missing_scopes", "revoked", "paused", "disconnected"]


def make_fleet(count: int, start: int = 0) -> None:
    now = timezone.now()
    merchants = Merchant.objects.bulk_create(
        [Merchant(name=f"Merchant {i}", slug=f"merchant-{i}") for i in range(start, start + count)]
    )
    stores = Store.objects.bulk_create(
        [
            Store(
                merchant=merchants[i],
                store_hash=f"h{start + i:06d}",
                name=f"Store {start + i}",
                domain=f"s{start + i}.example",
                plan_name=PLANS[i % len(PLANS)],
                status=STATUSES[i % len(STATUSES)],
                last_checked_at=now,
                next_check_at=now,
                profile={"name": f"Store {start + i}", "big": "x" * 500},
            )
            for i in range(count)
        ]
    )
    credentials = []
    for store in stores:
        credential = Credential(store=store)
        credential.set_values(
            client_id=f"cid{store.pk:027d}",
            client_secret="ab" * 32,
            access_token=f"tok{store.pk:028d}",
        )
        credentials.append(credential)
    Credential.objects.bulk_create(credentials)
    checks = Check.objects.bulk_create(
        [
            Check(store=store, trigger="schedule", outcome="connected", scopes={}, started_at=now)
            for store in stores
        ]
    )
    StatusChange.objects.bulk_create(
        [
            StatusChange(store=s, old_status="pending", new_status=s.status, check_run=c)
            for s, c in zip(stores, checks, strict=True)
        ]
    )


def queries_for(client, url: str) -> list[str]:
    cache.clear()  # the plan filter's choices are cached: count their query every time
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return [q["sql"] for q in captured.captured_queries]


LIST_URLS = [
    "",
    "?status__exact=connected",
    "?broken=day&plan=Plus",
    "?checked=day&q=store",
    "?q=store+4+merchant+%22store+4%22",  # four words (one quoted): still one merchant lookup
    "?o=-7",
    "?all=",
]


@pytest.mark.parametrize("who", ["superuser", "support"])
@pytest.mark.parametrize("query", LIST_URLS)
def test_the_store_list_costs_the_same_queries_for_5_and_50_stores(
    request, who, query, django_assert_max_num_queries
):
    client = client_for(request.getfixturevalue(who))
    url = reverse("admin:stores_store_changelist") + query
    make_fleet(5)
    few = queries_for(client, url)
    make_fleet(45, start=5)
    with django_assert_max_num_queries(MAX_QUERIES):
        many = queries_for(client, url)
    assert len(few) == len(many) <= MAX_QUERIES, (len(few), len(many))
    body = client.get(url).content.decode()
    assert "Store 4" in body or "0 stores" in body or "No store matches" in body
    # No query reads the credentials table or the profile column.
    for sql in many:
        assert "stores_credential" not in sql and '"profile"' not in sql


def test_the_store_list_page_holds_50_rows_of_the_50_stores(superuser):
    make_fleet(60)
    body = client_for(superuser).get(reverse("admin:stores_store_changelist")).content.decode()
    assert body.count('class="field-store"') == 50


@pytest.mark.parametrize("who", ["superuser", "support"])
def test_the_index_costs_the_same_queries_for_5_and_50_stores(request, who):
    client = client_for(request.getfixturevalue(who))
    url = reverse("admin:index")
    make_fleet(5)
    few = queries_for(client, url)
    make_fleet(45, start=5)
    many = queries_for(client, url)
    assert len(few) == len(many) <= 12, (len(few), len(many))
    for sql in many:
        assert "stores_credential" not in sql
