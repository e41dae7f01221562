"""validate(): from BigCommerce's answers (faked with `responses`) to a Report."""

from __future__ import annotations

import asyncio
import json
import logging
import time

import pytest
import requests
import responses

from stores.bigcommerce.client import BigCommerceClient, RequestsTransport
from stores.bigcommerce.report import Credentials, Outcome, ScopeState
from stores.bigcommerce.validation import validate, validate_sync
from tests.fake_bigcommerce import (
    ALL_ENDPOINTS,
    BASE_URL,
    CARTS,
    CHECKOUTS,
    CREDENTIALS,
    CUSTOMERS,
    HEALTHY,
    MISSING_SCOPE_BODY,
    ORDERS,
    PROBE_ENDPOINTS,
    PRODUCTS,
    PROFILE,
    STORE,
    STORE_HASH,
    TIME,
    TOKEN,
    WRITE_ENDPOINTS,
    FakeTime,
    ScriptedTransport,
    add,
    add_store,
    make_client,
    requested,
    run,
    url,
)

ALL_SCOPES = [
    "store_v2_customers",
    "store_v2_information_read_only",
    "store_v2_orders",
    "store_v2_products_read_only",
    "store_cart",
    "store_checkout",
]
FORBIDDEN = (403, MISSING_SCOPE_BODY)


@pytest.fixture
def rsps():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def fake_time():
    return FakeTime()


def check(*, baseline: bool = True, fake_time: FakeTime | None = None, credentials=CREDENTIALS):
    return run(validate(credentials, client=make_client(fake_time=fake_time), baseline=baseline))


def states(report) -> dict[str, str]:
    return {scope: str(state) for scope, state in report.scopes.items()}


# --- a healthy store ---------------------------------------------------------------


def test_healthy_store_at_onboarding_is_connected_in_seven_requests(rsps):
    add_store(rsps)

    report = check()

    assert report.outcome == Outcome.CONNECTED and report.ok
    assert report.problems == []
    assert list(report.scopes) == ALL_SCOPES
    assert set(report.scopes.values()) == {ScopeState.GRANTED}
    assert sorted(requested(rsps)) == sorted(ALL_ENDPOINTS)
    assert [(e.method, e.path) for e in report.exchanges] == list(ALL_ENDPOINTS)


def test_healthy_periodic_check_costs_six_requests_and_no_baseline(rsps):
    add_store(rsps)

    report = check(baseline=False)

    assert report.outcome == Outcome.CONNECTED
    assert len(rsps.calls) == 6
    assert TIME not in requested(rsps)


def test_store_profile_keeps_only_known_fields(rsps):
    profile = {key: value for key, value in PROFILE.items() if key != "admin_email"}
    add_store(rsps, {STORE: (200, profile)})

    store = check().store

    assert store["name"] == "Awesome Store"
    assert store["plan_name"] == "Standard" and store["plan_is_trial"] is False
    assert store["timezone"] == {"name": "America/Chicago", "raw_offset": -21600}
    assert "admin_email" not in store  # missing upstream: tolerated
    assert "account_uuid" not in store and "features" not in store and "first_name" not in store


@pytest.mark.parametrize("body", [b"<html>oops</html>", b'{"id": "abc', b"\xff\xfe", b""])
def test_malformed_profile_gives_no_store_and_a_note_not_a_crash(rsps, body):
    add_store(rsps, {STORE: (200, body)})

    report = check()

    assert report.outcome == Outcome.CONNECTED
    assert report.store is None
    assert any("/v2/store" in note for note in report.notes)


def test_profile_that_is_not_an_object(rsps):
    add_store(rsps, {STORE: (200, ["abc123"])})
    report = check()
    assert report.store is None and report.notes


@pytest.mark.parametrize("status", [400, 404, 422])
@pytest.mark.parametrize("endpoint", WRITE_ENDPOINTS)
def test_write_refused_for_its_content_proves_modify(rsps, endpoint, status):
    add_store(rsps, {endpoint: (status, {"status": status})})
    report = check()
    assert report.outcome == Outcome.CONNECTED
    assert report.notes == []


