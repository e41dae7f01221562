from datetime import timedelta

from django.utils import timezone

from stores import services
from stores.bigcommerce.report import Outcome
from stores.models import Check
from stores.tasks import prune_checks
from tests.reports import credentials, report


def test_old_checks_are_pruned_but_the_evidence_of_a_status_change_stays(acme, settings):
    settings.CHECK_RETENTION_DAYS = 30
    store = services.store_connect(merchant=acme, credentials=credentials(), report=report())
    long_ago = timezone.now() - timedelta(days=45)
    for outcome in (Outcome.CONNECTED, Outcome.INVALID_TOKEN, Outcome.INVALID_TOKEN):
        services.store_record_check(
            store_id=store.pk, report=report(outcome), trigger="schedule", started_at=long_ago, duration_ms=1
        )
    recent = services.store_record_check(
        store_id=store.pk, report=report(), trigger="schedule", started_at=timezone.now(), duration_ms=1
    )
    flips = set(store.status_changes.exclude(check_run=None).values_list("check_run_id", flat=True))
    assert flips  # the onboarding check, the revocation and the recovery back each status change

    deleted = prune_checks()

    remaining = set(Check.objects.filter(store=store).values_list("id", flat=True))
    assert deleted == 2  # the old connected check and the first (unconfirmed) invalid_token check
    assert flips <= remaining and recent.pk in remaining
