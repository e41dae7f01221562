"""/api/v1/proxy/<store_hash>/<v2|v3 path>: Violet's services call BigCommerce
through the portal and never hold the token. Real servers on loopback: the
portal's ASGI application under uvicorn, a stand-in for BigCommerce."""

from __future__ import annotations

import asyncio
import http.client
import json
import logging
import time

import pytest
import requests
from aiohttp import web

from api.service_clients import service_client_revoke
from stores.models import Credential, Store
from stores.proxy_targets import QUOTAS, TOKENS
from tests.api.clients import service_client
from tests.api.proxy_servers import fake_bigcommerce, serving_portal
from tests.conftest import ACME_TOKEN
from tests.leaks import assert_no_secret

pytestmark = pytest.mark.django_db(transaction=True)

NEW_TOKEN = "n3wt0k3nacme9x8w7v6u5s4r3q2p1o0"


@pytest.fixture(scope="module")
def portal():
    with serving_portal() as url:
        yield url


@pytest.fixture(scope="module")
def _upstream():
    with fake_bigcommerce() as fake:
        yield fake


@pytest.fixture
def upstream(_upstream, settings):
    settings.BIGCOMMERCE_API_URL = _upstream.url
    _upstream.seen.clear()
    _upstream.reply = None
    _upstream.answer_first = False
    TOKENS.clear()
    QUOTAS.clear()
    from django.core.cache import cache

    cache.clear()
    yield _upstream


@pytest.fixture
def reader(db):
    return service_client(name="catalog-sync", scopes=["proxy:read"])[1]


@pytest.fixture
def writer(db):
    return service_client(name="order-sync", scopes=["proxy:read", "proxy:write"])[1]


def call(portal, secret, path, method="GET", **kwargs):
    headers = {"Authorization": f"Bearer {secret}", **kwargs.pop("headers", {})}
    return requests.request(method, f"{portal}/api/v1/proxy/{path}", headers=headers, timeout=10, **kwargs)


def test_a_get_reaches_the_store_with_its_token_and_comes_back(portal, upstream, reader, acme_store, caplog):
    caplog.set_level(logging.DEBUG)
    response = call(
        portal, reader, "acme123/v3/catalog/summary?include=x&limit=5",
        headers={"Cookie": "sessionid=abc", "X-Auth-Token": "forged", "Accept": "application/json",
                 "Connection": "keep-alive, X-Secret-Hop", "X-Secret-Hop": "1"},
    )
    assert response.status_code == 200
    assert response.json() == {"data": {"ok": True}}
    assert response.headers["X-Rate-Limit-Requests-Left"] == "149"
    assert response.headers["Cache-Control"] == "no-store"
    [seen] = upstream.seen
    assert seen.path_qs == "/stores/acme123/v3/catalog/summary?include=x&limit=5"
    assert seen.headers["X-Auth-Token"] == ACME_TOKEN
    assert seen.headers["Accept"] == "application/json"
    for dropped in ("Authorization", "Cookie", "X-Secret-Hop", "X-Forwarded-For"):
        assert dropped not in seen.headers
    assert_no_secret(caplog.text + str(dict(response.headers)) + response.text, [ACME_TOKEN, reader])


def test_cookies_and_hop_by_hop_headers_do_not_come_back(portal, upstream, reader, acme_store):
    upstream.reply = lambda request: web.Response(
        text="{}", content_type="application/json",
        headers={"Set-Cookie": "SHOP_SESSION=1", "Keep-Alive": "timeout=99", "Server": "nginx/bc",
                 "X-Secret-Hop": "1", "ETag": '"abc"'},
    )
    response = call(portal, reader, "acme123/v2/store")
    assert response.status_code == 200 and response.headers["ETag"] == '"abc"'
    for dropped in ("Set-Cookie", "Keep-Alive", "X-Secret-Hop"):
        assert dropped not in response.headers
    assert "nginx/bc" not in response.headers.get("Server", "")


def test_bigcommerce_s_own_errors_pass_through_unchanged(portal, upstream, reader, acme_store):
    upstream.reply = lambda request: web.json_response(
        {"status": 422, "title": "Invalid field"}, status=422
    )
    response = call(portal, reader, "acme123/v3/catalog/products")
    assert response.status_code == 422 and response.json()["title"] == "Invalid field"
    assert "X-Violet-Proxy" not in response.headers


