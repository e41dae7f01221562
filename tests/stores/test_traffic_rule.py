"""Which answers to Violet's own traffic are signals (stores/traffic_rule.py):
the checks' rules applied to one real call, without a database."""

from __future__ import annotations

import json

import pytest

from sandbox import bodies
from stores.traffic_rule import SignalKind, answer_is_definitive, report_problem

SCOPE_ERROR = bodies.SCOPE_403_BODY  # BigCommerce's observed scope-error 403 body
NOT_A_SCOPE_ERROR = bodies.FORBIDDEN_403_BODY
OLDER_SCOPE_ERROR = json.dumps(
    [{"status": 401, "message": "You are authorized but your scope does not include this resource."}]
)
V3_RESOURCE_404 = bodies.NOT_FOUND_BODY["v3"]
ROUTE_404 = json.dumps({"status": 404, "title": "Route not found"})
ALL = ()
INVALID, MISSING, UNKNOWN = SignalKind.INVALID_TOKEN, SignalKind.MISSING_SCOPE, SignalKind.STORE_NOT_FOUND


@pytest.mark.parametrize(
    ("status", "method", "path", "body", "missing", "expected"),
    [
        # 401: the token is refused, whatever the path or body shape (some 401s are plain text).
        (401, "GET", "/v3/catalog/products", bodies.UNAUTHORIZED_BODY, ALL, INVALID),
        (401, "GET", "v2/orders?limit=5", bodies.UNAUTHORIZED_TEXT, ALL, INVALID),
        (401, "POST", "/v3/content/widgets", b"", ALL, INVALID),
        # ...but the scope error's older wording came on 401s too: that is a scope, not the token.
        (401, "GET", "/v2/orders", OLDER_SCOPE_ERROR, ALL, MISSING),
        # The scope error on a scope the store is believed to have: a signal.
        (403, "GET", "/v3/catalog/products?limit=1", SCOPE_ERROR, ALL, MISSING),
        (403, "POST", "/v3/checkouts/abc/billing-address", SCOPE_ERROR, ALL, MISSING),
        (403, "PUT", "v2/orders/12", SCOPE_ERROR, ALL, MISSING),
        (403, "get", "/v2/store", SCOPE_ERROR, ALL, MISSING),
        # A scope the store is already known to miss: not a new signal.
        (403, "GET", "/v3/catalog/products", SCOPE_ERROR, ["store_v2_products_read_only"], None),
        # ...while another scope is news.
        (403, "POST", "/v3/carts", SCOPE_ERROR, ["store_v2_products_read_only"], MISSING),
        # Violet asks only to read products and the store information: a write refused there is by design.
        (403, "POST", "/v3/catalog/products", SCOPE_ERROR, ALL, None),
        (403, "PUT", "/v2/store", SCOPE_ERROR, ALL, None),
        # A path of a scope Violet does not ask for: nothing about Violet's API account.
        (403, "GET", "/v3/content/widgets", SCOPE_ERROR, ALL, None),
        # A 403 that is not the scope error (a platform limit, a wrong URL): not a signal.
        (403, "GET", "/v3/catalog/products", NOT_A_SCOPE_ERROR, ALL, None),
        (403, "GET", "/v3/catalog/products", b"", ALL, None),
        # Unknown store: a 404 on /v2/time (every store has it), or a 404 that names the store.
        (404, "GET", "/v2/time", V3_RESOURCE_404, ALL, UNKNOWN),
        (404, "GET", "/v3/catalog/products/7", bodies.STORE_NOT_FOUND_BODY, ALL, UNKNOWN),
        # A resource's or a route's 404 is the caller's business.
        (404, "GET", "/v3/catalog/products/7", V3_RESOURCE_404, ALL, None),
        (404, "GET", "/v3/nonsense", ROUTE_404, ALL, None),
        # Transient, throttled, rejected content, success: never a signal.
        (500, "GET", "/v2/orders", b"", ALL, None),
        (502, "GET", "/v2/orders", bodies.UNAUTHORIZED_BODY, ALL, None),
        (503, "GET", "/v2/store", bodies.MAINTENANCE_BODY["v2"], ALL, None),
        (429, "GET", "/v2/orders", bodies.RATE_LIMITED_BODY, ALL, None),
        (400, "POST", "/v2/orders", b"[]", ALL, None),
        (422, "POST", "/v3/carts", SCOPE_ERROR, ALL, None),
        (200, "GET", "/v2/store", b"{}", ALL, None),
        (507, "POST", "/v3/catalog/products", bodies.PLAN_LIMIT_BODY, ALL, None),
        # Not a store API path: nothing to say about the store.
        (401, "GET", "/stores/abc/v3/catalog", b"", ALL, None),
        (401, "GET", "https://evil.example/v3/catalog", b"", ALL, None),
        (401, "GET", "/v3/../v2/orders", b"", ALL, None),
    ],
)
def test_the_checks_rules_judge_one_real_call(status, method, path, body, missing, expected):
    assert answer_is_definitive(status, path, body, missing, method=method) == expected


def test_nul_bytes_and_a_cut_body_do_not_hide_or_fake_a_signal():
    # A NUL in the excerpt (outside data) is dropped before reading BigCommerce's words.
    with_nul = SCOPE_ERROR.replace(b"required", b"requ\x00ired")
    assert answer_is_definitive(403, "/v3/carts", with_nul, ALL, method="POST") == MISSING
    assert answer_is_definitive(403, "/v3/carts", with_nul.decode(), ALL, method="POST") == MISSING
    # The proxy sends the first bytes only: a JSON cut short is read as text and still understood.
    assert answer_is_definitive(403, "/v3/carts", SCOPE_ERROR[:90], ALL, method="POST") == MISSING
    # A NUL in the path: no real call has one; never judged.
    assert answer_is_definitive(401, "/v3/carts\x00", b"", ALL, method="GET") is None
    # A 403 whose body merely mentions a scope in a NUL-split word is not the scope error.
    assert answer_is_definitive(403, "/v3/carts", b'{"title": "sco\x00pe"}', ALL, method="POST") is None


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"status": 99}, "100 to 599"),
        ({"status": 600}, "100 to 599"),
        ({"status": "401"}, "100 to 599"),
        ({"status": True}, "100 to 599"),
        ({"method": "TRACE"}, "method must be one of"),
        ({"method": "GET\x00"}, "method must be one of"),
        ({"method": None}, "method must be one of"),
        ({"path": "/v4/catalog"}, "/v2/ or /v3/"),
        ({"path": "https://api.bigcommerce.com/stores/abc/v3/catalog"}, "/v2/ or /v3/"),
        ({"path": "/v3/catalog/../../x"}, "/v2/ or /v3/"),
        ({"path": "/v3/catalog\x00"}, "/v2/ or /v3/"),
        ({"path": "/v3/" + "a" * 2000}, "/v2/ or /v3/"),
        ({"excerpt": "x" * 1001}, "at most 1000"),
        ({"excerpt": 5}, "at most 1000"),
    ],
)
def test_a_bad_report_is_explained(fields, words):
    good = {"status": 401, "method": "GET", "path": "/v3/catalog/products", "excerpt": ""}
    assert report_problem(**good) is None
    assert words in report_problem(**{**good, **fields})


def test_a_report_may_carry_nul_bytes_in_its_excerpt():
    # Bodies may hold anything: the recorder drops the NUL (tests/stores/test_traffic_signals.py).
    assert report_problem(status=401, method="get", path="v3/carts", excerpt="a\x00b" * 300) is None
