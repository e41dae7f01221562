from datetime import timedelta

from django.test import override_settings
from django.utils import timezone
from django_celery_beat.models import PeriodicTask
from prometheus_client.parser import text_string_to_metric_families

from stores.models import Store


def test_health_is_503_until_the_dispatcher_has_run(client, db):
    response = client.get("/health/")
    assert response.status_code == 503
    assert response.json()["beat"] == "never ran"
    assert response.json()["database"] == "ok"


def test_health_is_200_when_everything_ran_recently(client, db):
    PeriodicTask.objects.filter(task="stores.dispatch_due_checks").update(last_run_at=timezone.now())
    response = client.get("/health/")
    assert response.status_code == 200, response.json()
    assert response.json() == {
        "ok": True,
        "database": "ok",
        "broker": "ok",
        "dispatcher_last_run": response.json()["dispatcher_last_run"],
        "beat": "ok",
        "workers": [],  # none runs in unit tests; tests/integration/test_many_machines.py has two
    }


def test_health_says_beat_is_stale(client, db):
    PeriodicTask.objects.filter(task="stores.dispatch_due_checks").update(
        last_run_at=timezone.now() - timedelta(minutes=30)
    )
    assert client.get("/health/").json()["beat"] == "stale"


def test_metrics_in_prometheus_format(client, acme):
    Store.objects.create(
        merchant=acme, store_hash="due1", status="connected", next_check_at=timezone.now() - timedelta(hours=1)
    )
    Store.objects.create(
        merchant=acme, store_hash="ok2", status="revoked", next_check_at=timezone.now() + timedelta(hours=1)
    )
    body = client.get("/metrics").content.decode()
    families = {family.name: family for family in text_string_to_metric_families(body)}
    assert families["violet_stores"].type == "gauge"
    stores = {sample.labels["status"]: sample.value for sample in families["violet_stores"].samples}
    assert stores["connected"] == 1 and stores["revoked"] == 1 and stores["paused"] == 0
    assert [sample.value for sample in families["violet_checks_backlog"].samples] == [1]


@override_settings(METRICS_TOKEN="s3cret-metrics")
def test_metrics_can_require_a_token(client, db):
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer s3cret-metrics"}).status_code == 200


def test_the_first_dispatcher_run_makes_health_green(client, db):
    from stores.tasks import dispatch_due_checks

    assert client.get("/health/").status_code == 503
    dispatch_due_checks()
    assert client.get("/health/").json()["beat"] == "ok"
