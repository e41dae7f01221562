"""Every periodic task of the project (all apps'), kept in django-celery-beat's
database tables so staff can see and change them in the admin.

`ensure_periodic_tasks` runs after every migrate (connected in
`stores.apps`): it creates what is missing and leaves alone what exists, so a
schedule staff changed is kept.
"""

from __future__ import annotations

from django_celery_beat.models import IntervalSchedule, PeriodicTask

from api.tasks import prune_credential_releases, watch_credential_releases
from connect.tasks import forget_expired_drafts
from notifications.tasks import dispatch as dispatch_notifications
from storehooks.tasks import keep_hooks_alive
from storehooks.tasks import sweep as sweep_webhooks
from stores.tasks import dispatch_due_checks, prune_checks, prune_events, prune_traffic_signals, review_incidents

PERIODIC_TASKS = (
    # (name, task, every, period)
    ("Dispatch due store checks", dispatch_due_checks, 1, IntervalSchedule.MINUTES),
    ("Send notifications", dispatch_notifications, 30, IntervalSchedule.SECONDS),
    ("Sweep BigCommerce webhook records", sweep_webhooks, 10, IntervalSchedule.MINUTES),
    # Sweeps only the stores that are due (BIGCOMMERCE_WEBHOOKS_SWEEP_INTERVAL_DAYS, or recovered).
    ("Keep BigCommerce webhooks alive", keep_hooks_alive, 15, IntervalSchedule.MINUTES),
    ("Forget expired kept credentials", forget_expired_drafts, 10, IntervalSchedule.MINUTES),
    ("Prune old checks", prune_checks, 1, IntervalSchedule.DAYS),
    # STORE_EVENT_RETENTION_DAYS; a feed reader's cursor from before what went answers 410.
    ("Prune old store events", prune_events, 1, IntervalSchedule.DAYS),
    ("Review fleet-wide incidents", review_incidents, 1, IntervalSchedule.MINUTES),
    # TRAFFIC_SIGNAL_RETENTION_DAYS
    ("Prune old traffic signals", prune_traffic_signals, 1, IntervalSchedule.DAYS),
    # CREDENTIAL_RELEASE_RETENTION_DAYS
    ("Prune old credential releases", prune_credential_releases, 1, IntervalSchedule.DAYS),
    # A client reading far more stores than usual: staff mailed (once a day per client).
    ("Watch credential releases", watch_credential_releases, 10, IntervalSchedule.MINUTES),
)


def ensure_periodic_tasks() -> list[str]:
    created = []
    for name, task, every, period in PERIODIC_TASKS:
        if PeriodicTask.objects.filter(name=name).exists():
            continue
        schedule, _ = IntervalSchedule.objects.get_or_create(every=every, period=period)
        PeriodicTask.objects.create(name=name, task=task.name, interval=schedule)
        created.append(name)
    return created


def ensure_after_migrate(sender, **kwargs) -> None:
    """`post_migrate` receiver."""
    ensure_periodic_tasks()
