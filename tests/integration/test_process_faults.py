"""Process faults with real services: Redis and PostgreSQL restarted during a
run, two beats at once, the key rotation killed midway. Afterwards every due
store was checked, none twice at once, no status change lost or announced twice.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from merchants.models import Merchant
from stores.models import Check, Credential, StatusChange, Store
from tests.integration.conftest import ROOT, database_url, wait_for

pytestmark = pytest.mark.integration

STORES = 40


def every_second(task: str) -> None:
    schedule, _ = IntervalSchedule.objects.get_or_create(every=1, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.filter(task=task).update(interval=schedule)


@pytest.fixture
def fleet(celery, sandbox):
    """STORES connected stores at the sandbox, all due now; 300 ms latency."""
    celery.env["CHECK_LEASE_SECONDS"] = "8"
    merchant = Merchant.objects.create(name="Acme", slug="acme")
    rows = sandbox.control.bulk(STORES, prefix="pf")["stores"]
    now = timezone.now()
    stores = Store.objects.bulk_create(
        Store(
            merchant=merchant,
            store_hash=h,
            name=h,
            status="connected",
            connected_at=now,
            next_check_at=now + timedelta(hours=1),
        )
        for h, _, _ in rows
    )
    credentials = []
    for store, (_, token, client_id) in zip(stores, rows, strict=True):
        credential = Credential(store=store)
        credential.set_values(client_id=client_id, client_secret="ab" * 32, access_token=token)
        credentials.append(credential)
    Credential.objects.bulk_create(credentials)
    sandbox.control.set_global_latency(300)
    every_second("stores.dispatch_due_checks")
    every_second("notifications.dispatch")
    return stores


def make_all_due() -> None:
    Store.objects.update(next_check_at=timezone.now())


def all_checked_since(moment) -> bool:
    connection.close()  # survive a database restart in this process too
    return (
        not Store.objects.filter(last_checked_at__lt=moment).exists()
        and not Store.objects.filter(last_checked_at__isnull=True).exists()
        and not Store.objects.exclude(claim_token="").exists()
    )


def assert_never_twice_at_once() -> None:
    for store_id in Store.objects.values_list("id", flat=True):
        spans = sorted(
            (c.started_at, c.started_at + timedelta(milliseconds=c.duration_ms))
            for c in Check.objects.filter(store_id=store_id)
        )
        for (_, end), (start, _) in zip(spans, spans[1:], strict=False):
            assert start >= end - timedelta(milliseconds=5), f"store {store_id} checked twice at once"


def assert_statuses_sound() -> None:
    assert set(Store.objects.values_list("status", flat=True)) == {"connected"}
    assert StatusChange.objects.count() == 0  # a passing fault flags nothing


def restart_redis() -> None:
    subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", "6379", "shutdown", "nosave"], capture_output=True)  # noqa: S603, S607
    time.sleep(1)
    subprocess.run(  # noqa: S603
        [
            "redis-server",
            "--daemonize",
            "yes",
            "--bind",
            "127.0.0.1",
            "--port",
            "6379",
            "--save",
            "",
            "--appendonly",
            "no",
        ],  # noqa: S607
        check=True,
        capture_output=True,
    )
    wait_for(
        lambda: subprocess.run(["redis-cli", "ping"], capture_output=True, text=True).stdout.strip() == "PONG",  # noqa: S603, S607
        what="redis back",
    )


def restart_postgres() -> None:
    version = subprocess.run(["ls", "/etc/postgresql"], capture_output=True, text=True).stdout.split()[0]  # noqa: S603, S607
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"], check=True, capture_output=True
    )  # noqa: S603, S607
    connection.close()


def test_redis_restarted_during_a_run(fleet, celery, sandbox):
    celery.start_worker()
    celery.start_beat()
    started = timezone.now()
    make_all_due()
    wait_for(lambda: Check.objects.exists(), what="the first checks")
    restart_redis()
    wait_for(lambda: all_checked_since(started), what="every store checked after the Redis restart", timeout=90)
    assert_never_twice_at_once()
    assert_statuses_sound()


def test_postgres_restarted_during_a_run(fleet, celery, sandbox):
    celery.start_worker()
    celery.start_beat()
    started = timezone.now()
    make_all_due()
    wait_for(lambda: Check.objects.exists(), what="the first checks")
    restart_postgres()
    wait_for(lambda: all_checked_since(started), what="every store checked after the PostgreSQL restart", timeout=90)
    assert_never_twice_at_once()
    assert_statuses_sound()


def test_two_beats_at_once_check_each_store_once(fleet, celery, sandbox):
    celery.start_worker()
    celery.start_beat("beat")
    celery.start_beat("beat2")
    started = timezone.now()
    make_all_due()
    wait_for(lambda: all_checked_since(started), what="every store checked", timeout=60)
    time.sleep(2)
    counts = list(Check.objects.filter(started_at__gte=started).values_list("store_id", flat=True))
    assert sorted(set(counts)) == sorted(s.pk for s in fleet)
    assert len(counts) == len(fleet)  # each store once
    assert_never_twice_at_once()


# More than a second of rotation at ~5,000 rows/s: the first run is killed as
# soon as its first batch (50 rows) committed, long before it could finish.
ROWS = 8_000


def test_rotation_killed_midway_then_run_again_loses_nothing(real_services, tmp_path):
    merchant = Merchant.objects.create(name="Acme", slug="acme")
    old_keys = ["rotation-old-key"]
    from django.test import override_settings

    with override_settings(FERNET_KEYS=old_keys):
        stores = Store.objects.bulk_create(Store(merchant=merchant, store_hash=f"r{i}") for i in range(ROWS))
        credentials = []
        for store in stores:
            credential = Credential(store=store)
            credential.set_values(
                client_id=f"id{store.pk}", client_secret=f"secret{store.pk}", access_token=f"token{store.pk}"
            )
            credentials.append(credential)
        Credential.objects.bulk_create(credentials)

    env = {
        **__import__("os").environ,
        "DATABASE_URL": database_url(),
        "FERNET_KEYS": "rotation-new-key,rotation-old-key",
    }
    command = [sys.executable, "manage.py", "rotate_credentials", "--batch-size", "50"]
    first_row = min(store.pk for store in stores)

    def ciphertext() -> bytes:  # read raw: the model field would decrypt it
        with connection.cursor() as cursor:
            cursor.execute("SELECT access_token FROM stores_credential WHERE store_id = %s", [first_row])
            return bytes(cursor.fetchone()[0])

    original = ciphertext()

    def started_moving() -> bool:
        return ciphertext() != original

    # The command rotates with a process per core: killed, its processes stop
    # after their transaction in flight (without that, they went on rotating
    # under the second run, which counted 1,450 rows "changed meanwhile").
    first = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603
    # Kill it as soon as its first transaction committed: rotation moves
    # thousands of rows a second, so a fixed sleep could let it finish.
    wait_for(started_moving, what="the first rows rotated", timeout=60, interval=0.02)
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert first.returncode == -signal.SIGKILL
    second = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)  # noqa: S603
    assert second.returncode == 0, second.stderr
    moved, current = (int(n) for n in __import__("re").findall(r"(\d+) ", second.stdout)[:2])
    assert moved + current == ROWS and current > 0 and moved > 0, second.stdout  # the first run moved some, not all

    connection.close()
    with override_settings(FERNET_KEYS=["rotation-new-key"]):
        values = {c.store_id: c.access_token for c in Credential.objects.all()}
    assert values == {store.pk: f"token{store.pk}" for store in stores}
