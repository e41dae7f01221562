"""The probe table: one side-effect-free call per required scope, and what answers mean."""

from __future__ import annotations

import pytest

from stores.bigcommerce.client import NO_BODY
from stores.bigcommerce.probes import (
    BASELINE,
    CARTS,
    CHECKOUTS,
    CUSTOMERS,
    INFORMATION,
    ORDERS,
    PROBES,
    PRODUCTS,
    Verdict,
    is_scope_error,
)
from stores.bigcommerce.scopes import REQUIRED_SCOPES

NIL_UUID = "00000000-0000-0000-0000-000000000000"
SCOPE_ERROR = (
    b'{"status":403,"title":"You don\'t have a required scope to access the endpoint",'
    b'"type":"https://developer.bigcommerce.com/api-docs/getting-started/api-status-codes","errors":{}}'
)
OTHER_403 = b'{"status":403,"title":"Forbidden","error":{"message":"Forbidden. Operation cannot be performed."}}'


def test_one_probe_per_required_scope_in_the_guides_order():
    assert [probe.scope for probe in PROBES] == [scope.param for scope in REQUIRED_SCOPES]
    assert {probe.scope for probe in PROBES} == {scope.param for scope in REQUIRED_SCOPES}


def test_a_healthy_check_costs_six_requests():
    assert len(PROBES) == 6


def test_the_probe_table():
    table = {(p.scope, p.method, p.path) for p in PROBES}
    assert table == {
        ("store_v2_information_read_only", "GET", "/v2/store"),
        ("store_v2_products_read_only", "GET", "/v3/catalog/products?limit=1"),
        ("store_v2_customers", "POST", "/v3/customers"),
        ("store_v2_orders", "POST", "/v2/orders"),
        ("store_cart", "POST", "/v3/carts"),
        ("store_checkout", "POST", f"/v3/checkouts/{NIL_UUID}/billing-address"),
    }
    assert (BASELINE.method, BASELINE.path, BASELINE.scope) == ("GET", "/v2/time", None)


def test_reads_send_no_body_and_writes_send_the_wrong_json_type():
    for probe in (INFORMATION, PRODUCTS, BASELINE):
        assert probe.body is NO_BODY and not probe.is_write
    # The schema wants an array of customers, and one object for orders, carts
    # and billing addresses. `{}` would be VALID for carts and orders, `[]` for
    # customers (FACTS.md), so those exact bodies must not be used there.
    assert CUSTOMERS.body == {} and isinstance(CUSTOMERS.body, dict)
    for probe in (ORDERS, CARTS, CHECKOUTS):
        assert probe.body == [] and isinstance(probe.body, list)


@pytest.mark.parametrize("status", [200, 201, 204, 400, 404, 422])
def test_write_probe_answers_that_prove_modify(status):
    assert CARTS.interpret(status) == Verdict.GRANTED


@pytest.mark.parametrize(
    ("status", "verdict"),
    [
        (401, Verdict.INVALID_TOKEN),
        (503, Verdict.TRANSIENT),  # one service's 503 (issue 27): unknown for now
        (507, Verdict.PLAN_LIMIT),
        (429, Verdict.TRANSIENT),
        (500, Verdict.TRANSIENT),
        (502, Verdict.TRANSIENT),
        (504, Verdict.TRANSIENT),
        (None, Verdict.TRANSIENT),
        (405, Verdict.UNEXPECTED),
        (302, Verdict.UNEXPECTED),
    ],
)
def test_write_probe_other_answers(status, verdict):
    assert CHECKOUTS.interpret(status) == verdict


@pytest.mark.parametrize(
    ("status", "verdict"),
    [
        (200, Verdict.GRANTED),
        (204, Verdict.GRANTED),
        (404, Verdict.UNEXPECTED),  # a collection read has no id to be refused for
        (400, Verdict.UNEXPECTED),
        (401, Verdict.INVALID_TOKEN),
        (507, Verdict.PLAN_LIMIT),
    ],
)
def test_read_probe_answers(status, verdict):
    assert INFORMATION.interpret(status) == verdict
    assert PRODUCTS.interpret(status) == verdict


DEGRADED = b'{"status":503,"title":"Service degraded","code":"SERVICE_DEGRADED","retry_after_seconds":5}'
V2_MAINTENANCE = b'[{"status":503,"message":"The store is currently unavailable (down for maintenance)."}]'
SUSPENDED = b'{"status":503,"title":"This store has been suspended."}'