@pytest.mark.parametrize("status", [200, 201, 204])
def test_write_accepted_proves_modify_but_is_noted(rsps, status):
    add_store(rsps, {CARTS: (status, None if status == 204 else {"data": {}})})

    report = check()

    assert report.outcome == Outcome.CONNECTED
    assert report.notes == [f"POST /v3/carts accepted a deliberately invalid body ({status})."]


def test_orders_answering_204_with_an_empty_body(rsps):
    add_store(rsps, {ORDERS: (204, None)})
    report = check()
    assert report.outcome == Outcome.CONNECTED
    assert report.scopes["store_v2_orders"] == ScopeState.GRANTED


# --- the token ----------------------------------------------------------------------


def test_401_on_the_baseline_with_a_plain_text_body_is_an_invalid_token(rsps):
    overrides = {endpoint: (401, "Unauthorized") for endpoint in ALL_ENDPOINTS}
    add_store(rsps, overrides)

    report = check()

    assert report.outcome == Outcome.INVALID_TOKEN and not report.ok
    assert [(p.field, p.code) for p in report.problems] == [("access_token", "invalid_token")]
    assert "access token" in report.problems[0].message
    assert set(report.scopes.values()) == {ScopeState.UNKNOWN}


def test_any_401_on_a_probe_is_an_invalid_token_without_a_baseline(rsps):
    add_store(rsps, {PRODUCTS: (401, {"status": 401, "title": "Unauthorized"})})

    report = check(baseline=False)

    assert report.outcome == Outcome.INVALID_TOKEN
    assert len(rsps.calls) == 6


# --- scopes -------------------------------------------------------------------------------


def test_403_with_the_observed_body_is_a_missing_scope(rsps):
    add_store(rsps, {CUSTOMERS: FORBIDDEN, ORDERS: FORBIDDEN})

    report = check()

    assert report.outcome == Outcome.MISSING_SCOPES
    assert report.missing_scopes == ["store_v2_customers", "store_v2_orders"]
    assert report.scopes["store_cart"] == ScopeState.GRANTED
    [problem] = report.problems
    assert (problem.field, problem.code) == ("", "missing_scopes")
    assert "Customers: modify" in problem.message and "Orders: modify" in problem.message
    assert "Carts" not in problem.message
    assert "create a new API account" in problem.message
    assert report.store["name"] == "Awesome Store"  # the profile still read


def test_read_only_variants_do_not_satisfy_modify(rsps):
    # A read-only token: reads work, every write is refused before body validation.
    add_store(rsps, dict.fromkeys(WRITE_ENDPOINTS, FORBIDDEN))

    report = check()

    assert report.outcome == Outcome.MISSING_SCOPES
    assert report.missing_scopes == [
        "store_v2_customers",
        "store_v2_orders",
        "store_cart",
        "store_checkout",
    ]
    for label in ("Customers: modify", "Orders: modify", "Carts: modify", "Checkouts: modify"):
        assert label in report.problems[0].message


def test_missing_information_scope_means_no_profile(rsps):
    add_store(rsps, {STORE: FORBIDDEN})
    report = check()
    assert report.missing_scopes == ["store_v2_information_read_only"]
    assert report.store is None
    assert "Information & settings: read-only" in report.problems[0].message


def test_missing_scopes_outrank_transient_failures(rsps, fake_time):
    add_store(rsps, {CUSTOMERS: FORBIDDEN, CARTS: (502, None)})

    report = check(fake_time=fake_time)

    assert report.outcome == Outcome.MISSING_SCOPES
    assert report.scopes["store_v2_customers"] == ScopeState.MISSING
    assert report.scopes["store_cart"] == ScopeState.UNKNOWN
    assert "We could not check Carts: modify" in report.problems[0].message


