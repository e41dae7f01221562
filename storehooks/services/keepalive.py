"""Keep each connected store's BigCommerce hooks alive: the keep-alive sweep.

Why: BigCommerce switches hooks off on its own, and tells the merchant, not us.
From `bigcommerce/docs`:

- `docs/integrations/webhooks/overview.mdx`: "A webhook subscription becomes
  deactivated after 90 days of inactivity." Our scopes
  (`store/information/updated`, `store/app/uninstalled`) are rare, so most
  stores' hooks will go quiet that long.
- same page, "Callback retry mechanism": after the final retry
  ("cumulatively 48 hours after the first delivery attempt") "the webhook
  will be deactivated, and an email will be sent to the email address
  registered for the subscribing app. To reactivate the webhook, set
  `is_active` back to `true`".
- "Only one webhook is allowed per unique combination of store_id +
  client_id + scope + destination" (older accounts may still have more).

What: `hooks_keep_alive(store_ids)` lists each store's hooks through its own
API account (one `GET /v3/hooks`), re-activates inactive ones (`PUT`),
re-creates missing ones (`POST`), deletes duplicates (`DELETE`) -- so a few
requests per store, and one when all is well -- and records on its
`HookRegistration` when it swept, what it found per scope, what it changed
and any error. At most `BIGCOMMERCE_WEBHOOKS_SWEEP_CONCURRENCY` stores are
in flight at once, on one event loop.

When: `hooks_sweep_due()` (the `storehooks.keep_hooks_alive` periodic task,
every 15 minutes) sweeps connected stores never swept, swept more than
`BIGCOMMERCE_WEBHOOKS_SWEEP_INTERVAL_DAYS` ago, whose last sweep failed over
an hour ago, or whose status changed since their last sweep (a store that
recovers to `connected`). `manage.py webhooks --ensure` sweeps now.

Two sweeps of one store never run at once: each claims the store's
registration by a conditional update of `sweep_claimed_until` (a lease), and
only the claimant calls BigCommerce.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError
from django.db.models import F, Q
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from config.crypto import UndecryptableCredential
from stores.bigcommerce.webhooks import CallFailed, Registration
from stores.models import Credential, Store
from stores.status import StoreStatus

from .. import bigcommerce_api
from ..models import HookRegistration
from .registration import ACCOUNT_HEADER, SCOPES, account_key, receiver_url, webhooks_enabled

logger = logging.getLogger(__name__)

SWEEP_LEASE = timedelta(minutes=30)
RETRY_FAILED_AFTER = timedelta(hours=1)
BATCH_SIZE = 100


@dataclass(frozen=True)
class SweepResult:
    """One store's sweep: what it found per scope, what it changed, or why it failed."""

    store_hash: str
    found: dict[str, str] = field(default_factory=dict)
    changes: dict[str, Any] = field(default_factory=dict)
    error: str = ""
    skipped: str = ""  # why nothing was done ("claimed by another sweep", ...)


def hooks_due(*, now: datetime | None = None, limit: int | None = None) -> list[int]:
    """Ids of connected stores whose hooks are due for a sweep, longest-waiting first."""
    now = now or timezone.now()
    interval = timedelta(days=settings.BIGCOMMERCE_WEBHOOKS_SWEEP_INTERVAL_DAYS)
    limit = settings.BIGCOMMERCE_WEBHOOKS_SWEEP_MAX_PER_RUN if limit is None else limit
    due = (
        Store.objects.filter(status=StoreStatus.CONNECTED, credential__isnull=False)
        .filter(
            Q(hook_registration__isnull=True)
            | Q(hook_registration__swept_at__isnull=True)
            | Q(hook_registration__swept_at__lt=now - interval)
            | Q(hook_registration__swept_at__lt=F("status_changed_at"))
            | (~Q(hook_registration__sweep_error="") & Q(hook_registration__swept_at__lt=now - RETRY_FAILED_AFTER))
        )
        .order_by(F("hook_registration__swept_at").asc(nulls_first=True), "id")
        .values_list("id", flat=True)
    )
    return list(due[:limit])


def hooks_sweep_due(*, now: datetime | None = None) -> dict[str, int]:
    """The periodic task's work: sweep every due store, in batches; counts."""
    if not webhooks_enabled():
        return {"swept": 0, "changed": 0, "failed": 0}
    ids = hooks_due(now=now)
    totals = {"swept": 0, "changed": 0, "failed": 0}
    for start in range(0, len(ids), BATCH_SIZE):
        for result in hooks_keep_alive(store_ids=ids[start : start + BATCH_SIZE]):
            if result.skipped:
                continue
            totals["swept"] += 1
            totals["changed"] += bool(result.changes)
            totals["failed"] += bool(result.error)
    return totals


