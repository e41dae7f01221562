"""The receiver: verify, refuse replays, record without the body, answer fast."""

from __future__ import annotations

import json
import logging
import time
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from storehooks import selectors, services
from storehooks.models import JunkDeliveryCount, SeenWebhook, WebhookDelivery
from storehooks.services import receiving
from stores.models import Credential
from tests.conftest import ACME_CLIENT_ID, ACME_SECRET, ACME_TOKEN
from tests.connect.test_wizard import assert_no_secret
from tests.storehooks.conftest import deliver, deliver_event, event, signed_headers

OTHER_SECRET = "9" * 64
SECRETS = (ACME_SECRET, ACME_TOKEN, ACME_CLIENT_ID)


@pytest.fixture
def queued(monkeypatch):
    sent = []
    monkeypatch.setattr("storehooks.tasks.process_delivery.delay", lambda *args: sent.append(args))
    return sent


@pytest.fixture
def store(acme_store, monkeypatch):
    """acme123 with ACME_SECRET. The test's transaction never commits, so
    on-commit callbacks run at once, as they would after the receiver's commit."""
    monkeypatch.setattr("storehooks.services.receiving.transaction.on_commit", lambda callback, **kw: callback())
    return acme_store


def deliveries(**filters):
    return list(WebhookDelivery.objects.filter(**filters).order_by("id"))


def verified_at(store):
    return Credential.objects.get(store=store).client_secret_verified_at


def test_a_signed_delivery_is_accepted_recorded_and_queued_by_id(store, queued):
    response = deliver_event(store.store_hash, ACME_SECRET, msg_id="msg_first")
    assert response.status_code == 200
    [delivery] = deliveries()
    assert (delivery.outcome, delivery.scope, delivery.webhook_id) == (
        "accepted",
        "store/information/updated",
        "msg_first",
    )
    assert queued == [(delivery.pk,)]
    assert verified_at(store) is not None


def test_the_first_verified_delivery_proves_the_secret_and_later_ones_keep_that_date(store, queued):
    deliver_event(store.store_hash, ACME_SECRET)
    first = verified_at(store)
    deliver_event(store.store_hash, ACME_SECRET)
    assert verified_at(store) == first


def test_a_replayed_id_is_not_acted_on_twice(store, queued):
    body = json.dumps(event(store.store_hash)).encode()
    headers = signed_headers(ACME_SECRET, body, msg_id="msg_same")
    assert deliver(store.store_hash, body, headers).status_code == 200
    again = deliver(store.store_hash, body, signed_headers(ACME_SECRET, body, msg_id="msg_same"))
    # Acknowledged (so BigCommerce stops resending it) but not processed again.
    assert again.status_code == 200
    assert [d.outcome for d in deliveries()] == ["accepted", "replayed"]
    assert len(queued) == 1
    assert SeenWebhook.objects.filter(store=store, webhook_id="msg_same").count() == 1


def test_the_same_id_for_another_store_is_not_a_replay(store, globex_store, queued):
    credential = Credential(store=globex_store)
    credential.set_values(client_id="c" * 30, client_secret=OTHER_SECRET, access_token="t" * 31)
    credential.save()
    assert deliver_event(store.store_hash, ACME_SECRET, msg_id="msg_x").status_code == 200
    assert deliver_event(globex_store.store_hash, OTHER_SECRET, msg_id="msg_x").status_code == 200
    assert len(queued) == 2


@pytest.mark.parametrize(
    "case", ["wrong_secret", "wrong_secret_our_hook", "stale", "tampered", "unsigned", "malformed"]
)
def test_what_fails_verification_is_rejected_and_recorded_without_its_body(store, queued, case):
    body = json.dumps(event(store.store_hash)).encode()
    headers = signed_headers(ACME_SECRET, body)
    if case == "wrong_secret":
        headers = signed_headers(OTHER_SECRET, body)
    elif case == "wrong_secret_our_hook":
        headers = {**signed_headers(OTHER_SECRET, body), services.ACCOUNT_HEADER: services.account_key(ACME_TOKEN)}
    elif case == "stale":
        headers = signed_headers(ACME_SECRET, body, timestamp=int(time.time()) - 4 * 24 * 3600)
    elif case == "tampered":
        body = body.replace(b"information", b"informatiom")
    elif case == "unsigned":
        headers = {}
    elif case == "malformed":
        headers["webhook-signature"] = "v1"
    response = deliver(store.store_hash, body, headers)
    # Never refused: BigCommerce would retry for 48 h, then deactivate the hook and e-mail the owner.
    assert (response.status_code, response.content) == (200, b"OK.\n")
    expected = {
        "wrong_secret": "unattributed",  # anyone can post these: they prove nothing
        "wrong_secret_our_hook": "bad_signature",
        "stale": "stale",
        "tampered": "unattributed",
        "unsigned": "unsigned",
        "malformed": "malformed",
    }[case]
    if expected in receiving.JUNK_REASONS:
        # Junk anyone could post: counted for the hour, not recorded one by one.
        assert deliveries() == []
        assert list(JunkDeliveryCount.objects.values_list("reason", "count")) == [(expected, 1)]
    else:
        [delivery] = deliveries()
        assert (delivery.outcome, delivery.reason) == ("rejected", expected)
        assert delivery.scope == "" and delivery.result == {}  # nothing from an unverified body
    assert queued == [] and verified_at(store) is None
    assert not SeenWebhook.objects.exists()  # a forged id cannot block the real one