def test_writes_need_proxy_write_and_carry_their_body(portal, upstream, reader, writer, acme_store):
    refused = call(portal, reader, "acme123/v2/orders", method="POST", json={"a": 1})
    assert refused.status_code == 403 and refused.headers["X-Violet-Proxy"] == "refused"
    assert "proxy:write" in refused.json()["error"]["message"]
    assert upstream.seen == []
    sent = call(portal, writer, "acme123/v2/orders", method="POST", json={"a": 1})
    assert sent.status_code == 200
    [seen] = upstream.seen
    assert (seen.method, seen.body, seen.headers["Content-Type"]) == ("POST", b'{"a": 1}', "application/json")


def test_no_secret_an_unknown_one_or_a_revoked_client_gets_401(portal, upstream, db, acme_store):
    client, secret = service_client(name="gone", scopes=["proxy:read"])
    assert call(portal, "", "acme123/v2/store").status_code == 401
    assert call(portal, "vcs_" + "x" * 40, "acme123/v2/store").status_code == 401
    assert call(portal, secret, "acme123/v2/store").status_code == 200
    service_client_revoke(client=client)
    answer = call(portal, secret, "acme123/v2/store")
    assert answer.status_code == 401 and answer.headers["WWW-Authenticate"].startswith("Bearer")
    assert len(upstream.seen) == 1


def test_a_client_outside_its_networks_is_refused(portal, upstream, db, acme_store):
    _, secret = service_client(name="fenced", scopes=["proxy:read"], networks=["10.9.0.0/16"])
    assert call(portal, secret, "acme123/v2/store").status_code == 403
    assert upstream.seen == []


def test_unknown_and_unusable_stores_are_not_called(portal, upstream, reader, acme_store):
    assert call(portal, reader, "nosuch1/v2/store").status_code == 404
    Store.objects.filter(pk=acme_store.pk).update(status="revoked")
    answer = call(portal, reader, "acme123/v2/store")
    assert answer.status_code == 409 and answer.json()["error"]["code"] == "store_not_usable"
    assert upstream.seen == []


@pytest.mark.parametrize(
    "path",
    [
        "acme123/v3/../../other1/v3/catalog",
        "acme123/v3/%2e%2e/%2E%2E/other1/v3",
        "acme123/v3/catalog%2Fproducts",
        "acme123/v3/catalog%5cproducts",
        "acme123/v3//catalog",
        "acme123/v1/catalog",
        "acme123/http:%2F%2Fevil.example/v3",
        "acme123/v3/catalog/%00",
        "acme123/v3/./catalog",
        "acme123/",
    ],
)
def test_paths_that_leave_the_store_s_api_are_refused(portal, upstream, reader, acme_store, path):
    # http.client sends the path exactly as written (requests would remove dot segments first).
    host, port = portal.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        connection.request("GET", f"/api/v1/proxy/{path}", headers={"Authorization": f"Bearer {reader}"})
        answer = connection.getresponse()
        body = json.loads(answer.read())
    finally:
        connection.close()
    assert answer.status == 400, body
    assert body["error"]["code"] == "path_refused"
    assert upstream.seen == []


def test_redirects_stay_inside_the_store_s_api(portal, upstream, reader, acme_store):
    upstream.reply = lambda request: web.Response(status=301, headers={"Location": "https://evil.example/x"})
    off = call(portal, reader, "acme123/v3/catalog", allow_redirects=False)
    assert off.status_code == 502 and off.json()["error"]["code"] == "redirect_refused"
    assert "evil" not in off.text and "Location" not in off.headers
    assert len(upstream.seen) == 1  # never followed
    upstream.reply = lambda request: web.Response(
        status=301, headers={"Location": "/stores/other99/v3/catalog"}
    )
    assert call(portal, reader, "acme123/v3/catalog", allow_redirects=False).status_code == 502
    upstream.reply = lambda request: web.Response(
        status=301, headers={"Location": "/stores/acme123/v3/catalog/products?page=2"}
    )
    inside = call(portal, reader, "acme123/v3/catalog", allow_redirects=False)
    assert inside.status_code == 301
    assert inside.headers["Location"] == "/api/v1/proxy/acme123/v3/catalog/products?page=2"


