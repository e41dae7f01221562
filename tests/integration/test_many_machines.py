"""One portal, many machines: the Procfile's process model as separate "hosts".

gunicorn with 2 workers, two Celery workers with different node names and
different working directories (nothing shared but PostgreSQL and Redis), one
beat. Stores connected through the sandbox are checked by both workers; one
worker is stopped with SIGTERM mid-batch (warm shutdown: it finishes what it
holds) and the other killed with SIGKILL later (its batch is redelivered and
its claims expire). The stores fall due in two waves, the second once worker A
has stopped, so worker B still has work to die in however fast the first wave
went (with one wave, B could finish everything while A shut down). In the end
every due store was checked exactly once (a revoked one: once, plus its
confirmation re-check), no notification was sent twice, and /health/ named the
live workers.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from django.db import connection
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from merchants.models import Membership, Merchant, User
from notifications.models import Notification
from stores import services
from stores.bigcommerce.report import Credentials
from stores.models import Check, Credential, StatusChange, Store
from stores.verification import verify_credentials
from tests.integration.conftest import ROOT, wait_for
from tests.integration.test_process_faults import every_second

pytestmark = pytest.mark.integration

STORES = 60
FIRST_WAVE = 40  # due at the start (the revoked ones among them); the rest once worker A has stopped
REVOKED = 3
CHECK_LINE = re.compile(r"check (\d+) of store (\S+):")
RECEIVED = re.compile(r"Task stores\.check_stores\[([0-9a-f-]+)\] received")
SUCCEEDED = re.compile(r"Task stores\.check_stores\[([0-9a-f-]+)\] succeeded")


def procfile() -> dict[str, list[str]]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    entries = dict(line.split(":", 1) for line in lines if line and not line.startswith("#"))
    return {name: shlex.split(command) for name, command in entries.items()}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Hosts:
    """Each process in its own working directory, as on its own machine."""

    def __init__(self, env: dict[str, str], root: Path) -> None:
        self.env, self.root = env, root
        self.processes: dict[str, subprocess.Popen] = {}

    def start(self, name: str, argv: list[str], **extra_env: str) -> subprocess.Popen:
        home = self.root / name
        home.mkdir(exist_ok=True)
        metrics = home / "metrics"
        metrics.mkdir(exist_ok=True)
        env = {**self.env, "PROMETHEUS_MULTIPROC_DIR": str(metrics), **extra_env}
        with open(home / "log", "ab") as log:  # the process has its own copy of the file
            process = subprocess.Popen(  # noqa: S603
                argv, cwd=home, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.processes[name] = process
        return process

    def log(self, name: str) -> str:
        return (self.root / name / "log").read_text(errors="replace")

    def checked_by(self, name: str) -> list[str]:
        return [store_hash for _, store_hash in CHECK_LINE.findall(self.log(name))]

    def holding(self, name: str) -> set[str]:
        """Batches this worker took and has not finished."""
        log = self.log(name)
        return set(RECEIVED.findall(log)) - set(SUCCEEDED.findall(log))

    def signal(self, name: str, sig: int) -> int:
        process = self.processes.pop(name)
        os.killpg(process.pid, sig) if sig == signal.SIGKILL else process.send_signal(sig)
        return process.wait(timeout=60)

    def stop_all(self) -> None:
        for name in list(self.processes):
            try:
                self.signal(name, signal.SIGTERM)
            except (subprocess.TimeoutExpired, ProcessLookupError):
                pass


@pytest.fixture
def hosts(celery, tmp_path):
    env = {
        **celery.env,
        "PYTHONPATH": str(ROOT),
        "CACHE_URL": celery.env["CELERY_BROKER_URL"],
        "DISPATCH_BATCH_SIZE": "4",
        "FLEET_CHECKS_IN_FLIGHT": "4",
        "CHECK_LEASE_SECONDS": "10",
        "STAFF_NOTIFICATION_EMAILS": "oncall@violet.test",
    }
    running = Hosts(env, tmp_path / "hosts")
    running.root.mkdir()
    yield running
    running.stop_all()


@pytest.fixture
def fleet(celery, sandbox):
    """STORES stores connected at the sandbox (three through the live check, the
    rest in bulk); REVOKED of them about to lose their API account."""
    merchant = Merchant.objects.create(name="Acme", slug="acme")
    owner = User.objects.create_user(email="alice@acme.test", password="x")
    Membership.objects.create(merchant=merchant, user=owner, role="owner")
    rows = sandbox.control.bulk(STORES, prefix="mm")["stores"]
    revoked_accounts = []
    for store_hash, token, client_id in rows[:REVOKED]:
        account = sandbox.control.accounts(store_hash)[0]
        credentials = Credentials(store_hash, token, client_id, account["client_secret"])
        report, _ = verify_credentials(credentials)
        assert report.ok, report.to_dict()
        services.store_connect(merchant=merchant, credentials=credentials, report=report)
        revoked_accounts.append(client_id)
    now = timezone.now()
    stores = Store.objects.bulk_create(
        Store(merchant=merchant, store_hash=h, name=h, status="connected", connected_at=now, next_check_at=now)
        for h, _, _ in rows[REVOKED:]
    )
    credentials = []
    for store, (_, token, client_id) in zip(stores, rows[REVOKED:], strict=True):
        credential = Credential(store=store)
        credential.set_values(client_id=client_id, client_secret="ab" * 32, access_token=token)
        credentials.append(credential)
    Credential.objects.bulk_create(credentials)
    StatusChange.objects.update(processed_at=timezone.now())  # the connections are old news
    Store.objects.update(next_check_at=timezone.now() + timedelta(hours=1))
    sandbox.control.set_global_latency(1500)  # a batch takes a few seconds: there is a "mid-batch"
    every_second("stores.dispatch_due_checks")
    every_second("notifications.dispatch")
    return {"revoked": revoked_accounts, "revoked_hashes": [h for h, _, _ in rows[:REVOKED]]}


def worker_argv(node: str) -> list[str]:
    argv = procfile()["worker"]
    assert argv[:4] == ["celery", "-A", "config", "worker"]
    argv = [a for a in argv if not a.startswith("--concurrency")]
    return [sys.executable, "-m", *argv, "--concurrency=2", "-n", node]


def test_one_portal_on_many_machines(fleet, hosts, sandbox, celery):
    web_port = free_port()
    web = procfile()["web"]
    assert web[:3] == ["gunicorn", "-c", "config/gunicorn.conf.py"]
    hosts.start(
        "web",
        [sys.executable, "-m", "gunicorn", "-c", str(ROOT / web[2]), *web[3:]],
        PORT=str(web_port),
        HOST="127.0.0.1",
        WEB_CONCURRENCY="2",
    )
    node = f"{os.getpid()}@{socket.gethostname()}"
    hosts.start("worker-a", worker_argv(f"a-{node}"))
    hosts.start("worker-b", worker_argv(f"b-{node}"))
    beat = procfile()["beat"]
    hosts.start("beat", [sys.executable, "-m", *beat])
    base = f"http://127.0.0.1:{web_port}"

    def health() -> dict:
        try:
            return requests.get(f"{base}/health/", timeout=5).json()
        except (requests.RequestException, ValueError):
            return {}

    # Both workers up and named by /health/, served by gunicorn.
    wait_for(lambda: len(health().get("workers", [])) == 2, timeout=60, what="both workers in /health/")
    assert health()["workers"] == sorted([f"a-{node}", f"b-{node}"])

    started = timezone.now()
    for client_id in fleet["revoked"]:
        sandbox.control.revoke(client_id)
    by_id = list(Store.objects.order_by("pk").values_list("pk", flat=True))
    first_wave, second_wave = by_id[:FIRST_WAVE], by_id[FIRST_WAVE:]
    assert set(Store.objects.filter(store_hash__in=fleet["revoked_hashes"]).values_list("pk", flat=True)) <= set(
        first_wave
    )
    Store.objects.filter(pk__in=first_wave).update(next_check_at=timezone.now())

    # Both take work; then worker A is stopped with SIGTERM while it holds a batch.
    wait_for(lambda: hosts.checked_by("worker-a") and hosts.checked_by("worker-b"), timeout=60, what="both checking")
    held = wait_for(lambda: hosts.holding("worker-a"), timeout=60, interval=0.02, what="worker A mid-batch")
    assert hosts.signal("worker-a", signal.SIGTERM) == 0  # warm shutdown: finished what it held, then exited
    after_term = hosts.log("worker-a").split("Warm shutdown", 1)[1]
    assert set(SUCCEEDED.findall(after_term)) >= held  # the batch it held was finished, not dropped
    assert CHECK_LINE.search(after_term)

    # The second wave falls due with worker B alone; it dies outright, mid-batch.
    b_before = len(hosts.checked_by("worker-b"))
    Store.objects.filter(pk__in=second_wave).update(next_check_at=timezone.now())
    wait_for(lambda: len(hosts.checked_by("worker-b")) > b_before, timeout=60, what="worker B checking again")
    wait_for(lambda: hosts.holding("worker-b"), timeout=60, interval=0.02, what="worker B mid-batch")
    hosts.signal("worker-b", signal.SIGKILL)
    assert hosts.holding("worker-b")  # it died holding a batch: redelivered, or its claims expire
    worker_metrics = free_port()
    hosts.start("worker-c", worker_argv(f"c-{node}"), WORKER_METRICS_PORT=str(worker_metrics))  # a replacement

    def all_checked() -> bool:
        connection.close()
        return (
            not Store.objects.filter(last_checked_at__lt=started).exists()
            and not Store.objects.exclude(claim_token="").exists()
            and Store.objects.filter(status="revoked").count() == REVOKED
        )

    wait_for(all_checked, timeout=120, interval=1, what="every store checked after the kills")
    wait_for(
        lambda: (
            not Notification.objects.exclude(state="delivered").exists() and Notification.objects.count() == 2 * REVOKED
        ),
        timeout=60,
        what="owner and staff notified",
    )
    time.sleep(3)  # a duplicate would have arrived by now

    # Exactly once: one check per store since the start, plus the confirmation of a revocation.
    per_store = Counter(Check.objects.filter(started_at__gte=started).values_list("store__store_hash", flat=True))
    revoked = set(fleet["revoked_hashes"])
    assert {h: n for h, n in per_store.items() if h not in revoked} == {
        h: 1 for h in Store.objects.exclude(store_hash__in=revoked).values_list("store_hash", flat=True)
    }
    assert {h: per_store[h] for h in revoked} == {h: 2 for h in revoked}

    # Spread across both machines, the killed worker's unfinished work redone elsewhere.
    by_worker = {name: set(hosts.checked_by(name)) for name in ("worker-a", "worker-b", "worker-c")}
    assert by_worker["worker-a"] and by_worker["worker-b"] and by_worker["worker-c"]

    # Each revocation announced once to each of owner and staff: no notification twice.
    changes = StatusChange.objects.filter(new_status="revoked")
    assert changes.count() == REVOKED
    assert Notification.objects.count() == 2 * REVOKED  # owner and staff, per change
    assert set(Notification.objects.values_list("attempts", flat=True)) == {1}  # each sent once
    messages = [
        message
        for path in celery.mail_dir.glob("*.log")
        for message in path.read_text().split("-" * 79)
        if "Violet lost access" in message
    ]
    assert len(messages) == 2 * REVOKED

    # /health/ now names the live workers only; /metrics is prometheus_client's format.
    wait_for(lambda: health().get("workers") == [f"c-{node}"], timeout=30, what="/health/ after the kills")
    body = requests.get(f"{base}/metrics", timeout=10).text
    families = {f.name: f for f in text_string_to_metric_families(body)}
    stores = {s.labels["status"]: s.value for s in families["violet_stores"].samples}
    assert stores["connected"] == STORES - REVOKED and stores["revoked"] == REVOKED

    # Worker C's own counters, added up over its pool children, on WORKER_METRICS_PORT.
    worker_body = requests.get(f"http://127.0.0.1:{worker_metrics}/metrics", timeout=10).text
    counted = sum(
        s.value
        for f in text_string_to_metric_families(worker_body)
        if f.name == "violet_checks"
        for s in f.samples
        if s.name == "violet_checks_total"
    )
    assert counted == len(hosts.checked_by("worker-c")) > 0
