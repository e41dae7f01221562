"""The guards, under real concurrency: parties racing at once on PostgreSQL.

Each party is a thread with its own database connection (Django's
connections are per thread); a barrier releases them together, and every
race runs for many rounds. Each test fails when its guard is removed (the
mutation tried is named in each test's docstring).

Runs on the PostgreSQL pass (`.ci/run`'s second pass); SQLite serialises
writers and would prove nothing.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from django.core import mail
from django.db import connection, connections, transaction
from django.utils import timezone

from notifications import services as notify
from notifications.models import Notification
from stores import claims, fleet
from stores.bigcommerce.report import Outcome
from stores.models import Check, Credential, StatusChange, Store
from stores.services import checks as check_services
from stores.services import controls
from stores.status import StoreStatus
from tests.reports import PROFILE, credentials, report

ROUNDS = 20


@pytest.fixture
def postgres(transactional_db):
    if connection.vendor != "postgresql":
        pytest.skip("races need PostgreSQL (DATABASE_URL), as in .ci/run's second pass")


def race(*parties: Callable[[], object], timeout: float = 30) -> list[object]:
    """Run each party in its own thread (its own connection), released at once
    by a barrier; their return values, in order. Re-raises a party's error."""
    barrier = threading.Barrier(len(parties))
    results: list[object] = [None] * len(parties)
    errors: list[BaseException] = []

    def run(index: int, party: Callable[[], object]) -> None:
        try:
            barrier.wait(timeout=timeout)
            results[index] = party()
        except BaseException as error:  # noqa: BLE001 - re-raised in the main thread
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, p)) for i, p in enumerate(parties)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert not any(thread.is_alive() for thread in threads), "a party hung"
    if errors:
        raise errors[0]
    return results


def due_stores(merchant, count: int, prefix: str) -> list[Store]:
    past = timezone.now() - timedelta(minutes=1)
    return Store.objects.bulk_create(
        Store(merchant=merchant, store_hash=f"{prefix}{i}", status=StoreStatus.CONNECTED, next_check_at=past)
        for i in range(count)
    )


# --- the dispatcher's claim -------------------------------------------------------------


def test_two_dispatchers_never_claim_one_store(postgres, acme):
    """Mutation: `due_stores(now)` without `.select_for_update(skip_locked=True)`
    in `claims.claim_due_stores`: both dispatchers read the same due rows and
    both stamp them, so one store is in two claims."""
    for round_ in range(ROUNDS):
        stores = due_stores(acme, 30, f"r{round_}x")

        def dispatcher():
            claimed = []
            while claim := claims.claim_due_stores(limit=5):
                if not claim.store_ids:
                    break
                claimed.append(claim)
            return claimed

        first, second = race(dispatcher, dispatcher)
        ids = [pk for claim in first + second for pk in claim.store_ids]
        assert sorted(ids) == sorted(s.pk for s in stores), f"round {round_}: a store claimed twice or never"
        tokens = {pk: claim.token for claim in first + second for pk in claim.store_ids}
        assert dict(Store.objects.filter(pk__in=tokens).values_list("pk", "claim_token")) == tokens
        Store.objects.filter(pk__in=tokens).update(next_check_at=None)  # out of the next round's way


def test_dispatch_max_per_run_bounds_each_dispatcher(postgres, acme, settings, monkeypatch):
    """Mutation: `limit=settings.DISPATCH_BATCH_SIZE` instead of the batch cut to
    what is left of the cap, in `checks_dispatch_due`: each run queues 30, not
    25 (and with `while True` as well, all 100)."""
    settings.DISPATCH_BATCH_SIZE, settings.DISPATCH_MAX_PER_RUN = 10, 25
    queued: list[list[int]] = []
    monkeypatch.setattr(check_services.check_stores_task, "delay", lambda ids, *args: queued.append(list(ids)))
    for round_ in range(5):
        queued.clear()
        due_stores(acme, 100, f"m{round_}x")
        counts = race(check_services.checks_dispatch_due, check_services.checks_dispatch_due)
        assert counts == [25, 25]
        ids = [pk for batch in queued for pk in batch]
        assert len(ids) == len(set(ids)) == 50
        assert (
            Store.objects.filter(next_check_at__lte=timezone.now(), store_hash__startswith=f"m{round_}x").count() == 50
        )
        Store.objects.update(next_check_at=None)


