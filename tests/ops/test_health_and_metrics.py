from datetime import timedelta

from django.test import override_settings
from django.utils import timezone
from django_celery_beat.models import PeriodicTask
from prometheus_client.parser import text_string_to_metric_families

from stores.models import Store
from tests.conftest import verify_second_factor


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
        "incident": "none",
        "incidents": [],
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


def test_live_answers_at_once_without_asking_anything(client, db, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/health/live")
    assert response.status_code == 200 and response.json() == {"ok": True}
    assert "no-store" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]


def test_ready_says_database_and_broker_names_no_worker_and_is_cached(client, db, settings, monkeypatch):
    from ops import checks

    settings.HEALTH_READY_CACHE_SECONDS = 60
    checks._READY.clear()
    asked = []
    monkeypatch.setattr(checks, "live_workers", lambda: asked.append("workers") or ["celery@secret-host"])
    real_database_ok = checks.database_ok
    monkeypatch.setattr(checks, "database_ok", lambda: asked.append("database") or real_database_ok())
    first = client.get("/health/ready")
    assert first.status_code == 200
    assert first.json() == {"ok": True, "database": "ok", "broker": "ok"}
    for _ in range(5):
        assert client.get("/health/ready").json() == first.json()
    assert asked == ["database"]  # once in the cache's time, and never a worker ping
    settings.HEALTH_READY_CACHE_SECONDS = 0
    assert client.get("/health/ready").status_code == 200 and asked == ["database", "database"]


def test_ready_is_503_naming_what_is_down(client, db, settings, monkeypatch):
    from ops import checks

    settings.HEALTH_READY_CACHE_SECONDS = 0
    monkeypatch.setattr(checks, "broker_ok", lambda: (False, "OperationalError"))
    response = client.get("/health/ready")
    assert response.status_code == 503 and response.json()["broker"] == "OperationalError"


@override_settings(METRICS_TOKEN="a-metrics-token-of-at-least-32-characters")
def test_workers_and_beat_are_for_the_token_or_staff_only(client, db, admin_user):
    PeriodicTask.objects.filter(task="stores.dispatch_due_checks").update(last_run_at=timezone.now())
    anonymous = client.get("/health/")
    assert anonymous.status_code == 401 and b"workers" not in anonymous.content
    assert client.get("/health/live").status_code == 200  # load balancers need no token
    assert client.get("/health/ready").status_code == 200
    scraper = client.get("/health/", headers={"Authorization": "Bearer a-metrics-token-of-at-least-32-characters"})
    assert scraper.status_code == 200 and "workers" in scraper.json()
    client.force_login(admin_user)  # staff, but without their second factor
    assert client.get("/health/").status_code == 401
    verify_second_factor(client, admin_user)
    assert client.get("/health/").status_code == 200


def test_an_open_incident_shows_in_metrics_and_health_without_failing_readiness(client, acme):
    from stores.models import Incident

    PeriodicTask.objects.filter(task="stores.dispatch_due_checks").update(last_run_at=timezone.now())
    incident = Incident.objects.create(kind="invalid_token", reason="storm")
    Store.objects.create(merchant=acme, store_hash="held1", status="connected", held_by=incident)
    body = client.get("/metrics").content.decode()
    families = {family.name: family for family in text_string_to_metric_families(body)}
    open_by_kind = {sample.labels["kind"]: sample.value for sample in families["violet_incident_open"].samples}
    assert open_by_kind["invalid_token"] == 1 and open_by_kind["unavailable"] == 0
    assert [sample.value for sample in families["violet_stores_held_by_incident"].samples] == [1]
    health = client.get("/health/")
    assert health.status_code == 200
    assert health.json()["incident"] == "incident open"
    assert health.json()["incidents"][0]["kind"] == "invalid_token"
    assert client.get("/health/ready").status_code == 200
