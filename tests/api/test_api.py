"""The read-only JSON API: token authentication, filters, pagination, the
check endpoint, and never a secret in a body."""

from __future__ import annotations

import json

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from api.models import ApiToken
from api.tokens import api_token_issue, api_token_revoke
from merchants.models import User
from stores import services
from stores.bigcommerce.report import Outcome
from stores.models import Store
from tests.conftest import ACME_CLIENT_ID, ACME_SECRET, ACME_TOKEN
from tests.reports import report

SECRETS = (ACME_TOKEN, ACME_SECRET, ACME_CLIENT_ID)


def assert_no_secret(text: str) -> None:
    for secret in SECRETS:
        for i in range(len(secret) - 7):
            assert secret[i : i + 8] not in text, f"a slice of a secret leaked: {secret[i : i + 8]}"


@pytest.fixture
def staff(db):
    user = User.objects.create_user(email="ops@violet.test", password="x", is_staff=True)
    user.groups.add(Group.objects.get(name="Operations"))
    return user


@pytest.fixture
def token(staff):
    return api_token_issue(name="Dashboards", created_by=staff)


@pytest.fixture
def api(token):
    """A client that sends the token, and checks every body it gets for secrets."""

    class Api(Client):
        def request(self, **request):
            response = super().request(**request)
            assert_no_secret(response.content.decode())
            return response

    return Api(headers={"Authorization": f"Bearer {token[1]}"})


@pytest.fixture
def fleet(acme_store, globex_store, acme):
    """acme123 (connected, with a missing-scopes check), globex9, and 3 more Acme stores."""
    services.store_record_check(
        store_id=acme_store.pk,
        report=report(Outcome.MISSING_SCOPES, missing=["store_cart"]),
        trigger="schedule",
        started_at=timezone.now(),
        duration_ms=120,
    )
    for i in range(3):
        Store.objects.create(
            merchant=acme, store_hash=f"acmex{i}", name=f"Acme {i}", status="revoked"
        )
    return acme_store


def url(name, *args):
    return reverse(f"api:{name}", args=args)


# --- authentication -------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Bearer vc_not-a-real-token",
        "Token {raw}",
        "Basic {raw}",
        "Bearer {raw}x",
    ],
)
@pytest.mark.parametrize(
    "method,name,args",
    [
        ("get", "store_list", []),
        ("get", "store_detail", ["acme123"]),
        ("post", "store_check", ["acme123"]),
    ],
)
def test_every_endpoint_refuses_a_missing_or_bad_token(
    header, method, name, args, token, fleet, monkeypatch
):
    sent = []
    monkeypatch.setattr("stores.tasks.check_stores.delay", lambda *a: sent.append(a))
    headers = {} if header is None else {"Authorization": header.format(raw=token[1])}
    response = getattr(Client(headers=headers), method)(url(name, *args))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="violet-connect"'
    assert response.json()["error"]["code"] == "unauthorized"
    assert sent == []


def test_a_revoked_token_is_refused(token, staff, fleet):
    api_token_revoke(token=token[0], user=staff)
    response = Client(headers={"Authorization": f"Bearer {token[1]}"}).get(url("store_list"))
    assert response.status_code == 401


def test_a_token_expires_a_year_after_it_was_issued(token, fleet, settings):
    """Issue 28, item 16: API tokens never expired."""
    from datetime import timedelta

    import time_machine

    issued = token[0]
    assert settings.API_TOKEN_LIFETIME_DAYS == 365
    assert abs(issued.expires_at - (issued.created_at + timedelta(days=365))) < timedelta(seconds=5)
    client = Client(headers={"Authorization": f"Bearer {token[1]}"})
    with time_machine.travel(issued.expires_at - timedelta(minutes=1)):
        assert client.get(url("store_list")).status_code == 200
    with time_machine.travel(issued.expires_at + timedelta(seconds=1)):
        assert client.get(url("store_list")).status_code == 401
        issued.refresh_from_db()
        assert issued.is_expired and not issued.is_active


def test_a_good_token_works_and_records_its_use(api, token, fleet):
    assert token[0].last_used_at is None
    assert api.get(url("store_list")).status_code == 200
    token[0].refresh_from_db()
    assert token[0].last_used_at is not None


