"""The sandbox sends signed webhook deliveries to registered hooks, as BigCommerce does."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from sandbox.control import SandboxControlError
from sandbox.state import SandboxState
from sandbox.webhooks import payload, scope_matches, sign

INFO = "store/information/updated"
UNINSTALLED = "store/app/uninstalled"


@dataclass
class Receiver:
    """A loopback endpoint: records each POST, answers from `statuses` (then 200)."""

    url: str
    received: list[dict] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    delay: float = 0.0

    def bodies(self) -> list[dict]:
        return [json.loads(r["body"]) for r in self.received]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            time.sleep(state.delay)
            state.received.append(
                {
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                    "body": body,
                    "path": self.path,
                    "at": time.time(),
                }
            )
            self.send_response(state.statuses.pop(0) if state.statuses else 200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    state.url = f"http://127.0.0.1:{server.server_port}"
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def http_hooks(control):
    control.settings(allow_http_webhooks=True)
    yield
    control.settings(allow_http_webhooks=False)


def hook(shop, receiver, scope=INFO, token="full", path="/hooks", **extra):
    response = shop.post(
        "v3/hooks", {"scope": scope, "destination": receiver.url + path, **extra}, token
    )
    assert response.status_code == 200, response.text
    return response.json()["data"]


def verify(secret: str, received: dict) -> dict:
    return Webhook(secret.encode()).verify(received["body"], received["headers"])


def wait_until(condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_http_destinations_need_the_switch(shop, receiver, control):
    refused = shop.post("v3/hooks", {"scope": INFO, "destination": receiver.url + "/hooks"})
    assert refused.status_code == 422
    control.settings(allow_http_webhooks=True)
    try:
        assert (
            shop.post("v3/hooks", {"scope": INFO, "destination": receiver.url + "/h"}).status_code
            == 200
        )
    finally:
        control.settings(allow_http_webhooks=False)


def test_a_profile_change_sends_a_signed_information_update(shop, receiver, control, http_hooks):
    info = hook(shop, receiver, headers={"X-Custom": "kept"})
    hook(shop, receiver, UNINSTALLED)  # another scope: not sent
    control.update_profile(shop.hash, plan_name="Pro", plan_level="Pro")
    [delivered] = control.wait_for_deliveries(shop.hash, 1)
    wait_until(lambda: receiver.received)
    [received] = receiver.received
    body = verify(
        shop.full["client_secret"], received
    )  # Standard Webhooks, key = the secret's bytes
    store_id = control.store(shop.hash)["profile"]["store_id"]
    assert body == {
        "scope": INFO,
        "store_id": str(store_id),
        "data": {"type": "store", "id": store_id},
        "hash": body["hash"],
        "created_at": body["created_at"],
        "producer": f"stores/{shop.hash}",
    }
    assert abs(body["created_at"] - time.time()) < 10 and len(body["hash"]) == 40
    assert received["headers"]["x-custom"] == "kept"  # the hook's custom headers travel along
    assert received["headers"]["content-type"] == "application/json"
    assert delivered["state"] == "delivered" and delivered["hook_id"] == info["id"]
    assert delivered["webhook_id"] == received["headers"]["webhook-id"]
    assert delivered["payload"] == body


def test_no_change_no_delivery(shop, receiver, control, http_hooks):
    hook(shop, receiver)
    control.update_profile(shop.hash, name=control.store(shop.hash)["profile"]["name"])
    time.sleep(0.2)
    assert control.deliveries(shop.hash) == [] and receiver.received == []


def test_inactive_hooks_and_other_stores_get_nothing(shop, receiver, control, http_hooks):
    inactive = hook(shop, receiver)
    assert (
        shop.call("PUT", f"v3/hooks/{inactive['id']}", json={"is_active": False}).status_code == 200
    )
    assert control.send_webhook(shop.hash, INFO) == []
    assert control.send_webhook("vcdemo01", INFO) == []


def test_each_hook_is_signed_with_its_own_accounts_secret(shop, receiver, control, http_hooks):
    hook(shop, receiver, path="/full")
    hook(shop, receiver, token="readonly", path="/readonly")
    sent = control.send_webhook(shop.hash, INFO)
    assert len(sent) == 2
    wait_until(lambda: len(receiver.received) == 2)
    by_path = {r["path"]: r for r in receiver.received}
    verify(shop.full["client_secret"], by_path["/full"])
    verify(shop.readonly["client_secret"], by_path["/readonly"])
    with pytest.raises(WebhookVerificationError):
        verify(shop.full["client_secret"], by_path["/readonly"])


def test_any_scope_on_demand_and_wildcards(shop, receiver, control, http_hooks):
    hook(shop, receiver, "store/app/*")
    [sent] = control.send_webhook(shop.hash, UNINSTALLED)
    assert sent["state"] == "pending" and sent["scope"] == UNINSTALLED
    wait_until(lambda: receiver.received)
    assert verify(shop.full["client_secret"], receiver.received[0])["scope"] == UNINSTALLED
    assert control.send_webhook(shop.hash, "store/order/created") == []
    assert scope_matches("store/order/*", "store/order/created")
    assert not scope_matches("store/order/created", "store/order/updated")


def test_the_control_call_does_not_wait_for_the_delivery(shop, receiver, control, http_hooks):
    hook(shop, receiver)
    receiver.delay = 1.0
    began = time.monotonic()
    [sent] = control.send_webhook(shop.hash, INFO)
    assert time.monotonic() - began < 0.5 and sent["state"] == "pending"
    assert control.wait_for_deliveries(shop.hash, 1)[0]["state"] == "delivered"


def test_a_failed_attempt_is_retried_with_the_same_id(shop, receiver, control, http_hooks):
    hook(shop, receiver)
    receiver.statuses = [503]
    control.send_webhook(shop.hash, INFO)
    [delivery] = control.wait_for_deliveries(shop.hash, 1)
    assert delivery["state"] == "delivered"
    assert [a["status"] for a in delivery["attempts"]] == [503, 200]
    first, second = receiver.received
    assert first["headers"]["webhook-id"] == second["headers"]["webhook-id"]
    assert first["body"] == second["body"]
    verify(shop.full["client_secret"], second)


def test_delivery_gives_up_after_three_attempts(shop, receiver, control, http_hooks):
    hook(shop, receiver)
    receiver.statuses = [500, 500, 500]
    control.send_webhook(shop.hash, INFO)
    [delivery] = control.wait_for_deliveries(shop.hash, 1)
    assert delivery["state"] == "failed" and [a["status"] for a in delivery["attempts"]] == [
        500,
        500,
        500,
    ]


def test_an_unreachable_destination_is_recorded(shop, control, http_hooks):
    shop.post("v3/hooks", {"scope": INFO, "destination": "http://127.0.0.1:9/h"})
    control.send_webhook(shop.hash, INFO, attempts=1)
    [delivery] = control.wait_for_deliveries(shop.hash, 1)
    assert delivery["state"] == "failed" and delivery["attempts"][0]["status"] is None
    assert delivery["attempts"][0]["error"]


@pytest.mark.parametrize("spoil", ["wrong_secret", "none", "stale"])
def test_deliveries_can_be_spoiled_on_purpose(shop, receiver, control, http_hooks, spoil):
    hook(shop, receiver)
    options = {"timestamp_offset": -600} if spoil == "stale" else {"signature": spoil}
    control.send_webhook(shop.hash, INFO, attempts=1, **options)
    wait_until(lambda: receiver.received)
    [received] = receiver.received
    if spoil == "none":
        assert "webhook-signature" not in received["headers"]
    with pytest.raises(WebhookVerificationError):
        verify(shop.full["client_secret"], received)


def test_the_send_route_checks_its_input(shop, control):
    for bad in (
        {"scope": "orders"},
        {"scope": INFO, "signature": "maybe"},
        {"scope": INFO, "attempts": 9},
        {"scope": INFO, "data": [1]},
    ):
        with pytest.raises(SandboxControlError) as caught:
            control._call("POST", f"stores/{shop.hash}/webhooks/send", json=bad)
        assert caught.value.status == 400
    with pytest.raises(SandboxControlError) as caught:
        control.send_webhook("nosuchstore", INFO)
    assert caught.value.status == 404


def test_the_record_lists_deliveries_without_secrets(shop, receiver, control, http_hooks):
    hook(shop, receiver)
    control.send_webhook(shop.hash, INFO, data={"type": "store", "id": 7})
    listed = control.wait_for_deliveries(shop.hash, 1, scope=INFO)
    assert listed[0]["payload"]["data"] == {"type": "store", "id": 7}
    text = json.dumps(control.deliveries())
    assert shop.full["client_secret"] not in text and shop.full["access_token"] not in text
    control.reset(deliveries=True)
    assert control.deliveries(shop.hash) == []


def test_revoking_the_account_stops_its_deliveries(shop, receiver, control, http_hooks):
    hook(shop, receiver)
    control.revoke(shop.full["client_id"])
    assert control.send_webhook(shop.hash, INFO) == []


def test_sign_and_payload_match_the_spec():
    state = SandboxState()
    store = state.add_store({"store_id": 42}, store_hash="abc123")
    body = payload(store, INFO)
    assert body["producer"] == "stores/abc123" and body["store_id"] == "42"
    raw = json.dumps(body).encode()
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(int(time.time())),
        "webhook-signature": sign("ab" * 32, "msg_1", int(time.time()), raw),
    }
    assert Webhook(("ab" * 32).encode()).verify(raw, headers) == body