def test_token_without_any_scope_periodic_check_asks_the_baseline(rsps):
    add_store(rsps, dict.fromkeys(PROBE_ENDPOINTS, FORBIDDEN))

    report = check(baseline=False)

    assert requested(rsps)[-1] == TIME  # called only after every probe said 403
    assert len(rsps.calls) == 7
    assert report.outcome == Outcome.MISSING_SCOPES
    assert report.missing_scopes == ALL_SCOPES


# --- the store hash ---------------------------------------------------------------------


@pytest.mark.parametrize("status", [403, 404])
def test_baseline_refused_means_store_not_found(rsps, status):
    add_store(rsps, {endpoint: (status, {"status": status}) for endpoint in ALL_ENDPOINTS})

    report = check()

    assert report.outcome == Outcome.STORE_NOT_FOUND
    assert [(p.field, p.code) for p in report.problems] == [("api_path", "store_not_found")]
    assert set(report.scopes.values()) == {ScopeState.UNKNOWN}


def test_wrong_hash_in_a_periodic_check_is_explained_by_the_baseline(rsps):
    # Reads 404 and writes 403, as a wrong store path may answer; the checkout
    # probe's 404 would otherwise pass for "granted".
    overrides = {endpoint: (404, {"status": 404}) for endpoint in (STORE, PRODUCTS, CHECKOUTS)}
    overrides |= {endpoint: FORBIDDEN for endpoint in (CUSTOMERS, ORDERS, CARTS)}
    add_store(rsps, overrides | {TIME: (404, {"status": 404})})

    report = check(baseline=False)

    assert len(rsps.calls) == 7
    assert report.outcome == Outcome.STORE_NOT_FOUND


def test_unexplained_refusals_stay_unknown_when_the_baseline_does_not_answer(rsps, fake_time):
    no_answer = requests.exceptions.ConnectTimeout()
    add_store(rsps, dict.fromkeys(PROBE_ENDPOINTS, FORBIDDEN) | {TIME: no_answer})

    report = check(baseline=False, fake_time=fake_time)

    assert report.outcome == Outcome.UNREACHABLE
    assert set(report.scopes.values()) == {ScopeState.UNKNOWN}


def test_baseline_refused_but_probes_prove_the_store_exists(rsps):
    add_store(rsps, {TIME: (404, {"status": 404})})
    assert check().outcome == Outcome.CONNECTED


# --- availability --------------------------------------------------------------------------


def test_503_everywhere_is_store_unavailable_not_revoked(rsps):
    body = "Service Unavailable: store is down for maintenance"
    add_store(rsps, {endpoint: (503, body) for endpoint in ALL_ENDPOINTS})

    report = check()

    assert report.outcome == Outcome.STORE_UNAVAILABLE
    assert report.problems[0].field == "" and report.problems[0].code == "store_unavailable"
    assert len(rsps.calls) == 7  # 503 is an answer: never retried


DEGRADED = {"status": 503, "title": "Service degraded", "code": "SERVICE_DEGRADED", "retry_after_seconds": 30}


@pytest.mark.parametrize(
    "body",
    [None, DEGRADED, {"status": 503, "title": "Tax service gone away"}, {"title": "A service is likely down"}],
    ids=["empty", "degraded", "tax", "likely-down"],
)
def test_one_service_s_503_leaves_its_scope_unknown_and_says_nothing_of_maintenance(rsps, body):
    # Issue 27: /v2/time, /v2/store and the other probes answered normally.
    add_store(rsps, {PRODUCTS: (503, body)})

    report = check()

    assert report.outcome == Outcome.UNREACHABLE
    assert report.scopes["store_v2_products_read_only"] == ScopeState.UNKNOWN
    assert sum(state == ScopeState.GRANTED for state in report.scopes.values()) == 5
    message = report.problems[0].message
    assert "maintenance" not in message and "Products: read-only" in message
    assert any("503 for one service" in note for note in report.notes)