# --- the status flip ------------------------------------------------------------------


def test_two_writers_of_the_same_result_announce_it_once(postgres, acme):
    """Mutation: `Store.objects.filter(pk=store.pk)` without `status=old` in
    `controls.flip_status`: both writers update and both write a StatusChange."""
    store = Store.objects.create(merchant=acme, store_hash="flip1", status=StoreStatus.CONNECTED)
    for round_ in range(ROUNDS):
        Store.objects.filter(pk=store.pk).update(status=StoreStatus.CONNECTED)
        StatusChange.objects.all().delete()
        gate = threading.Barrier(2)

        def writer(gate=gate):
            mine = Store.objects.get(pk=store.pk)  # both read "connected"...
            gate.wait(timeout=10)
            with transaction.atomic():  # ...then both write "revoked" at once
                return controls.flip_status(
                    mine, StoreStatus.REVOKED, reason="Problem: invalid_token.", check=None, now=timezone.now()
                )

        changes = race(writer, writer)
        assert sum(change is not None for change in changes) == 1, f"round {round_}"
        assert StatusChange.objects.filter(store=store, new_status=StoreStatus.REVOKED).count() == 1


# --- notifications ----------------------------------------------------------------------


def _changes(store, count: int) -> list[StatusChange]:
    now = timezone.now()
    return StatusChange.objects.bulk_create(
        StatusChange(
            store=store,
            old_status=StoreStatus.CONNECTED if i % 2 == 0 else StoreStatus.REVOKED,
            new_status=StoreStatus.REVOKED if i % 2 == 0 else StoreStatus.CONNECTED,
            reason="Problem: invalid_token.",
            created_at=now + timedelta(microseconds=i),
        )
        for i in range(count)
    )


