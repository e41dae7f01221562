"""What a status change says (its `reason` goes into e-mails and webhooks),
and where resuming returns a store to."""

from dataclasses import replace

from django.utils import timezone

from stores import services
from stores.bigcommerce.report import Outcome
from stores.models import Check, StatusChange
from stores.status import StoreStatus
from tests.reports import credentials, report


def connect(merchant, store_hash="acme123"):
    return services.store_connect(
        merchant=merchant, credentials=credentials(store_hash), report=report(store_hash=store_hash)
    )


def record(store, the_report):
    return services.store_record_check(
        store_id=store.pk, report=the_report, trigger=Check.Trigger.SCHEDULE, started_at=timezone.now(), duration_ms=5
    )


def reasons(store) -> list[tuple[str, str, str]]:
    return list(
        StatusChange.objects.filter(store=store)
        .order_by("created_at", "pk")
        .values_list("old_status", "new_status", "reason")
    )


def test_every_status_change_says_why_in_words(acme):
    store = connect(acme)
    services.store_pause(store=store)
    services.store_resume(store=store)
    silent_missing = replace(report(Outcome.MISSING_SCOPES, missing=["store_checkout"]), problems=[])
    record(store, silent_missing)
    record(store, silent_missing)  # confirmed; a report without its own words: the flip explains itself
    services.store_replace_credentials(store=store, credentials=credentials(token="q" * 31), report=report())
    record(store, report(Outcome.INVALID_TOKEN))
    record(store, report(Outcome.INVALID_TOKEN))  # confirmed by a re-check
    record(store, report(Outcome.CONNECTED))
    services.store_disconnect(store=store)
    assert reasons(store) == [
        ("pending", "connected", "Connected: every required scope is granted."),
        ("connected", "paused", "Checks paused by Violet staff."),
        ("paused", "connected", "Checks resumed."),
        ("connected", "missing_scopes", "Missing scopes: Checkouts: modify"),
        ("missing_scopes", "connected", "New credentials: every required scope is granted."),
        ("connected", "revoked", "Violet's access token no longer works: the API account was most likely deleted."),
        ("revoked", "connected", "Every required scope is granted again."),
        ("connected", "disconnected", "Disconnected by the merchant."),
    ]


def test_a_broken_status_is_told_one_way_on_the_card_the_timeline_and_the_mail(acme, alice):
    """The live check's problem text is written for the wizard ("the token or the store
    hash is wrong"); a store that worked and broke gets its status's one cause."""
    from connect.guidance import for_store

    store = connect(acme)
    refused = report(Outcome.INVALID_TOKEN)  # with its wizard-worded problem text
    record(store, refused)
    record(store, refused)
    store.refresh_from_db()
    change = StatusChange.objects.filter(store=store).latest("created_at", "pk")
    assert store.status == StoreStatus.REVOKED
    assert change.reason_for_merchant == for_store(store).headline
    assert "most likely deleted" in change.reason


def test_resuming_returns_to_the_status_before_the_latest_pause(acme):
    """Paused from connected, resumed, broken, paused again: resuming returns to
    revoked, not to connected (the status before the first pause)."""
    store = connect(acme)
    services.store_pause(store=store)
    services.store_resume(store=store)
    record(store, report(Outcome.INVALID_TOKEN))
    record(store, report(Outcome.INVALID_TOKEN))  # confirmed by a re-check
    store.refresh_from_db()
    assert store.status == StoreStatus.REVOKED
    services.store_pause(store=store)
    change = services.store_resume(store=store)
    store.refresh_from_db()
    assert store.status == StoreStatus.REVOKED
    assert (change.old_status, change.new_status, change.reason) == ("paused", "revoked", "Checks resumed.")
