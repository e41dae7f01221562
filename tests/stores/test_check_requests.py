"""Asking for a check now: one answer for every caller (store page, JSON API,
revalidate, BigCommerce's webhooks), and the dispatcher's batches."""

from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from stores import services
from stores.models import Check, Store
from stores.services import CheckRequest
from stores.status import StoreStatus


@pytest.fixture
def sent(monkeypatch):
    queued = []
    monkeypatch.setattr("stores.tasks.check_stores.delay", lambda *args: queued.append(args))
    return queued


def make_store(merchant, store_hash="acme123", status=StoreStatus.CONNECTED, **fields):
    return Store.objects.create(merchant=merchant, store_hash=store_hash, status=status, **fields)


def test_a_checkable_store_is_claimed_and_queued(acme, sent):
    store = make_store(acme)
    result = services.store_check_request(store=store, trigger=Check.Trigger.MERCHANT)
    assert result == CheckRequest(CheckRequest.Answer.QUEUED) and result.queued and result.reason is None
    store.refresh_from_db()
    assert sent == [([store.pk], store.claim_token, "merchant")]
    assert store.claimed_until is not None and store.claimed_until > timezone.now()


def test_a_check_in_flight_is_not_queued_twice(acme, sent):
    store = make_store(acme)
    services.store_check_request(store=store, trigger=Check.Trigger.API)
    result = services.store_check_request(store=store, trigger=Check.Trigger.API)
    assert result.answer == CheckRequest.Answer.IN_FLIGHT and not result.queued
    assert len(sent) == 1


@pytest.mark.parametrize("status", [StoreStatus.PAUSED, StoreStatus.DISCONNECTED])
def test_paused_and_disconnected_stores_are_not_checked(acme, sent, status):
    store = make_store(acme, status=status)
    asked = []
    result = services.store_check_request(
        store=store, trigger=Check.Trigger.MERCHANT, throttle=lambda: asked.append(1) or True
    )
    assert result == CheckRequest(CheckRequest.Answer.NOT_CHECKED, reason=status)
    assert not result.queued and sent == [] and asked == []  # the throttle is not spent on them
    store.refresh_from_db()
    assert store.claim_token == ""


def test_a_throttle_that_says_no_claims_nothing(acme, sent):
    store = make_store(acme)
    result = services.store_check_request(store=store, trigger=Check.Trigger.MERCHANT, throttle=lambda: False)
    assert result.answer == CheckRequest.Answer.THROTTLED and sent == []
    store.refresh_from_db()
    assert store.claim_token == ""
    assert services.store_check_request(store=store, trigger=Check.Trigger.MERCHANT, throttle=lambda: True).queued


def test_the_dispatcher_queues_every_due_store_in_batches(acme, sent, settings):
    settings.DISPATCH_BATCH_SIZE = 2
    now = timezone.now()
    due = [make_store(acme, f"due{i}", next_check_at=now - timedelta(minutes=1)) for i in range(3)]
    make_store(acme, "later", next_check_at=now + timedelta(hours=1))
    make_store(acme, "paused", status=StoreStatus.PAUSED, next_check_at=now - timedelta(minutes=1))
    assert services.checks_dispatch_due() == 3
    assert [len(args[0]) for args in sent] == [2, 1]
    assert {pk for args in sent for pk in args[0]} == {store.pk for store in due}
    assert services.checks_dispatch_due() == 0  # claimed: not queued again


def test_revalidate_one_store_says_what_came_of_it(acme, sent, capsys):
    store = make_store(acme)
    call_command("revalidate", store=store.store_hash)
    assert "Queued a check of acme123." in capsys.readouterr().out
    call_command("revalidate", store=store.store_hash)
    assert "A check of acme123 is already in flight." in capsys.readouterr().out
    Store.objects.filter(pk=store.pk).update(status=StoreStatus.PAUSED)
    with pytest.raises(CommandError, match="Store acme123 is paused: it is not checked."):
        call_command("revalidate", store=store.store_hash)
    assert len(sent) == 1 and sent[0][2] == "staff"


def test_revalidate_all_makes_every_checked_store_due_and_dispatches(acme, sent, capsys):
    later = timezone.now() + timedelta(hours=1)
    make_store(acme, "one", next_check_at=later)
    make_store(acme, "two", next_check_at=later)
    make_store(acme, "off", status=StoreStatus.DISCONNECTED, next_check_at=None)
    call_command("revalidate", all=True)
    assert "Queued 2 check(s) (2 store(s) made due now)." in capsys.readouterr().out
    assert len(sent) == 1 and len(sent[0][0]) == 2