@pytest.mark.parametrize("endpoint", [STORE, TIME], ids=["v2-store", "v2-time"])
def test_a_503_from_a_store_level_answer_is_the_store_s(rsps, endpoint):
    # The same products 503 as above; now /v2/time or /v2/store says it is the store.
    unavailable = (503, {"status": 503, "title": "Service Unavailable"})
    add_store(rsps, {endpoint: unavailable, PRODUCTS: unavailable})
    report = check()
    assert report.outcome == Outcome.STORE_UNAVAILABLE
    assert "maintenance" in report.problems[0].message


def test_a_probe_s_503_that_says_maintenance_is_the_store_s(rsps):
    body = [{"status": 503, "message": "The store is currently unavailable (down for maintenance)."}]
    add_store(rsps, {CARTS: (503, body)})
    assert check().outcome == Outcome.STORE_UNAVAILABLE


def test_a_degraded_probe_that_recovers_after_its_retry_delay_is_connected(rsps, fake_time):
    add(rsps, PRODUCTS, 503, DEGRADED | {"retry_after_seconds": 2})
    add_store(rsps)

    report = check(fake_time=fake_time)

    assert report.outcome == Outcome.CONNECTED
    assert fake_time.waits == [2]


def test_a_507_is_a_plan_limit_not_a_passing_failure(rsps):
    body = {"status": 507, "title": "The store has reached the maximum number of products for its plan."}
    add_store(rsps, {CUSTOMERS: (507, body)})

    report = check()

    assert report.outcome == Outcome.PLAN_LIMIT
    assert len(rsps.calls) == 7  # not retried
    assert report.problems[0].code == "plan_limit"
    assert "limit of its plan" in report.problems[0].message
    assert "try again in a few minutes" not in report.problems[0].message
    assert any("507" in note for note in report.notes)


def test_a_missing_scope_outranks_a_plan_limit(rsps):
    add_store(rsps, {CUSTOMERS: (507, None), CARTS: (403, MISSING_SCOPE_BODY)})
    assert check().outcome == Outcome.MISSING_SCOPES


RESET_PAST_DEADLINE = {"X-Rate-Limit-Time-Reset-Ms": "25000", "X-Rate-Limit-Requests-Left": "0"}


def test_a_spent_quota_past_the_deadline_ends_rate_limited_never_a_credential_verdict(rsps, fake_time):
    # One probe meets the spent quota; the others said "scope error" and "401":
    # the check did not finish, so it says "rate limited, try later".
    add(rsps, PRODUCTS, 429, b"", headers=RESET_PAST_DEADLINE)
    add_store(rsps, {CARTS: (403, MISSING_SCOPE_BODY), ORDERS: (401, None)})

    report = check(fake_time=fake_time)

    assert report.outcome == Outcome.RATE_LIMITED
    assert not report.ok
    assert report.problems[0].code == "rate_limited"
    assert "Nothing is known to be wrong with your credentials" in report.problems[0].message
    assert fake_time.waits == []  # 25 s do not fit in 20


def test_a_429_without_rate_limit_headers_is_transient_not_rate_limited(rsps, fake_time):
    for _ in range(3):
        add(rsps, PRODUCTS, 429, b"")
    add_store(rsps)

    report = check(fake_time=fake_time)

    assert report.outcome == Outcome.UNREACHABLE
    assert len(fake_time.waits) == 2  # backed off


def test_a_scope_error_401_is_a_missing_scope_not_an_invalid_token(rsps):
    older = {"status": 401, "title": "You are authorized but your scope does not include this resource."}
    add_store(rsps, {CHECKOUTS: (401, older)})

    report = check()

    assert report.outcome == Outcome.MISSING_SCOPES
    assert report.missing_scopes == ["store_checkout"]


def test_the_older_scope_error_on_401_everywhere_is_credentials_rejected_not_missing_scopes(rsps):
    older = {"status": 401, "title": "You are authorized but your scope does not include this resource."}
    add_store(rsps, {endpoint: (401, older) for endpoint in ALL_ENDPOINTS})
    assert check().outcome == Outcome.CREDENTIALS_REJECTED


STORE_404 = {"status": 404, "title": "Store not found.", "type": "https://developer.bigcommerce.com/api#api-status-codes"}