def test_every_well_formed_delivery_gets_the_same_answer(store, queued):
    """Accepted, ignored, replayed, rejected, unknown store: one answer, 200."""
    body = json.dumps(event(store.store_hash)).encode()
    headers = signed_headers(ACME_SECRET, body)
    answers = {
        "accepted": deliver(store.store_hash, body, headers),
        "replayed": deliver(store.store_hash, body, headers),
        "ignored": deliver_event(store.store_hash, ACME_SECRET, event(store.store_hash, scope="store/order/created")),
        "rejected": deliver(store.store_hash, b"{}", signed_headers(OTHER_SECRET, b"{}")),
        "unsigned": deliver(store.store_hash, b"{}", {}),
        "not json, unsigned": deliver(store.store_hash, b"\xff\xfe", {}),
        "unknown store": deliver("nosuch1", b"{}", signed_headers(OTHER_SECRET, b"{}")),
    }
    assert {name: (r.status_code, r.content) for name, r in answers.items()} == {
        name: (200, b"OK.\n") for name in answers
    }
    assert [d.outcome for d in deliveries()] == ["accepted", "replayed", "ignored"]
    assert dict(JunkDeliveryCount.objects.values_list("reason", "count")) == {"unattributed": 1, "unsigned": 2}
    assert len(queued) == 1  # only the verified, new one is acted on


def test_a_disconnected_store_is_unknown(store, queued):
    Credential.objects.filter(store=store).delete()
    assert deliver_event(store.store_hash, ACME_SECRET).status_code == 200
    assert not WebhookDelivery.objects.exists() and queued == []


def test_post_only(store):
    url = reverse("storehooks:receive", args=[store.store_hash])
    assert Client().get(url).status_code == 405
    assert Client().put(url, data=b"{}").status_code == 405


def test_an_oversized_body_is_refused_unread(store, queued, settings):
    settings.BIGCOMMERCE_WEBHOOK_MAX_BODY_BYTES = 1024
    body = json.dumps(event(store.store_hash, padding="x" * 2000)).encode()
    response = deliver(store.store_hash, body, signed_headers(ACME_SECRET, body))
    assert response.status_code == 413
    assert not WebhookDelivery.objects.exists() and queued == []


def test_a_verified_delivery_with_nothing_to_do_is_acknowledged(store, queued):
    order = event(store.store_hash, scope="store/order/created")
    assert deliver_event(store.store_hash, ACME_SECRET, order).status_code == 200
    other = event(store.store_hash, producer="stores/someone")
    assert deliver_event(store.store_hash, ACME_SECRET, other).status_code == 200
    body = b"not json"
    assert deliver(store.store_hash, body, signed_headers(ACME_SECRET, body)).status_code == 200
    assert [(d.outcome, d.reason) for d in deliveries()] == [
        ("ignored", "unhandled_scope"),
        ("ignored", "other_store"),
        ("ignored", "unreadable_body"),
    ]
    assert queued == []
    assert verified_at(store) is not None  # a valid signature proves the secret all the same


def test_hooks_of_replaced_credentials_are_recognised(store, queued):
    body = json.dumps(event(store.store_hash)).encode()
    old_account = {services.ACCOUNT_HEADER: services.account_key("0ld" * 10)}
    deliver(store.store_hash, body, {**signed_headers(OTHER_SECRET, body), **old_account})
    ours = {services.ACCOUNT_HEADER: services.account_key(ACME_TOKEN)}
    deliver(store.store_hash, body, {**signed_headers(OTHER_SECRET, body), **ours})
    assert [d.reason for d in deliveries()] == ["superseded", "bad_signature"]


def test_a_flood_of_rejections_is_recorded_only_up_to_a_bound(store, queued, monkeypatch):
    monkeypatch.setattr(receiving, "REJECTIONS_RECORDED_PER_WINDOW", 3)
    body = b"{}"
    for _ in range(5):
        headers = {**signed_headers(OTHER_SECRET, body), services.ACCOUNT_HEADER: services.account_key(ACME_TOKEN)}
        assert deliver(store.store_hash, body, headers).status_code == 200
    assert WebhookDelivery.objects.count() == 3


def wrong_key_from_our_hook(store_hash: str):
    """What BigCommerce sends when the stored Client secret is not the account's."""
    body = json.dumps(event(store_hash)).encode()
    headers = {**signed_headers(OTHER_SECRET, body), services.ACCOUNT_HEADER: services.account_key(ACME_TOKEN)}
    return deliver(store_hash, body, headers)


