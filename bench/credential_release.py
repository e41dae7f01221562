"""The credential release (issue 25) as a service meets it: the production web
server (gunicorn with config/gunicorn.conf.py, `DJANGO_ENV=production`, a Redis
cache for the rate limit) over loopback HTTP, 100,000 stores, and an audit table
with a history in it.

1. Seed: `stores` stores (bench.data.many_stores: the usual status mix), each
   with its own encrypted credentials and version 1; `audit_rows` earlier
   releases by three services spread over the retention, so every insert
   maintains three indexes of a table of realistic size; VACUUM ANALYZE.
2. Start gunicorn on a free loopback port, the Procfile's command with the
   configuration's defaults (2 workers × 4 threads); warm every worker.
3. Time each request at the client (a `requests.Session`, keep-alive, as the
   README's example): a 200 (with its audit row) for a random releasable store,
   then a 304 (`If-None-Match` naming the version) for another, alternately,
   so both meet the same machine. First one request in flight (a service's
   sync loop), then `in_flight` at once (threads of this process, one session
   each: its own connection, as separate services would have).
4. Check the audit trail: exactly one row per 200, none per 304.

The rate limit is raised out of the way (CREDENTIAL_RELEASE_RATE_LIMIT): its
code and its Redis round trips still run on every 200.
"""

from __future__ import annotations

import json
import os
import random
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

from bench.environment import BROKER_URL, ROOT, flush_broker, worker_env
from bench.measure import cpu_seconds
from bench.nginx import free_port

# The bench's own key: production refuses the development one.
FERNET_KEY = "bench-credential-release-key-0123456789abcdef"
TARGETS = {"released_p95_ms": 10.0, "not_modified_p95_ms": 5.0}
SERVICES = ("order-sync", "catalog-sync", "checkout")
QUERIES_CLIENT = "bench-queries"


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def _children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()  # noqa: S603, S607
    return [int(child) for child in out]


# --- 1. seed --------------------------------------------------------------------------------------


def seed(*, stores: int, audit_rows: int) -> tuple[list[str], str]:
    """The stores, their credentials and an audit history; the releasable
    stores' hashes and a new service client's secret."""
    from django.db import connection
    from django.test.utils import override_settings

    from api.models import CredentialRelease, ServiceClient
    from api.service_clients import service_client_create
    from bench import data
    from stores.models import Credential, Store
    from stores.release import RELEASABLE

    data.wipe()  # the stores, and with them (CASCADE) their releases
    CredentialRelease.objects.all().delete()
    ServiceClient.objects.filter(name__in=(*SERVICES, QUERIES_CLIENT)).delete()
    data.many_stores(stores, prefix="r")
    with override_settings(FERNET_KEYS=[FERNET_KEY]):
        data.credentials_for_every_store()
        issued = [service_client_create(name=name, scopes=["credentials:read"]) for name in SERVICES]
    Store.objects.update(credentials_version=1)
    clients = [i.client.pk for i in issued]
    first, last = Store.objects.order_by("pk").values_list("pk", flat=True)[:1][0], Store.objects.latest("pk").pk
    with connection.cursor() as cursor:
        # A day's share of the 400-day retention each: every service reads each store now and then.
        cursor.execute(
            "INSERT INTO api_credentialrelease (client_id, store_id, version, client_address, released_at) "
            "SELECT (%s::bigint[])[1 + g %% 3], %s + (g::bigint * 7919) %% (%s - %s + 1), '1', "
            "('10.0.0.' || (g %% 200))::inet, now() - (g %% 34560000) * interval '1 second' "
            "FROM generate_series(1, %s) AS g",
            [clients, first, last, first, audit_rows],
        )
    data.vacuum(Store, Credential, CredentialRelease)
    releasable = list(
        Store.objects.filter(status__in=sorted(RELEASABLE), credential__isnull=False).values_list(
            "store_hash", flat=True
        )
    )
    return releasable, issued[0].secret


# --- 2. the server --------------------------------------------------------------------------------


