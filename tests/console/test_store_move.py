"""Operations move a store to another merchant on its staff page: choose the
merchant, confirm, and the move is done by `store_move` and logged naming both
merchants. Support cannot (403). The new merchant sees none of the previous
merchant's history; the previous merchant no longer sees the store."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from stores.models import Credential, Store
from tests.conftest import ACME_TOKEN, client_for
from tests.console.conftest import assert_no_secret, store_log, url


@pytest.fixture
def proven(history):
    """Acme's store, its Client secret proven by a delivery in Acme's time."""
    Credential.objects.filter(store=history).update(client_secret_verified_at=timezone.now())
    return history


def test_operations_move_a_store_after_confirming_and_it_is_logged(
    ops, operations, proven, globex, alice, charlie
):
    store = proven
    page = ops.get(url("stores_store_change", store.pk)).content.decode()
    assert url("stores_store_move", store.pk) in page and "Move to another merchant" in page

    choose = ops.get(url("stores_store_move", store.pk))
    body = choose.content.decode()
    assert choose.status_code == 200
    assert "Globex (globex)" in body and "Acme (acme)" not in body

    confirm = ops.post(url("stores_store_move", store.pk), {"to_merchant": globex.pk})
    body = confirm.content.decode()
    assert confirm.status_code == 200 and "Yes, move the store to <bdi>Globex" in body
    assert Store.objects.get(pk=store.pk).merchant.slug == "acme" and store_log(store) == []

    done = ops.post(url("stores_store_move", store.pk), {"to_merchant": globex.pk, "confirm": "yes"})
    assert done.status_code == 302 and done["Location"] == url("stores_store_change", store.pk)
    store.refresh_from_db()
    assert store.merchant == globex and store.merchant_since is not None and store.status == "missing_scopes"
    assert Credential.objects.get(store=store).access_token == ACME_TOKEN  # kept as it was
    [entry] = store_log(store)
    assert entry.user == operations
    assert entry.change_message == (
        "Moved the store from merchant Acme (acme) to merchant Globex (globex); credentials and status kept."
    )
    assert_no_secret(entry.change_message)

    # Globex sees the store and none of Acme's checks, status changes or proof.
    globex_page = client_for(charlie).get(reverse("connect:store_detail", args=["globex", store.store_hash]))
    body = globex_page.content.decode()
    assert globex_page.status_code == 200 and "badge-missing_scopes" in body
    assert list(globex_page.context["checks"]) == [] and list(globex_page.context["status_changes"]) == []
    assert "No checks yet." in body and "No status changes yet." in body and "Client secret proven" not in body
    # Staff still see everything.
    assert store.checks.count() == 2 and store.status_changes.exists()
    staff_page = ops.get(url("stores_store_change", store.pk)).content.decode()
    assert "Client secret proven" in staff_page
    # Acme no longer sees it.
    assert client_for(alice).get(reverse("connect:store_detail", args=["acme", store.store_hash])).status_code == 404


def test_support_cannot_move_a_store(support, acme_store, globex):
    client = client_for(support)
    page = client.get(url("stores_store_change", acme_store.pk)).content.decode()
    assert url("stores_store_move", acme_store.pk) not in page
    assert client.get(url("stores_store_move", acme_store.pk)).status_code == 403
    response = client.post(url("stores_store_move", acme_store.pk), {"to_merchant": globex.pk, "confirm": "yes"})
    assert response.status_code == 403
    acme_store.refresh_from_db()
    assert acme_store.merchant.slug == "acme" and acme_store.merchant_since is None
    assert store_log(acme_store) == []


@pytest.mark.parametrize("choice", ["own", "", "999999", "globex'--"])
def test_a_bad_choice_gets_a_message_and_changes_nothing(ops, acme_store, globex, choice):
    value = str(acme_store.merchant_id) if choice == "own" else choice
    response = ops.post(url("stores_store_move", acme_store.pk), {"to_merchant": value, "confirm": "yes"})
    body = response.content.decode()
    assert response.status_code == 400
    assert "Choose one of the merchants listed" in body or "This field is required" in body
    acme_store.refresh_from_db()
    assert acme_store.merchant.slug == "acme" and acme_store.merchant_since is None
    assert store_log(acme_store) == []