def test_tokens_are_stored_hashed(token):
    stored = ApiToken.objects.get(pk=token[0].pk)
    assert token[1] not in (stored.token_hash, stored.prefix, stored.name)
    assert len(stored.token_hash) == 64 and token[1].startswith(stored.prefix)


# --- the store list ---------------------------------------------------------------------


def test_the_list_shows_status_last_check_scopes_and_profile(api, fleet):
    body = api.get(url("store_list")).json()
    assert body["count"] == 5 and body["next"] is None and body["previous"] is None
    acme = next(s for s in body["results"] if s["store_hash"] == "acme123")
    assert acme["status"] == "connected" and acme["merchant"] == {"slug": "acme", "name": "Acme"}
    assert acme["profile"]["plan_name"] == "Plus" and acme["domain"] == "acme.example"
    assert acme["last_checked_at"] is not None
    latest = acme["latest_check"]
    assert latest["outcome"] == "missing_scopes" and latest["trigger"] == "schedule"
    assert (
        latest["scopes"]["store_cart"] == "missing"
        and latest["scopes"]["store_checkout"] == "granted"
    )
    assert latest["problems"] and latest["problems"][0]["code"] == "missing_scopes"
    assert acme["url"].endswith("/api/v1/stores/acme123/")
    globex = next(s for s in body["results"] if s["store_hash"] == "globex9")
    assert globex["latest_check"] is None
    assert not any(
        key in json.dumps(body)
        for key in ("access_token", "client_secret", "client_id", "claim_token")
    )


def test_filters_by_status_and_merchant(api, fleet):
    def hashes(query):
        return sorted(s["store_hash"] for s in api.get(url("store_list") + query).json()["results"])

    assert hashes("?status=revoked") == ["acmex0", "acmex1", "acmex2"]
    assert hashes("?status=broken") == ["acmex0", "acmex1", "acmex2"]
    assert hashes("?status=connected") == ["acme123", "globex9"]
    assert hashes("?status=connected,revoked&merchant=globex") == ["globex9"]
    assert hashes("?merchant=acme") == ["acme123", "acmex0", "acmex1", "acmex2"]
    assert hashes("?merchant=nobody") == []


@pytest.mark.parametrize(
    "query,code",
    [
        ("?status=happy", "bad_status"),
        ("?page=0", "bad_page"),
        ("?page=x", "bad_page"),
        ("?page=" + "9" * 30, "bad_page"),
        ("?page_size=0", "bad_page_size"),
        ("?page_size=201", "bad_page_size"),
    ],
)
def test_bad_parameters_are_explained(api, fleet, query, code):
    response = api.get(url("store_list") + query)
    assert response.status_code == 400 and response.json()["error"]["code"] == code


def test_pages_are_stable_and_linked(api, fleet):
    first = api.get(url("store_list") + "?page_size=2&status=connected,revoked").json()
    assert first["count"] == 5 and len(first["results"]) == 2 and first["previous"] is None
    seen = [s["store_hash"] for s in first["results"]]
    page = first
    while page["next"]:
        assert "status=connected%2Crevoked" in page["next"] and "page_size=2" in page["next"]
        page = api.get(page["next"]).json()
        seen += [s["store_hash"] for s in page["results"]]
    assert len(seen) == 5 == len(set(seen))
    ids = list(Store.objects.order_by("id").values_list("store_hash", flat=True))
    assert seen == ids  # stable order: creation
    assert page["page"] == 3 and page["previous"].endswith(
        "page=2&page_size=2&status=connected%2Crevoked"
    )
    assert api.get(url("store_list") + "?page=9").json()["results"] == []


def test_the_list_costs_the_same_queries_for_any_page_size(
    api, fleet, django_assert_max_num_queries
):
    for i in range(40):
        Store.objects.create(merchant=fleet.merchant, store_hash=f"more{i}", name=f"More {i}")
    # 6: one of them checks that the token's creator still may hold it.
    with django_assert_max_num_queries(6):
        assert len(api.get(url("store_list") + "?page_size=5").json()["results"]) == 5
    with django_assert_max_num_queries(6):
        assert len(api.get(url("store_list") + "?page_size=45").json()["results"]) == 45


