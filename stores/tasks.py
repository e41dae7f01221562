"""Celery tasks: thin. They take store ids and claim tokens, never secrets,
and call the services. Acknowledged late (settings), so a worker killed
mid-check leaves its batch on the queue for another worker."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.db import DatabaseError

from . import claims, fleet

logger = logging.getLogger(__name__)


@shared_task(name="stores.dispatch_due_checks", ignore_result=True)
def dispatch_due_checks() -> int:
    """Claim every due store, in batches, and queue their checks."""
    queued = 0
    while queued < settings.DISPATCH_MAX_PER_RUN:
        claim = claims.claim_due_stores(limit=settings.DISPATCH_BATCH_SIZE)
        if not claim.store_ids:
            break
        check_stores.delay(claim.store_ids, claim.token)
        queued += len(claim.store_ids)
    if queued:
        logger.info("queued checks for %d due stores", queued)
    claims.mark_dispatcher_run()
    return queued


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
    return fleet.check_stores(store_ids, claim_token=claim_token, trigger=trigger)


def queue_check_now(store_id: int, *, trigger: str) -> bool:
    """Queue an immediate check of one store; False if one is already in flight."""
    claim = claims.claim_store(store_id)
    if claim is None:
        return False
    check_stores.delay(claim.store_ids, claim.token, trigger)
    return True


@shared_task(name="stores.prune_checks", ignore_result=True)
def prune_checks() -> int:
    from .services import checks_prune

    return checks_prune()