class Server:
    """gunicorn as the Procfile runs it, in production mode, on a loopback port."""

    def __init__(self, **extra_env: str):
        self.port = free_port()
        self.log = tempfile.NamedTemporaryFile(prefix="bench-web-", suffix=".log", delete=False)  # noqa: SIM115
        self.metrics_dir = tempfile.mkdtemp(prefix="bench-web-metrics-")
        self.env = worker_env(
            DJANGO_ENV="production",
            SECRET_KEY=secrets.token_urlsafe(40),
            FERNET_KEYS=FERNET_KEY,
            ALLOWED_HOSTS="127.0.0.1,localhost",
            CACHE_URL=BROKER_URL,
            EMAIL_URL="smtp+tls://127.0.0.1:2525",
            PUBLIC_BASE_URL="https://connect.violet.test",
            METRICS_TOKEN=secrets.token_urlsafe(32),
            LOG_LEVEL="INFO",  # production's: the request log writes a line a request
            HOST="127.0.0.1",
            PORT=str(self.port),
            PROMETHEUS_MULTIPROC_DIR=self.metrics_dir,
            # Out of the way of the benchmark (its code still runs on every 200).
            CREDENTIAL_RELEASE_RATE_LIMIT="1000000000",
            **extra_env,
        )
        self.url = f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Server:
        self.process = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.conf.py", "config.wsgi"],
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                probe = requests.get(
                    f"{self.url}/api/v1/stores/x/credentials/", headers={"X-Forwarded-Proto": "https"}, timeout=5
                )
                if probe.status_code == 401:
                    return self
            except requests.RequestException:
                pass
            if self.process.poll() is not None:
                break
            time.sleep(0.2)
        self.__exit__(None, None, None)
        raise RuntimeError(f"gunicorn did not start: {Path(self.log.name).read_text()[-2000:]}")

    def __exit__(self, *exc) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=60)
        Path(self.log.name).unlink(missing_ok=True)
        subprocess.run(["rm", "-rf", self.metrics_dir], check=False)  # noqa: S603, S607

    def workers(self) -> list[int]:
        return _children(self.process.pid)

    def log_size(self) -> int:
        return Path(self.log.name).stat().st_size

    def durations_since(self, offset: int) -> dict[int, list[int]]:
        """The request log's `duration_ms` (whole ms, in Django, from the first
        middleware to the response) of each answer since `offset`, by status."""
        found: dict[int, list[int]] = {}
        with open(self.log.name, "rb") as log:
            log.seek(offset)
            for line in log:
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                if isinstance(record, dict) and "duration_ms" in record:
                    found.setdefault(record.get("status"), []).append(record["duration_ms"])
        return found


# --- 3. the client --------------------------------------------------------------------------------


def _session(secret: str) -> requests.Session:
    session = requests.Session()
    # X-Forwarded-Proto: what the platform's router adds in front of production (SECURE_SSL_REDIRECT).
    session.headers.update({"Authorization": f"Bearer {secret}", "X-Forwarded-Proto": "https"})
    return session


def _alternate(url: str, secret: str, hashes: list[str], count: int, seed_: int) -> dict[str, list[float]]:
    """`count` 200s and `count` 304s, alternately, each for a random store: seconds each."""
    pick = random.Random(seed_)
    session = _session(secret)
    timings: dict[str, list[float]] = {"released": [], "not_modified": []}
    for _ in range(count):
        for kind, headers, wanted in (("released", {}, 200), ("not_modified", {"If-None-Match": '"1"'}, 304)):
            path = f"{url}/api/v1/stores/{pick.choice(hashes)}/credentials/"
            began = time.perf_counter()
            response = session.get(path, headers=headers, timeout=10)
            timings[kind].append(time.perf_counter() - began)
            if response.status_code != wanted:
                raise RuntimeError(f"{kind}: {response.status_code} {response.text[:200]}")
            if wanted == 200 and not response.json()["access_token"]:
                raise RuntimeError("a 200 without a token")
    session.close()
    return timings


def _summary(seconds: list[float]) -> dict:
    return {
        "requests": len(seconds),
        "p50_ms": round(percentile(seconds, 50) * 1000, 2),
        "p95_ms": round(percentile(seconds, 95) * 1000, 2),
        "p99_ms": round(percentile(seconds, 99) * 1000, 2),
        "max_ms": round(max(seconds) * 1000, 2),
        "mean_ms": round(statistics.fmean(seconds) * 1000, 2),
    }


