from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from stores import claims, services
from stores.models import Store
from stores.status import StoreStatus
from tests.reports import credentials, report


def make_store(merchant, store_hash, *, due_in=timedelta(0), status=StoreStatus.CONNECTED):
    return Store.objects.create(
        merchant=merchant, store_hash=store_hash, status=status, next_check_at=timezone.now() + due_in
    )


def test_claims_due_stores_in_next_check_order(acme):
    late = make_store(acme, "late1", due_in=timedelta(minutes=-1))
    later = make_store(acme, "later2", due_in=timedelta(minutes=-5))
    make_store(acme, "future3", due_in=timedelta(hours=1))
    claim = claims.claim_due_stores(limit=10)
    assert claim.store_ids == [later.pk, late.pk]
    assert set(Store.objects.filter(claim_token=claim.token).values_list("pk", flat=True)) == {late.pk, later.pk}


def test_a_claimed_store_is_not_claimed_again_until_its_lease_runs_out(acme):
    store = make_store(acme, "abc1", due_in=timedelta(minutes=-1))
    first = claims.claim_due_stores(limit=10)
    assert first.store_ids == [store.pk]
    assert claims.claim_due_stores(limit=10).store_ids == []
    assert claims.claim_store(store.pk) is None  # "check now" cannot double up
    after_lease = timezone.now() + claims.default_lease() + timedelta(seconds=1)
    again = claims.claim_due_stores(limit=10, now=after_lease)
    assert again.store_ids == [store.pk] and again.token != first.token


def test_paused_and_disconnected_stores_are_never_claimed(acme):
    make_store(acme, "paused1", due_in=timedelta(minutes=-1), status=StoreStatus.PAUSED)
    make_store(acme, "gone1", due_in=timedelta(minutes=-1), status=StoreStatus.DISCONNECTED)
    assert claims.claim_due_stores(limit=10).store_ids == []
    assert claims.claim_store(Store.objects.get(store_hash="paused1").pk) is None


def test_the_limit_bounds_a_claim(acme):
    for i in range(5):
        make_store(acme, f"s{i}", due_in=timedelta(minutes=-i - 1))
    assert len(claims.claim_due_stores(limit=3).store_ids) == 3
    assert len(claims.claim_due_stores(limit=3).store_ids) == 2


def test_recording_the_result_releases_the_claim_and_schedules_the_next_check(acme):
    store = services.store_connect(merchant=acme, credentials=credentials(), report=report())
    Store.objects.filter(pk=store.pk).update(next_check_at=timezone.now() - timedelta(seconds=1))
    claim = claims.claim_due_stores(limit=1)
    services.store_record_check(
        store_id=store.pk,
        report=report(),
        trigger="schedule",
        started_at=timezone.now(),
        duration_ms=10,
        claim_token=claim.token,
    )
    store.refresh_from_db()
    assert store.claim_token == "" and store.claimed_until is None
    assert store.next_check_at > timezone.now() + timedelta(minutes=settings.STORE_CHECK_INTERVAL_MINUTES) * 0.85


def test_dispatcher_uses_the_due_index_query(acme):
    sql = str(claims.due_stores(timezone.now()).query)
    assert "next_check_at" in sql and "ORDER BY" in sql
