"""The control API: accounts, scopes, revocation, maintenance, profiles, bulk, logs."""

from __future__ import annotations

import json
import re

import pytest
import requests

from sandbox import scopes as sc
from sandbox.bodies import SCOPE_403
from sandbox.control import SandboxControlError
from sandbox.control_api import _is_loopback
from sandbox.state import SandboxError, SandboxState


def test_health(control):
    health = control.health()
    assert health["status"] == "ok"
    assert health["stores"] >= 3


def test_routes_lists_every_endpoint_with_its_scopes(control):
    table = {(r["method"], r["path"]): r["scopes"] for r in control.routes()}
    assert table[("GET", "/stores/{store_hash}/v2/time")] is None
    assert table[("POST", "/stores/{store_hash}/v3/customers")] == ["store_v2_customers"]
    assert sorted(table[("GET", "/stores/{store_hash}/v2/store")]) == [
        "store_v2_information", "store_v2_information_read_only"]


def test_generated_credentials_have_bigcommerce_shapes(shop, control):
    account = control.add_account(shop.hash, [sc.INFORMATION_RO])
    assert re.fullmatch(r"[a-z0-9]{31}", account["access_token"])
    assert re.fullmatch(r"[a-z0-9]{31}", account["client_id"])
    assert re.fullmatch(r"[0-9a-f]{64}", account["client_secret"])
    assert account["api_path"] == f"https://api.bigcommerce.com/stores/{shop.hash}/v3/"
    assert shop.get("v2/store", account["access_token"]).status_code == 200


def test_given_credentials_are_kept(shop, control):
    account = control.add_account(shop.hash, [], client_name="Mine", client_id="c" * 31,
                                  client_secret="ab" * 32, access_token="t" * 31)
    assert (account["client_id"], account["access_token"]) == ("c" * 31, "t" * 31)
    with pytest.raises(SandboxControlError) as caught:
        control.add_account(shop.hash, [], access_token="t" * 31)
    assert caught.value.status == 409


def test_change_scopes(shop, control):
    assert shop.post("v3/carts", []).status_code == 422
    control.set_scopes(shop.full["client_id"], [sc.CARTS_RO])
    assert shop.post("v3/carts", []).json() == SCOPE_403
    assert shop.get("v3/carts/x").status_code == 404
    assert control.account(shop.full["client_id"])["scopes"] == [sc.CARTS_RO]


def test_revoke_makes_the_token_401_and_deletes_its_hooks(shop, control):
    hook = {"scope": "store/app/uninstalled", "destination": "https://example.com/h"}
    assert shop.post("v3/hooks", hook).status_code == 200
    assert control.store(shop.hash)["counts"]["hooks"] == 1
    control.revoke(shop.full["client_id"])
    assert shop.get("v2/time").status_code == 401
    assert control.store(shop.hash)["counts"]["hooks"] == 0
    assert shop.get("v2/time", "readonly").status_code == 200  # other accounts live on
    with pytest.raises(SandboxControlError) as caught:
        control.account(shop.full["client_id"])
    assert caught.value.status == 404


def test_maintenance_toggle(shop, control):
    control.set_maintenance(shop.hash)
    assert shop.get("v2/store").status_code == 503
    assert control.store(shop.hash)["maintenance"] is True
    control.set_maintenance(shop.hash, False)
    assert shop.get("v2/store").status_code == 200


def test_global_maintenance(shop, control, sandbox):
    control.set_global_maintenance()
    assert shop.get("v2/store").status_code == 503
    demo_token = sandbox.fixture["stores"][1]["accounts"][0]["access_token"]
    assert shop.get("v2/time", demo_token, store_hash="vcdemo02").status_code == 503
    assert shop.get("v2/time", store_hash="zz9nothere").status_code == 404
    control.set_global_maintenance(False)
    assert shop.get("v2/store").status_code == 200


def test_profile_change_is_served(shop, control):
    control.update_profile(shop.hash, plan_name="Plus", plan_is_trial=True,
                           features={"multi_storefront_enabled": True})
    profile = shop.get("v2/store").json()
    assert profile["plan_name"] == "Plus" and profile["plan_is_trial"] is True
    assert profile["features"]["multi_storefront_enabled"] is True
    assert profile["features"]["stencil_enabled"] is True  # nested fields merge
    with pytest.raises(SandboxControlError):
        control.update_profile(shop.hash, id="another")


def test_profile_changes_do_not_leak_between_stores(shop, control, sandbox):
    control.update_profile(shop.hash, features={"checkout_type": "single"})
    other = control.add_store()
    try:
        assert other["profile"]["features"]["checkout_type"] == "optimized"
    finally:
        control.delete_store(other["store_hash"])


def test_add_store_with_defaults(control):
    created = control.add_store(profile={"name": "Plain"})
    try:
        assert re.fullmatch(r"[a-z0-9]{8}", created["store_hash"])
        assert created["profile"]["id"] == created["store_hash"]
        assert created["profile"]["status"] == "live"
        assert created["store_hash"] in control.stores()
        with pytest.raises(SandboxControlError) as caught:
            control.add_store(created["store_hash"])
        assert caught.value.status == 409
    finally:
        control.delete_store(created["store_hash"])
    with pytest.raises(SandboxControlError) as caught:
        control.store(created["store_hash"])
    assert caught.value.status == 404


