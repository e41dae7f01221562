"""POST /api/v1/stores/<store_hash>/signals/: services that call BigCommerce
directly report what it answered; a definitive answer is recorded and queues
the store's check, anything else is refused (400) or answered "not a signal",
and nothing is ever flipped here."""

from __future__ import annotations

import json

import pytest

from sandbox import bodies
from stores.models import StatusChange, Store, TrafficSignal
from stores.services import traffic
from stores.status import StoreStatus
from tests.api.clients import bearer, service_client
from tests.conftest import ACME_CLIENT_ID, ACME_TOKEN
from tests.leaks import leaks

URL = "/api/v1/stores/acme123/signals/"
A_401 = {"status": 401, "method": "GET", "path": "/v3/catalog/products", "excerpt": bodies.UNAUTHORIZED_BODY.decode()}


@pytest.fixture
def reporter(db):
    """(client, secret) of a service client that may report."""
    return service_client(name="checkout", scopes=["checks:write"])


@pytest.fixture
def queued(monkeypatch):
    sent = []
    monkeypatch.setattr(traffic.check_after_signal_task, "delay", lambda *args: sent.append(args))
    return sent


def post(secret, body, url=URL, **extra):
    payload = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return bearer(secret, **extra).post(url, payload, content_type="application/json")


@pytest.mark.django_db(transaction=True)
def test_a_401_is_recorded_and_queues_the_check_once(reporter, acme_store, queued):
    response = post(reporter[1], A_401)
    assert response.status_code == 202
    body = response.json()
    assert (body["recorded"], body["kind"], body["check"]) == (True, "invalid_token", "queued")
    assert body["check_queued_at"] and "check is queued" in body["message"]
    assert queued == [(acme_store.pk,)]
    again = post(reporter[1], {**A_401, "path": "/v2/orders"}).json()
    assert again["check"] == "already_queued" and again["check_queued_at"] == body["check_queued_at"]
    assert len(queued) == 1
    signal = TrafficSignal.objects.order_by("id").first()
    assert (signal.client.name, signal.via, signal.queued_check) == ("checkout", "report", True)
    # Reporting flips nothing: the check decides.
    assert Store.objects.get(pk=acme_store.pk).status == StoreStatus.CONNECTED and not StatusChange.objects.exists()


def test_an_answer_that_is_not_a_signal_is_said_so_and_kept_nowhere(reporter, acme_store, queued):
    body = post(reporter[1], {**A_401, "status": 503, "excerpt": ""}).json()
    assert (body["recorded"], body["kind"], body["check"]) == (False, None, "not_a_signal")
    assert "nothing recorded" in body["message"]
    assert not TrafficSignal.objects.exists() and not queued


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ("not json", "JSON object"),
        ([1, 2], "JSON object"),
        ({**A_401, "status": 42}, "100 to 599"),
        ({**A_401, "status": "401"}, "100 to 599"),
        ({k: v for k, v in A_401.items() if k != "status"}, "100 to 599"),
        ({**A_401, "method": "TRACE"}, "method must be one of"),
        ({**A_401, "path": "https://evil.example/v3/catalog"}, "/v2/ or /v3/"),
        ({**A_401, "path": "/v3/../../admin"}, "/v2/ or /v3/"),
        ({**A_401, "path": "/v3/catalog\u0000"}, "/v2/ or /v3/"),
        ({**A_401, "excerpt": "x" * 1001}, "at most 1000"),
    ],
)
def test_a_bad_report_is_400_with_a_clear_message_and_changes_nothing(reporter, acme_store, queued, body, words):
    response = post(reporter[1], body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] in {"bad_body", "bad_signal"}
    assert words in response.json()["error"]["message"]
    assert not TrafficSignal.objects.exists() and not queued
    assert Store.objects.get(pk=acme_store.pk).signal_check_at is None


def test_nul_bytes_in_the_excerpt_are_dropped(reporter, acme_store, queued):
    response = post(reporter[1], {**A_401, "excerpt": "Unauth\u0000orized"})
    assert response.status_code == 202
    assert TrafficSignal.objects.get().excerpt == "Unauthorized"


def test_an_unknown_store_is_404(reporter, db, queued):
    response = post(reporter[1], A_401, url="/api/v1/stores/nosuch1/signals/")
    assert response.status_code == 404 and not TrafficSignal.objects.exists()


def test_a_client_without_checks_write_gets_403_and_nothing_is_recorded(acme_store, queued):
    _, secret = service_client(name="reader", scopes=["stores:read", "credentials:read"])
    response = post(secret, A_401)
    assert response.status_code == 403 and "checks:write" in response.json()["error"]["message"]
    assert not TrafficSignal.objects.exists() and not queued


def test_no_secret_gets_401(acme_store, queued):
    response = bearer("vcs_nope").post(URL, json.dumps(A_401), content_type="application/json")
    assert response.status_code == 401 and not TrafficSignal.objects.exists()


def test_reports_are_rate_limited_per_client(reporter, acme_store, queued, settings):
    settings.TRAFFIC_SIGNAL_RATE_LIMIT = 2
    assert [post(reporter[1], A_401).status_code for _ in range(2)] == [202, 202]
    refused = post(reporter[1], A_401)
    assert refused.status_code == 429 and int(refused["Retry-After"]) >= 1
    assert TrafficSignal.objects.count() == 2
    # Another client has its own allowance.
    _, other = service_client(name="order-sync", scopes=["checks:write"])
    assert post(other, A_401).status_code == 202


def test_the_console_store_page_lists_recent_signals_escaped(reporter, acme_store, queued, admin_client):
    post(reporter[1], {**A_401, "excerpt": '<script>alert("x")</script> Unauthorized'})
    page = admin_client.get(f"/admin/stores/store/{acme_store.pk}/change/").content.decode()
    assert "Traffic signals (latest 10)" in page and "checkout" in page
    assert "401 GET /v3/catalog/products" in page
    assert "&lt;script&gt;alert(" in page and '<script>alert("x")' not in page
    assert not leaks(page, (ACME_TOKEN, ACME_CLIENT_ID, reporter[1]))
