"""The baseline the fleet is compared with: what a competent Django team would
write first. One Celery task per store, `requests`, the probes in sequence
(a light check has one), run by a worker with a pool of 200 threads on the
same cores (`celery worker --pool=threads --concurrency=200 -I bench.baseline`).

The one concession: the task closes its database connection before the HTTP
call, and at most `DB_SLOTS` threads touch the database at once (what a
connection pool would do), so that 200 threads fit PostgreSQL's 100
connections; without that, a burst of "too many clients" failed tasks and
left their stores claimed (it costs the baseline a reconnect per store).
"""

from __future__ import annotations

import random
import threading
from datetime import timedelta

import requests
from celery import shared_task
from django.conf import settings
from django.db import connection
from django.utils import timezone

from stores.bigcommerce.probes import INFORMATION
from stores.models import Credential

_local = threading.local()
DB_SLOTS = threading.BoundedSemaphore(60)


def _session() -> requests.Session:
    if not hasattr(_local, "session"):
        _local.session = requests.Session()
    return _local.session


@shared_task(name="bench.baseline_check_store", ignore_result=True)
def baseline_check_store(store_id: int) -> None:
    with DB_SLOTS:
        credential = Credential.objects.select_related("store").get(store_id=store_id)
        store = credential.store
        token = credential.access_token
        connection.close()
    response = _session().get(
        f"{settings.BIGCOMMERCE_API_URL}/stores/{store.store_hash}{INFORMATION.path}",
        headers={"X-Auth-Token": token, "Accept": "application/json"},
        timeout=10,
    )
    now = timezone.now()
    store.last_checked_at = now
    store.claim_token, store.claimed_until = "", None
    store.next_check_at = now + timedelta(minutes=settings.STORE_CHECK_INTERVAL_MINUTES) * (
        0.9 + 0.2 * random.random()  # noqa: S311
    )
    if response.status_code == 200:
        store.profile = response.json()
    with DB_SLOTS:
        store.save(update_fields=["last_checked_at", "claim_token", "claimed_until", "next_check_at", "profile"])
        connection.close()
