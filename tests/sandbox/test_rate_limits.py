"""Rate-limit headers on every answer, quota windows per store, and the 429 modes."""

from __future__ import annotations

import pytest

from sandbox.faults import RateWindow, quota_for_plan

RATE_HEADERS = ("X-Rate-Limit-Requests-Quota", "X-Rate-Limit-Requests-Left",
                "X-Rate-Limit-Time-Window-Ms", "X-Rate-Limit-Time-Reset-Ms")


@pytest.mark.parametrize(("path", "token"), [
    ("v2/time", "full"), ("v2/store", "full"), ("v2/orders", "full"), ("v2/store", "noscopes"),
    ("v2/store", "bad-token"), ("v3/carts", "readonly"),
])
def test_rate_headers_on_every_answer(shop, path, token):
    response = shop.get(path, token)
    for header in RATE_HEADERS:
        assert header in response.headers, (response.status_code, header)
    assert int(response.headers["X-Rate-Limit-Time-Window-Ms"]) == 30_000
    assert 0 < int(response.headers["X-Rate-Limit-Time-Reset-Ms"]) <= 30_000


def test_rate_headers_on_unknown_store_and_maintenance(shop, control):
    assert "X-Rate-Limit-Requests-Left" in shop.get("v2/time", store_hash="zz9nothere").headers
    control.set_maintenance(shop.hash)
    assert "X-Rate-Limit-Requests-Left" in shop.get("v2/time").headers


def test_requests_left_counts_down_per_store_across_accounts(shop):
    lefts = [int(shop.get("v2/time", token).headers["X-Rate-Limit-Requests-Left"])
             for token in ("full", "readonly", "noscopes", "full")]
    assert lefts == [149, 148, 147, 146]


def test_pro_plan_quota_and_profile_change(shop, control):
    assert shop.get("v2/time").headers["X-Rate-Limit-Requests-Quota"] == "150"
    control.update_profile(shop.hash, plan_name="Pro", plan_level="Pro")
    assert shop.get("v2/time").headers["X-Rate-Limit-Requests-Quota"] == "450"


def test_quota_not_enforced_by_default(shop, control):
    control.set_rate_limit(shop.hash, 3)
    statuses = [shop.get("v2/time").status_code for _ in range(5)]
    assert statuses == [200] * 5
    assert shop.get("v2/time").headers["X-Rate-Limit-Requests-Left"] == "0"


def test_enforced_quota_answers_429_with_headers(shop, control):
    control.enforce_quota(True)
    control.set_rate_limit(shop.hash, 3)
    responses = [shop.get("v2/time") for _ in range(5)]
    assert [r.status_code for r in responses] == [200, 200, 200, 429, 429]
    limited = responses[3]
    assert limited.headers["X-Rate-Limit-Requests-Left"] == "0"
    assert int(limited.headers["X-Retry-After"]) >= 1
    assert limited.json()["status"] == 429
    control.set_rate_limit(shop.hash, None)  # back to the plan's 150, window reset
    assert shop.get("v2/time").status_code == 200


def test_window_rolls_over(shop, control):
    control.enforce_quota(True)
    control.set_rate_limit(shop.hash, 1, window_ms=300)
    assert shop.get("v2/time").status_code == 200
    assert shop.get("v2/time").status_code == 429
    import time

    time.sleep(0.35)
    assert shop.get("v2/time").status_code == 200


def test_rate_limit_fault_with_and_without_headers(shop, control):
    control.add_fault(shop.hash, "rate_limit", count=1)
    with_headers = shop.get("v2/time")
    assert with_headers.status_code == 429
    assert with_headers.headers["X-Rate-Limit-Requests-Left"] == "0"
    assert "X-Retry-After" in with_headers.headers
    control.add_fault(shop.hash, "rate_limit", count=1, headers=False)
    bare = shop.get("v2/time")
    assert bare.status_code == 429
    assert not any(h.startswith("X-Rate-Limit") for h in bare.headers)
    assert shop.get("v2/time").status_code == 200


def test_quota_for_plan():
    assert quota_for_plan("Standard") == 150
    assert quota_for_plan("Plus") == 150
    assert quota_for_plan("Pro") == 450
    assert quota_for_plan(None, "Pro Trial") == 450
    assert quota_for_plan("Something new") == 150


def test_rate_window_unit():
    window = RateWindow(quota=2, window_ms=1000)
    assert window.hit(100.0) == (1, 1000)
    assert window.hit(100.5) == (0, 500)
    assert window.hit(100.6)[0] == 0 and window.exhausted
    assert window.hit(101.2) == (1, 1000)  # new window