# --- one store ----------------------------------------------------------------------------


def test_one_stores_health(api, fleet):
    services.store_pause(store=fleet, reason="Staff looking")
    body = api.get(url("store_detail", "acme123")).json()
    assert (
        body["store_hash"] == "acme123"
        and body["status"] == "paused"
        and body["status_label"] == "Paused"
    )
    assert body["latest_check"]["scopes"]["store_cart"] == "missing"
    [change] = body["status_changes"]
    assert (change["old_status"], change["new_status"], change["reason"]) == (
        "connected",
        "paused",
        "Staff looking",
    )


def test_an_unknown_store_is_404(api, fleet):
    response = api.get(url("store_detail", "nope"))
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    assert api.post(url("store_check", "nope")).status_code == 404


def test_the_list_and_detail_are_read_only(api, fleet):
    assert api.post(url("store_list")).status_code == 405
    assert api.delete(url("store_detail", "acme123")).status_code == 405
    assert api.get(url("store_check", "acme123")).status_code == 405


# --- check now ------------------------------------------------------------------------------


def test_check_queues_a_fresh_check_and_is_logged(api, token, staff, fleet, monkeypatch):
    sent = []
    monkeypatch.setattr("stores.tasks.check_stores.delay", lambda *a: sent.append(a))
    response = api.post(url("store_check", "acme123"))  # no CSRF token: token-authenticated
    assert response.status_code == 202 and response.json()["queued"] is True
    assert sent == [([fleet.pk], sent[0][1], "api")]
    entry = LogEntry.objects.get()
    assert entry.user == staff and entry.object_id == str(fleet.pk)
    assert entry.change_message.startswith(
        "Queued a check through the JSON API (token “Dashboards”, vc_"
    )
    # A check already in flight is not queued twice.
    again = api.post(url("store_check", "acme123"))
    assert again.status_code == 409 and again.json()["error"]["code"] == "check_in_flight"
    assert len(sent) == 1


def test_check_refuses_a_paused_store(api, fleet, monkeypatch):
    sent = []
    monkeypatch.setattr("stores.tasks.check_stores.delay", lambda *a: sent.append(a))
    services.store_pause(store=fleet)
    response = api.post(url("store_check", "acme123"))
    assert response.status_code == 409 and response.json()["error"]["code"] == "not_checked"
    assert sent == []


def test_check_needs_no_csrf_token_even_with_csrf_checks_on(token, fleet, monkeypatch):
    monkeypatch.setattr("stores.tasks.check_stores.delay", lambda *a: None)
    client = Client(enforce_csrf_checks=True, headers={"Authorization": f"Bearer {token[1]}"})
    assert client.post(url("store_check", "acme123")).status_code == 202


@pytest.mark.parametrize(
    "lose_rights",
    [
        pytest.param(lambda u: User.objects.filter(pk=u.pk).update(is_active=False), id="deactivated"),
        pytest.param(lambda u: User.objects.filter(pk=u.pk).update(is_staff=False), id="no longer staff"),
        pytest.param(lambda u: u.groups.clear(), id="left Operations"),
        pytest.param(lambda u: u.delete(), id="deleted"),
    ],
)
def test_a_token_works_only_while_its_creator_has_the_rights(token, staff, client, lose_rights):
    _token, raw = token
    url = reverse("api:store_list")
    assert client.get(url, HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 200
    lose_rights(staff)
    assert client.get(url, HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 401


def test_the_console_says_a_token_follows_its_creators_rights(admin_client):
    page = admin_client.get(reverse("admin:api_apitoken_add")).content.decode()
    assert "stops working when its creator is deactivated, loses staff status or leaves Operations" in page


@pytest.mark.parametrize("value", ["١", "²", " 2", "1_0", "+1", "𝟙"])
def test_page_numbers_are_ascii_digits_only(api, fleet, value):
    """Issue 28 item 1's class of bug: int() reads "١" as 1 and `isdigit()` passes "²"."""
    for name in ("page", "page_size"):
        response = api.get(url("store_list"), {name: value})
        assert response.status_code == 400, (name, value)