def test_junk_never_hides_the_client_secret_warning(store, queued, settings):
    """Issue 28, item 5: 55 unsigned POSTs used to fill the store's rejection
    budget, so BigCommerce's own wrong-key deliveries after them were never
    recorded and "the Client secret looks wrong" never showed."""
    settings.BIGCOMMERCE_WEBHOOK_FAILURES_BEFORE_WARNING = 3
    junk = [
        lambda: deliver(store.store_hash, b"{}", {}),  # unsigned
        lambda: deliver(store.store_hash, b"{}", {**signed_headers(OTHER_SECRET, b"{}"), "webhook-signature": "v1"}),
        lambda: deliver(store.store_hash, b"{}", signed_headers(OTHER_SECRET, b"{}")),  # someone's key, not our hook
    ]
    for number in range(60):
        assert junk[number % 3]().status_code == 200
    assert WebhookDelivery.objects.count() == 0  # junk is not stored per row...
    counted = dict(JunkDeliveryCount.objects.values_list("reason", "count"))
    assert counted == {"unsigned": 20, "malformed": 20, "unattributed": 20}  # ...but counted
    for _ in range(3):
        assert wrong_key_from_our_hook(store.store_hash).status_code == 200
    assert [d.reason for d in deliveries()] == ["bad_signature"] * 3
    state = selectors.client_secret_state(store)
    assert state.looks_wrong and state.failures == 3
    assert selectors.hooks_state(store).junk_last_day == counted


def test_junk_counts_are_pruned_with_the_deliveries(store, queued, settings):
    deliver(store.store_hash, b"{}", {})
    old = timezone.now() - timedelta(days=settings.BIGCOMMERCE_WEBHOOK_DELIVERY_RETENTION_DAYS + 1)
    JunkDeliveryCount.objects.update(hour=old)
    assert services.webhooks_sweep()["deliveries_pruned"] == 1
    assert not JunkDeliveryCount.objects.exists()


def test_no_secret_in_logs_or_records(store, queued, caplog):
    caplog.set_level(logging.DEBUG)
    body = json.dumps(event(store.store_hash, note=ACME_SECRET)).encode()
    deliver(store.store_hash, body, signed_headers(ACME_SECRET, body))
    wrong_key_from_our_hook(store.store_hash)
    deliver(store.store_hash, body, signed_headers(OTHER_SECRET, body))
    records = json.dumps(list(WebhookDelivery.objects.values()), default=str)
    assert "accepted" in records and "rejected" in records
    for text in (caplog.text, records, repr(queued)):
        assert_no_secret(text, SECRETS)
    assert "webhook delivery" in caplog.text  # it did log, just nothing secret


def test_the_sweep_requeues_stuck_deliveries_and_prunes(store, queued):
    now = timezone.now()
    stuck = WebhookDelivery.objects.create(
        store=store,
        outcome="accepted",
        scope="store/app/uninstalled",
        received_at=now - timedelta(minutes=10),
    )
    WebhookDelivery.objects.create(store=store, outcome="accepted", received_at=now - timedelta(minutes=1))
    WebhookDelivery.objects.create(store=store, outcome="rejected", received_at=now - timedelta(days=400))
    SeenWebhook.objects.create(store=store, webhook_id="old", seen_at=now - timedelta(days=4))
    SeenWebhook.objects.create(store=store, webhook_id="new", seen_at=now)
    result = services.webhooks_sweep(now=now)
    assert result == {"requeued": 1, "seen_pruned": 1, "deliveries_pruned": 1}
    assert queued == [(stuck.pk,)]
    assert list(SeenWebhook.objects.values_list("webhook_id", flat=True)) == ["new"]


def test_a_broker_outage_does_not_fail_the_delivery(store, monkeypatch):
    def down(*args):
        raise ConnectionError("broker down")

    monkeypatch.setattr("storehooks.tasks.process_delivery.delay", down)
    assert deliver_event(store.store_hash, ACME_SECRET).status_code == 200
    assert WebhookDelivery.objects.get().processed_at is None  # the sweep will queue it


def test_an_undecryptable_secret_rejects_without_crashing(store, queued, settings, caplog):
    settings.FERNET_KEYS = ["a-key-that-never-encrypted-anything"]
    assert deliver_event(store.store_hash, ACME_SECRET).status_code == 200
    [delivery] = deliveries()
    assert (delivery.outcome, delivery.reason) == ("rejected", "unreadable_secret")
    assert "cannot be decrypted" in caplog.text


def test_each_kind_of_recorded_rejection_has_its_own_budget(store, queued, monkeypatch, settings):
    """Deliveries from an API account these credentials replaced (superseded)
    never use up the rows that the current account's wrong-key deliveries need."""
    monkeypatch.setattr(receiving, "REJECTIONS_RECORDED_PER_WINDOW", 3)
    settings.BIGCOMMERCE_WEBHOOK_FAILURES_BEFORE_WARNING = 3
    body = b"{}"
    for _ in range(5):
        old_account = {**signed_headers(OTHER_SECRET, body), services.ACCOUNT_HEADER: services.account_key("old" * 10)}
        deliver(store.store_hash, body, old_account)
    for _ in range(3):
        wrong_key_from_our_hook(store.store_hash)
    assert [d.reason for d in deliveries()] == ["superseded"] * 3 + ["bad_signature"] * 3
    assert selectors.client_secret_state(store).looks_wrong
