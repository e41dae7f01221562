"""Counters and histograms through prometheus_client: each counted where the
event happens, once, after its transaction commits; /metrics in its format,
one process or many."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import responses
from django.db import transaction
from django.utils import timezone
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from notifications import services as notification_services
from notifications.models import Notification, WebhookEndpoint
from stores import services
from stores.bigcommerce.report import Exchange, Outcome
from stores.models import Check, StatusChange
from tests.conftest import ACME_SECRET
from tests.reports import credentials, report
from tests.storehooks.conftest import deliver_event

ROOT = Path(__file__).resolve().parents[2]
HOOK_URL = "https://hooks.violet.test/stores"


def value(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def record(store, outcome=Outcome.CONNECTED, *, trigger="schedule", exchanges=()):
    checked = report(outcome, store_hash=store.store_hash)
    checked.exchanges = list(exchanges)
    return services.store_record_check(
        store_id=store.pk, report=checked, trigger=trigger, started_at=timezone.now(), duration_ms=5
    )


def scrape(client) -> dict[str, list]:
    body = client.get("/metrics").content.decode()
    return {family.name: family.samples for family in text_string_to_metric_families(body)}


def test_a_check_is_counted_by_trigger_and_outcome_when_it_commits(acme_store, django_capture_on_commit_callbacks):
    before = value("violet_checks_total", trigger="merchant", outcome="invalid_token")
    with django_capture_on_commit_callbacks(execute=True):
        record(acme_store, Outcome.INVALID_TOKEN, trigger="merchant")
    assert value("violet_checks_total", trigger="merchant", outcome="invalid_token") == before + 1


def test_a_check_rolled_back_is_not_counted(acme_store, django_capture_on_commit_callbacks):
    before = value("violet_checks_total", trigger="staff", outcome="connected")
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        with transaction.atomic():
            record(acme_store, trigger="staff")
            raise RuntimeError("the batch failed")
    assert value("violet_checks_total", trigger="staff", outcome="connected") == before


def test_bigcommerce_latency_by_endpoint_template_and_status(acme_store, django_capture_on_commit_callbacks):
    exchanges = [
        Exchange("GET", "/v2/store", 200, elapsed_ms=120),
        Exchange("GET", "/v3/catalog/products?limit=1", 200, elapsed_ms=80),
        Exchange("PUT", "/v3/checkouts/00000000-0000-0000-0000-000000000000", None, 5000, error="timeout"),
    ]
    count = "violet_bigcommerce_request_seconds_count"
    before = value(count, endpoint="GET /v3/catalog/products", status="200")
    with django_capture_on_commit_callbacks(execute=True):
        record(acme_store, exchanges=exchanges)
    assert value(count, endpoint="GET /v3/catalog/products", status="200") == before + 1
    assert value(count, endpoint="PUT /v3/checkouts/00000000-0000-0000-0000-000000000000", status="timeout") >= 1
    assert value("violet_bigcommerce_request_seconds_bucket", endpoint="GET /v2/store", status="200", le="0.25") >= 1
    endpoints = {
        sample.labels["endpoint"]
        for metric in REGISTRY.collect()
        if metric.name == "violet_bigcommerce_request_seconds"
        for sample in metric.samples
    }
    assert not any(acme_store.store_hash in e or "?" in e for e in endpoints)


def test_status_flips_are_counted_from_and_to(acme_store, django_capture_on_commit_callbacks):
    before = value("violet_status_changes_total", **{"from": "connected", "to": "revoked"})
    with django_capture_on_commit_callbacks(execute=True):
        record(acme_store, Outcome.INVALID_TOKEN)  # a definitive answer is confirmed first
        assert value("violet_status_changes_total", **{"from": "connected", "to": "revoked"}) == before
        record(acme_store, Outcome.INVALID_TOKEN)
    assert StatusChange.objects.filter(old_status="connected", new_status="revoked").count() == 1
    assert value("violet_status_changes_total", **{"from": "connected", "to": "revoked"}) == before + 1


def test_a_flip_through_the_services_is_counted(acme, django_capture_on_commit_callbacks):
    before = value("violet_status_changes_total", **{"from": "pending", "to": "connected"})
    checks_before = value("violet_checks_total", trigger="onboarding", outcome="connected")
    with django_capture_on_commit_callbacks(execute=True):
        services.store_connect(merchant=acme, credentials=credentials(), report=report())
    assert value("violet_status_changes_total", **{"from": "pending", "to": "connected"}) == before + 1
    assert value("violet_checks_total", trigger="onboarding", outcome="connected") == checks_before + 1
    assert Check.objects.count() == 1


@responses.activate
def test_notifications_sent_and_failed_by_channel(acme_store, alice, django_capture_on_commit_callbacks):
    WebhookEndpoint.objects.create(name="Violet core", url=HOOK_URL)
    responses.post(HOOK_URL, status=410)  # permanently wrong: failed at once
    sent = value("violet_notification_attempts_total", channel="email", result="sent")
    failed = value("violet_notification_attempts_total", channel="webhook", result="failed")
    record(acme_store, Outcome.INVALID_TOKEN)
    record(acme_store, Outcome.INVALID_TOKEN)
    notification_services.status_changes_process()
    notification_services.notifications_deliver_due()
    assert set(Notification.objects.values_list("channel", "state")) == {("email", "delivered"), ("webhook", "failed")}
    emails = Notification.objects.filter(channel="email").count()
    assert value("violet_notification_attempts_total", channel="email", result="sent") == sent + emails
    assert value("violet_notification_attempts_total", channel="webhook", result="failed") == failed + 1


def test_webhook_deliveries_by_outcome(acme_store, monkeypatch):
    monkeypatch.setattr("storehooks.services.receiving.transaction.on_commit", lambda callback, **kw: callback())
    monkeypatch.setattr("storehooks.tasks.process_delivery.delay", lambda *args: None)
    accepted = value("violet_bigcommerce_webhook_deliveries_total", outcome="accepted")
    rejected = value("violet_bigcommerce_webhook_deliveries_total", outcome="rejected")
    assert deliver_event(acme_store.store_hash, ACME_SECRET).status_code == 200
    assert deliver_event(acme_store.store_hash, "9" * 64).status_code == 200  # refused, yet answered 200 (issue 13)
    assert value("violet_bigcommerce_webhook_deliveries_total", outcome="accepted") == accepted + 1
    assert value("violet_bigcommerce_webhook_deliveries_total", outcome="rejected") == rejected + 1


def test_metrics_page_is_prometheus_client_exposition_with_counters_and_fleet(client, acme_store):
    response = client.get("/metrics")
    assert response["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    openmetrics = client.get("/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"})
    assert openmetrics["Content-Type"].startswith("application/openmetrics-text; version=1.0.0")
    assert openmetrics.content.decode().endswith("# EOF\n")
    families = scrape(client)
    # Counters and the histogram are declared even before anything happened.
    for name in ("violet_checks", "violet_status_changes", "violet_notification_attempts"):
        assert name in families
    assert "violet_bigcommerce_request_seconds" in families
    stores = {s.labels["status"]: s.value for s in families["violet_stores"]}
    assert stores["connected"] == 1.0 and stores["revoked"] == 0.0


def test_metrics_from_many_processes_are_added_up(tmp_path):
    """PROMETHEUS_MULTIPROC_DIR: two processes count, a third one reports the sum
    (as two gunicorn workers, or a worker's pool children, and the web)."""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "config.settings"}
    count = textwrap.dedent(
        """
        import django; django.setup()
        from config import metrics
        metrics.CHECKS.labels(trigger="schedule", outcome="connected").inc()
        metrics.webhook_delivery("accepted")
        """
    )
    for _ in range(2):
        subprocess.run([sys.executable, "-c", count], cwd=ROOT, env=env, check=True, timeout=60)
    report_script = textwrap.dedent(
        """
        import django; django.setup()
        from ops import metrics
        print(metrics.exposition(fleet=False)[0].decode())
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", report_script], cwd=ROOT, env=env, check=True, timeout=60, capture_output=True, text=True
    ).stdout
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(out)
        for s in family.samples
    }
    assert samples[("violet_checks_total", (("outcome", "connected"), ("trigger", "schedule")))] == 2.0
    assert samples[("violet_bigcommerce_webhook_deliveries_total", (("outcome", "accepted"),))] == 2.0
