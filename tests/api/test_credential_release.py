"""GET /api/v1/stores/<store_hash>/credentials/: the keys handed to Violet's
services — scoped, versioned (ETag, 304), refused for unusable stores,
recorded, rate limited, and never a secret where it should not be."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from django.utils import timezone

from api.models import CredentialRelease
from api.releases import credential_releases_prune
from stores import services
from stores.models import Store
from tests.api.clients import bearer, service_client
from tests.conftest import ACME_CLIENT_ID, ACME_SECRET, ACME_TOKEN
from tests.leaks import leaks
from tests.reports import credentials, report

URL = "/api/v1/stores/acme123/credentials/"


def _dirs(filename: str) -> list[str]:
    return [marker for marker in ("/tests/", "/django/test/") if marker in filename]


def release(client, store, released_at) -> CredentialRelease:
    return CredentialRelease.objects.create(client=client, store=store, version="v", released_at=released_at)


@pytest.fixture
def reader(db):
    """(client, secret) of a service client that may read credentials."""
    return service_client(name="order-sync", scopes=["credentials:read", "stores:read"])


def test_a_release_hands_over_the_credentials_with_their_version(reader, acme_store, settings):
    client, secret = reader
    response = bearer(secret, REMOTE_ADDR="10.1.2.3").get(URL)
    assert response.status_code == 200
    body = response.json()
    assert body["store_hash"] == "acme123" and body["status"] == "connected"
    assert body["api_url"] == f"{settings.BIGCOMMERCE_API_URL}/stores/acme123/"
    assert body["client_id"] == ACME_CLIENT_ID and body["access_token"] == ACME_TOKEN
    assert ACME_SECRET not in response.content.decode()  # the Client secret stays home
    assert "store_v2_orders" in body["granted_scopes"]
    assert response["ETag"] == f'"{body["version"]}"'
    assert "no-store" in response["Cache-Control"]
    [release] = CredentialRelease.objects.all()
    assert (release.client, release.store, release.version, release.client_address) == (
        client,
        acme_store,
        body["version"],
        "10.1.2.3",
    )


def test_if_none_match_gets_304_without_a_secret_or_an_audit_row(reader, acme_store):
    _client, secret = reader
    etag = bearer(secret).get(URL)["ETag"]
    response = bearer(secret).get(URL, HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == 304 and response.content == b"" and response["ETag"] == etag
    assert CredentialRelease.objects.count() == 1
    # Any other version is a full answer.
    assert bearer(secret).get(URL, HTTP_IF_NONE_MATCH='"1-0"').status_code == 200


def test_the_version_changes_when_the_credentials_change(reader, acme_store, monkeypatch):
    monkeypatch.setattr("stores.tasks.check_stores.delay", lambda *a: None)
    _client, secret = reader
    first = bearer(secret).get(URL)
    services.store_replace_credentials(store=acme_store, credentials=credentials(), report=report())
    second = bearer(secret).get(URL, HTTP_IF_NONE_MATCH=first["ETag"])
    assert second.status_code == 200 and second.json()["version"] != first.json()["version"]
    assert second.json()["access_token"] == credentials().access_token


# --- what a release costs (docs/service-clients.md, "What a release costs") ------------------------


def test_a_release_is_two_queries_after_authentication_and_a_304_one(reader, acme_store, django_assert_num_queries):
    """The budget `make bench`'s figure rests on: the client, then one read
    (store, version and the encrypted values together), then the audit row.
    A second read of the store or a transaction around the audit row
    (BEGIN / COMMIT are statements too, on PostgreSQL) shows here."""
    client = bearer(reader[1])
    client.get(URL, HTTP_IF_NONE_MATCH='"1"')  # the client's last_used_at, written at most once a minute
    with django_assert_num_queries(3):
        assert client.get(URL).status_code == 200
    with django_assert_num_queries(2):
        assert client.get(URL, HTTP_IF_NONE_MATCH='"1"').status_code == 304
    with django_assert_num_queries(2):
        assert client.get("/api/v1/stores/nope/credentials/").status_code == 404
    Store.objects.filter(pk=acme_store.pk).update(status="revoked")
    with django_assert_num_queries(2):
        assert client.get(URL).status_code == 409
    assert CredentialRelease.objects.count() == 1


def test_a_304_decrypts_nothing(reader, acme_store, monkeypatch):
    from config.crypto import EncryptedTextField

    opened = []
    original = EncryptedTextField.from_db_value

    def counting(self, value, *args):
        opened.append(self.name)
        return original(self, value, *args)

    monkeypatch.setattr(EncryptedTextField, "from_db_value", counting)
    client = bearer(reader[1])
    assert client.get(URL, HTTP_IF_NONE_MATCH='"1"').status_code == 304
    assert opened == []
    assert client.get(URL).status_code == 200
    assert sorted(opened) == ["access_token", "client_id"]


def test_no_secret_leaves_when_its_audit_row_cannot_be_written(reader, acme_store, monkeypatch):
    """The audit row is written before the answer is made: if it fails, the
    request fails and the token stays home. (Moving the write after the
    answer, or into an on_commit hook, fails this.)"""
    from django.db import DatabaseError

    def disk_full(*args, **kwargs):
        raise DatabaseError("could not extend file: No space left on device")

    monkeypatch.setattr(CredentialRelease, "save", disk_full)
    monkeypatch.setattr("api.views.JsonResponse", lambda *a, **k: pytest.fail("an answer was made"))
    with pytest.raises(DatabaseError):
        bearer(reader[1]).get(URL)
    assert not CredentialRelease.objects.exists()


@pytest.mark.parametrize("status", ["revoked", "refused", "disconnected", "pending"])
def test_an_unusable_store_answers_409_with_its_status_and_no_secret(reader, acme_store, status):
    Store.objects.filter(pk=acme_store.pk).update(status=status)
    _client, secret = reader
    response = bearer(secret).get(URL)
    assert response.status_code == 409
    assert response.json()["error"]["status"] == status and response.json()["error"]["code"] == "store_not_usable"
    assert not leaks(response.content, (ACME_TOKEN, ACME_CLIENT_ID, ACME_SECRET))
    assert not CredentialRelease.objects.exists()


@pytest.mark.parametrize("status", ["missing_scopes", "unreachable", "store_unavailable", "paused"])
def test_a_store_whose_token_may_still_work_is_released(reader, acme_store, status):
    Store.objects.filter(pk=acme_store.pk).update(status=status)
    response = bearer(reader[1]).get(URL)
    assert response.status_code == 200 and response.json()["status"] == status


def test_a_disconnected_store_has_no_credentials_to_release(reader, acme_store):
    services.store_disconnect(store=acme_store)
    response = bearer(reader[1]).get(URL)
    assert response.status_code == 409 and response.json()["error"]["status"] == "disconnected"


def test_an_unknown_store_is_404(reader, db):
    response = bearer(reader[1]).get("/api/v1/stores/nope/credentials/")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_a_client_without_the_scope_gets_403_and_nothing_is_released(acme_store):
    _client, secret = service_client(name="dashboard", scopes=["stores:read", "checks:write", "events:read"])
    response = bearer(secret).get(URL)
    assert response.status_code == 403 and "credentials:read" in response.json()["error"]["message"]
    assert not leaks(response.content, (ACME_TOKEN, ACME_CLIENT_ID))
    assert not CredentialRelease.objects.exists()


def test_a_staff_token_never_receives_credentials(acme_store, admin_user):
    from api.tokens import api_token_issue

    _token, raw = api_token_issue(name="Dashboards", created_by=admin_user)
    assert bearer(raw).get(URL).status_code == 403
    assert not CredentialRelease.objects.exists()


def test_a_revoked_client_gets_401_and_nothing(reader, acme_store):
    from api.service_clients import service_client_revoke

    service_client_revoke(client=reader[0])
    assert bearer(reader[1]).get(URL).status_code == 401
    assert not CredentialRelease.objects.exists()


def test_a_client_outside_its_networks_is_refused_and_nothing_is_released(acme_store):
    _client, secret = service_client(name="checkout", scopes=["credentials:read"], networks=["10.0.0.0/8"])
    assert bearer(secret, REMOTE_ADDR="192.0.2.7").get(URL).status_code == 403
    assert not CredentialRelease.objects.exists()
    assert bearer(secret, REMOTE_ADDR="10.9.9.9").get(URL).status_code == 200


def test_a_store_moved_to_another_merchant_keeps_working_for_services(reader, acme_store, globex):
    _client, secret = reader
    before = bearer(secret).get(URL)
    services.store_move(store=acme_store, to_merchant=globex)
    after = bearer(secret).get(URL, HTTP_IF_NONE_MATCH=before["ETag"])
    assert after.status_code == 304  # same Violet, same credentials, same version
    assert bearer(secret).get(URL).json()["access_token"] == ACME_TOKEN


def test_releases_are_rate_limited_per_client_with_retry_after(reader, acme_store, settings):
    settings.CREDENTIAL_RELEASE_RATE_LIMIT = 2
    settings.CREDENTIAL_RELEASE_RATE_WINDOW_SECONDS = 60
    _client, secret = reader
    assert [bearer(secret).get(URL).status_code for _ in range(2)] == [200, 200]
    etag = bearer(secret).get(URL, HTTP_IF_NONE_MATCH="*")["ETag"]  # polling is not counted
    throttled = bearer(secret).get(URL)
    # at most the window and one slot (config/throttle.py counts the oldest, partly expired slot whole)
    assert throttled.status_code == 429 and 1 <= int(throttled["Retry-After"]) <= 62
    assert not leaks(throttled.content, (ACME_TOKEN,))
    assert bearer(secret).get(URL, HTTP_IF_NONE_MATCH=etag).status_code == 304
    # Another client has its own allowance.
    _other, other_secret = service_client(name="catalog-sync", scopes=["credentials:read"])
    assert bearer(other_secret).get(URL).status_code == 200
    assert CredentialRelease.objects.count() == 3


def test_no_secret_in_any_log_line_or_metric(reader, acme_store, caplog, settings, django_capture_on_commit_callbacks):
    from prometheus_client import generate_latest

    caplog.set_level(logging.DEBUG)
    _client, secret = reader
    with django_capture_on_commit_callbacks(execute=True):  # metrics count when the audit row commits
        bearer(secret).get(URL)
        bearer(secret).get(URL, HTTP_IF_NONE_MATCH="*")
        Store.objects.filter(pk=acme_store.pk).update(status="revoked")
        bearer(secret).get(URL)
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert "/credentials/" in text  # the request log saw the calls
    assert not leaks(text, (ACME_TOKEN, ACME_CLIENT_ID, secret))
    exposition = generate_latest().decode()
    assert 'violet_credential_releases_total{client="order-sync",outcome="released"}' in exposition
    assert not leaks(exposition, (ACME_TOKEN, ACME_CLIENT_ID, secret))


def test_old_releases_are_pruned(reader, acme_store, settings):
    settings.CREDENTIAL_RELEASE_RETENTION_DAYS = 30
    client, _ = reader
    now = timezone.now()
    old = release(client, acme_store, now - timedelta(31))
    kept = release(client, acme_store, now - timedelta(29))
    assert credential_releases_prune(now=now) == 1
    assert list(CredentialRelease.objects.values_list("pk", flat=True)) == [kept.pk]
    assert old.pk != kept.pk


# --- where releases are shown -----------------------------------------------------------------------


def test_the_merchant_sees_which_services_used_the_store_and_when(reader, acme_store, alice, charlie):
    from tests.conftest import client_for

    bearer(reader[1]).get(URL)
    page = client_for(alice).get("/m/acme/stores/acme123/").content.decode()
    assert "Violet&#x27;s services using this store" in page or "Violet's services using this store" in page
    assert "<bdi>order-sync</bdi>" in page
    assert not leaks(page, (ACME_TOKEN, ACME_CLIENT_ID, reader[1]))
    assert "10.1.2.3" not in page  # names and times only


def test_a_new_merchant_does_not_see_reads_from_before_the_store_came_to_it(reader, acme_store, globex, charlie):
    from tests.conftest import client_for

    bearer(reader[1]).get(URL)
    services.store_move(store=acme_store, to_merchant=globex)
    page = client_for(charlie).get("/m/globex/stores/acme123/").content.decode()
    assert "order-sync" not in page and "No Violet service has used this store" in page


def test_the_console_store_page_lists_the_latest_releases(reader, acme_store, admin_client):
    bearer(reader[1], REMOTE_ADDR="10.1.2.3").get(URL)
    page = admin_client.get(f"/admin/stores/store/{acme_store.pk}/change/").content.decode()
    assert "Credential releases (latest 10)" in page and "order-sync" in page and "10.1.2.3" in page
    assert not leaks(page, (ACME_TOKEN, ACME_CLIENT_ID, reader[1]))


def test_an_error_while_releasing_shows_no_secret_in_the_error_report(reader, acme_store, monkeypatch):
    """The crash comes where the view holds the token in clear (its body). The
    report Django mails (and Sentry gets) lists every frame's locals: the
    view's are hidden by its sensitive_variables. (With DEBUG on, ninja
    answers a plain traceback without locals.)"""
    from django.http import JsonResponse
    from django.views.debug import ExceptionReporter

    def fail(data, **kwargs):
        if "access_token" in data:
            raise RuntimeError("the encoder is gone")
        return JsonResponse(data, **kwargs)

    monkeypatch.setattr("api.views.JsonResponse", fail)
    with pytest.raises(RuntimeError, match="the encoder is gone") as crash:
        bearer(reader[1]).get(URL)
    frames = ExceptionReporter(None, crash.type, crash.value, crash.tb).get_traceback_frames()
    [view] = [frame for frame in frames if frame["function"] == "store_credentials"]
    assert "body" in dict(view["vars"])  # the view's locals are in the report…
    # …and every frame's but the test's (its stand-in holds the body it was given,
    # the test client the Authorization header it sent).
    outside_tests = [frame for frame in frames if not {"/tests/", "/django/test/"} & {*_dirs(frame["filename"])}]
    report = "\n".join(f"{name}={value}" for frame in outside_tests for name, value in frame["vars"])
    assert "caller" in report
    assert not leaks(report, (ACME_TOKEN, ACME_CLIENT_ID, reader[1]))


# --- far more stores than usual ---------------------------------------------------------------------


def test_the_rule(db):
    from api.releases import reads_far_more_than_usual as rule

    assert rule(100, 20.0, factor=3, minimum=50)
    assert not rule(100, 40.0, factor=3, minimum=50)  # 120 would be needed
    assert not rule(49, 0.0, factor=3, minimum=50)  # too few to matter


def test_staff_are_alerted_once_a_day_when_a_client_reads_far_more_stores(reader, acme, settings, mailoutbox):
    from api.releases import credential_release_anomalies_alert

    settings.STAFF_NOTIFICATION_EMAILS = ["ops@violet.test"]
    settings.CREDENTIAL_RELEASE_ALERT_MIN_STORES = 5
    settings.CREDENTIAL_RELEASE_ALERT_FACTOR = 3
    client, secret = reader
    now = timezone.now()
    stores = [Store.objects.create(merchant=acme, store_hash=f"s{i}", status="connected") for i in range(12)]
    # Usually 2 stores a day for a week.
    for day in range(1, 8):
        for store in stores[:2]:
            release(client, store, now - timedelta(day))
    for store in stores[:6]:
        release(client, store, now - timedelta(minutes=5))
    assert credential_release_anomalies_alert(now=now) == []  # 6 is not over 3 × 2
    for store in stores[6:]:
        release(client, store, now - timedelta(minutes=2))
    assert credential_release_anomalies_alert(now=now) == [client]  # 12 > 6
    [mail] = mailoutbox
    assert mail.to == ["ops@violet.test"] and "order-sync read 12 stores" in mail.subject
    assert not leaks(mail.body + mail.subject, (secret,))
    # Once a day per client.
    assert credential_release_anomalies_alert(now=now + timedelta(hours=1)) == []
    assert len(mailoutbox) == 1
    for store in stores:
        release(client, store, now + timedelta(days=1))
    assert credential_release_anomalies_alert(now=now + timedelta(days=1, minutes=1)) == [client]
