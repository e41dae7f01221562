"""What an accepted delivery does: re-read the profile, or queue a check."""

from __future__ import annotations

import pytest

from storehooks import services, tasks
from storehooks.models import WebhookDelivery
from stores.bigcommerce.webhooks import CallFailed
from stores.models import Credential, StatusChange, Store


@pytest.fixture
def checks(monkeypatch):
    sent = []
    monkeypatch.setattr("stores.tasks.check_stores.delay", lambda *args: sent.append(args))
    return sent


def accepted(store, scope="store/information/updated") -> WebhookDelivery:
    return WebhookDelivery.objects.create(store=store, outcome="accepted", scope=scope, webhook_id="msg_1")


def test_an_information_update_refreshes_the_profile_and_records_what_changed(connected, checks):
    connected.sandbox.control.update_profile(
        connected.hash, plan_name="Pro", plan_level="Pro", admin_email="new-owner@example.com"
    )
    changes_before = StatusChange.objects.count()
    delivery = services.delivery_process(delivery_id=accepted(connected.store).pk)
    store = Store.objects.get(pk=connected.store.pk)
    assert (store.plan_name, store.plan_level) == ("Pro", "Pro")
    assert store.profile["admin_email"] == "new-owner@example.com"
    assert delivery.processed_at is not None
    assert delivery.result == {
        "changes": {"plan_name": ["Standard", "Pro"], "plan_level": ["Standard", "Pro"]},
        "other_fields": ["admin_email"],
    }  # an email is named, not copied
    assert StatusChange.objects.count() == changes_before  # a profile change is not a status change
    assert checks == []


def test_an_unchanged_profile_changes_nothing(connected):
    before = Store.objects.get(pk=connected.store.pk).profile_updated_at
    delivery = services.delivery_process(delivery_id=accepted(connected.store).pk)
    assert delivery.result == {"changes": {}, "other_fields": []}
    assert Store.objects.get(pk=connected.store.pk).profile_updated_at == before


def test_uninstalled_queues_an_immediate_check(connected, checks):
    delivery = services.delivery_process(delivery_id=accepted(connected.store, "store/app/uninstalled").pk)
    assert delivery.result == {"check_queued": True}
    [(store_ids, token, trigger)] = checks
    assert store_ids == [connected.store.pk] and trigger == "webhook" and token


def test_a_delivery_is_processed_once(connected, checks):
    delivery = accepted(connected.store, "store/app/uninstalled")
    services.delivery_process(delivery_id=delivery.pk)
    services.delivery_process(delivery_id=delivery.pk)
    assert len(checks) == 1


def test_only_accepted_deliveries_are_processed(connected, checks):
    replay = WebhookDelivery.objects.create(store=connected.store, outcome="replayed", scope="store/app/uninstalled")
    services.delivery_process(delivery_id=replay.pk)
    assert checks == [] and WebhookDelivery.objects.get(pk=replay.pk).processed_at is None


def test_a_revoked_token_records_the_error_and_queues_a_check(connected, checks):
    connected.sandbox.control.revoke(connected.account["client_id"])
    delivery = services.delivery_process(delivery_id=accepted(connected.store).pk)
    assert delivery.result == {
        "error": "Re-reading the profile failed: GET /v2/store -> 401",
        "check_queued": True,
    }
    assert len(checks) == 1


def test_a_transient_failure_is_raised_for_a_retry_then_recorded(connected):
    connected.sandbox.control.set_maintenance(connected.hash)
    delivery = accepted(connected.store)
    with pytest.raises(CallFailed):
        services.delivery_process(delivery_id=delivery.pk, final_attempt=False)
    assert WebhookDelivery.objects.get(pk=delivery.pk).processed_at is None
    done = services.delivery_process(delivery_id=delivery.pk, final_attempt=True)
    assert done.result == {"error": "Re-reading the profile failed: GET /v2/store -> 503"}


def test_the_task_retries_then_gives_up(connected):
    connected.sandbox.control.set_maintenance(connected.hash)
    connected.sandbox.control.clear_log()
    delivery = accepted(connected.store)
    tasks.process_delivery.apply(args=[delivery.pk])
    assert len(connected.sandbox.control.log(store_hash=connected.hash)) == 1 + tasks.process_delivery.max_retries
    assert WebhookDelivery.objects.get(pk=delivery.pk).result["error"].endswith("-> 503")


def test_a_disconnected_store_is_not_refreshed(connected):
    delivery = accepted(connected.store)
    Credential.objects.filter(store=connected.store).delete()
    done = services.delivery_process(delivery_id=delivery.pk)
    assert done.result == {"error": "The store has no credentials (disconnected)."}