def _run(server: Server, secret: str, hashes: list[str], *, count: int, in_flight: int) -> dict:
    """`in_flight` clients at once, each `count` 200s and `count` 304s."""
    results: list[dict[str, list[float]]] = [{} for _ in range(in_flight)]
    errors: list[BaseException] = []

    def client(index: int) -> None:
        try:
            results[index] = _alternate(server.url, secret, hashes, count, seed_=index)
        except BaseException as failure:  # noqa: BLE001 - reported below
            errors.append(failure)

    pids = server.workers()
    log_offset = server.log_size()
    load_before = os.getloadavg()[0]
    cpu_before = cpu_seconds(pids)
    began = time.perf_counter()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(in_flight)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    if errors:
        raise errors[0]
    restarted = set(pids) != set(server.workers())  # max_requests: a new worker's CPU would not compare
    cpu = cpu_seconds(pids) - cpu_before
    total = 2 * count * in_flight
    in_django = server.durations_since(log_offset)
    return {
        "in_flight": in_flight,
        "released": _summary([t for r in results for t in r["released"]]),
        "not_modified": _summary([t for r in results for t in r["not_modified"]]),
        "requests_per_second": round(total / elapsed, 1),
        "server_cpu_ms_per_request": None if restarted else round(cpu * 1000 / total, 2),
        "worker_restarted": restarted,
        # Whole milliseconds inside Django (config.logging's request log): the
        # rest of the client's time is gunicorn, loopback and waiting for a core.
        "in_django_ms": {
            str(status): {"p50": percentile(values, 50), "p95": percentile(values, 95)}
            for status, values in sorted(in_django.items())
        },
        "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }


def _queries(store_hash: str) -> dict:
    """Statements per answer, counted in this process (Django's test client, the same code)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, override_settings

    from api.service_clients import service_client_create

    with override_settings(FERNET_KEYS=[FERNET_KEY]):
        secret = service_client_create(name=QUERIES_CLIENT, scopes=["credentials:read"]).secret
        client = Client(headers={"Authorization": f"Bearer {secret}"})
        url = f"/api/v1/stores/{store_hash}/credentials/"
        client.get(url)  # last_used_at written: the next calls are the steady state
        counts = {}
        for kind, headers in (("released", {}), ("not_modified", {"HTTP_IF_NONE_MATCH": '"1"'})):
            with CaptureQueriesContext(connection) as captured:
                client.get(url, **headers)
            counts[kind] = len(captured)
    return counts


def credential_release(*, stores: int, audit_rows: int, count: int, in_flight: int = 4) -> dict:
    from api.models import CredentialRelease

    began = time.perf_counter()
    hashes, secret = seed(stores=stores, audit_rows=audit_rows)
    seed_seconds = time.perf_counter() - began
    queries = _queries(hashes[0])
    flush_broker()
    runs = {}
    with Server() as server:
        # Warm every worker thread and connection. All the runs together stay
        # under gunicorn's max_requests (5,000 a worker; a keep-alive client
        # stays with one worker): no worker restarts (and re-imports) in the
        # middle of a measurement.
        _run(server, secret, hashes, count=25, in_flight=8)
        audit_before = CredentialRelease.objects.count()
        runs["sequential"] = _run(server, secret, hashes, count=count, in_flight=1)
        runs["concurrent"] = _run(server, secret, hashes, count=max(1, count // 2 // in_flight), in_flight=in_flight)
        released = sum(run["released"]["requests"] for run in runs.values())
        audit_rows_written = CredentialRelease.objects.count() - audit_before
    sequential = runs["sequential"]
    return {
        "stores": stores,
        "releasable_stores": len(hashes),
        "audit_rows_before": audit_rows,
        "server": "gunicorn -c config/gunicorn.conf.py (2 workers x 4 threads), DJANGO_ENV=production, loopback",
        "client": "requests.Session, keep-alive; 200 and 304 alternately, random stores",
        **runs,
        "released_p95_ms": sequential["released"]["p95_ms"],
        "not_modified_p95_ms": sequential["not_modified"]["p95_ms"],
        "targets": TARGETS,
        "meets_targets": sequential["released"]["p95_ms"] <= TARGETS["released_p95_ms"]
        and sequential["not_modified"]["p95_ms"] <= TARGETS["not_modified_p95_ms"],
        "audit_rows_per_200": round(audit_rows_written / released, 3),
        "queries": queries,
        "seed_seconds": round(seed_seconds, 1),
    }
