# ruff: noqa: F811  (the `receiver` fixture is imported from test_webhook_deliveries)
"""The sandbox deactivates hooks as BigCommerce documents (90 days without events,
48 hours of failed deliveries), on a clock the tests move, and records the e-mail
the store owner would get."""

from __future__ import annotations

import pytest
import requests

from sandbox.control import SandboxControlError
from sandbox.hook_lifecycle import FAILING_SECONDS, INACTIVITY_SECONDS
from sandbox.testing import running_sandbox
from tests.sandbox.test_webhook_deliveries import INFO, UNINSTALLED, receiver, wait_until  # noqa: F401

DAY = 24 * 3600


@pytest.fixture(scope="module")
def bc():
    """A sandbox of its own: moving its clock must not touch other tests' hooks."""
    with running_sandbox(fixture=None) as sandbox:
        sandbox.control.settings(allow_http_webhooks=True)
        yield sandbox


@pytest.fixture
def shop(bc):
    store = bc.control.add_store()
    account = bc.control.add_account(store["store_hash"])
    return store["store_hash"], account


def api(bc, store_hash, account, method, path, body=None):
    return requests.request(
        method,
        f"{bc.url}/stores/{store_hash}/{path}",
        json=body,
        headers={"X-Auth-Token": account["access_token"], "Accept": "application/json"},
        timeout=10,
    )


def create(bc, store_hash, account, destination, scope=INFO):
    response = api(bc, store_hash, account, "POST", "v3/hooks", {"scope": scope, "destination": destination})
    assert response.status_code == 200, response.text
    return response.json()["data"]


def hook_state(bc, store_hash, account, hook_id):
    return api(bc, store_hash, account, "GET", f"v3/hooks/{hook_id}").json()["data"]


def test_a_hook_without_events_for_90_days_is_deactivated_and_the_owner_told(bc, shop, receiver):
    store_hash, account = shop
    quiet = create(bc, store_hash, account, receiver.url + "/quiet")
    busy = create(bc, store_hash, account, receiver.url + "/busy", UNINSTALLED)
    assert bc.control.advance_clock(INACTIVITY_SECONDS - DAY) == []
    bc.control.send_webhook(store_hash, UNINSTALLED)  # only `busy` gets an event
    bc.control.wait_for_deliveries(store_hash, 1)
    emails = bc.control.advance_clock(2 * DAY)
    assert [(e["hook_id"], e["reason"]) for e in emails] == [(quiet["id"], "inactivity")]
    assert hook_state(bc, store_hash, account, quiet["id"])["is_active"] is False
    assert hook_state(bc, store_hash, account, busy["id"])["is_active"] is True
    [email] = bc.control.emails(store_hash)
    owner = bc.control.store(store_hash)["profile"]["admin_email"]
    assert email["to"] == owner and owner and email["scope"] == INFO
    # An inactive hook gets nothing.
    bc.control.send_webhook(store_hash, INFO)
    assert [d for d in bc.control.deliveries(store_hash) if d["scope"] == INFO] == []


def test_reactivation_starts_the_90_days_again(bc, shop, receiver):
    store_hash, account = shop
    hook = create(bc, store_hash, account, receiver.url + "/h")
    bc.control.advance_clock(INACTIVITY_SECONDS)
    assert hook_state(bc, store_hash, account, hook["id"])["is_active"] is False
    updated = api(bc, store_hash, account, "PUT", f"v3/hooks/{hook['id']}", {"is_active": True})
    assert updated.json()["data"]["is_active"] is True
    assert bc.control.advance_clock(INACTIVITY_SECONDS - DAY) == []
    assert hook_state(bc, store_hash, account, hook["id"])["is_active"] is True
    assert [e["hook_id"] for e in bc.control.advance_clock(DAY)] == [hook["id"]]


def test_48_hours_of_failed_deliveries_deactivate_the_hook(bc, shop, receiver):
    store_hash, account = shop
    hook = create(bc, store_hash, account, receiver.url + "/failing")
    receiver.statuses.extend([500] * 3)
    bc.control.send_webhook(store_hash, INFO)
    [failed] = bc.control.wait_for_deliveries(store_hash, 1)
    assert failed["state"] == "failed"
    assert bc.control.advance_clock(FAILING_SECONDS - 3600) == []  # still retrying
    [email] = bc.control.advance_clock(3600)
    assert (email["hook_id"], email["reason"]) == (hook["id"], "failures")
    assert "48 hours" in email["text"]
    assert hook_state(bc, store_hash, account, hook["id"])["is_active"] is False


def test_a_later_success_clears_the_failures(bc, shop, receiver):
    store_hash, account = shop
    hook = create(bc, store_hash, account, receiver.url + "/flaky")
    receiver.statuses.extend([500] * 3)
    bc.control.send_webhook(store_hash, INFO)
    bc.control.wait_for_deliveries(store_hash, 1)
    bc.control.advance_clock(DAY)
    bc.control.send_webhook(store_hash, INFO)  # answered 200 this time
    bc.control.wait_for_deliveries(store_hash, 2)
    assert bc.control.advance_clock(DAY + 3600) == []
    assert hook_state(bc, store_hash, account, hook["id"])["is_active"] is True


def test_the_clock_only_moves_forward_and_stamps_hooks(bc, shop, receiver):
    store_hash, account = shop
    before = bc.control.clock()
    with pytest.raises(SandboxControlError) as refused:
        bc.control.advance_clock(-1)
    assert refused.value.status == 400
    bc.control.advance_clock(10 * DAY)
    after = bc.control.clock()
    assert after["offset_seconds"] - before["offset_seconds"] == 10 * DAY
    hook = create(bc, store_hash, account, receiver.url + "/stamped")
    assert abs(hook["created_at"] - after["now"]) < 60
    assert "last_activity" not in hook and set(hook) >= {"id", "scope", "is_active", "created_at"}