def test_a_spent_quota_is_answered_by_the_proxy_until_it_resets(portal, upstream, reader, writer, acme_store):
    upstream.reply = lambda request: web.json_response(
        {"status": 429}, status=429,
        headers={"X-Rate-Limit-Time-Reset-Ms": "4000", "X-Rate-Limit-Requests-Left": "0"},
    )
    first = call(portal, reader, "acme123/v3/catalog")
    assert first.status_code == 429 and "X-Violet-Proxy" not in first.headers  # BigCommerce's own
    upstream.reply = None
    for secret in (reader, writer):  # every service shares the store's quota
        again = call(portal, secret, "acme123/v2/store")
        assert again.status_code == 429 and again.headers["X-Violet-Proxy"] == "refused"
        assert 1 <= int(again.headers["Retry-After"]) <= 4
        assert again.json()["error"]["code"] == "quota_spent"
    assert len(upstream.seen) == 1


def test_the_last_request_of_a_window_blocks_the_next_without_a_429(portal, upstream, reader, acme_store):
    upstream.reply = lambda request: web.json_response(
        {}, headers={"X-Rate-Limit-Time-Reset-Ms": "3000", "X-Rate-Limit-Requests-Left": "0"}
    )
    assert call(portal, reader, "acme123/v2/store").status_code == 200
    assert call(portal, reader, "acme123/v2/store").status_code == 429
    assert len(upstream.seen) == 1


def test_new_credentials_are_used_on_the_next_call(portal, upstream, reader, acme_store):
    assert call(portal, reader, "acme123/v2/store").status_code == 200
    credential = Credential.objects.get(store=acme_store)
    credential.set_values(client_id="c2", client_secret="s2", access_token=NEW_TOKEN)
    credential.save()
    Store.objects.filter(pk=acme_store.pk).update(credentials_version=2)
    assert call(portal, reader, "acme123/v2/store").status_code == 200
    assert [seen.headers["X-Auth-Token"] for seen in upstream.seen] == [ACME_TOKEN, NEW_TOKEN]


def test_a_store_moved_to_another_merchant_keeps_working(portal, upstream, reader, acme_store, globex):
    Store.objects.filter(pk=acme_store.pk).update(merchant=globex)
    assert call(portal, reader, "acme123/v2/store").status_code == 200


def test_bodies_over_the_limits_are_refused(portal, upstream, writer, acme_store, settings):
    settings.PROXY_MAX_REQUEST_BYTES = 1000
    settings.PROXY_MAX_RESPONSE_BYTES = 5000
    big = call(portal, writer, "acme123/v2/orders", method="POST", data=b"x" * 1001)
    assert big.status_code == 413 and upstream.seen == []
    upstream.reply = lambda request: web.Response(body=b"y" * 6000, content_type="application/json")
    too_large = call(portal, writer, "acme123/v2/orders")
    assert too_large.status_code == 502 and too_large.json()["error"]["code"] == "response_too_large"

    async def streamed(request):
        response = web.StreamResponse()
        await response.prepare(request)
        for _ in range(10):
            await response.write(b"z" * 1000)
            await asyncio.sleep(0.02)
        await response.write_eof()
        return response

    upstream.reply = streamed
    try:
        cut = call(portal, writer, "acme123/v2/orders")
        whole = cut.status_code == 200 and len(cut.content) == 10_000
    except requests.exceptions.ChunkedEncodingError:
        whole = False  # the transfer broke: what a service must see
    assert not whole


def test_bigcommerce_down_is_a_502_in_the_proxy_s_words(portal, upstream, reader, acme_store, settings, caplog):
    from tests.api.proxy_servers import free_port

    settings.BIGCOMMERCE_API_URL = f"http://127.0.0.1:{free_port()}"
    with caplog.at_level(logging.WARNING):
        answer = call(portal, reader, "acme123/v2/store")
    assert answer.status_code == 502 and answer.json()["error"]["code"] == "bigcommerce_unreachable"
    assert_no_secret(caplog.text + answer.text, [ACME_TOKEN, reader])


