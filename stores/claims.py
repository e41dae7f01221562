"""Claiming due stores, so that no store is ever checked twice at once.

A claim is a conditional update: it gives a batch of due stores a fresh
`claim_token` and moves their `next_check_at` to the claim's expiry (the
lease). Only the holder of the token may record the result
(`services.store_record_checks`); if its worker dies, the store simply comes
due again when the lease runs out. Two beats, two dispatchers or a manual
"check now" racing each other are harmless: rows locked by one claim are
skipped by the other (PostgreSQL's SKIP LOCKED; SQLite serialises writers).

Here too: the due stores' query (`due_stores`, also read by /health/),
`make_all_due` for `revalidate --all`, and the dispatcher's mark
(`mark_dispatcher_run`). Queueing the checks is the services' job
(`services.store_check_request`, `services.checks_dispatch_due`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from .models import Store
from .status import UNCHECKED_STATUSES


def default_lease() -> timedelta:
    """How long a claim holds: longer than any check, short enough that a check
    lost with its worker or its queue message is soon claimed again."""
    return timedelta(seconds=settings.CHECK_LEASE_SECONDS)


@dataclass(frozen=True)
class Claim:
    token: str
    store_ids: list[int]


def due_stores(now: datetime):
    """The dispatcher's query; it matches the partial index `store_due_idx`."""
    return Store.objects.filter(~Q(status__in=[str(s) for s in UNCHECKED_STATUSES]), next_check_at__lte=now).order_by(
        "next_check_at"
    )


def claim_due_stores(*, limit: int, lease: timedelta | None = None, now: datetime | None = None) -> Claim:
    now = now or timezone.now()
    lease = lease or default_lease()
    token = uuid.uuid4().hex
    with transaction.atomic():
        ids = list(due_stores(now).select_for_update(skip_locked=True).values_list("id", flat=True)[:limit])
        if ids:
            Store.objects.filter(id__in=ids).update(
                claim_token=token, claimed_until=now + lease, next_check_at=now + lease
            )
    return Claim(token=token, store_ids=ids)


def claim_store(store_id: int, *, lease: timedelta | None = None, now: datetime | None = None) -> Claim | None:
    """Claim one store for a check now, unless a check of it is already in flight."""
    now = now or timezone.now()
    lease = lease or default_lease()
    token = uuid.uuid4().hex
    claimed = (
        Store.objects.filter(pk=store_id)
        .exclude(status__in=[str(s) for s in UNCHECKED_STATUSES])
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lte=now))
        .update(claim_token=token, claimed_until=now + lease, next_check_at=now + lease)
    )
    return Claim(token=token, store_ids=[store_id]) if claimed == 1 else None


def mark_dispatcher_run(now: datetime | None = None) -> None:
    """Say when the dispatcher last ran, where /health/ reads it.

    Beat saves its own bookkeeping only every few minutes; this makes the
    health check true from the first run.
    """
    PeriodicTask.objects.filter(task="stores.dispatch_due_checks").update(last_run_at=now or timezone.now())


def make_all_due(now: datetime | None = None) -> int:
    """Every checked store not in flight becomes due now (for `revalidate --all`)."""
    now = now or timezone.now()
    return (
        Store.objects.exclude(status__in=[str(s) for s in UNCHECKED_STATUSES])
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lte=now))
        .update(next_check_at=now)
    )
