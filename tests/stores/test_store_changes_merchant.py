"""A store changes merchant: a disconnected store is free for any merchant to
connect (the row moves), one in any other status under another merchant is
refused without naming anyone, and staff move stores with `store_move`."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from stores import services
from stores.bigcommerce.report import Outcome
from stores.models import Credential, Store
from stores.status import StoreStatus
from tests.reports import credentials, report


def connect(merchant, token="n3wt0k3nabcdefghijklmnopqrstuvw"):
    return services.store_connect(merchant=merchant, credentials=credentials(token=token), report=report())


def test_a_store_disconnected_by_one_merchant_is_connected_by_another(acme, globex):
    store = connect(acme)
    services.store_disconnect(store=store)
    with time_machine.travel(timezone.now() + timedelta(hours=1)):
        moved = connect(globex, token="g10b3xt0k3nabcdefghijklmnopqrst")
        moved.refresh_from_db()
        assert moved.pk == store.pk and moved.merchant == globex
        assert moved.status == StoreStatus.CONNECTED
        assert abs(moved.merchant_since - timezone.now()) < timedelta(seconds=5)
    assert Credential.objects.get(store=moved).access_token == "g10b3xt0k3nabcdefghijklmnopqrst"
    # The history stays on the row; the new merchant's starts at the move.
    assert moved.status_changes.count() == 3 and moved.checks.count() == 2
    ours = moved.status_changes.filter(created_at__gte=moved.merchant_since)
    assert [(c.old_status, c.new_status) for c in ours] == [("disconnected", "connected")]
    assert moved.checks.filter(started_at__gte=moved.merchant_since).count() == 1


def test_a_store_never_moved_has_no_merchant_since_and_keeps_its_history_when_reconnected(acme):
    store = connect(acme)
    services.store_disconnect(store=store)
    store = connect(acme)
    store.refresh_from_db()
    assert store.merchant_since is None
    assert all(store.is_current_merchants(change.created_at) for change in store.status_changes.all())


@pytest.mark.parametrize("status", [s for s in StoreStatus if s != StoreStatus.DISCONNECTED])
def test_a_store_of_another_merchant_in_any_other_status_is_refused_naming_no_one(acme, globex, status):
    store = connect(acme)
    Store.objects.filter(pk=store.pk).update(status=status)
    with pytest.raises(services.StoreOwnedElsewhere) as refused:
        connect(globex, token="g10b3xt0k3nabcdefghijklmnopqrst")
    assert "Acme" not in str(refused.value) and "acme" not in str(refused.value).replace("acme123", "")
    store.refresh_from_db()
    assert (store.merchant, store.status, store.merchant_since) == (acme, status, None)
    assert Credential.objects.get(store=store).access_token == "n3wt0k3nabcdefghijklmnopqrstuvw"


def test_keep_missing_scopes_moves_a_disconnected_store_and_refuses_a_connected_one(acme, globex):
    broken = report(Outcome.MISSING_SCOPES, missing=["store_cart"])
    store = connect(acme)
    with pytest.raises(services.StoreOwnedElsewhere):
        services.store_keep_missing_scopes(merchant=globex, credentials=credentials(), report=broken)
    services.store_disconnect(store=store)
    kept = services.store_keep_missing_scopes(merchant=globex, credentials=credentials(), report=broken)
    kept.refresh_from_db()
    assert kept.pk == store.pk and kept.merchant == globex and kept.status == StoreStatus.MISSING_SCOPES
    assert kept.merchant_since is not None


def test_staff_move_a_store_keeping_credentials_and_status(acme, globex, acme_store):
    before = Credential.objects.get(store=acme_store)
    previous = services.store_move(store=acme_store, to_merchant=globex)
    assert previous == acme
    acme_store.refresh_from_db()
    assert acme_store.merchant == globex and acme_store.status == StoreStatus.CONNECTED
    assert abs(acme_store.merchant_since - timezone.now()) < timedelta(seconds=5)
    after = Credential.objects.get(store=acme_store)
    assert (after.pk, after.access_token, after.created_at) == (before.pk, before.access_token, before.created_at)
    assert not acme_store.status_changes.exists()


def test_moving_a_store_to_its_own_merchant_changes_nothing(acme, acme_store):
    with pytest.raises(services.StoreMoveRefused, match="already belongs to Acme"):
        services.store_move(store=acme_store, to_merchant=acme)
    acme_store.refresh_from_db()
    assert acme_store.merchant == acme and acme_store.merchant_since is None