def test_bad_control_requests(sandbox, control):
    with pytest.raises(SandboxControlError) as caught:
        control.add_store("Not A Hash!")
    assert caught.value.status == 400
    response = requests.post(f"{sandbox.url}/_sandbox/stores", data="[", timeout=5)
    assert response.status_code == 400 and "error" in response.json()
    with pytest.raises(SandboxControlError):
        control.settings(latency=5)


def test_bulk_creates_working_stores(sandbox, control):
    answer = control.bulk(50, prefix="bulka")
    assert answer["count"] == 50
    store_hash, token, client_id = answer["stores"][7]
    assert store_hash == "bulka00007"
    response = requests.get(f"{sandbox.url}/stores/{store_hash}/v2/store",
                            headers={"X-Auth-Token": token}, timeout=5)
    assert response.status_code == 200
    assert response.json()["id"] == store_hash
    assert control.account(client_id)["scopes"] == sorted(sc.PORTAL_REQUIRED)
    # tokens are derived from the hash: the same in every run
    state = SandboxState()
    assert state.bulk_create(1, "bulka", start=7)[0][1] == token
    with pytest.raises(SandboxControlError):
        control.bulk(1, prefix="bulka")  # already exists


def test_bulk_to_a_file(sandbox, control, tmp_path):
    target = tmp_path / "fleet.jsonl"
    answer = control.bulk(20, prefix="bulkb", plan_name="Pro", write_to=str(target))
    assert answer == {"count": 20, "file": str(target)}
    rows = [json.loads(line) for line in target.read_text().splitlines()]
    assert len(rows) == 20 and rows[0]["store_hash"] == "bulkb00000"
    response = requests.get(f"{sandbox.url}/stores/{rows[3]['store_hash']}/v2/time",
                            headers={"X-Auth-Token": rows[3]["access_token"]}, timeout=5)
    assert response.headers["X-Rate-Limit-Requests-Quota"] == "450"


def test_request_log_never_contains_the_token(shop, control, sandbox):
    control.reset()
    shop.get("v2/store")
    shop.get("v2/store", "not-a-real-token-value-xyz")
    shop.post("v3/customers", {"bad": True})
    shop.get(f"v2/time?token={shop.full['access_token']}")
    log = control.log()
    text = json.dumps(log)
    assert shop.full["access_token"] not in text
    assert "not-a-real-token-value-xyz" not in text
    assert len(log) == 4
    first = log[0]
    assert set(first) >= {"method", "path", "status", "store_hash", "elapsed_ms"}
    assert (first["method"], first["path"], first["status"], first["store_hash"]) == (
        "GET", f"/stores/{shop.hash}/v2/store", 200, shop.hash)
    assert first["client_id"] == shop.full["client_id"]
    raw = requests.get(f"{sandbox.url}/_sandbox/log", timeout=5).text
    assert shop.full["access_token"] not in raw


def test_log_filter_limit_and_reset(shop, control):
    control.reset()
    for _ in range(3):
        shop.get("v2/time")
    shop.get("v2/time", store_hash="zz9nothere")
    assert len(control.log(store_hash=shop.hash)) == 3
    assert control.log(limit=1)[0]["store_hash"] == "zz9nothere"
    stats = control.stats()
    assert stats["requests"] == 4 and stats["by_status"] == {"200": 3, "404": 1}
    control.clear_log()
    assert control.log() == []
    control.reset()
    assert control.stats()["requests"] == 0


def test_reset_windows_created_and_faults(shop, control):
    shop.post("v3/carts", {})
    control.add_fault(shop.hash, "error", count=5)
    control.reset(created=True, faults=True)
    assert control.created(shop.hash) == []
    assert control.faults(shop.hash) == []
    assert shop.get("v2/time").headers["X-Rate-Limit-Requests-Left"] == "149"


def test_credentials_text(shop, control):
    text = control.credentials_text(shop.full["client_id"])
    assert text.splitlines() == [
        f"ACCESS TOKEN: {shop.full['access_token']}",
        "CLIENT NAME: full",
        f"API PATH: https://api.bigcommerce.com/stores/{shop.hash}/v3/",
        f"CLIENT ID: {shop.full['client_id']}",
        f"CLIENT SECRET: {shop.full['client_secret']}",
    ]


def test_loopback_check():
    assert _is_loopback("127.0.0.1")
    assert _is_loopback("127.8.9.10")
    assert _is_loopback("::1")
    assert not _is_loopback("10.0.0.5")
    assert not _is_loopback("192.168.1.20")
    assert not _is_loopback(None)
    assert not _is_loopback("garbage")


def test_state_errors():
    state = SandboxState()
    with pytest.raises(SandboxError):
        state.store("missing")
    store = state.add_store({"name": "x"}, store_hash="abc1234")
    with pytest.raises(SandboxError):
        state.add_store(store_hash="abc1234")
    with pytest.raises(SandboxError):
        state.bulk_create(0)
    assert store.window.quota == 150