def test_an_unknown_store_s_404_on_the_writes_is_not_a_grant(rsps):
    # Issue 27: without the baseline, the writes' 404s read as grants made the
    # store look half-connected; a 404 about the store proves no scope.
    add_store(rsps, {endpoint: (404, STORE_404) for endpoint in ALL_ENDPOINTS})

    report = check(baseline=False)

    assert report.outcome == Outcome.STORE_NOT_FOUND
    assert "granted" not in states(report).values()


def test_a_write_s_route_404_leaves_its_scope_unknown(rsps):
    add_store(rsps, {CHECKOUTS: (404, [{"status": 404, "message": "No route found for this endpoint."}])})

    report = check()

    assert report.outcome == Outcome.UNREACHABLE
    assert report.scopes["store_checkout"] == ScopeState.UNKNOWN
    assert any("about the store or the route" in note for note in report.notes)


@pytest.mark.parametrize("status", [500, 502, 504])
def test_a_server_error_then_success_is_connected(rsps, fake_time, status):
    add(rsps, ORDERS, status)
    add_store(rsps)

    report = check(fake_time=fake_time)

    assert report.outcome == Outcome.CONNECTED
    orders = next(e for e in report.exchanges if e.path == "/v2/orders")
    assert orders.attempts == 2


def test_rate_limited_then_success_is_connected(rsps, fake_time):
    add(rsps, STORE, 429, {"status": 429}, headers={"X-Rate-Limit-Time-Reset-Ms": "2000"})
    add_store(rsps)

    report = check(fake_time=fake_time)

    assert report.outcome == Outcome.CONNECTED
    assert report.store["name"] == "Awesome Store"
    assert fake_time.waits == [2.0]


def test_repeated_server_errors_leave_the_scope_unknown(rsps, fake_time):
    add_store(rsps, {CHECKOUTS: (500, {"status": 500})})

    report = check(fake_time=fake_time)

    assert report.outcome == Outcome.UNREACHABLE
    assert report.scopes["store_checkout"] == ScopeState.UNKNOWN
    assert report.scopes["store_cart"] == ScopeState.GRANTED
    assert "Checkouts: modify" in report.problems[0].message
    checkout = next(e for e in report.exchanges if e.path.startswith("/v3/checkouts"))
    assert checkout.attempts == 3 and checkout.status == 500


@pytest.mark.parametrize(
    "error",
    [requests.exceptions.ReadTimeout(), requests.ConnectionError("Connection reset by peer")],
)
def test_no_answer_anywhere_is_unreachable(rsps, fake_time, error):
    add_store(rsps, dict.fromkeys(ALL_ENDPOINTS, error))

    report = check(fake_time=fake_time)

    assert report.outcome == Outcome.UNREACHABLE
    assert set(report.scopes.values()) == {ScopeState.UNKNOWN}
    assert all(e.status is None and e.attempts == 3 for e in report.exchanges)
    assert len(rsps.calls) == 7 * 3


def test_unexpected_answer_is_unknown_and_noted(rsps):
    add_store(rsps, {PRODUCTS: (405, {"status": 405})})

    report = check()

    assert report.outcome == Outcome.UNREACHABLE
    assert report.notes == ["GET /v3/catalog/products?limit=1 answered 405, which the probe table does not explain."]


# --- malformed input ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("credentials", "field"),
    [
        (Credentials("ABC-123", TOKEN), "store_hash"),
        (Credentials(STORE_HASH, "has space"), "access_token"),
        (Credentials(STORE_HASH, ""), "access_token"),
    ],
)
def test_malformed_credentials_make_no_request(rsps, credentials, field):
    report = check(credentials=credentials)
    assert report.outcome == Outcome.MALFORMED_INPUT
    assert report.problems[0].field == field
    assert len(rsps.calls) == 0


# --- secrets ----------------------------------------------------------------------------------


