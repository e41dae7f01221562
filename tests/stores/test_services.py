from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone

from stores import services
from stores.bigcommerce.report import Outcome
from stores.models import Check, Credential, StatusChange, Store
from stores.status import StoreStatus
from tests.reports import PROFILE, credentials, report


def connect(merchant, store_hash="acme123", user=None):
    return services.store_connect(
        merchant=merchant, credentials=credentials(store_hash), report=report(store_hash=store_hash), user=user
    )


def record(store, outcome, **kwargs):
    return services.store_record_check(
        store_id=store.pk,
        report=report(outcome, store_hash=store.store_hash, **kwargs),
        trigger=Check.Trigger.SCHEDULE,
        started_at=timezone.now(),
        duration_ms=120,
    )


def test_connect_saves_profile_credentials_check_and_status_change(acme, alice):
    store = connect(acme, user=alice)
    store.refresh_from_db()
    assert store.status == StoreStatus.CONNECTED
    assert (store.name, store.domain, store.plan_name, store.currency) == (
        "Acme Outfitters",
        "acme.example",
        "Plus",
        "USD",
    )
    assert (store.weight_units, store.dimension_units) == ("LB", "Inches")
    credential = Credential.objects.get(store=store)
    assert credential.access_token == credentials().access_token and credential.created_by == alice
    assert store.checks.get().trigger == Check.Trigger.ONBOARDING
    change = store.status_changes.get()
    assert (change.old_status, change.new_status) == ("pending", "connected")
    assert store.next_check_at > timezone.now() + timedelta(minutes=settings.STORE_CHECK_INTERVAL_MINUTES) * 0.85


def test_connect_refuses_unusable_reports(acme):
    with pytest.raises(services.CredentialsNotUsable):
        services.store_connect(
            merchant=acme, credentials=credentials(), report=report(Outcome.MISSING_SCOPES, missing=["store_cart"])
        )
    with pytest.raises(services.CredentialsNotUsable):
        services.store_connect(merchant=acme, credentials=credentials("other1"), report=report())
    assert not Store.objects.exists()


def test_a_store_hash_owned_by_another_merchant_is_refused(acme, globex):
    connect(acme)
    with pytest.raises(services.StoreOwnedElsewhere) as excinfo:
        connect(globex)
    assert "Acme" not in str(excinfo.value)
    assert Store.objects.get().merchant == acme


def test_reconnecting_after_disconnect_keeps_history(acme):
    store = connect(acme)
    services.store_disconnect(store=store)
    store = connect(acme)
    assert store.status == StoreStatus.CONNECTED
    assert [c.new_status for c in store.status_changes.order_by("created_at", "pk")] == [
        "connected",
        "disconnected",
        "connected",
    ]


def test_disconnect_deletes_secrets_at_once_and_keeps_history(acme):
    store = connect(acme)
    services.store_disconnect(store=store)
    store.refresh_from_db()
    assert store.status == StoreStatus.DISCONNECTED
    assert not Credential.objects.filter(store=store).exists()
    assert store.next_check_at is None
    assert store.checks.count() == 1


def test_replace_credentials_swaps_and_records(acme, alice):
    store = connect(acme)
    new = credentials(token="r3plac3dt0k3nabcdefghijklmnopqr")
    services.store_replace_credentials(store=store, credentials=new, report=report(), user=alice)
    assert Credential.objects.get(store=store).access_token == new.access_token
    assert store.checks.filter(trigger=Check.Trigger.REPLACE).exists()


def test_replace_with_bad_or_foreign_credentials_changes_nothing(acme):
    store = connect(acme)
    before = Credential.objects.get(store=store).access_token
    with pytest.raises(services.CredentialsNotUsable):
        services.store_replace_credentials(
            store=store, credentials=credentials("other1"), report=report(store_hash="other1")
        )
    with pytest.raises(services.CredentialsNotUsable):
        services.store_replace_credentials(store=store, credentials=credentials(), report=report(Outcome.INVALID_TOKEN))
    assert Credential.objects.get(store=store).access_token == before


def test_replace_recovers_a_revoked_store(acme):
    store = connect(acme)
    record(store, Outcome.INVALID_TOKEN)
    record(store, Outcome.INVALID_TOKEN)
    store.refresh_from_db()
    assert store.status == StoreStatus.REVOKED
    services.store_replace_credentials(store=store, credentials=credentials(token="x" * 31), report=report())
    store.refresh_from_db()
    assert store.status == StoreStatus.CONNECTED and store.problem == ""


