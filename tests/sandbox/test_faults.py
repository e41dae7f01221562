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
