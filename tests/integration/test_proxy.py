"""The BigCommerce proxy as production runs it: the Procfile's `proxy` process
(gunicorn, two uvicorn workers) on PostgreSQL, the quota shared through Redis
(`CACHE_URL`), the sandbox as BigCommerce."""

from __future__ import annotations

import http.client
import json
import shlex
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import pytest
import requests

from tests.api.clients import service_client
from tests.integration.conftest import ROOT, wait_for
from tests.integration.test_many_machines import free_port
from tests.integration.test_traffic_signals import (
    CONFIRM_AFTER_SECONDS,
    owner_told_within_bound,
    quiet_connected_store,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def proxy_process(celery, sandbox, tmp_path):
    with running_proxy(celery, tmp_path) as base:
        yield base


@contextmanager
def running_proxy(celery, tmp_path):
    """The Procfile's `proxy` entry, two workers, the quota in Redis; yields its base URL."""
    [entry] = [line.split(": ", 1)[1] for line in (ROOT / "Procfile").read_text().splitlines()
               if line.startswith("proxy: ")]
    argv = shlex.split(entry)
    assert argv[0] == "gunicorn"
    port = free_port()
    metrics = tmp_path / "proxy-metrics"
    metrics.mkdir()
    env = {**celery.env, "PORT": str(port), "HOST": "127.0.0.1", "WEB_CONCURRENCY": "2",
           "CACHE_URL": celery.env["CELERY_BROKER_URL"], "PROMETHEUS_MULTIPROC_DIR": str(metrics)}
    with open(tmp_path / "proxy.log", "ab") as log:
        process = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", *argv], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"

    def live():
        try:
            return requests.get(f"{base}/health/live", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    try:
        wait_for(live, timeout=60, what="the proxy process")
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture
def connected(sandbox):
    return quiet_connected_store(sandbox)


def test_services_share_the_store_s_quota_across_proxy_processes(proxy_process, connected, sandbox):
    store, account = connected
    _client, secret = service_client(scopes=["proxy:read"])
    url = f"{proxy_process}/api/v1/proxy/{store.store_hash}/v2/store"

    def call() -> requests.Response:  # a new connection each time: either worker may answer
        return requests.get(url, headers={"Authorization": f"Bearer {secret}", "Connection": "close"}, timeout=10)

    first = call()
    assert first.status_code == 200 and first.json()["id"] == store.store_hash
    assert "X-Rate-Limit-Requests-Left" in first.headers
    sandbox.control.clear_log()
    sandbox.control.set_rate_limit(store.store_hash, quota=2, window_ms=20_000)
    sandbox.control.enforce_quota(True)
    statuses = [call().status_code for _ in range(3)]
    assert 429 in statuses  # BigCommerce's own 429 (or its last request said 0 left)
    reached = len(sandbox.control.log(store_hash=store.store_hash))
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: call(), range(40)))
    assert {answer.status_code for answer in answers} == {429}
    assert {answer.headers.get("X-Violet-Proxy") for answer in answers} == {"refused"}
    assert all(1 <= int(answer.headers["Retry-After"]) <= 20 for answer in answers)
    # Not one of the 40 reached BigCommerce, whichever worker took it.
    assert len(sandbox.control.log(store_hash=store.store_hash)) == reached


def test_a_deleted_account_is_bigcommerce_s_401_through_the_proxy(proxy_process, connected, sandbox):
    store, account = connected
    _client, secret = service_client(scopes=["proxy:read", "proxy:write"])
    headers = {"Authorization": f"Bearer {secret}"}
    url = f"{proxy_process}/api/v1/proxy/{store.store_hash}/v2/store"
    assert requests.get(url, headers=headers, timeout=10).status_code == 200
    sandbox.control.revoke(account["client_id"])
    started = time.monotonic()
    answer = requests.get(url, headers=headers, timeout=10)
    assert answer.status_code == 401 and "X-Violet-Proxy" not in answer.headers
    assert time.monotonic() - started < 5