def test_revocation_is_confirmed_then_flipped_once(acme, settings):
    settings.STORE_CONFIRM_AFTER_SECONDS = 60
    store = connect(acme)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        record(store, Outcome.INVALID_TOKEN)
        store.refresh_from_db()
        assert store.status == StoreStatus.CONNECTED
        assert store.next_check_at == timezone.now() + timedelta(minutes=1)
        clock.shift(timedelta(minutes=1))
        record(store, Outcome.INVALID_TOKEN)
        record(store, Outcome.INVALID_TOKEN)
    store.refresh_from_db()
    assert store.status == StoreStatus.REVOKED and "invalid_token" in store.problem
    flips = StatusChange.objects.filter(store=store, new_status=StoreStatus.REVOKED)
    assert flips.count() == 1 and flips.get().check_run is not None


def test_missing_scopes_are_remembered_by_name(acme):
    store = connect(acme)
    record(store, Outcome.MISSING_SCOPES, missing=["store_checkout"])
    record(store, Outcome.MISSING_SCOPES, missing=["store_checkout"])
    store.refresh_from_db()
    assert store.status == StoreStatus.MISSING_SCOPES
    assert store.missing_scopes == ["store_checkout"]
    assert store.status_changes.first().reason == "Problem: missing_scopes."  # the report's own words
    assert store.problem == "Problem: missing_scopes."


def test_an_outage_shorter_than_the_threshold_flags_nothing(acme):
    store = connect(acme)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        for _ in range(5):
            record(store, Outcome.UNREACHABLE)
            clock.shift(timedelta(minutes=3))
        record(store, Outcome.CONNECTED)
    store.refresh_from_db()
    assert store.status == StoreStatus.CONNECTED
    assert store.failure_count == 0
    assert StatusChange.objects.filter(store=store).count() == 1  # only the connect


def test_a_long_outage_turns_unreachable_then_recovers(acme):
    store = connect(acme)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        for _ in range(4):
            record(store, Outcome.UNREACHABLE)
            clock.shift(timedelta(minutes=15))
        store.refresh_from_db()
        assert store.status == StoreStatus.UNREACHABLE
        record(store, Outcome.CONNECTED)
    store.refresh_from_db()
    assert store.status == StoreStatus.CONNECTED
    assert [c.new_status for c in store.status_changes.order_by("created_at", "pk")] == [
        "connected",
        "unreachable",
        "connected",
    ]


def test_a_result_for_a_claim_that_is_no_longer_ours_is_dropped(acme):
    store = connect(acme)
    Store.objects.filter(pk=store.pk).update(claim_token="theirs")
    result = services.store_record_check(
        store_id=store.pk,
        report=report(Outcome.INVALID_TOKEN),
        trigger="schedule",
        started_at=timezone.now(),
        duration_ms=1,
        claim_token="mine",
    )
    assert result is None
    assert store.checks.count() == 1


def test_a_check_that_raced_a_pause_changes_nothing(acme):
    store = connect(acme)
    services.store_pause(store=store)
    record(store, Outcome.INVALID_TOKEN)
    record(store, Outcome.INVALID_TOKEN)
    store.refresh_from_db()
    assert store.status == StoreStatus.PAUSED


def test_pause_and_resume(acme):
    store = connect(acme)
    services.store_pause(store=store)
    store.refresh_from_db()
    assert store.status == StoreStatus.PAUSED and store.next_check_at is None
    services.store_resume(store=store)
    store.refresh_from_db()
    assert store.status == StoreStatus.CONNECTED and store.next_check_at <= timezone.now()


def test_profile_follows_checks(acme):
    store = connect(acme)
    record_report = report(store_hash=store.store_hash, profile=dict(PROFILE, plan_name="Enterprise"))
    services.store_record_check(
        store_id=store.pk, report=record_report, trigger="schedule", started_at=timezone.now(), duration_ms=5
    )
    store.refresh_from_db()
    assert store.plan_name == "Enterprise"


def test_replacing_credentials_keeps_a_staff_pause(acme):
    store = connect(acme)
    services.store_pause(store=store)
    services.store_replace_credentials(store=store, credentials=credentials(token="p" * 31), report=report())
    store.refresh_from_db()
    assert store.status == StoreStatus.PAUSED and store.next_check_at is None
    assert Credential.objects.get(store=store).access_token == "p" * 31


def test_a_timeout_while_revoked_does_not_rewrite_what_is_wrong(acme):
    store = connect(acme)
    record(store, Outcome.INVALID_TOKEN)
    record(store, Outcome.INVALID_TOKEN)
    store.refresh_from_db()
    problem = store.problem
    assert store.status == StoreStatus.REVOKED and "invalid_token" in problem
    record(store, Outcome.UNREACHABLE)
    store.refresh_from_db()
    assert store.problem == problem


def test_connecting_twice_at_once_ends_with_one_store(acme):
    connect(acme)
    connect(acme)  # a double submit: the second finds the first's row
    assert Store.objects.count() == 1
