"""Injected faults: resets, stalls, flaky 5xx, malformed JSON, latency and slow answers."""

from __future__ import annotations

import json
import time

import pytest
import requests

from sandbox.faults import Fault, FaultError, FaultSet


def test_connection_reset(shop, control):
    control.add_fault(shop.hash, "reset", count=1)
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{shop.url}/stores/{shop.hash}/v2/time",
                     headers={"X-Auth-Token": shop.full["access_token"]}, timeout=5)
    assert shop.get("v2/time").status_code == 200
    entry = [e for e in control.log(store_hash=shop.hash) if e["fault"] == "reset"][0]
    assert entry["status"] == 0


def test_stall_trips_a_read_timeout_after_headers(shop, control):
    control.add_fault(shop.hash, "stall", count=1, seconds=3)
    started = time.monotonic()
    with requests.get(f"{shop.url}/stores/{shop.hash}/v2/store", stream=True, timeout=(2, 0.5),
                      headers={"X-Auth-Token": shop.full["access_token"]}) as response:
        # the status line and headers arrived ...
        assert response.status_code == 200
        assert int(response.headers["Content-Length"]) > 0
        # ... but the body stalls past the read timeout
        with pytest.raises(requests.ConnectionError):
            response.content  # noqa: B018 - reading is the point
    assert time.monotonic() - started < 2.5
    assert shop.get("v2/store").status_code == 200


def test_flaky_next_n_requests(shop, control):
    control.add_fault(shop.hash, "error", status=502, count=2)
    control.add_fault(shop.hash, "error", status=504, count=1)
    statuses = [shop.get("v2/time").status_code for _ in range(4)]
    assert statuses == [502, 502, 504, 200]
    assert control.faults(shop.hash) == []  # spent faults are dropped


def test_flaky_probability(shop, control):
    control.add_fault(shop.hash, "error", status=500, probability=0.5)
    statuses = [shop.get("v2/time").status_code for _ in range(200)]
    failures = statuses.count(500)
    assert set(statuses) == {200, 500}
    assert 50 < failures < 150
    control.clear_faults(shop.hash)
    assert shop.get("v2/time").status_code == 200


def test_gateway_errors_are_html_and_500_is_json(shop, control):
    control.add_fault(shop.hash, "error", status=502, count=1)
    control.add_fault(shop.hash, "error", status=500, count=1)
    gateway = shop.get("v2/time")
    assert gateway.headers["Content-Type"].startswith("text/html")
    assert shop.get("v2/time").json()["status"] == 500


def test_malformed_json(shop, control):
    control.add_fault(shop.hash, "malformed", count=1)
    response = shop.get("v2/store")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.text)
    assert shop.get("v2/store").json()["id"] == shop.hash


def test_malformed_on_an_empty_204(shop, control):
    control.add_fault(shop.hash, "malformed", count=1)
    response = shop.get("v2/orders?limit=1")
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.text)


def test_store_latency_is_applied(shop, control):
    control.set_latency(shop.hash, 300)
    started = time.monotonic()
    assert shop.get("v2/time").status_code == 200
    assert 0.28 <= time.monotonic() - started < 2.0
    control.set_latency(shop.hash, 0)
    started = time.monotonic()
    shop.get("v2/time")
    assert time.monotonic() - started < 0.25


def test_global_latency_adds_to_every_store(shop, control):
    control.set_global_latency(250)
    started = time.monotonic()
    shop.get("v2/time", store_hash="zz9nothere")
    assert time.monotonic() - started >= 0.23


def test_slow_fault(shop, control):
    control.add_fault(shop.hash, "slow", seconds=0.4, count=1)
    started = time.monotonic()
    assert shop.get("v2/time").status_code == 200
    assert time.monotonic() - started >= 0.38


def test_global_fault_hits_every_store(shop, control, sandbox):
    control.add_global_fault("error", status=500, count=2)
    assert shop.get("v2/time").status_code == 500
    assert shop.get("v2/time", store_hash="zz9nothere").status_code == 500
    assert shop.get("v2/time").status_code == 200


