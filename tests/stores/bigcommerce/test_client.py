"""BigCommerceClient over RequestsTransport, with BigCommerce faked by `responses`."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import threading
import time

import pytest
import requests
import responses
from requests.structures import CaseInsensitiveDict
from urllib3.exceptions import ProtocolError, ReadTimeoutError

from stores.bigcommerce.client import (
    NO_BODY,
    BigCommerceClient,
    RawResponse,
    RequestsTransport,
    TransportError,
    normalise_path,
)
from tests.fake_bigcommerce import (
    BASE_URL,
    RATE_HEADERS,
    STORE_HASH,
    STORE_URL,
    TOKEN,
    FakeTime,
    ScriptedTransport,
    make_client,
    run,
)

TIME_URL = f"{STORE_URL}/v2/time"


def get_time(client: BigCommerceClient, **kwargs):
    return run(client.request("GET", STORE_HASH, "/v2/time", access_token=TOKEN, **kwargs))


def reset_error() -> requests.ConnectionError:
    """What requests raises when the peer resets the connection."""
    reason = ConnectionResetError(104, "Connection reset by peer")
    return requests.ConnectionError(ProtocolError("Connection aborted.", reason))


@pytest.fixture
def rsps():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def fake_time():
    return FakeTime()


@pytest.fixture
def client(fake_time):
    return make_client(fake_time=fake_time)


# --- URLs and headers -----------------------------------------------------------


def test_base_url_with_trailing_slash_and_messy_path_are_normalised(rsps, fake_time):
    client = make_client(fake_time=fake_time)
    client_slash = BigCommerceClient(BASE_URL + "//", RequestsTransport())
    expected = f"{STORE_URL}/v3/catalog/products?limit=1"
    assert client_slash.url_for(STORE_HASH, "v3//catalog/products/?limit=1") == expected
    rsps.add("GET", expected, json={"data": []})

    call = run(
        client.request("GET", STORE_HASH, "//v3/catalog//products/?limit=1", access_token=TOKEN)
    )

    assert rsps.calls[0].request.url == expected
    assert call.exchange.path == "/v3/catalog/products?limit=1"


@pytest.mark.parametrize(
    "store_hash",
    ["", "ABC123", "abc-123", "abc123\n", "abc 123", "a" * 21, "evil.com", "abc/../x", "äbc"],
)
def test_malformed_store_hash_is_refused_before_any_request(rsps, client, store_hash):
    with pytest.raises(ValueError, match="store hash"):
        run(client.request("GET", store_hash, "/v2/time", access_token=TOKEN))
    assert len(rsps.calls) == 0


@pytest.mark.parametrize("path", ["/v4/time", "/time", "/v2/../v3/x", "/v3/./x", "/v3/http://evil"])
def test_paths_outside_the_api_are_refused(client, path):
    with pytest.raises(ValueError):
        client.url_for(STORE_HASH, path)


@pytest.mark.parametrize("base_url", ["api.bigcommerce.com", "ftp://x", "https://x?y=1", ""])
def test_base_url_must_be_http(base_url):
    with pytest.raises(ValueError):
        BigCommerceClient(base_url, RequestsTransport())


def test_normalise_path_keeps_query():
    assert normalise_path("v2/orders/?limit=1&page=2") == "/v2/orders?limit=1&page=2"


def test_get_sends_auth_accept_and_user_agent_but_no_content_type(rsps, client):
    rsps.add("GET", TIME_URL, json={"time": 1})

    get_time(client)

    headers = rsps.calls[0].request.headers
    assert headers["X-Auth-Token"] == TOKEN
    assert headers["Accept"] == "application/json"
    assert headers["User-Agent"] == "VioletConnect/0.1 (+https://violet.io)"
    assert "Content-Type" not in headers
    assert "X-Auth-Client" not in headers
    assert rsps.calls[0].request.body is None


def test_post_sends_compact_json_with_content_type(rsps, client):
    rsps.add("POST", f"{STORE_URL}/v3/carts", status=422, json={})

    run(client.request("POST", STORE_HASH, "/v3/carts", access_token=TOKEN, json_body=[]))

    request = rsps.calls[0].request
    assert request.headers["Content-Type"] == "application/json"
    assert request.body == b"[]"


def test_custom_user_agent(rsps, fake_time):
    rsps.add("GET", TIME_URL, json={"time": 1})
    get_time(make_client(fake_time=fake_time, user_agent="Fleet/2"))
    assert rsps.calls[0].request.headers["User-Agent"] == "Fleet/2"


@pytest.mark.parametrize("token", ["", "tok en", "tok\r\nX-Evil: 1", "tøken", "tok\n"])
def test_malformed_token_is_refused_without_quoting_it(rsps, client, token):
    with pytest.raises(ValueError) as caught:
        run(client.request("GET", STORE_HASH, "/v2/time", access_token=token))
    assert str(caught.value) == "access token must be printable ASCII without spaces"
    assert len(rsps.calls) == 0


def test_cookies_are_never_sent_back(rsps, client):
    rsps.add("GET", TIME_URL, json={"time": 1}, headers={"Set-Cookie": "lb=node7; Path=/"})
    rsps.add("GET", TIME_URL, json={"time": 2})

    get_time(client)
    get_time(client)

    assert "Cookie" not in rsps.calls[1].request.headers


# --- answers that are never retried --------------------------------------------------


@pytest.mark.parametrize("status", [200, 201, 204, 400, 401, 403, 404, 422, 503, 507])
def test_answers_are_not_retried(rsps, client, fake_time, status):
    rsps.add("GET", TIME_URL, status=status, body=b"")

    call = get_time(client)

    assert len(rsps.calls) == 1
    assert fake_time.waits == []
    assert call.status == status
    assert call.exchange.attempts == 1
    assert call.exchange.error == ""


def test_plain_text_401_is_an_answer(rsps, client):
    rsps.add("GET", TIME_URL, status=401, body="Unauthorized", content_type="text/plain")
    call = get_time(client)
    assert call.status == 401
    assert call.response.body == b"Unauthorized"


# --- retries ------------------------------------------------------------------------------


def test_429_waits_the_announced_reset_then_succeeds(rsps, client, fake_time):
    rsps.add(
        "GET", TIME_URL, status=429, headers=RATE_HEADERS | {"X-Rate-Limit-Time-Reset-Ms": "1500"}
    )
    rsps.add("GET", TIME_URL, json={"time": 1}, headers=RATE_HEADERS)

    call = get_time(client)

    assert call.status == 200
    assert fake_time.waits == [1.5]
    assert call.exchange.attempts == 2
    assert call.exchange.rate_limit == RATE_HEADERS


def test_429_waits_the_whole_reset_however_long(rsps, fake_time):
    # Issue 27: a 10 s cap retried into the same spent quota; the reset is waited in full.
    client = make_client(fake_time=fake_time)
    rsps.add("GET", TIME_URL, status=429, headers={"X-Rate-Limit-Time-Reset-Ms": "15000"})
    rsps.add("GET", TIME_URL, json={"time": 1})

    call = get_time(client)

    assert call.status == 200
    assert fake_time.waits == [15]
    assert call.exchange.error == ""


@pytest.mark.parametrize(("reset_ms", "retry_after", "wait"), [("4000", "6", 6.0), ("7000", "2", 7.0)])
def test_429_waits_the_longer_of_the_reset_and_x_retry_after(rsps, client, fake_time, reset_ms, retry_after, wait):
    headers = {"X-Rate-Limit-Time-Reset-Ms": reset_ms, "X-Retry-After": retry_after}
    rsps.add("GET", TIME_URL, status=429, headers=headers)
    rsps.add("GET", TIME_URL, json={"time": 1})

    assert get_time(client).status == 200
    assert fake_time.waits == [wait]


def test_a_reset_past_the_deadline_ends_rate_limited_without_waiting(rsps, fake_time):
    client = make_client(fake_time=fake_time, deadline=20)
    rsps.add("GET", TIME_URL, status=429, body=b"", headers={"X-Rate-Limit-Time-Reset-Ms": "25000"})

    call = get_time(client)

    assert len(rsps.calls) == 1
    assert fake_time.waits == []
    assert call.status == 429
    assert call.exchange.error == "rate_limited"


def test_while_a_store_s_quota_is_spent_its_other_calls_wait_or_give_up_unsent(rsps, fake_time):
    other_url = TIME_URL.replace(STORE_HASH, "other1")
    client = make_client(fake_time=fake_time, deadline=20)
    rsps.add("GET", TIME_URL, status=429, headers={"X-Rate-Limit-Time-Reset-Ms": "25000"})
    rsps.add("GET", other_url, json={"time": 1})

    first = get_time(client)
    second = run(client.request("GET", STORE_HASH, "/v2/store", access_token=TOKEN))
    other = run(client.request("GET", "other1", "/v2/time", access_token=TOKEN))

    assert first.exchange.error == second.exchange.error == "rate_limited"
    assert second.status is None and second.exchange.attempts == 0  # never sent
    assert other.status == 200  # another store's quota is its own
    assert [call.request.url for call in rsps.calls] == [TIME_URL, other_url]

    fake_time.now += 25  # the reset passed: the store is called again
    rsps.add("GET", TIME_URL, json={"time": 1})
    assert get_time(client).status == 200


def test_the_store_s_other_calls_wait_for_the_reset_instead_of_spending_a_request():
    """Real time: one call meets the spent quota; a call of the same store sent just
    after waits for the reset instead of meeting it too."""

    class Quota:
        def __init__(self):
            self.reset_at = None
            self.sent = []

        async def send(self, method, url, *, headers, body, connect_timeout, read_timeout):
            now = time.monotonic()
            self.sent.append((url, now))
            if self.reset_at is None:
                self.reset_at = now + 0.3
            if now < self.reset_at:
                return RawResponse(429, CaseInsensitiveDict({"X-Rate-Limit-Time-Reset-Ms": "300"}), b"")
            return RawResponse(200, CaseInsensitiveDict(), b"{}")

        async def close(self):
            pass

    transport = Quota()
    client = BigCommerceClient(BASE_URL, transport, deadline=5)

    async def both():
        first = asyncio.create_task(client.request("GET", STORE_HASH, "/v2/time", access_token=TOKEN))
        await asyncio.sleep(0.05)
        second = await client.request("GET", STORE_HASH, "/v2/store", access_token=TOKEN)
        return await first, second

    first, second = asyncio.run(both())

    assert first.status == second.status == 200
    assert second.exchange.attempts == 1  # it waited, then spent one request
    assert len(transport.sent) == 3  # the 429, then one request each


def test_429_with_retry_after_only(rsps, client, fake_time):
    rsps.add("GET", TIME_URL, status=429, headers={"X-Retry-After": "2"})
    rsps.add("GET", TIME_URL, json={"time": 1})

    assert get_time(client).status == 200
    assert fake_time.waits == [2.0]


def test_429_without_headers_backs_off_exponentially(rsps, client, fake_time):
    rsps.add("GET", TIME_URL, status=429)
    rsps.add("GET", TIME_URL, status=429, headers={"X-Rate-Limit-Time-Reset-Ms": "soon"})
    rsps.add("GET", TIME_URL, json={"time": 1})

    call = get_time(client)

    assert call.status == 200
    # random() is 0.5: full jitter of 0.5 * 2**0 and 0.5 * 2**1
    assert fake_time.waits == [0.25, 0.5]
    assert call.exchange.attempts == 3


DEGRADED = {"status": 503, "title": "Service degraded", "code": "SERVICE_DEGRADED", "retry_after_seconds": 3}


@pytest.mark.parametrize(
    ("headers", "body", "wait"),
    [({}, DEGRADED, 3.0), ({"Retry-After": "4"}, {"status": 503, "title": "Service Unavailable"}, 4.0)],
    ids=["retry_after_seconds", "Retry-After"],
)
def test_a_503_with_a_retry_delay_is_retried_after_it(rsps, client, fake_time, headers, body, wait):
    rsps.add("GET", TIME_URL, status=503, json=body, headers=headers)
    rsps.add("GET", TIME_URL, json={"time": 1})

    call = get_time(client)

    assert call.status == 200
    assert fake_time.waits == [wait]
    assert call.exchange.attempts == 2


def test_a_503_whose_delay_does_not_fit_the_deadline_is_the_answer(rsps, fake_time):
    client = make_client(fake_time=fake_time, deadline=20)
    rsps.add("GET", TIME_URL, status=503, json=DEGRADED | {"retry_after_seconds": 30})

    call = get_time(client)

    assert call.status == 503
    assert len(rsps.calls) == 1
    assert fake_time.waits == []


@pytest.mark.parametrize("status", [500, 502, 504])
def test_server_errors_are_retried_then_succeed(rsps, client, fake_time, status):
    rsps.add("GET", TIME_URL, status=status)
    rsps.add("GET", TIME_URL, json={"time": 1})

    call = get_time(client)

    assert call.status == 200
    assert call.exchange.attempts == 2
    assert fake_time.waits == [0.25]


def test_repeated_server_errors_give_up_after_max_attempts(rsps, client, fake_time):
    rsps.add("GET", TIME_URL, status=502)

    call = get_time(client)

    assert call.status == 502
    assert len(rsps.calls) == 3
    assert call.exchange.attempts == 3
    assert fake_time.waits == [0.25, 0.5]


def test_max_attempts_is_configurable(rsps, fake_time):
    rsps.add("GET", TIME_URL, status=500)
    call = get_time(make_client(fake_time=fake_time, max_attempts=5))
    assert len(rsps.calls) == 5
    assert call.exchange.attempts == 5


def test_backoff_is_full_jitter_below_the_exponential_ceiling(rsps, fake_time):
    client = make_client(fake_time=fake_time, random=lambda: 0.999, backoff_base=1)
    rsps.add("GET", TIME_URL, status=500)

    get_time(client)

    assert len(fake_time.waits) == 2
    assert 0.99 < fake_time.waits[0] < 1
    assert 1.99 < fake_time.waits[1] < 2


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (requests.exceptions.ConnectTimeout("connect timed out"), "timeout"),
        (requests.exceptions.ReadTimeout("read timed out"), "timeout"),
        (reset_error(), "reset"),
        # requests' report of a read timeout while reading the body
        (
            requests.ConnectionError(ReadTimeoutError(None, "/v2/time", "Read timed out.")),
            "timeout",
        ),
        (requests.ConnectionError("Failed to establish a new connection"), "connection_error"),
        (requests.exceptions.ChunkedEncodingError("incomplete read"), "read_error"),
    ],
)
def test_no_answer_is_retried_then_reported_with_its_kind(rsps, client, fake_time, error, kind):
    rsps.add("GET", TIME_URL, body=error)

    call = get_time(client)

    assert call.status is None
    assert call.response is None
    assert call.exchange.error == kind
    assert call.exchange.attempts == 3
    assert fake_time.waits == [0.25, 0.5]


def test_timeout_then_success(rsps, client):
    rsps.add("GET", TIME_URL, body=requests.exceptions.ReadTimeout())
    rsps.add("GET", TIME_URL, json={"time": 1})

    call = get_time(client)

    assert call.status == 200
    assert call.exchange.error == ""
    assert call.exchange.attempts == 2


def test_waits_never_go_past_the_deadline(rsps, fake_time):
    client = make_client(fake_time=fake_time, max_attempts=10, deadline=20)
    rsps.add("GET", TIME_URL, status=429, headers={"X-Rate-Limit-Time-Reset-Ms": "8000"})

    call = get_time(client)

    # t=0 429, wait 8; t=8 429, wait 8; t=16 429, and another 8 s would end past 20.
    assert fake_time.waits == [8, 8]
    assert call.exchange.attempts == 3
    assert call.status == 429
    assert call.exchange.elapsed_ms == 16000


def test_a_hung_server_is_cut_off_at_the_deadline():
    class Hung(ScriptedTransport):
        async def wait(self, method, url):
            await asyncio.sleep(30)

    transport = Hung()
    client = BigCommerceClient(BASE_URL, transport, deadline=0.2, backoff_base=0.01)
    started = time.monotonic()

    call = get_time(client)

    assert time.monotonic() - started < 1.5
    assert call.status is None
    assert call.exchange.error == "timeout"
    assert len(transport.sent) == 1


def test_the_deadline_shrinks_the_transport_timeouts():
    seen = []

    class Recording(ScriptedTransport):
        async def send(self, method, url, *, headers, body, connect_timeout, read_timeout):
            seen.append((connect_timeout, read_timeout))
            return await super().send(
                method, url, headers=headers, body=body,
                connect_timeout=connect_timeout, read_timeout=read_timeout,
            )  # fmt: skip

    get_time(BigCommerceClient(BASE_URL, Recording(), deadline=3))

    connect, read = seen[0]
    assert 2.5 < connect <= 3 and 2.5 < read <= 3


def test_writes_with_invalid_bodies_are_retried_safely_and_bounded(rsps, client):
    rsps.add("POST", f"{STORE_URL}/v2/orders", status=504)
    rsps.add("POST", f"{STORE_URL}/v2/orders", status=400, json=[{"status": 400}])

    call = run(client.request("POST", STORE_HASH, "/v2/orders", access_token=TOKEN, json_body=[]))

    assert call.status == 400
    assert [c.request.body for c in rsps.calls] == [b"[]", b"[]"]


# --- evidence and secrets ----------------------------------------------------------------


def test_exchange_is_evidence_without_the_token_or_the_body(rsps, client):
    rsps.add("POST", f"{STORE_URL}/v3/customers", status=422, json={"title": "bad"})

    call = run(
        client.request(
            "POST", STORE_HASH, "/v3/customers", access_token=TOKEN, json_body={"marker": "BODY"}
        )
    )

    text = json.dumps(dataclasses.asdict(call.exchange)) + repr(call.exchange)
    assert TOKEN not in text
    assert "BODY" not in text
    assert call.exchange.method == "POST"
    assert call.exchange.path == "/v3/customers"
    assert call.exchange.status == 422


def test_requests_failures_become_transport_errors_that_hold_no_request():
    transport = RequestsTransport()
    with responses.RequestsMock() as mock:
        mock.add("GET", TIME_URL, body=reset_error())
        with pytest.raises(TransportError) as caught:
            run(
                transport.send(
                    "GET",
                    TIME_URL,
                    headers={"X-Auth-Token": TOKEN},
                    body=None,
                    connect_timeout=1,
                    read_timeout=1,
                )  # fmt: skip
            )
    error = caught.value
    assert error.kind == "reset"
    assert TOKEN not in str(error) and TOKEN not in repr(error)
    assert error.__cause__ is None and error.__context__ is None


def test_no_body_marker_is_distinct_from_empty_json():
    assert NO_BODY is not None and NO_BODY != {} and NO_BODY != []


def test_token_never_reaches_the_logs(rsps, client, caplog):
    caplog.set_level("DEBUG")
    rsps.add("GET", TIME_URL, status=500)
    rsps.add("GET", TIME_URL, body=reset_error())
    rsps.add("GET", TIME_URL, status=401, body="Unauthorized")

    get_time(client)

    assert caplog.records, "the client should log its calls at DEBUG"
    assert TOKEN not in caplog.text


# --- lifecycle and concurrency ------------------------------------------------------------


def test_async_context_manager_closes_the_transport():
    transport = ScriptedTransport()

    async def use():
        async with BigCommerceClient(BASE_URL, transport) as client:
            await client.request("GET", STORE_HASH, "/v2/time", access_token=TOKEN)

    run(use())
    assert transport.closed


def test_requests_transport_really_runs_seven_sends_at_once(rsps):
    barrier = threading.Barrier(7, timeout=5)

    def meet(request):
        barrier.wait()  # raises BrokenBarrierError unless 7 threads arrive together
        return 200, {}, b"{}"

    rsps.add_callback("GET", TIME_URL, callback=meet)
    transport = RequestsTransport()

    async def seven():
        client = BigCommerceClient(BASE_URL, transport, max_attempts=1)
        return await asyncio.gather(
            *(client.request("GET", STORE_HASH, "/v2/time", access_token=TOKEN) for _ in range(7))
        )

    calls = run(seven())
    run(transport.close())
    assert [call.status for call in calls] == [200] * 7


def test_requests_transport_is_reusable_across_event_loops(rsps):
    rsps.add("GET", TIME_URL, json={"time": 1})
    client = BigCommerceClient(BASE_URL, RequestsTransport())
    assert get_time(client).status == 200
    assert get_time(client).status == 200  # a second asyncio.run, same session and pool


@pytest.mark.parametrize("body", [b"[" * 100_000, b'{"a":' * 50_000 + b"1" + b"}" * 50_000])
def test_a_deeply_nested_body_is_read_as_text_never_a_crash(body):
    """json.loads raises RecursionError (not ValueError) on such a body: one answer would end the check."""
    from stores.bigcommerce.client import error_texts, unavailable_retry_delay

    assert error_texts(body)  # the body as plain text
    assert unavailable_retry_delay(RawResponse(503, CaseInsensitiveDict(), body)) is None