def test_the_proxy_is_in_the_openapi_document(client):
    document = client.get("/api/v1/openapi.json").json()
    item = document["paths"]["/api/v1/proxy/{store_hash}/{path}"]
    assert set(item) == {"get", "head", "post", "put", "patch", "delete"}
    assert item["get"]["summary"].endswith("(scope proxy:read)")
    assert item["post"]["summary"].endswith("(scope proxy:write)")
    assert "Retry-After" in item["get"]["responses"]["429"]["headers"]


def test_a_definitive_answer_through_the_proxy_queues_the_store_s_check(
    portal, upstream, reader, acme_store, monkeypatch
):
    from stores.models import TrafficSignal
    from stores.services import traffic

    queued = []
    monkeypatch.setattr(traffic.check_after_signal_task, "delay", lambda *args: queued.append(args))
    upstream.reply = lambda request: web.json_response({"status": 422, "title": "Invalid"}, status=422)
    assert call(portal, reader, "acme123/v3/catalog/products").status_code == 422
    upstream.reply = lambda request: web.json_response({"status": 403, "title": "Forbidden"}, status=403)
    assert call(portal, reader, "acme123/v3/catalog/products").status_code == 403  # not the scope error
    assert TrafficSignal.objects.count() == 0 and queued == []
    upstream.reply = lambda request: web.json_response(
        {"status": 401, "title": "Unauthorized", "type": "https://developer.bigcommerce.com/api-docs"}, status=401
    )
    for _ in range(3):  # a burst of failing calls: one check
        answer = call(portal, reader, "acme123/v3/catalog/products?limit=5")
        assert answer.status_code == 401 and "X-Violet-Proxy" not in answer.headers
    signals = list(TrafficSignal.objects.order_by("id"))
    assert [(s.via, s.kind, s.status, s.method) for s in signals] == [("proxy", "invalid_token", 401, "GET")] * 3
    assert signals[0].client.name == "catalog-sync" and signals[0].path.startswith("/v3/catalog/products")
    assert [s.queued_check for s in signals] == [True, False, False]
    assert queued == [(acme_store.pk,)]
    assert Store.objects.get(pk=acme_store.pk).status == "connected"  # the check decides, not the signal


# Request bodies stream up: a client that sends its body piece by piece, and a
# stand-in for BigCommerce that records each byte as it arrives.

def upload(portal, secret, path, *, length=None, method="POST"):
    """A request whose headers are sent now and whose body the test sends piece
    by piece (`piece`, `last_piece`): with `length` as its Content-Length, or chunked."""
    host, port = portal.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    connection.putrequest(method, f"/api/v1/proxy/{path}", skip_accept_encoding=True)
    connection.putheader("Authorization", f"Bearer {secret}")
    connection.putheader("Content-Type", "application/octet-stream")
    if length is None:
        connection.putheader("Transfer-Encoding", "chunked")
    else:
        connection.putheader("Content-Length", str(length))
    connection.endheaders()
    connection.chunked_body = length is None
    return connection


def piece(connection, data: bytes) -> None:
    connection.send(b"%x\r\n%s\r\n" % (len(data), data) if connection.chunked_body else data)


def last_piece(connection) -> None:
    if connection.chunked_body:
        connection.send(b"0\r\n\r\n")