def test_faults_are_logged(shop, control):
    control.add_fault(shop.hash, "error", status=504, count=1)
    shop.get("v2/time")
    entry = control.log(limit=1)[0]
    assert entry["fault"] == "error" and entry["status"] == 504


@pytest.mark.parametrize("bad", [
    {"kind": "explode"},
    {"kind": "error", "status": 418},
    {"kind": "error", "probability": 2},
    {"kind": "error", "count": 0},
    {"kind": "stall", "seconds": -1},
    {"kind": "error", "colour": "red"},
])
def test_bad_fault_specs_are_refused(bad):
    with pytest.raises(FaultError):
        Fault.from_dict(bad)


def test_bad_fault_spec_over_http(shop, control):
    from sandbox.control import SandboxControlError

    with pytest.raises(SandboxControlError) as caught:
        control.add_fault(shop.hash, "explode")
    assert caught.value.status == 400


def test_fault_set_order_and_counts():
    faults = FaultSet()
    faults.add(Fault.from_dict({"kind": "error", "count": 1}))
    faults.add(Fault.from_dict({"kind": "reset"}))
    assert faults.pick().kind == "error"
    assert faults.pick().kind == "reset"
    assert [f.kind for f in faults.faults] == ["reset"]


# --- issue 27: a degraded endpoint, a long reset, a plan limit, an unknown store's 404 --------------


def test_a_degraded_endpoint_answers_503_with_its_retry_delay_and_only_there(shop, control):
    control.add_fault(shop.hash, "degraded", path="v3/catalog/products", retry_after_seconds=7)
    degraded = shop.get("v3/catalog/products?limit=1")
    assert degraded.status_code == 503
    assert degraded.json()["code"] == "SERVICE_DEGRADED"
    assert degraded.json()["retry_after_seconds"] == 7
    assert "maintenance" not in degraded.text.lower()
    # the store and its other endpoints answer normally
    assert shop.get("v2/store").status_code == 200
    assert shop.get("v2/time").status_code == 200
    assert shop.get("v3/catalog/products?limit=1").status_code == 503  # until cleared


def test_a_path_matches_whole_segments(shop, control):
    control.add_fault(shop.hash, "error", status=502, path="v2/time")
    assert shop.get("v2/time").status_code == 502
    assert shop.get("v2/store").status_code == 200


def test_a_long_reset_is_announced_in_both_headers(shop, control):
    control.add_fault(shop.hash, "rate_limit", count=1, reset_ms=60000)
    limited = shop.get("v2/time")
    assert limited.status_code == 429
    assert limited.headers["X-Rate-Limit-Time-Reset-Ms"] == "60000"
    assert limited.headers["X-Retry-After"] == "60"
    assert limited.content == b""  # as observed (bigcommerce-api-python issue 116)


def test_a_plan_limit_answers_507(shop, control):
    control.add_fault(shop.hash, "plan_limit", path="v3/customers", count=1)
    answer = shop.post("v3/customers", {})
    assert answer.status_code == 507
    assert "plan" in answer.json()["title"]


def test_an_unknown_store_s_404_can_name_the_store(sandbox, control):
    control.settings(unknown_store="404_store")
    try:
        answer = requests.post(f"{sandbox.url}/stores/zz0nothere/v3/customers", json={},
                               headers={"X-Auth-Token": "x"}, timeout=5)
    finally:
        control.settings(unknown_store="404")
    assert answer.status_code == 404
    assert answer.json()["title"] == "Store not found."


@pytest.mark.parametrize("spec", [{"kind": "degraded", "reset_ms": -1}, {"kind": "plan_limit", "paths": "x"}])
def test_bad_new_fault_fields_are_refused(spec):
    with pytest.raises(FaultError):
        Fault.from_dict(spec)