def test_two_notifiers_plan_each_status_change_once(postgres, acme, alice):
    """Mutation: `StatusChange.objects.filter(id=change_id)` without
    `processed_at=None` in `status_changes_process`: both notifiers claim every
    change they race for (the unique constraint then hides the duplicate
    rows, but the change was processed twice)."""
    store = Store.objects.create(merchant=acme, store_hash="plan1", status=StoreStatus.CONNECTED)
    for round_ in range(ROUNDS // 2):
        changes = _changes(store, 20)
        claimed = race(notify.status_changes_process, notify.status_changes_process)
        assert sum(claimed) == 20, f"round {round_}: {claimed}"
        per_change = Counter(
            Notification.objects.filter(status_change__in=changes).values_list("status_change", flat=True)
        )
        assert per_change == {change.pk: 1 for change in changes}  # one owner e-mail each


def test_two_notifiers_never_send_one_notification_twice(postgres, acme, alice, settings):
    """Mutation: the claim's `Q(claimed_until__isnull=True) | Q(claimed_until__lte=claimed_at)`
    removed from `notifications_deliver_due`: both notifiers send the same e-mails."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    store = Store.objects.create(merchant=acme, store_hash="send1", status=StoreStatus.CONNECTED)
    for round_ in range(ROUNDS // 2):
        mail.outbox = []
        _changes(store, 10)
        notify.status_changes_process()
        sent = race(notify.notifications_deliver_due, notify.notifications_deliver_due)
        assert sum(sent) == 10, f"round {round_}: {sent}"
        assert len(mail.outbox) == 10
        assert Notification.objects.filter(state=Notification.State.DELIVERED, attempts=1).count() == 10 * (round_ + 1)


def test_a_notifier_whose_lease_ran_out_cannot_overwrite_the_new_owners_result(postgres, acme, alice, monkeypatch):
    """Mutation: `mine.filter(claimed_until=lease_until)` removed from
    `notifications._record`: the late notifier's failure overwrites the
    delivery the new owner recorded."""
    store = Store.objects.create(merchant=acme, store_hash="lease1", status=StoreStatus.CONNECTED)
    for round_ in range(5):
        _changes(store, 1)
        notify.status_changes_process()
        notification = Notification.objects.get(state=Notification.State.PENDING)
        expired = timezone.now() - timedelta(seconds=1)  # the late notifier's lease, already run out
        Notification.objects.filter(pk=notification.pk).update(claimed_until=expired)
        new_owner_done = threading.Event()

        def send(n, done=new_owner_done):
            if threading.current_thread().name == "late":
                assert done.wait(10)
                return notify.Attempt(ok=False, error="The late notifier's SMTP timed out.")
            return notify.Attempt(ok=True)

        monkeypatch.setattr(notify, "_send_email", send)

        def late(pk=notification.pk, lease=expired):
            threading.current_thread().name = "late"
            notify.notification_deliver(pk, lease_until=lease)

        def new_owner(done=new_owner_done):
            try:
                return notify.notifications_deliver_due()
            finally:
                done.set()

        _, delivered = race(late, new_owner)
        assert delivered == 1
        notification.refresh_from_db()
        assert (notification.state, notification.attempts, notification.last_error) == (
            Notification.State.DELIVERED,
            1,
            "",
        ), f"round {round_}"


# --- the fleet's claim token ----------------------------------------------------------------


def test_a_fleet_worker_whose_claim_was_taken_over_checks_nothing(postgres, acme, monkeypatch):
    """Mutation: `rows.filter(store__claim_token=claim_token)` removed from
    `fleet.load_batch`: the worker that lost its claim reads the tokens
    and calls BigCommerce for stores another worker now owns."""
    called: list[tuple[str, str]] = []
    check_many = fleet._check_many

    async def fake_validate(creds, *, client, full):  # no network
        return report(Outcome.CONNECTED, store_hash=creds.store_hash), full

    def recording_check_many(client, items, gate):
        # Called in the worker's thread (the checks then run on the engine's loop).
        called.extend((threading.current_thread().name, item.credentials.store_hash) for item in items.values())
        return check_many(client, items, gate)

    monkeypatch.setattr(fleet, "validate_escalating", fake_validate)
    monkeypatch.setattr(fleet, "_check_many", recording_check_many)
    stores = due_stores(acme, 10, "fleet")
    for store in stores:
        credential = Credential(store=store)
        creds = credentials(store.store_hash)
        credential.set_values(
            client_id=creds.client_id, client_secret=creds.client_secret, access_token=creds.access_token
        )
        credential.save()
    try:
        for round_ in range(ROUNDS // 2):
            called.clear()
            Store.objects.update(
                next_check_at=timezone.now() - timedelta(minutes=1), claim_token="", claimed_until=None
            )
            stale = claims.claim_due_stores(limit=10, lease=timedelta(seconds=-1))  # a lease already run out
            fresh = claims.claim_due_stores(limit=10)  # the new owner
            assert sorted(stale.store_ids) == sorted(fresh.store_ids) == sorted(s.pk for s in stores)

            def worker(claim, name):
                def run():
                    threading.current_thread().name = name
                    return fleet.check_stores(claim.store_ids, claim_token=claim.token)

                return run

            recorded = race(worker(stale, "stale"), worker(fresh, "fresh"))
            assert recorded == [0, 10], f"round {round_}"
            assert not [hash_ for who, hash_ in called if who == "stale"], "the stale worker called BigCommerce"
            assert sorted(hash_ for who, hash_ in called if who == "fresh") == sorted(s.store_hash for s in stores)
    finally:
        fleet.reset_engine()


# --- healthy light checks: one UPDATE … FROM jsonb_to_recordset(…) per batch -----------------

STALE_MS, FRESH_MS, LIGHT_MS, FAILED_MS = 111, 222, 333, 444


def light_stores(merchant, count: int, prefix: str) -> list[Store]:
    """Plainly connected, due stores whose stored profile a healthy light check finds again."""
    past = timezone.now() - timedelta(minutes=1)
    return Store.objects.bulk_create(
        Store(
            merchant=merchant,
            store_hash=f"{prefix}{i}",
            status=StoreStatus.CONNECTED,
            next_check_at=past,
            profile=dict(PROFILE, id=f"{prefix}{i}"),
        )
        for i in range(count)
    )


def results(stores: list[Store], ms: int, outcome: Outcome = Outcome.CONNECTED) -> list[check_services.CheckResult]:
    """A light check of each store that found it healthy (another outcome: the
    full check that light check escalated to). `ms` tells whose result a store kept."""
    kind = Check.Kind.LIGHT if outcome == Outcome.CONNECTED else Check.Kind.FULL
    return [
        check_services.CheckResult(store.pk, report(outcome, store_hash=store.store_hash), timezone.now(), ms, kind)
        for store in stores
    ]


def recorder(batch: list[check_services.CheckResult], claim_token: str = "") -> Callable[[], int]:
    def record() -> int:
        return check_services.store_record_results(results=batch, trigger="schedule", claim_token=claim_token).recorded

    return record


def regular_from(started: datetime) -> datetime:
    """The earliest a regular check can be due after `started` (the interval less
    its jitter); a retry or a confirming re-check is due well before."""
    policy = check_services.check_policy()
    return started + policy.interval * (1 - policy.jitter)


def test_a_stale_worker_and_the_new_claimant_each_record_only_their_own_stores(postgres, acme):
    """Mutation: `claim_clause` dropped from `_record_healthy_light` (no
    `s.claim_token = %s`): the stale worker's statement also moves on the
    stores the new claimant took over and counts them (or, first to commit,
    clears their claim, and the claimant's own results are refused)."""
    for round_ in range(ROUNDS):
        stores = light_stores(acme, 10, f"c{round_}x")
        stale = claims.claim_due_stores(limit=10, lease=timedelta(seconds=-1))  # a lease already run out
        fresh = claims.claim_due_stores(limit=5)  # the new claimant takes half of them over
        taken = set(fresh.store_ids)
        assert len(taken) == 5 and taken < set(stale.store_ids) == {s.pk for s in stores}
        started = timezone.now()
        recorded = race(
            recorder(results(stores, STALE_MS), stale.token),
            recorder(results([s for s in stores if s.pk in taken], FRESH_MS), fresh.token),
        )
        assert recorded == [5, 5], f"round {round_}: [stale, fresh] recorded {recorded}"
        rows = Store.objects.filter(pk__in=[s.pk for s in stores])
        for pk, ms, token, checked, next_at in rows.values_list(
            "pk", "last_check_ms", "claim_token", "last_checked_at", "next_check_at"
        ):
            owner = "fresh" if pk in taken else "stale"
            assert ms == (FRESH_MS if pk in taken else STALE_MS), f"round {round_}: the {owner} worker's store {pk}"
            assert token == "" and checked >= started and next_at >= regular_from(started), f"round {round_}: {pk}"
        rows.update(next_check_at=None)  # out of the next round's way


def wait_for_a_lock_waiter(timeout: float = 10) -> None:
    """Until another connection to this database waits for a lock (the rows ours holds)."""
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute("SELECT pg_stat_clear_snapshot()")  # else the first answer stands for the transaction
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
            )
            if cursor.fetchone()[0]:
                return
            time.sleep(0.002)
    raise AssertionError("nobody waited for the rows held")


def holding(party: Callable[[], object], locked: threading.Event) -> Callable[[], object]:
    """`party` in a transaction kept open until another party waits for its row
    locks: that one's statement then evaluates its WHERE again, on the rows as
    committed (PostgreSQL's re-check after a lock wait)."""

    def run():
        with transaction.atomic():
            result = party()
            locked.set()
            wait_for_a_lock_waiter()
        return result

    return run


def once_locked(party: Callable[[], object], locked: threading.Event) -> Callable[[], object]:
    def run():
        assert locked.wait(10), "the other party never took its locks"
        return party()

    return run


@pytest.mark.parametrize("claimed", [False, True], ids=["unclaimed", "claimed"])
@pytest.mark.parametrize("control", [controls.store_pause, controls.store_disconnect], ids=["pause", "disconnect"])
def test_a_healthy_light_check_racing_a_pause_or_a_disconnect_never_reschedules_the_store(
    postgres, acme, control, claimed
):
    """Mutation: `s.status = 'connected'` removed from `_record_healthy_light`'s
    WHERE: the light checks recorded without a claim (`claim_token=""`) move
    stores paused (disconnected) before them on to their next check, as if
    connected. With a claim, the pause (disconnect) also clears it, so the
    claim clause stops that write too: the claimed cases fail only with both
    conditions removed.

    Odd rounds hold the controls' transaction until the light statement waits
    for their row locks: its WHERE then runs again, on the paused rows."""
    stopped = StoreStatus.PAUSED if control is controls.store_pause else StoreStatus.DISCONNECTED
    for round_ in range(ROUNDS):
        stores = light_stores(acme, 5, f"p{round_}x")
        token = claims.claim_due_stores(limit=5).token if claimed else ""

        def stop(stores=stores):
            for store in stores:
                control(store=store)

        light = recorder(results(stores, LIGHT_MS), token)
        if round_ % 2:
            locked = threading.Event()
            _, recorded = race(holding(stop, locked), once_locked(light, locked))
            # Unclaimed, the general path records the check of a paused store (and changes nothing else).
            assert recorded == (0 if claimed else 5), f"round {round_}: recorded {recorded}"
        else:
            race(stop, light)
        rows = Store.objects.filter(pk__in=[s.pk for s in stores])
        wrong = [
            (store_hash, status, next_at is not None, bool(token))
            for store_hash, status, next_at, token in rows.values_list(
                "store_hash", "status", "next_check_at", "claim_token"
            )
            if (status, next_at, token) != (stopped, None, "")
        ]
        assert not wrong, f"round {round_}: (store, status, scheduled, claimed) should be {stopped}, not: {wrong}"
        assert StatusChange.objects.filter(store__in=stores, new_status=stopped).count() == 5
        assert not StatusChange.objects.filter(store__in=stores, old_status=stopped).exists()


@pytest.mark.parametrize(
    ("outcome", "streak"),
    [(Outcome.UNREACHABLE, (1, "")), (Outcome.INVALID_TOKEN, (0, StoreStatus.REVOKED))],
    ids=["failure-streak", "suspicion"],
)
def test_a_healthy_light_check_racing_a_failed_check_ends_as_if_one_came_after_the_other(
    postgres, acme, outcome, streak
):
    """Mutation: `s.failure_count = 0` (failure-streak), or
    `s.suspected_status = ''` (suspicion), removed from
    `_record_healthy_light`'s WHERE: a light check recorded after the failed
    one keeps the streak (suspicion) its healthy answer should have ended, yet
    moves the store on to a regular check instead of the sooner retry
    (confirming re-check): a state neither order of the two leaves.

    Both record without a claim (`claim_token=""`): the first to record clears
    the claim, so with one the claim clause alone refuses the second. Odd
    rounds hold the failed check's transaction until the light statement waits
    for its row locks: the light check then always comes second."""
    for round_ in range(ROUNDS):
        stores = light_stores(acme, 5, f"f{round_}x")
        started = timezone.now()
        failed, light = recorder(results(stores, FAILED_MS, outcome)), recorder(results(stores, LIGHT_MS))
        if round_ % 2:
            locked = threading.Event()
            race(holding(failed, locked), once_locked(light, locked))
        else:
            race(failed, light)
        light_last = (0, "", LIGHT_MS, False)  # the healthy answer ended the streak: a regular check next
        failed_last = (*streak, FAILED_MS, True)  # the streak (suspicion) stands: checked again soon
        rows = Store.objects.filter(pk__in=[s.pk for s in stores])
        for pk, failures, suspected, ms, next_at in rows.values_list(
            "pk", "failure_count", "suspected_status", "last_check_ms", "next_check_at"
        ):
            state = (failures, suspected, ms, next_at < regular_from(started))
            expected = (light_last,) if round_ % 2 else (light_last, failed_last)
            assert state in expected, f"round {round_}: store {pk} ended as (failures, suspected, ms, soon) {state}"
        rows.update(next_check_at=None)  # out of the next round's way


def test_two_writers_of_overlapping_batches_never_deadlock(postgres, acme):
    """Mutation: `_lock_in_id_order` removed from `store_record_results`: each
    writer locks the stores in its own results' order (the light statement in
    its join's order, the general path by `Store.Meta.ordering`), and two
    writers holding part of the other's batch deadlock ("deadlock detected":
    one batch rolled back, its BigCommerce calls made again on retry).

    Found by the light-check race tests: without a claim (here), and rarely
    between a stale worker and the new claimant. Each batch mixes healthy light
    checks and failed ones, so both paths of each writer take locks; the second
    writer has them in the opposite order."""
    for round_ in range(ROUNDS // 2):
        stores = light_stores(acme, 50, f"d{round_}x")

        def mixed(order: list[Store]) -> list[check_services.CheckResult]:
            return [
                *results(order[::2], LIGHT_MS),
                *results(order[1::2], FAILED_MS, Outcome.UNREACHABLE),
            ]

        recorded = race(recorder(mixed(stores)), recorder(mixed(stores[::-1])))
        assert recorded[0] > 0 and recorded[1] > 0, f"round {round_}: recorded {recorded}"
        Store.objects.filter(pk__in=[s.pk for s in stores]).update(next_check_at=None)
