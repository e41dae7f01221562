"""Celery tasks: thin. They take store ids and claim tokens, never secrets,
and call the services. Acknowledged late (settings), so a worker killed
mid-check leaves its batch on the queue for another worker.

How tasks and services depend on each other, in every app (the HackSoft
Django styleguide's Celery rule):

- Services queue tasks: a service module imports the tasks it queues at its
  top, under a `_task` alias (`from stores.tasks import check_stores as
  check_stores_task`). Views, receivers and commands call services, never
  `.delay()` themselves.
- Tasks are shells that call one service each. A tasks module imports at
  its top only what never imports it back; a service whose package imports
  the tasks module (here `stores.services`, and `stores.fleet` through it)
  is imported in the task's body. That is the one import inside a function
  we allow: services import tasks at load time, so those tasks cannot
  import them then. Where no service queues the app's tasks
  (`notifications`, `connect`), tasks import their services at the top.
"""

from __future__ import annotations

from celery import shared_task
from django.db import DatabaseError


@shared_task(name="stores.dispatch_due_checks", ignore_result=True)
def dispatch_due_checks() -> int:
    """Claim every due store, in batches, and queue their checks."""
    from .services import checks_dispatch_due

    return checks_dispatch_due()


@shared_task(
    name="stores.check_stores",
    ignore_result=True,
    acks_late=True,
    # The database went away mid-batch (a restart, a failover): check again
    # shortly. The claim still holds, so no other worker checks these meanwhile.
    autoretry_for=(DatabaseError,),
    retry_backoff=2,
    retry_backoff_max=60,
    max_retries=5,
)
def check_stores(store_ids: list[int], claim_token: str, trigger: str = "schedule") -> int:
    from . import fleet

    return fleet.check_stores(store_ids, claim_token=claim_token, trigger=trigger)


@shared_task(name="stores.prune_checks", ignore_result=True)
def prune_checks() -> int:
    """Old checks, and the incident rule's tallies older than its baseline."""
    from .services import checks_prune, tallies_prune

    return checks_prune() + tallies_prune()


@shared_task(name="stores.prune_events", ignore_result=True)
def prune_events() -> int:
    from .events import store_events_prune

    return store_events_prune()


@shared_task(name="stores.review_incidents", ignore_result=True)
def review_incidents() -> dict:
    """Close the fleet-wide incidents that are over (their held stores are
    checked again at once); open any the rule calls for."""
    from .services import incidents_review

    return incidents_review()


@shared_task(name="stores.check_after_signal", ignore_result=True)
def check_after_signal(store_id: int, attempt: int = 0) -> str:
    """A traffic signal's check of one store, then its confirmation (see
    `services.traffic.traffic_signal_check`)."""
    from .services.traffic import traffic_signal_check

    return traffic_signal_check(store_id=store_id, attempt=attempt)


@shared_task(name="stores.prune_traffic_signals", ignore_result=True)
def prune_traffic_signals() -> int:
    from .services.traffic import traffic_signals_prune

    return traffic_signals_prune()
