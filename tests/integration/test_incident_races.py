"""Two workers record failures at once while an incident opens (issue 26):
one incident, one staff mail, no store flipped. PostgreSQL, threads with their
own connections (see tests/integration/test_races.py).

Guard: the partial unique index `incident_one_open_per_kind` (and the
savepoint that reads the winner's incident after losing). Mutation tried:
dropping the index (`DROP INDEX incident_one_open_per_kind` at the start of
the test): each worker opened its own incident and the test failed with
`assert 2 == 1` on the incident count.
"""

from __future__ import annotations

from datetime import timedelta

from django.core import mail
from django.utils import timezone

from merchants.models import Merchant
from notifications import services as notify
from stores import services
from stores.bigcommerce.report import Outcome
from stores.models import Check, CheckTally, Incident, StatusChange, Store
from stores.services.checks import CheckResult
from stores.status import StoreStatus
from tests.integration.test_races import postgres, race  # noqa: F401 - the fixture
from tests.reports import report

ROUNDS = 10
STORES = 20


def _stage(stores: list[Store]) -> None:
    """Every store was refused once a minute ago (its suspicion awaits the
    confirming check) and the fleet's tallies show it; no incident yet."""
    Incident.objects.all().delete()
    StatusChange.objects.all().delete()
    Check.objects.all().delete()
    CheckTally.objects.all().delete()
    earlier = timezone.now() - timedelta(minutes=1)
    Store.objects.filter(pk__in=[store.pk for store in stores]).update(
        status=StoreStatus.CONNECTED,
        suspected_status=StoreStatus.REVOKED,
        suspected_since=earlier,
        held_by=None,
        claim_token="",
    )
    Check.objects.bulk_create(
        Check(store=store, trigger="schedule", started_at=earlier, outcome=Outcome.INVALID_TOKEN) for store in stores
    )
    # Counted in an earlier minute than now's, as the first sightings' batch did.
    minute = earlier.replace(second=0, microsecond=0)
    CheckTally.objects.bulk_create(
        CheckTally(minute=minute, key=key, count=STORES)
        for key in ("checks", "first:invalid_token", "failed:invalid_token")
    )


def test_two_workers_confirming_failures_while_an_incident_opens_make_one_incident(postgres, settings):  # noqa: F811
    settings.STORE_CONFIRM_AFTER_SECONDS = 0
    settings.STAFF_NOTIFICATION_EMAILS = ["oncall@violet.test"]
    merchants = [Merchant.objects.create(name=f"M{i}", slug=f"m{i}") for i in range(5)]
    stores = [
        Store.objects.create(merchant=merchants[i % 5], store_hash=f"race{i}", status=StoreStatus.CONNECTED)
        for i in range(STORES)
    ]
    halves = [stores[: STORES // 2], stores[STORES // 2 :]]
    for _ in range(ROUNDS):
        _stage(stores)
        mail.outbox.clear()

        def worker(half):
            now = timezone.now()
            results = [CheckResult(store.pk, report(Outcome.INVALID_TOKEN), now, 5) for store in half]
            return services.store_record_results(results=results, trigger="schedule").recorded

        assert race(lambda: worker(halves[0]), lambda: worker(halves[1])) == [STORES // 2, STORES // 2]
        notify.incidents_process()
        notify.notifications_deliver_due()

        assert Incident.objects.count() == 1
        assert StatusChange.objects.count() == 0, "no store flipped: every confirmation was held"
        assert Store.objects.filter(held_by=Incident.objects.get()).count() == STORES
        assert len([m for m in mail.outbox if m.subject.startswith("Incident:")]) == 1