def _claim(store_id: int, now: datetime) -> bool:
    """Take the store's sweep lease; False when another sweep holds it."""
    try:
        HookRegistration.objects.get_or_create(store_id=store_id)
    except IntegrityError:  # created by a racing sweep or registration meanwhile
        pass
    return bool(
        HookRegistration.objects.filter(store_id=store_id)
        .filter(Q(sweep_claimed_until__isnull=True) | Q(sweep_claimed_until__lt=now))
        .update(sweep_claimed_until=now + SWEEP_LEASE)
    )


@sensitive_variables("credentials", "credential", "token", "jobs", "claimed")
def hooks_keep_alive(*, store_ids: list[int], now: datetime | None = None) -> list[SweepResult]:
    """Sweep these stores' hooks now (connected ones with credentials; others are skipped)."""
    now = now or timezone.now()
    if not webhooks_enabled():
        return []
    credentials = {
        c.store_id: c
        for c in Credential.objects.fingerprints_only()
        .select_related("store")
        .filter(store_id__in=store_ids, store__status=StoreStatus.CONNECTED)
    }
    results: list[SweepResult] = []
    jobs: list[bigcommerce_api.HookJob] = []
    claimed: dict[int, Credential] = {}
    for store_id in store_ids:
        credential = credentials.get(store_id)
        if credential is None:
            continue
        store_hash = credential.store.store_hash
        if not _claim(store_id, now):
            results.append(SweepResult(store_hash, skipped="claimed by another sweep"))
            continue
        try:
            token = credential.access_token
        except UndecryptableCredential:
            _record_failure(store_id, now, "The Access token cannot be decrypted.")
            results.append(SweepResult(store_hash, error="The Access token cannot be decrypted."))
            continue
        claimed[store_id] = credential
        jobs.append(
            bigcommerce_api.HookJob(
                key=store_id,
                store_hash=store_hash,
                access_token=token,
                destination=receiver_url(store_hash),
                headers={ACCOUNT_HEADER: account_key(token)},
            )
        )
    if jobs:
        outcomes = bigcommerce_api.ensure_hooks_many(
            jobs,
            scopes=list(SCOPES),
            concurrency=settings.BIGCOMMERCE_WEBHOOKS_SWEEP_CONCURRENCY,
            timeout=settings.BIGCOMMERCE_WEBHOOKS_CALL_TIMEOUT_SECONDS,
        )
        for job in jobs:
            results.append(_record(claimed[job.key], job, outcomes[job.key], now))
    return results


def _record_failure(store_id: int, now: datetime, error: str) -> None:
    HookRegistration.objects.filter(store_id=store_id).update(
        swept_at=now, sweep_error=error[:300], sweep_claimed_until=None
    )


@sensitive_variables("credential", "job")
def _record(
    credential: Credential, job: bigcommerce_api.HookJob, outcome: Registration | CallFailed, now: datetime
) -> SweepResult:
    store_hash = job.store_hash
    if isinstance(outcome, CallFailed):
        _record_failure(credential.store_id, now, f"Sweep failed: {outcome}")
        logger.warning("store %s: webhook sweep failed: %s", store_hash, outcome)
        return SweepResult(store_hash, error=str(outcome))
    if not Credential.objects.filter(pk=credential.pk, created_at=credential.created_at).exists():
        # Replaced or disconnected meanwhile: these hooks belong to an account the
        # portal no longer holds (as in `hooks_register`). Best effort.
        try:
            bigcommerce_api.remove_hooks(
                store_hash,
                access_token=job.access_token,
                destination=job.destination,
                timeout=settings.BIGCOMMERCE_WEBHOOKS_CLEANUP_TIMEOUT_SECONDS,
            )
        except CallFailed:
            pass
        HookRegistration.objects.filter(store_id=credential.store_id).update(sweep_claimed_until=None)
        return SweepResult(store_hash, skipped="credentials replaced during the sweep")
    changes = outcome.changes()
    HookRegistration.objects.filter(store_id=credential.store_id).update(
        destination=job.destination,
        hooks=outcome.hooks,
        registered_at=now,
        last_attempt_at=now,
        last_error="",
        swept_at=now,
        hook_states=outcome.found,
        sweep_changes=changes,
        sweep_error="",
        sweep_claimed_until=None,
    )
    if changes:
        logger.info("store %s: webhook sweep changed %s", store_hash, changes)
    return SweepResult(store_hash, found=dict(outcome.found), changes=changes)