def test_a_failing_proxied_call_gets_the_merchant_told_within_confirm_after_plus_30_seconds(
    celery, sandbox, settings, tmp_path
):
    """Detection from real traffic through the proxy: the first failing proxied
    call queues the store's check; the check and its confirmation flip the
    store; the owner's e-mail is planned — within STORE_CONFIRM_AFTER_SECONDS + 30 s."""
    from stores.models import Check, TrafficSignal

    settings.STORE_CONFIRM_AFTER_SECONDS = CONFIRM_AFTER_SECONDS
    celery.env["STORE_CONFIRM_AFTER_SECONDS"] = str(CONFIRM_AFTER_SECONDS)
    store, account = quiet_connected_store(sandbox)
    store_hash = store.store_hash
    _client, secret = service_client(name="catalog-sync", scopes=["proxy:read"])
    with running_proxy(celery, tmp_path) as base:
        celery.start_worker()
        celery.start_beat()
        wait_for(lambda: " ready." in celery.log("worker"), timeout=60, what="the worker ready")
        url = f"{base}/api/v1/proxy/{store_hash}/v3/catalog/products?limit=5"
        headers = {"Authorization": f"Bearer {secret}"}
        assert requests.get(url, headers=headers, timeout=10).status_code == 200

        sandbox.control.revoke(account["client_id"])  # the merchant deletes the API account
        started = time.monotonic()
        assert requests.get(url, headers=headers, timeout=10).status_code == 401  # BigCommerce's answer

        owner_told_within_bound(store, started, "first failing proxied call")
        assert TrafficSignal.objects.get(store=store).via == "proxy"
        checks = Check.objects.filter(store=store).exclude(trigger="onboarding")
        triggers = set(checks.values_list("trigger", flat=True))
        assert triggers == {"signal"}


def test_a_write_s_body_streams_up_through_the_proxy_process(proxy_process, connected, sandbox):
    """Bodies through the production process (gunicorn, uvicorn's workers):
    sized and chunked ones arrive whole; a chunked one past
    PROXY_MAX_REQUEST_BYTES is refused mid-stream and BigCommerce acts on nothing."""
    store, _account = connected
    _client, secret = service_client(scopes=["proxy:read", "proxy:write"])
    url = f"{proxy_process}/api/v1/proxy/{store.store_hash}/v2/orders"
    headers = {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}

    def orders() -> list[dict]:
        answer = requests.get(url + "?limit=250", headers=headers, timeout=10)
        return [] if answer.status_code == 204 else answer.json()

    before = len(orders())
    order = {
        "billing_address": {"first_name": "Jane", "email": "jane@example.com", "zip": "60601"},
        "products": [{"product_id": 1, "quantity": 1}],
    }
    raw = json.dumps(order).encode()
    sized = requests.post(url, headers=headers, data=raw, timeout=10)
    assert sized.status_code == 200, sized.text
    chunked = requests.post(url, headers=headers, data=iter([raw[:7], raw[7:]]), timeout=10)  # no Content-Length
    assert chunked.status_code == 200, chunked.text
    assert [o["billing_address"]["first_name"] for o in (sized.json(), chunked.json())] == ["Jane", "Jane"]
    assert len(orders()) == before + 2

    padded = json.dumps({**order, "customer_message": "x" * (2 * 1024 * 1024)}).encode()  # over the 2 MiB limit
    try:
        too_large = requests.post(
            url, headers=headers, data=(padded[i : i + 65536] for i in range(0, len(padded), 65536)), timeout=10
        )
        assert too_large.status_code == 413 and too_large.headers["X-Violet-Proxy"] == "refused"
        assert too_large.json()["error"]["code"] == "body_too_large"
    except requests.ConnectionError:
        pass  # the proxy answered and closed before the client finished sending: refused all the same
    assert len(orders()) == before + 2

    # Answered without waiting for a body that is never sent: a declared
    # length over the limit, and a call refused before its body is read.
    _reader, read_only = service_client(name="catalog-only", scopes=["proxy:read"])
    for secret_, length, status in ((secret, 3 * 1024 * 1024, 413), (read_only, 1000, 403)):
        connection = http.client.HTTPConnection(proxy_process.removeprefix("http://"), timeout=10)
        try:
            connection.putrequest("POST", url.removeprefix(proxy_process))
            connection.putheader("Authorization", f"Bearer {secret_}")
            connection.putheader("Content-Length", str(length))
            connection.endheaders()
            answer = connection.getresponse()
            assert answer.status == status and answer.headers["X-Violet-Proxy"] == "refused"
        finally:
            connection.close()
    assert len(orders()) == before + 2
