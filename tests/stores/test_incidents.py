"""Fleet-wide incidents through the recording path (issue 26): a storm of one
kind flips no store and tells no merchant; staff hear once; when it closes the
held stores are checked again and only the really broken ones flip."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from merchants.models import Membership, Merchant, User
from notifications import services as notifications
from notifications.models import Notification
from stores import services
from stores.bigcommerce.report import Outcome
from stores.models import Check, CheckTally, Incident, StatusChange, Store
from stores.services import incidents
from stores.services.checks import CheckResult
from stores.status import StoreStatus
from tests.reports import report

START = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _fire_at_once(settings):
    """The confirmation and streak rules fire at once (issue 26's numbers)."""
    settings.STORE_CONFIRM_AFTER_SECONDS = 0
    settings.STORE_UNREACHABLE_AFTER_FAILURES = 1
    settings.STORE_UNREACHABLE_AFTER_MINUTES = 0
    settings.STAFF_NOTIFICATION_EMAILS = ["oncall@violet.test"]


def make_fleet(n: int = 40, merchants: int = 8) -> list[Store]:
    stores = []
    for m in range(merchants):
        merchant = Merchant.objects.create(name=f"Merchant {m}", slug=f"merchant-{m}")
        owner = User.objects.create_user(email=f"owner{m}@shop.test", password="x")
        Membership.objects.create(merchant=merchant, user=owner, role=Membership.Role.OWNER)
        for s in range(n // merchants):
            stores.append(
                Store.objects.create(
                    merchant=merchant, store_hash=f"s{m}x{s}", name=f"Shop {m}-{s}", status=StoreStatus.CONNECTED
                )
            )
    return stores


def record_round(stores: list[Store], answer) -> None:
    """One `revalidate --all` round: every store checked (fully), `answer(store)`
    its outcome; then what beat does each minute (review, notifications)."""
    now = timezone.now()
    results = [
        CheckResult(store.pk, report(answer(store), store_hash=store.store_hash), now, 5)
        for store in Store.objects.filter(pk__in=[store.pk for store in stores]).exclude(
            status__in=[StoreStatus.PAUSED, StoreStatus.DISCONNECTED]
        )
    ]
    services.store_record_results(results=results, trigger="schedule")
    services.incidents_review()
    notifications.status_changes_process()
    notifications.incidents_process()
    notifications.notifications_deliver_due()


def statuses() -> dict[str, str]:
    return dict(Store.objects.values_list("store_hash", "status"))


def merchant_mails() -> list:
    return [message for message in mail.outbox if "oncall@violet.test" not in message.to]


def incident_mails(kind: str, event: str = "opened") -> list:
    subject = "Incident:" if event == "opened" else "Incident over:"
    return [
        message
        for message in mail.outbox
        if message.subject.startswith(subject) and Incident.objects.filter(kind=kind).exists()
        and f"/admin/stores/incident/{Incident.objects.get(kind=kind).pk}/" in message.body
    ]


def test_storms_of_503_then_401_then_refused_connections_flip_nothing_and_staff_hear_once_each(db):
    fleet = make_fleet()
    deleted_before = {fleet[0].store_hash, fleet[7].store_hash}  # two merchants' accounts, really deleted
    deleted_during = fleet[20].store_hash  # deleted while the 401 storm raged
    broken = set(deleted_before)

    def storm(outcome):
        if outcome == Outcome.UNREACHABLE:
            return lambda store: outcome  # Violet's egress is down: no store answers at all
        return lambda store: Outcome.INVALID_TOKEN if store.store_hash in broken else outcome

    with time_machine.travel(START, tick=False) as clock:

        def rounds(answer, count):
            for _ in range(count):
                record_round(fleet, answer)
                clock.shift(timedelta(minutes=2))

        # Before: two accounts deleted are flagged as usual (two stores open no incident).
        rounds(storm(Outcome.CONNECTED), 2)
        assert [s for s, status in statuses().items() if status == StoreStatus.REVOKED] == sorted(deleted_before)
        assert not Incident.objects.exists()
        flagged_before = StatusChange.objects.count()
        mails_before = len(merchant_mails())
        assert mails_before == 2  # one per owner of a revoked store

        # BigCommerce-wide maintenance: every store answers 503.
        rounds(storm(Outcome.STORE_UNAVAILABLE), 4)
        # An incident in BigCommerce's authentication: every token refused.
        rounds(storm(Outcome.INVALID_TOKEN), 4)
        broken.add(deleted_during)
        # Violet's own egress down: every check unreachable.
        rounds(storm(Outcome.UNREACHABLE), 4)

        assert StatusChange.objects.count() == flagged_before, "no store flipped during the storms"
        assert len(merchant_mails()) == mails_before, "no merchant heard of the storms"
        for kind in ("unavailable", "invalid_token", "unreachable"):
            assert Incident.objects.filter(kind=kind).count() == 1
            assert len(incident_mails(kind)) == 1, f"staff hear once of the {kind} incident"

        # It is over: BigCommerce answers again. Held stores are checked at once
        # when their incident closes; the account really deleted during the
        # 401 storm is revoked within two rounds after its incident closed.
        rounds(storm(Outcome.CONNECTED), 4)

    assert not Incident.objects.filter(closed_at__isnull=True).exists()
    revoked = {s for s, status in statuses().items() if status == StoreStatus.REVOKED}
    assert revoked == deleted_before | {deleted_during}
    assert set(statuses().values()) == {StoreStatus.CONNECTED, StoreStatus.REVOKED}
    # Only the owner of the store deleted during the storm heard anything new.
    new_mails = merchant_mails()[mails_before:]
    assert len(new_mails) == 1
    assert new_mails[0].to == ["owner4@shop.test"]
    # Staff heard each incident close, with what it held.
    for kind in ("unavailable", "invalid_token", "unreachable"):
        assert len(incident_mails(kind, "closed")) == 1
    held = Incident.objects.get(kind="unavailable")
    assert held.held_stores_count == 38
    assert held.held_checks_count >= 38
    assert not Store.objects.filter(held_by__isnull=False).exists()


def test_a_held_store_keeps_its_status_and_is_checked_later_than_usual(db, settings):
    fleet = make_fleet(10, 5)
    with time_machine.travel(START, tick=False):
        record_round(fleet, lambda store: Outcome.STORE_UNAVAILABLE)
        incident = Incident.objects.get(kind="unavailable")
        record_round(fleet, lambda store: Outcome.STORE_UNAVAILABLE)
        now = timezone.now()
    store = Store.objects.get(pk=fleet[3].pk)
    assert store.status == StoreStatus.CONNECTED
    assert store.held_by_id == incident.pk
    assert store.suspected_status == StoreStatus.STORE_UNAVAILABLE
    low = timedelta(minutes=settings.INCIDENT_RECHECK_MIN_MINUTES)
    high = timedelta(minutes=settings.INCIDENT_RECHECK_MAX_MINUTES)
    assert now + low <= store.next_check_at <= now + high
    # Checks went on and were recorded: the evidence is there.
    assert Check.objects.filter(store=store).count() == 2


def test_a_failure_of_another_kind_is_decided_as_usual_during_an_incident(db):
    fleet = make_fleet(10, 5)
    scope_broken = fleet[4]
    with time_machine.travel(START, tick=False):
        for _ in range(2):
            record_round(
                fleet,
                lambda store: Outcome.MISSING_SCOPES if store.pk == scope_broken.pk else Outcome.STORE_UNAVAILABLE,
            )
    assert Incident.objects.filter(kind="unavailable", closed_at__isnull=True).exists()
    assert Store.objects.get(pk=scope_broken.pk).status == StoreStatus.MISSING_SCOPES


def test_one_merchant_deleting_the_accounts_of_all_its_stores_opens_no_incident(db):
    fleet = make_fleet(40, 4)  # ten stores a merchant
    gone = {store.pk for store in fleet if store.merchant.slug == "merchant-2"}
    with time_machine.travel(START, tick=False):
        for _ in range(2):
            record_round(fleet, lambda store: Outcome.INVALID_TOKEN if store.pk in gone else Outcome.CONNECTED)
    assert not Incident.objects.exists()
    assert set(Store.objects.filter(status=StoreStatus.REVOKED).values_list("pk", flat=True)) == gone


def test_without_detection_the_storm_flips_every_store(db, settings):
    """The counterfactual: the rule is what keeps the fleet unflagged."""
    settings.INCIDENT_DETECTION = False
    fleet = make_fleet(10, 5)
    with time_machine.travel(START, tick=False):
        for _ in range(2):
            record_round(fleet, lambda store: Outcome.INVALID_TOKEN)
    assert Store.objects.filter(status=StoreStatus.REVOKED).count() == 10
    assert not CheckTally.objects.exists()


def test_a_reference_store_failing_with_one_other_store_opens_the_incident_at_once(db):
    fleet = make_fleet(10, 5)
    canary = fleet[0]
    services.store_set_reference(store=canary, reference=True)
    other = fleet[5]
    with time_machine.travel(START, tick=False):
        # Only the canary and one merchant's store see it yet: statistics could not tell.
        record_round([canary, other], lambda store: Outcome.INVALID_TOKEN)
    incident = Incident.objects.get(kind="invalid_token")
    assert incident.by_reference
    assert "reference" in incident.reason
    assert not StatusChange.objects.exists()


def test_a_reference_store_is_checked_every_minute(db, settings):
    fleet = make_fleet(5, 5)
    canary = fleet[0]
    services.store_set_reference(store=canary, reference=True)
    with time_machine.travel(START, tick=False):
        record_round([canary], lambda store: Outcome.CONNECTED)
        now = timezone.now()
    canary.refresh_from_db()
    assert canary.next_check_at == now + timedelta(seconds=settings.REFERENCE_CHECK_INTERVAL_SECONDS)


def test_closing_by_hand_makes_the_held_stores_due_and_the_rules_decide_them(db):
    fleet = make_fleet(10, 5)
    with time_machine.travel(START, tick=False) as clock:
        for _ in range(2):
            record_round(fleet, lambda store: Outcome.INVALID_TOKEN)
        incident = Incident.objects.get(kind="invalid_token")
        assert Store.objects.filter(held_by=incident).count() == 10
        staff = User.objects.create_user(email="ops@violet.test", password="x", is_staff=True)
        assert services.incident_close(incident=incident, reason="Closed by hand.", user=staff)
        assert not services.incident_close(incident=incident, reason="again")
        due = Store.objects.filter(next_check_at__lte=timezone.now()).count()
        assert due == 10
        assert not Store.objects.filter(held_by__isnull=False).exists()
        clock.shift(timedelta(minutes=1))
        # Still refused for two of them: those two (and only they) flip at the first check.
        still = {fleet[1].pk, fleet[8].pk}
        record_round(fleet, lambda store: Outcome.INVALID_TOKEN if store.pk in still else Outcome.CONNECTED)
    assert set(Store.objects.filter(status=StoreStatus.REVOKED).values_list("pk", flat=True)) == still
    incident.refresh_from_db()
    assert incident.closed_by == staff
    assert incident.close_reason == "Closed by hand."


def test_the_staff_mail_and_webhook_say_what_how_widely_since_when_and_give_examples(db, settings):
    from notifications.models import WebhookEndpoint

    endpoint = WebhookEndpoint.objects.create(name="ops", url="https://hooks.violet.test/in")
    fleet = make_fleet(10, 5)
    with time_machine.travel(START, tick=False):
        record_round(fleet, lambda store: Outcome.STORE_UNAVAILABLE)
    incident = Incident.objects.get()
    opened = [message for message in mail.outbox if message.subject.startswith("Incident:")]
    assert len(opened) == 1
    body = opened[0].body
    assert "10 stores of 5 merchants" in body
    assert "100% of the 10 checks" in body
    assert "2026-12-07 09:00 UTC" in body
    assert "Example answers:" in body and "store_unavailable" in body
    webhook = Notification.objects.get(endpoint=endpoint, event_type="incident.opened")
    payload = notifications.webhook_body(webhook)
    assert '"kind":"unavailable"' in payload
    assert '"stores_at_open":10' in payload
    assert incident.examples and len(incident.examples) <= incidents.EXAMPLES
    # Planned once: a second dispatcher run plans nothing more.
    assert notifications.incidents_process() == 0


def test_tallies_count_first_sightings_once_per_store(db):
    fleet = make_fleet(10, 5)
    with time_machine.travel(START, tick=False):
        record_round(fleet[:3], lambda store: Outcome.INVALID_TOKEN)  # three first sightings
        record_round(fleet[:3], lambda store: Outcome.INVALID_TOKEN)  # confirmations: no new first sighting
        window = incidents.window(minutes=10)
    assert window.get("first:invalid_token") == 3
    assert window.get("failed:invalid_token") == 6  # every check from a store not (yet) revoked
    assert window.checks == 6
