"""Staff console fixtures: a superuser (Support and Operations people are in
tests/conftest.py), an endpoint, and a store whose secrets are known (ACME_TOKEN, ACME_SECRET, ACME_CLIENT_ID) with
a history of checks, status changes and notifications."""

from __future__ import annotations

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse
from django.utils import timezone

from merchants.models import User
from notifications.models import Notification, WebhookEndpoint
from stores import services
from stores.bigcommerce.report import Outcome
from stores.models import Store
from tests.conftest import ACME_CLIENT_ID, ACME_SECRET, ACME_TOKEN, PASSWORD, client_for
from tests.leaks import assert_no_secret as _assert_no_secret
from tests.reports import report

SECRETS = (ACME_TOKEN, ACME_SECRET, ACME_CLIENT_ID)


def assert_no_secret(text: str, secrets=SECRETS) -> None:
    """No secret, and no 8-character slice of one, anywhere in `text`."""
    _assert_no_secret(text, secrets)


@pytest.fixture
def superuser(db) -> User:
    return User.objects.create_superuser(email="root@violet.test", password=PASSWORD)


@pytest.fixture
def endpoint(db) -> WebhookEndpoint:
    return WebhookEndpoint.objects.create(
        name="Violet core", url="https://hooks.violet.test/bc", events=["store.revoked"]
    )


@pytest.fixture
def history(acme_store, endpoint, alice):
    """acme_store with checks (one broken, one fine), status changes and a delivery."""
    services.store_record_check(
        store_id=acme_store.pk,
        report=report(Outcome.MISSING_SCOPES, missing=["store_cart"]),
        trigger="schedule",
        started_at=timezone.now(),
        duration_ms=120,
    )
    services.store_record_check(
        store_id=acme_store.pk,
        report=report(Outcome.MISSING_SCOPES, missing=["store_cart"]),
        trigger="confirmation",
        started_at=timezone.now(),
        duration_ms=110,
    )
    acme_store.refresh_from_db()
    change = acme_store.status_changes.first()
    Notification.objects.create(
        status_change=change,
        event_type="store.missing_scopes",
        event_id="evt_test",
        channel="webhook",
        endpoint=endpoint,
        audience=f"endpoint:{endpoint.pk}",
        state="failed",
        attempts=3,
        last_error="The endpoint answered HTTP 410.",
        last_status_code=410,
    )
    Notification.objects.create(
        status_change=change,
        event_type="store.missing_scopes",
        event_id="evt_test",
        channel="email",
        recipients=[alice.email],
        audience="merchant",
        state="delivered",
        attempts=1,
    )
    return acme_store


def url(name, *args):
    return reverse(f"admin:{name}", args=args)


def store_log(store: Store) -> list[LogEntry]:
    return list(
        LogEntry.objects.filter(
            content_type=ContentType.objects.get_for_model(Store), object_id=str(store.pk)
        ).order_by("id")
    )


@pytest.fixture
def queued(monkeypatch):
    """What "check now" put on the queue: (store ids, claim token, trigger)."""
    sent = []
    monkeypatch.setattr("stores.tasks.check_stores.delay", lambda *args: sent.append(args))
    return sent


@pytest.fixture
def ops(operations):
    return client_for(operations)
