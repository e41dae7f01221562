"""Light and full checks: which one runs, what each costs, what each writes.

A regular check of a plainly connected store whose scopes were verified less
than SCOPE_CHECK_INTERVAL ago is light (GET /v2/store alone) and writes no
Check row; everything else is full, and a light check that sees anything but
a healthy answer is followed by a full one at once. Against the sandbox.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from sandbox.testing import running_sandbox
from stores import claims, fleet, lifecycle, services
from stores.bigcommerce.report import Outcome, Report, ScopeState
from stores.models import Check, Credential, StatusChange, Store

PROBE_PATHS = 6


@pytest.fixture
def sandbox(settings):
    settings.BIGCOMMERCE_READ_TIMEOUT_SECONDS = 2
    settings.BIGCOMMERCE_CONNECT_TIMEOUT_SECONDS = 2
    settings.BIGCOMMERCE_CHECK_DEADLINE_SECONDS = 5
    with running_sandbox(fixture=None) as running:
        settings.BIGCOMMERCE_API_URL = running.url
        fleet.reset_engine()
        yield running
    fleet.reset_engine()


@pytest.fixture
def account(sandbox):
    store_hash = sandbox.control.add_store(profile={"name": "Acme Outfitters"})["store_hash"]
    return sandbox.control.add_account(store_hash) | {"store_hash": store_hash}


def make_store(acme, account, *, verified_ago: timedelta | None) -> Store:
    now = timezone.now()
    store = Store.objects.create(
        merchant=acme,
        store_hash=account["store_hash"],
        status="connected",
        next_check_at=now,
        scopes_verified_at=None if verified_ago is None else now - verified_ago,
    )
    credential = Credential(store=store)
    credential.set_values(
        client_id=account["client_id"], client_secret=account["client_secret"], access_token=account["access_token"]
    )
    credential.save()
    return store


def run_check(store: Store, trigger: str = "schedule") -> int:
    claim = claims.claim_store(store.pk)
    assert claim is not None
    return fleet.check_stores([store.pk], claim_token=claim.token, trigger=trigger)


def paths(sandbox, store: Store) -> list[str]:
    return [entry["path"].split(store.store_hash, 1)[1] for entry in sandbox.control.log(store_hash=store.store_hash)]


def test_a_store_never_fully_verified_gets_a_full_check_and_a_row(sandbox, account, acme):
    store = make_store(acme, account, verified_ago=None)
    assert run_check(store) == 1
    assert len(paths(sandbox, store)) == PROBE_PATHS
    check = Check.objects.get(store=store)
    assert check.kind == "full" and check.outcome == "connected"
    store.refresh_from_db()
    assert store.scopes_verified_at is not None and store.last_check_ms is not None


def test_a_recently_verified_store_gets_one_request_and_no_row(sandbox, account, acme, settings):
    store = make_store(acme, account, verified_ago=timedelta(hours=1))
    verified = store.scopes_verified_at
    before = timezone.now()
    assert run_check(store) == 1
    assert paths(sandbox, store) == ["/v2/store"]
    assert not Check.objects.filter(store=store).exists()
    store.refresh_from_db()
    assert store.status == "connected"
    assert store.last_checked_at >= before
    assert store.last_check_ms is not None
    assert store.scopes_verified_at == verified  # a light check verifies no scope
    assert store.claim_token == "" and store.claimed_until is None
    interval = timedelta(minutes=settings.STORE_CHECK_INTERVAL_MINUTES)
    assert before + interval * 0.85 < store.next_check_at < timezone.now() + interval * 1.15
    assert store.name == "Acme Outfitters"  # the profile came with it


def test_the_scopes_are_fully_verified_again_after_the_scope_interval(sandbox, account, acme, settings):
    store = make_store(acme, account, verified_ago=timedelta(minutes=settings.SCOPE_CHECK_INTERVAL_MINUTES + 1))
    run_check(store)
    assert len(paths(sandbox, store)) == PROBE_PATHS
    assert Check.objects.get(store=store).kind == "full"
    store.refresh_from_db()
    assert timezone.now() - store.scopes_verified_at < timedelta(minutes=1)


@pytest.mark.parametrize("trigger", ["merchant", "staff", "api", "webhook"])
def test_check_now_is_always_full(sandbox, account, acme, trigger):
    store = make_store(acme, account, verified_ago=timedelta(minutes=5))
    run_check(store, trigger=trigger)
    assert len(paths(sandbox, store)) == PROBE_PATHS
    assert Check.objects.get(store=store).kind == "full"


def test_a_store_with_a_failure_streak_gets_a_full_check(sandbox, account, acme):
    store = make_store(acme, account, verified_ago=timedelta(minutes=5))
    Store.objects.filter(pk=store.pk).update(failure_count=1, failing_since=timezone.now())
    run_check(store)
    assert len(paths(sandbox, store)) == PROBE_PATHS


def test_a_deleted_account_seen_by_a_light_check_is_fully_checked_at_once_and_still_confirmed(
    sandbox, account, acme, settings
):
    store = make_store(acme, account, verified_ago=timedelta(hours=1))
    sandbox.control.revoke(account["client_id"])
    run_check(store)
    seen = paths(sandbox, store)
    assert seen[0] == "/v2/store" and len(seen) == 1 + PROBE_PATHS  # the light one, then every probe
    check = Check.objects.get(store=store)
    assert check.kind == "full" and check.outcome == "invalid_token"
    assert check.evidence[0]["path"] == "/v2/store" and len(check.evidence) == 1 + PROBE_PATHS
    store.refresh_from_db()
    # Not flipped yet: a definitive answer still needs its confirming re-check.
    assert store.status == "connected" and store.suspected_status == "revoked"
    assert not StatusChange.objects.filter(store=store).exists()
    with time_machine.travel(timezone.now() + timedelta(seconds=settings.STORE_CONFIRM_AFTER_SECONDS + 1)):
        sandbox.control.clear_log()
        run_check(store)
        assert len(paths(sandbox, store)) == PROBE_PATHS  # the confirmation is full: a suspicion is pending
    store.refresh_from_db()
    assert store.status == "revoked"
    assert StatusChange.objects.filter(store=store, new_status="revoked").count() == 1


def test_a_light_check_that_brings_a_new_profile_updates_it(sandbox, account, acme):
    store = make_store(acme, account, verified_ago=timedelta(hours=1))
    run_check(store)  # profile now stored
    sandbox.control.update_profile(store.store_hash, name="Acme Renamed")
    run_check(store)
    store.refresh_from_db()
    assert store.name == "Acme Renamed"
    assert not Check.objects.filter(store=store).exists()


def test_a_healthy_light_check_whose_claim_was_lost_records_nothing(sandbox, account, acme):
    store = make_store(acme, account, verified_ago=timedelta(hours=1))
    first = claims.claim_store(store.pk)
    # The lease ran out and another worker claimed the store meanwhile.
    Store.objects.filter(pk=store.pk).update(claimed_until=timezone.now() - timedelta(seconds=1))
    second = claims.claim_store(store.pk)
    assert second is not None
    stale = Store.objects.get(pk=store.pk).last_checked_at
    assert fleet.check_stores([store.pk], claim_token=first.token) == 0
    store.refresh_from_db()
    assert store.claim_token == second.token and store.last_checked_at == stale


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_healthy_light_checks_of_a_batch_take_one_statement(sandbox, acme):
    from django.test.utils import CaptureQueriesContext

    stores = []
    for _ in range(5):
        store_hash = sandbox.control.add_store(profile={"name": "Same"})["store_hash"]
        account = sandbox.control.add_account(store_hash) | {"store_hash": store_hash}
        stores.append(make_store(acme, account, verified_ago=timedelta(hours=1)))
    claim = claims.claim_due_stores(limit=10)
    assert fleet.check_stores(claim.store_ids, claim_token=claim.token) == 5  # profiles stored now
    Store.objects.filter(pk__in=[s.pk for s in stores]).update(next_check_at=timezone.now())
    claim = claims.claim_due_stores(limit=10)
    with CaptureQueriesContext(connection) as queries:
        assert fleet.check_stores(claim.store_ids, claim_token=claim.token) == 5
    updates = [q["sql"] for q in queries if q["sql"].startswith("UPDATE")]
    assert len(updates) == 1 and "FROM jsonb_to_recordset(" in updates[0]
    assert not Check.objects.filter(store__in=stores).exists()


def test_needs_full_check_rules():
    now = timezone.now()
    policy = lifecycle.Policy(scope_interval=timedelta(hours=24))
    fresh = now - timedelta(hours=1)

    def full(**changes):
        args = {
            "status": "connected",
            "streak": lifecycle.Streak(),
            "scopes_verified_at": fresh,
            "scheduled": True,
            "now": now,
            "policy": policy,
        }
        return lifecycle.needs_full_check(**(args | changes))

    assert full() is False
    assert full(scheduled=False) is True
    assert full(status="missing_scopes") is True
    assert full(status="unreachable") is True
    assert full(streak=lifecycle.Streak(failures=1)) is True
    assert full(streak=lifecycle.Streak(suspected="revoked", suspected_since=now)) is True
    assert full(scopes_verified_at=None) is True
    assert full(scopes_verified_at=now - timedelta(hours=24)) is True
    assert full(scopes_verified_at=now - timedelta(hours=23, minutes=59)) is False


def _healthy_light(store: Store, profile: dict) -> services.CheckResult:
    report = Report(
        ok=True,
        store_hash=store.store_hash,
        outcome=Outcome.CONNECTED,
        scopes={"store_v2_information_read_only": ScopeState.GRANTED},
        store=profile,
    )
    return services.CheckResult(store.pk, report, timezone.now(), 100, kind="light")


def test_recording_a_healthy_light_check_after_the_claim_moved_on_changes_nothing(acme):
    """The claim guard of the one-statement path (and of the general one)."""
    profile = {"name": "Acme"}
    store = Store.objects.create(merchant=acme, store_hash="lostclaim", status="connected", profile=profile)
    first = claims.claim_store(store.pk)
    Store.objects.filter(pk=store.pk).update(claimed_until=timezone.now() - timedelta(seconds=1))
    second = claims.claim_store(store.pk)
    recorded = services.store_record_results(results=[_healthy_light(store, profile)], trigger="schedule",
                                             claim_token=first.token)
    assert recorded.recorded == 0
    store.refresh_from_db()
    assert store.claim_token == second.token and store.last_checked_at is None


def test_a_healthy_light_check_of_a_store_paused_meanwhile_does_not_reschedule_it(acme):
    profile = {"name": "Acme"}
    store = Store.objects.create(merchant=acme, store_hash="pausedmid", status="connected", profile=profile)
    claim = claims.claim_store(store.pk)
    Store.objects.filter(pk=store.pk).update(status="paused", next_check_at=None)
    services.store_record_results(results=[_healthy_light(store, profile)], trigger="schedule",
                                  claim_token=claim.token)
    store.refresh_from_db()
    assert store.status == "paused" and store.next_check_at is None
