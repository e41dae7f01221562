"""The wizard end to end when a store changes merchant: Globex connects the
store Acme disconnected, sees it connected and none of Acme's history; Acme
no longer sees it at all. A store still connected under Acme is refused
without naming anyone."""

from datetime import timedelta

import pytest
import responses
import time_machine
from django.urls import reverse
from django.utils import timezone

from stores import services
from stores.bigcommerce.report import Outcome
from stores.models import Credential, Store
from tests.conftest import client_for
from tests.connect.test_wizard import HASH, TOKEN, fields
from tests.fake_bigcommerce import FakeBigCommerce
from tests.reports import report


@pytest.fixture
def bigcommerce():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        fake = FakeBigCommerce(rsps)
        fake.add_token(HASH, TOKEN)
        yield fake


def wizard(client, slug):
    return client.post(reverse("connect:wizard_credentials", args=[slug]), fields())


def test_globex_connects_the_store_acme_disconnected_and_sees_none_of_acmes_history(alice, charlie, bigcommerce):
    acme_client, globex_client = client_for(alice), client_for(charlie)
    assert wizard(acme_client, "acme").status_code == 302
    store = Store.objects.get()
    # Acme's history: a check it asked for (broken), then its own disconnect.
    services.store_record_check(
        store_id=store.pk,
        report=report(Outcome.MISSING_SCOPES, store_hash=HASH, missing=["store_cart"]),
        trigger="merchant",
        started_at=timezone.now(),
        duration_ms=1,
    )
    acme_client.post(reverse("connect:store_disconnect", args=["acme", HASH]))
    assert Store.objects.get().status == "disconnected"

    with time_machine.travel(timezone.now() + timedelta(hours=2)):
        response = wizard(globex_client, "globex")
        assert response.status_code == 302
        assert response["Location"] == reverse("connect:store_detail", args=["globex", HASH])
        page = globex_client.get(response["Location"])

    body = page.content.decode()
    assert page.status_code == 200 and "badge-connected" in body
    store.refresh_from_db()
    assert store.merchant.slug == "globex" and store.status == "connected"
    assert Credential.objects.get(store=store).created_by == charlie
    # Globex sees its own connection only: one check, one status change.
    assert [check.trigger for check in page.context["checks"]] == ["onboarding"]
    assert [(c.old_status, c.new_status) for c in page.context["status_changes"]] == [("disconnected", "connected")]
    assert "alice@acme.test" not in body and "Merchant (check now)" not in body and "Missing scopes" not in body
    # Staff still have all of it on the row.
    assert store.checks.count() == 3 and store.status_changes.count() == 3

    # Acme no longer sees the store at all.
    acme_client.get(reverse("connect:dashboard", args=["acme"]))  # shows the flash messages of the disconnect
    dashboard = acme_client.get(reverse("connect:dashboard", args=["acme"])).content.decode()
    assert HASH not in dashboard and "Acme Outfitters" not in dashboard
    assert acme_client.get(reverse("connect:store_detail", args=["acme", HASH])).status_code == 404
    assert acme_client.get(reverse("connect:store_replace", args=["acme", HASH])).status_code == 404


@pytest.mark.parametrize("status", ["connected", "paused", "revoked", "missing_scopes"])
def test_a_store_still_connected_under_acme_is_refused_to_globex_naming_no_one(alice, charlie, bigcommerce, status):
    wizard(client_for(alice), "acme")
    Store.objects.update(status=status)
    response = wizard(client_for(charlie), "globex")
    body = response.content.decode()
    assert response.status_code == 422
    assert "already connected to Violet under another account" in body
    assert "Acme" not in body and "alice" not in body
    store = Store.objects.get()
    assert store.merchant.slug == "acme" and store.status == status and store.merchant_since is None