def eventually(condition, timeout=5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


def arrived(upstream, total: int):
    return lambda: len(upstream.seen) == 1 and upstream.seen[0].received >= total


def answer_of(connection):
    response = connection.getresponse()
    try:
        return response.status, response.headers, response.read()
    finally:
        connection.close()


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_large_body_streams_up_as_it_arrives(portal, upstream, writer, acme_store, chunked):
    body = bytes(range(256)) * (6 * 1024)  # 1.5 MiB, under the 2 MiB limit
    step = 256 * 1024
    connection = upload(portal, writer, "acme123/v3/catalog/products", length=None if chunked else len(body))
    for start in range(0, len(body), step):
        piece(connection, body[start : start + step])
        # What the client has sent so far is at BigCommerce before it sends
        # more: the proxy holds at most a chunk, never the body.
        sent = min(start + step, len(body))
        assert eventually(arrived(upstream, sent)), f"not passed on: {sent} bytes sent"
        assert upstream.seen[0].complete == (sent == len(body) and not chunked)
    last_piece(connection)
    status, _headers, answer = answer_of(connection)
    assert status == 200 and json.loads(answer) == {"data": {"ok": True}}
    [seen] = upstream.seen
    assert seen.complete and seen.body == body
    assert seen.headers["X-Auth-Token"] == ACME_TOKEN and "Authorization" not in seen.headers
    if chunked:
        assert seen.headers["Transfer-Encoding"] == "chunked" and "Content-Length" not in seen.headers
    else:
        assert seen.headers["Content-Length"] == str(len(body)) and "Transfer-Encoding" not in seen.headers


def refused_4xx() -> float:
    from prometheus_client import REGISTRY

    return REGISTRY.get_sample_value("violet_proxy_calls_total", {"outcome": "refused", "status": "4xx"}) or 0.0


def test_a_chunked_body_past_the_limit_is_abandoned_mid_way_and_refused(
    portal, upstream, writer, acme_store, settings, caplog
):
    caplog.set_level(logging.DEBUG)
    settings.PROXY_MAX_REQUEST_BYTES = 100_000
    counted = refused_4xx()
    connection = upload(portal, writer, "acme123/v2/orders")
    piece(connection, b"a" * 60_000)
    assert eventually(arrived(upstream, 60_000))  # streaming: BigCommerce has the first part
    piece(connection, b"b" * 60_000)  # 120,000: past the limit
    status, headers, answer = answer_of(connection)
    assert status == 413 and headers["X-Violet-Proxy"] == "refused"
    assert json.loads(answer)["error"]["code"] == "body_too_large"
    assert eventually(lambda: upstream.seen[0].ended)
    [seen] = upstream.seen
    assert not seen.complete and seen.received <= 100_000  # never a whole request, nothing past the limit
    assert refused_4xx() == counted + 1
    assert_no_secret(caplog.text + str(dict(headers)) + answer.decode(), [ACME_TOKEN, writer, "a" * 100])


def test_a_declared_length_over_the_limit_is_refused_before_any_byte_is_read(
    portal, upstream, writer, acme_store, settings
):
    settings.PROXY_MAX_REQUEST_BYTES = 1000
    connection = upload(portal, writer, "acme123/v2/orders", length=1001)  # and no body sent at all
    status, headers, answer = answer_of(connection)
    assert status == 413 and headers["X-Violet-Proxy"] == "refused"
    assert json.loads(answer)["error"]["code"] == "body_too_large"
    assert upstream.seen == []


@pytest.mark.parametrize(
    ("who", "path", "status"),
    [("reader", "acme123/v2/orders", 403), ("writer", "nosuch1/v2/orders", 404), ("nobody", "acme123/v2/orders", 401)],
)
def test_a_refused_call_reads_and_forwards_no_body(portal, upstream, reader, writer, acme_store, who, path, status):
    secret = {"reader": reader, "writer": writer, "nobody": "vcs_" + "x" * 40}[who]
    connection = upload(portal, secret, path, length=50_000)  # the body is never sent: the answer cannot wait for it
    answered, headers, _answer = answer_of(connection)
    assert answered == status and headers["X-Violet-Proxy"] == "refused"
    assert upstream.seen == []


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_client_gone_mid_body_leaves_no_complete_request_upstream(
    portal, upstream, writer, acme_store, chunked, caplog
):
    caplog.set_level(logging.DEBUG)
    connection = upload(portal, writer, "acme123/v2/orders", length=None if chunked else 300_000)
    piece(connection, b"c" * 100_000)
    assert eventually(arrived(upstream, 100_000))
    connection.close()  # gone, 200,000 bytes short (or before the last chunk)
    assert eventually(lambda: upstream.seen[0].ended)
    [seen] = upstream.seen
    assert not seen.complete and seen.received == 100_000
    assert_no_secret(caplog.text, [ACME_TOKEN, writer, "c" * 100])
    assert call(portal, writer, "acme123/v2/orders", method="POST", json={"a": 1}).status_code == 200  # still serving


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_body_that_stalls_is_abandoned_and_refused(portal, upstream, writer, acme_store, settings, chunked):
    """A client trickling its body holds an upstream connection while it
    streams: after PROXY_BODY_IDLE_TIMEOUT_SECONDS of nothing, it is let go."""
    settings.PROXY_BODY_IDLE_TIMEOUT_SECONDS = 0.3
    counted = refused_4xx()
    connection = upload(portal, writer, "acme123/v2/orders", length=None if chunked else 100_000)
    piece(connection, b"d" * 10_000)
    assert eventually(arrived(upstream, 10_000))
    began = time.monotonic()
    status, headers, answer = answer_of(connection)  # and nothing more is sent
    assert status == 408 and headers["X-Violet-Proxy"] == "refused"
    assert json.loads(answer)["error"]["code"] == "body_timeout"
    assert time.monotonic() - began < 5
    assert eventually(lambda: upstream.seen[0].ended)
    assert not upstream.seen[0].complete and upstream.seen[0].received == 10_000
    assert refused_4xx() == counted + 1


def test_a_small_body_is_read_whole_then_sent(portal, upstream, writer, acme_store, settings):
    """Up to SMALL_BODY with a declared length: read first and sent as bytes
    (aiohttp can then send it again if a pooled connection turns out closed);
    one that stalls is refused without BigCommerce being called."""
    connection = upload(portal, writer, "acme123/v2/orders/7", length=1000, method="PUT")
    piece(connection, b"e" * 400)
    time.sleep(0.2)
    assert upstream.seen == []  # not streamed: waits for the rest
    piece(connection, b"e" * 600)
    status, _headers, _answer = answer_of(connection)
    assert status == 200
    [seen] = upstream.seen
    assert seen.complete and seen.body == b"e" * 1000 and seen.headers["Content-Length"] == "1000"

    upstream.seen.clear()
    settings.PROXY_BODY_IDLE_TIMEOUT_SECONDS = 0.3
    connection = upload(portal, writer, "acme123/v2/orders/7", length=1000, method="PUT")
    piece(connection, b"e" * 400)
    status, _headers, answer = answer_of(connection)
    assert status == 408 and json.loads(answer)["error"]["code"] == "body_timeout"
    assert upstream.seen == []


def test_bytes_past_a_declared_length_are_no_part_of_the_body(portal, upstream, writer, acme_store):
    """HTTP's framing, not the proxy, decides where a body ends: what follows
    its Content-Length is the connection's next request. Sent with the body,
    uvicorn refuses it as no HTTP at all before the call runs (uvicorn's own
    400, not the proxy's: nothing went up); sent after the body, the declared
    body has gone up whole, as it should. (RequestBody's own check of a
    surplus cannot be reached through uvicorn: test_passthrough_body.py.)"""
    connection = upload(portal, writer, "acme123/v2/orders", length=10)
    piece(connection, b"0123456789" + b"and then some")
    status, headers, _answer = answer_of(connection)
    assert status == 400 and "X-Violet-Proxy" not in headers
    time.sleep(0.2)
    assert upstream.seen == []

    connection = upload(portal, writer, "acme123/v2/orders", length=10)
    piece(connection, b"0123456789")
    assert eventually(lambda: len(upstream.seen) == 1 and upstream.seen[0].ended)
    piece(connection, b"and then some")
    status, _headers, _answer = answer_of(connection)
    assert status == 200
    [seen] = upstream.seen
    assert seen.complete and seen.body == b"0123456789"


def test_a_bodiless_write_goes_up_with_a_zero_length_and_a_read_with_no_body(portal, upstream, writer, acme_store):
    assert call(portal, writer, "acme123/v2/orders/1", method="DELETE").status_code == 200
    assert call(portal, writer, "acme123/v2/orders", data=b"ignored").status_code == 200  # a GET with a body
    deleted, read = upstream.seen
    assert deleted.headers.get("Content-Length") == "0" and "Transfer-Encoding" not in deleted.headers
    assert read.body == b"" and "Content-Length" not in read.headers and "Transfer-Encoding" not in read.headers


def test_an_answer_before_the_whole_body_is_passed_back(portal, upstream, writer, acme_store):
    upstream.answer_first = True
    connection = upload(portal, writer, "acme123/v2/orders", length=300_000)
    piece(connection, b"d" * 100_000)  # and no more: BigCommerce answers without waiting for the rest
    status, headers, answer = answer_of(connection)
    assert status == 422 and json.loads(answer)["title"] == "Invalid" and "X-Violet-Proxy" not in headers
    upstream.answer_first = False
    assert call(portal, writer, "acme123/v2/orders", method="POST", json={"a": 1}).status_code == 200