def test_report_and_logs_never_contain_the_token(rsps, caplog, fake_time):
    caplog.set_level(logging.DEBUG)
    add_store(rsps, {CARTS: (201, {}), CUSTOMERS: FORBIDDEN, ORDERS: (500, None)})

    report = check(fake_time=fake_time)

    dumped = json.dumps(report.to_dict(evidence=True)) + repr(report)
    assert TOKEN not in dumped
    assert TOKEN not in caplog.text
    assert len(report.to_dict(evidence=True)["exchanges"]) == 7


# --- concurrency and latency -------------------------------------------------------------------


class BarrierTransport(ScriptedTransport):
    """Answers only once `parties` sends are in flight together."""

    def __init__(self, parties: int):
        super().__init__()
        self.barrier = asyncio.Barrier(parties)

    async def wait(self, method, url):
        await asyncio.wait_for(self.barrier.wait(), timeout=2)


@pytest.mark.parametrize(("baseline", "parties"), [(True, 7), (False, 6)])
def test_all_requests_are_in_flight_at_once(baseline, parties):
    transport = BarrierTransport(parties)
    client = BigCommerceClient(BASE_URL, transport, max_attempts=1)

    report = run(validate(CREDENTIALS, client=client, baseline=baseline))

    assert report.outcome == Outcome.CONNECTED  # a sequential check would time out at the barrier
    assert transport.max_in_flight == parties


def test_onboarding_answer_takes_about_one_round_trip(rsps):
    latency = 0.3

    def slow(answer):
        def callback(request):
            time.sleep(latency)
            status, body = answer
            return status, {}, json.dumps(body)

        return callback

    for endpoint, answer in HEALTHY.items():
        rsps.add_callback(endpoint[0], url(endpoint), callback=slow(answer))
    started = time.monotonic()

    report = validate_sync(CREDENTIALS, base_url=BASE_URL)

    elapsed = time.monotonic() - started
    assert report.outcome == Outcome.CONNECTED
    assert elapsed < latency * 1.2 + 0.1, f"took {elapsed:.3f}s for a {latency}s round trip"


def test_one_client_serves_many_concurrent_validations():
    transport = ScriptedTransport(latency=0.01)
    client = BigCommerceClient(BASE_URL, transport)

    async def fleet():
        return await asyncio.gather(*(validate(CREDENTIALS, client=client) for _ in range(300)))

    reports = run(fleet())

    assert {report.outcome for report in reports} == {Outcome.CONNECTED}
    assert len(transport.sent) == 300 * 7
    assert transport.max_in_flight > 7


# --- the sync helper ---------------------------------------------------------------------------


def test_validate_sync_for_the_wizard(rsps):
    add_store(rsps)
    report = validate_sync(CREDENTIALS, base_url=BASE_URL + "/", baseline=True)
    assert report.outcome == Outcome.CONNECTED
    assert len(rsps.calls) == 7


def test_validate_sync_passes_client_options(rsps):
    add_store(rsps, {TIME: (502, None)})
    report = validate_sync(CREDENTIALS, base_url=BASE_URL, max_attempts=1, user_agent="Wizard/1")
    assert report.outcome == Outcome.CONNECTED
    assert len(rsps.calls) == 7
    assert {c.request.headers["User-Agent"] for c in rsps.calls} == {"Wizard/1"}


def test_validate_sync_keeps_a_shared_transport_open(rsps):
    add_store(rsps)
    transport = RequestsTransport()
    closed = []
    original_close = transport.close

    async def close():
        closed.append(True)
        await original_close()

    transport.close = close

    for _ in range(2):
        assert validate_sync(CREDENTIALS, base_url=BASE_URL, transport=transport).ok
    assert closed == []
    run(original_close())


def test_validate_sync_refuses_to_run_inside_an_event_loop():
    async def inside():
        validate_sync(CREDENTIALS, base_url=BASE_URL)

    with pytest.raises(RuntimeError, match="event loop"):
        run(inside())


# --- a 403 is not always a missing scope (docs/bigcommerce/answers.json) ---------------------

