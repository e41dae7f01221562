"""What /health/ and /metrics report: read from the database and the broker,
so every web process answers the same whatever process did the work."""

from __future__ import annotations

import time
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.db.models import Avg, Count, Max
from django.utils import timezone

from notifications.models import Notification, WebhookEndpoint
from stores.claims import due_stores
from stores.incident_rule import IncidentKind
from stores.models import Check, Incident, Store
from stores.status import StoreStatus

DISPATCHER_TASK = "stores.dispatch_due_checks"
# A store due longer than this ago and still unchecked is backlog.
BACKLOG_GRACE = timedelta(minutes=5)


def database_ok() -> tuple[bool, str]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True, "ok"
    except Exception as error:  # reported, not raised: this is a health check
        return False, type(error).__name__


def broker_ok() -> tuple[bool, str]:
    from config.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return True, "ok"
    except Exception as error:  # reported, not raised
        return False, type(error).__name__


def live_workers() -> list[str]:
    """The Celery workers that answer a ping now (by their node names), [] if none."""
    from config.celery import app

    if settings.CELERY_TASK_ALWAYS_EAGER:
        return []
    try:
        replies = app.control.ping(timeout=settings.HEALTH_WORKER_PING_SECONDS) or []
    except Exception:  # reported as none, not raised
        return []
    return sorted(name for reply in replies for name in reply)


def dispatcher_last_run():
    from django_celery_beat.models import PeriodicTask

    return PeriodicTask.objects.filter(task=DISPATCHER_TASK, enabled=True).aggregate(last=Max("last_run_at"))["last"]


_READY: dict[str, tuple[float, dict]] = {}


def readiness() -> dict:
    """Database and broker, remembered for HEALTH_READY_CACHE_SECONDS in this process."""
    now = time.monotonic()
    cached = _READY.get("last")
    if cached is not None and now - cached[0] < settings.HEALTH_READY_CACHE_SECONDS:
        return cached[1]
    db_ok, db_detail = database_ok()
    broker, broker_detail = broker_ok()
    report = {"ok": db_ok and broker, "database": db_detail, "broker": broker_detail}
    _READY["last"] = (now, report)
    return report


def health() -> dict:
    now = timezone.now()
    db_ok, db_detail = database_ok()
    broker, broker_detail = broker_ok()
    workers = live_workers() if broker else []
    last_run = dispatcher_last_run() if db_ok else None
    beat_ok = last_run is not None and now - last_run <= timedelta(minutes=settings.HEALTH_BEAT_STALE_MINUTES)
    return {
        "ok": db_ok and broker and beat_ok,
        "database": db_detail,
        "broker": broker_detail,
        "dispatcher_last_run": last_run.isoformat() if last_run else None,
        "beat": "ok" if beat_ok else "stale" if last_run else "never ran",
        # Informational: a web process stays in rotation while workers restart.
        "workers": workers,
        # Informational too: a BigCommerce-wide incident is not Violet being down.
        **incidents_state(db_ok),
    }


def incidents_state(db_ok: bool = True) -> dict:
    """`incident`: "incident open" or "none"; `incidents`: the open ones (kind, since)."""
    if not db_ok:
        return {"incident": "unknown", "incidents": []}
    open_now = list(Incident.objects.filter(closed_at__isnull=True).order_by("opened_at").values("kind", "opened_at"))
    return {
        "incident": "incident open" if open_now else "none",
        "incidents": [{"kind": row["kind"], "since": row["opened_at"].isoformat()} for row in open_now],
    }


def metrics() -> list[tuple[str, str, str, list[tuple[dict, float]]]]:
    """(name, type, help, [(labels, value)]) for the Prometheus exposition."""
    now = timezone.now()
    hour_ago = now - timedelta(hours=1)
    by_status = dict(Store.objects.values_list("status").annotate(n=Count("id")))
    by_outcome = Check.objects.filter(started_at__gte=hour_ago).values_list("outcome").annotate(n=Count("id"))
    duration = Check.objects.filter(started_at__gte=hour_ago).aggregate(avg=Avg("duration_ms"), max=Max("duration_ms"))
    backlog = due_stores(now - BACKLOG_GRACE).count()
    failed = dict(Notification.objects.values_list("state").annotate(n=Count("id")))
    open_kinds = set(Incident.objects.filter(closed_at__isnull=True).values_list("kind", flat=True))
    return [
        (
            "violet_stores",
            "gauge",
            "Stores by status.",
            [({"status": s.value}, by_status.get(s.value, 0)) for s in StoreStatus],
        ),
        (
            "violet_checks_last_hour",
            "gauge",
            "Checks recorded in the last hour, by outcome.",
            [({"outcome": outcome}, n) for outcome, n in by_outcome],
        ),
        (
            "violet_check_duration_ms_avg",
            "gauge",
            "Mean check duration over the last hour (ms).",
            [({}, duration["avg"] or 0)],
        ),
        (
            "violet_check_duration_ms_max",
            "gauge",
            "Longest check over the last hour (ms).",
            [({}, duration["max"] or 0)],
        ),
        ("violet_checks_backlog", "gauge", "Stores due for more than 5 minutes and not yet checked.", [({}, backlog)]),
        (
            "violet_notifications",
            "gauge",
            "Notifications by delivery state.",
            [({"state": state}, failed.get(state, 0)) for state in Notification.State.values],
        ),
        (
            "violet_webhook_endpoints_disabled",
            "gauge",
            "Webhook endpoints disabled after permanent errors.",
            [({}, WebhookEndpoint.objects.filter(is_active=False).count())],
        ),
        (
            "violet_incident_open",
            "gauge",
            "1 while a fleet-wide incident of this kind is open (its failures flip no store), else 0.",
            [({"kind": kind.value}, 1 if kind.value in open_kinds else 0) for kind in IncidentKind],
        ),
        (
            "violet_stores_held_by_incident",
            "gauge",
            "Stores whose latest failure an open incident holds back.",
            [({}, Store.objects.filter(held_by__isnull=False).count())],
        ),
    ]

