"""Issue 26's quiet week through the real recording path, time moved: 10,000
stores, 0.1 % of them breaking at random every hour for seven days. No
incident opens, and every broken store is flagged as it would be without the
rule. (bench/incident_simulation.py does the same minute by minute, on the
rule alone, up to a million stores.)

Time moves 30 minutes a step: a step's first sightings (5 on average, up to
13 with this seed) are recorded in one batch, with the step's 20,000 healthy
checks, so each 10-minute window holds half an hour's breakage: the same
share of the checks as minute by minute, three times the count. It still
fails with a careless threshold: INCIDENT_MIN_SHARE=0.0005 with
INCIDENT_RATE_FACTOR=0.5 (half the normal's floor) opens one."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta

import time_machine
from django.utils import timezone

from merchants.models import Merchant
from stores import services
from stores.bigcommerce.report import Outcome
from stores.models import Incident, StatusChange, Store
from stores.services import incidents
from stores.services.checks import CheckResult
from stores.status import StoreStatus
from tests.reports import report

STORES, MERCHANTS = 10_000, 2_000
STEP = 30  # minutes: the fleet engine records in batches; one batch of first sightings a step
INTERVAL = 15  # STORE_CHECK_INTERVAL_MINUTES: every store checked this often
START = datetime(2026, 11, 30, 0, 0, tzinfo=UTC)


def test_a_quiet_week_opens_no_incident_and_flags_every_broken_store(db, settings):
    settings.STORE_CONFIRM_AFTER_SECONDS = 60
    Merchant.objects.bulk_create(Merchant(name=f"M{i}", slug=f"m{i}") for i in range(MERCHANTS))
    merchant_ids = list(Merchant.objects.values_list("id", flat=True))
    Store.objects.bulk_create(
        Store(merchant_id=merchant_ids[i % MERCHANTS], store_hash=f"q{i}", status=StoreStatus.CONNECTED)
        for i in range(STORES)
    )
    healthy = list(Store.objects.values_list("id", flat=True))
    rng = random.Random(26)
    rng.shuffle(healthy)
    broken: list[int] = []
    steps = 7 * 24 * 60 // STEP
    with time_machine.travel(START, tick=False) as clock:
        for _ in range(steps):
            # This step's healthy checks (healthy light checks only count: no Check row).
            incidents.tally_add(Counter({"checks": round(len(healthy) * STEP / INTERVAL)}))
            # 0.1 % an hour: each store breaks with probability 0.001 * STEP / 60 this step.
            breaking = rng.sample(healthy, _binomial(rng, len(healthy), 0.001 * STEP / 60))
            gone = set(breaking)
            healthy = [store_id for store_id in healthy if store_id not in gone]
            if breaking:
                now = timezone.now()
                first = [CheckResult(store_id, report(Outcome.INVALID_TOKEN), now, 5) for store_id in breaking]
                services.store_record_results(results=first, trigger="schedule")
                clock.shift(timedelta(minutes=1))
                confirm = [CheckResult(r.store_id, report(Outcome.INVALID_TOKEN), timezone.now(), 5) for r in first]
                services.store_record_results(results=confirm, trigger="confirmation")
                clock.shift(timedelta(minutes=STEP - 1))
            else:
                clock.shift(timedelta(minutes=STEP))
            broken += breaking
            services.incidents_review()

    assert len(broken) > 1_500  # about 1,550 expected (1 - 0.999 ** 168 of 10,000)
    assert not Incident.objects.exists()
    revoked = set(Store.objects.filter(status=StoreStatus.REVOKED).values_list("id", flat=True))
    assert revoked == set(broken)
    assert StatusChange.objects.filter(new_status=StoreStatus.REVOKED).count() == len(broken)
    assert not Store.objects.filter(held_by__isnull=False).exists()


def _binomial(rng: random.Random, n: int, p: float) -> int:
    """How many of n stores break (a Poisson draw: n is large, p small)."""
    limit, k, product = pow(2.718281828459045, -n * p), 0, 1.0
    while True:
        product *= rng.random()
        if product <= limit:
            return k
        k += 1