OTHER_403 = (
    403,
    {
        "status": 403,
        "title": "Forbidden",
        "error": {"message": "Forbidden. Operation cannot be performed with existing privileges."},
    },
)
V2_SCOPE_ERROR = (403, [{"status": 403, "message": "You don’t have a required scope to access the endpoint."}])


def test_a_403_without_the_scope_error_is_forbidden_not_a_missing_scope(rsps):
    add_store(rsps, {CUSTOMERS: OTHER_403})

    report = check()

    assert report.outcome == Outcome.FORBIDDEN and not report.ok
    assert report.missing_scopes == []
    assert report.scopes["store_v2_customers"] == ScopeState.UNKNOWN
    [problem] = report.problems
    assert problem.code == "forbidden"
    assert "refused this request for another reason" in problem.message
    assert "new API account would not help" in problem.message
    assert "create a new API account" not in problem.message
    # BigCommerce's own words are kept for staff, in the exchange and the notes.
    [exchange] = [e for e in report.exchanges if e.path == "/v3/customers"]
    assert "Operation cannot be performed with existing privileges" in exchange.detail
    assert any("Operation cannot be performed" in note for note in report.notes)


def test_the_v2_list_shaped_scope_error_is_a_missing_scope(rsps):
    add_store(rsps, {ORDERS: V2_SCOPE_ERROR})
    report = check()
    assert report.outcome == Outcome.MISSING_SCOPES
    assert report.missing_scopes == ["store_v2_orders"]


def test_a_missing_scope_outranks_a_forbidden_probe(rsps):
    add_store(rsps, {CUSTOMERS: OTHER_403, ORDERS: FORBIDDEN})
    report = check()
    assert report.outcome == Outcome.MISSING_SCOPES
    assert report.missing_scopes == ["store_v2_orders"]
    assert report.scopes["store_v2_customers"] == ScopeState.UNKNOWN


def test_every_probe_refused_for_another_reason_on_a_store_that_answers(rsps):
    add_store(rsps, dict.fromkeys(PROBE_ENDPOINTS, OTHER_403))
    report = check()
    assert report.outcome == Outcome.FORBIDDEN  # /v2/time answered: the store and token are fine
    assert report.missing_scopes == []


def test_a_docs_conformant_v2_time_without_the_information_scope_is_no_missing_store(rsps):
    # BigCommerce's docs put /v2/time under Information & settings: a token
    # without that scope would get the scope error there while the rest works.
    add_store(rsps, {TIME: FORBIDDEN, STORE: FORBIDDEN})

    report = check()

    assert report.outcome == Outcome.MISSING_SCOPES
    assert report.missing_scopes == ["store_v2_information_read_only"]


def test_scope_errors_everywhere_including_the_baseline_are_not_called_missing_scopes(rsps):
    # A token with no scope at all on a docs-conformant /v2/time, or an unknown
    # store hash answered with the scope error: the answers cannot tell.
    add_store(rsps, dict.fromkeys(ALL_ENDPOINTS, FORBIDDEN))

    report = check()

    assert report.outcome == Outcome.CREDENTIALS_REJECTED
    assert report.missing_scopes == []
    [problem] = report.problems
    assert problem.code == "credentials_rejected"
    assert "the Access token or the store hash in the API path is wrong" in problem.message


def test_an_invalid_token_message_admits_the_store_hash_may_be_wrong(rsps):
    add_store(rsps, dict.fromkeys(ALL_ENDPOINTS, (401, "Unauthorized")))
    report = check()
    assert report.outcome == Outcome.INVALID_TOKEN
    assert "the Access token or the store hash in the API path is wrong" in report.problems[0].message


def test_a_huge_error_body_is_kept_bounded(rsps):
    huge = {"status": 403, "title": "Forbidden " + "x" * 200_000}
    add_store(rsps, {CUSTOMERS: (403, huge)})
    report = check()
    assert report.outcome == Outcome.FORBIDDEN
    [exchange] = [e for e in report.exchanges if e.path == "/v3/customers"]
    assert exchange.detail.startswith("Forbidden xxx") and len(exchange.detail) <= 200