@pytest.mark.parametrize("body", [DEGRADED, b'{"status":503,"title":"Service Unavailable"}', b"", None])
def test_a_503_is_the_store_s_only_on_a_store_level_probe(body):
    assert INFORMATION.interpret(503, body) == Verdict.UNAVAILABLE
    assert BASELINE.interpret(503, body) == Verdict.UNAVAILABLE
    for probe in (PRODUCTS, CUSTOMERS, ORDERS, CARTS, CHECKOUTS):
        assert probe.interpret(503, body) == Verdict.TRANSIENT, probe.path


@pytest.mark.parametrize("body", [V2_MAINTENANCE, SUSPENDED])
def test_a_503_that_says_maintenance_or_suspended_is_the_store_s_on_any_probe(body):
    for probe in PROBES:
        assert probe.interpret(503, body) == Verdict.UNAVAILABLE, probe.path


STORE_404 = b'{"status":404,"title":"Store not found.","type":"https://developer.bigcommerce.com/api#api-status-codes"}'
ROUTE_404 = b'[{"status":404,"message":"No route found for this endpoint."}]'
CHECKOUT_404 = b'{"status":404,"title":"Not Found","detail":"Checkout ' + NIL_UUID.encode() + b' was not found."}'
CART_404 = b'{"status":404,"title":"The resource at that URL is not found."}'


@pytest.mark.parametrize("probe", [CUSTOMERS, ORDERS, CARTS, CHECKOUTS], ids=lambda p: p.path)
def test_a_write_s_404_is_a_grant_only_when_it_is_about_the_resource(probe):
    for body in (CHECKOUT_404, CART_404, b"", None):
        assert probe.interpret(404, body) == Verdict.GRANTED, body
    for body in (STORE_404, ROUTE_404):
        assert probe.interpret(404, body) == Verdict.NOT_FOUND, body


@pytest.mark.parametrize("probe", [*PROBES, BASELINE], ids=lambda p: p.path)
def test_the_older_scope_error_wording_on_401_and_403_is_a_missing_scope(probe):
    older = b'{"status":401,"title":"You are authorized but your scope does not include this resource."}'
    assert probe.interpret(401, older) == Verdict.MISSING
    assert probe.interpret(403, older.replace(b"401", b"403")) == Verdict.MISSING
    assert probe.interpret(401, b'{"status":401,"title":"Unauthorized"}') == Verdict.INVALID_TOKEN


@pytest.mark.parametrize(
    ("status", "verdict"),
    [
        (200, Verdict.GRANTED),
        (404, Verdict.NOT_FOUND),
        (401, Verdict.INVALID_TOKEN),
        (503, Verdict.UNAVAILABLE),
        (500, Verdict.TRANSIENT),
        (None, Verdict.TRANSIENT),
    ],
)
def test_baseline_answers(status, verdict):
    assert BASELINE.interpret(status) == verdict


@pytest.mark.parametrize("probe", [*PROBES, BASELINE], ids=lambda p: p.path)
def test_a_403_is_a_missing_scope_only_with_the_scope_error(probe):
    assert probe.interpret(403, SCOPE_ERROR) == Verdict.MISSING
    for body in (OTHER_403, b"", None, b"Forbidden", b'{"status":403}', b"<html>403 Forbidden</html>"):
        assert probe.interpret(403, body) == Verdict.FORBIDDEN, body


@pytest.mark.parametrize(
    "body",
    [
        SCOPE_ERROR,
        SCOPE_ERROR.decode(),
        # case, whitespace, apostrophe variants
        '{"status":403,"title":"YOU DON\u2019T HAVE A REQUIRED SCOPE TO ACCESS THE ENDPOINT"}',
        '{"title":"  You  dont have a required\nscope to access the endpoint. "}',
        '{"title":"You don`t have a required scope to access the endpoint!"}',
        # the v2 list of errors
        '[{"status":403,"message":"You don\'t have a required scope to access the endpoint"}]',
        # other wordings of the same thing
        '{"status":403,"title":"Missing scope","errors":{}}',
        '{"status":403,"title":"Forbidden","error":{"message":"Insufficient scopes."}}',
        "You don't have a required scope to access the endpoint",  # plain text
    ],
)
def test_the_scope_error_is_recognised_tolerantly(body):
    assert is_scope_error(body)


@pytest.mark.parametrize(
    "body",
    [
        OTHER_403,
        '{"status":403,"title":"Authentication Required"}',
        '[{"status":403,"message":"You do not have permission to perform this action."}]',
        '{"status":403,"title":"Forbidden","errors":{"scope":"store_v2_orders"}}',  # a key is not a text
        "",
        None,
        "not json {",
    ],
)
def test_other_403_bodies_are_not_the_scope_error(body):
    assert not is_scope_error(body)
