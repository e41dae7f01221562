"""The five figures of `make bench`. Each returns a dict of measurements."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import requests

from bench import data
from bench.environment import ROOT, flush_broker, worker_env
from bench.measure import cpu_seconds, percentile
from sandbox.testing import running_sandbox
from stores.bigcommerce.client import BigCommerceClient, RequestsTransport
from stores.bigcommerce.probes import BASELINE, PROBES
from stores.bigcommerce.report import Credentials
from stores.bigcommerce.validation import validate_sync

# --- 1. onboarding answer time ------------------------------------------------------


async def _sequential_validation(url: str, credentials: Credentials) -> None:
    """The baseline: the same calls, one at a time."""
    client = BigCommerceClient(url, RequestsTransport(max_workers=1))
    try:
        for probe in (BASELINE, *PROBES):
            await client.request(
                probe.method,
                credentials.store_hash,
                probe.path,
                access_token=credentials.access_token,
                json_body=probe.body,
            )
    finally:
        await client.aclose()


def onboarding(*, runs: int, latency_ms: int = 200) -> dict:
    with running_sandbox(fixture=None, latency_ms=latency_ms, mode="subprocess") as sandbox:
        store_hash = sandbox.control.add_store()["store_hash"]
        account = sandbox.control.add_account(store_hash)
        credentials = Credentials(store_hash, account["access_token"], account["client_id"], account["client_secret"])
        transport = RequestsTransport()
        validate_sync(credentials, base_url=sandbox.url, transport=transport)  # warm the pool
        requests_before = sandbox.control.stats()["requests"]
        parallel = []
        for _ in range(runs):
            began = time.perf_counter()
            report = validate_sync(credentials, base_url=sandbox.url, transport=transport)
            parallel.append(time.perf_counter() - began)
            assert report.ok, report.to_dict()
        per_validation = (sandbox.control.stats()["requests"] - requests_before) / runs
        sequential = []
        for _ in range(max(3, runs // 4)):
            began = time.perf_counter()
            asyncio.run(_sequential_validation(sandbox.url, credentials))
            sequential.append(time.perf_counter() - began)
        created = sandbox.control.created(store_hash)
    median = statistics.median(parallel)
    return {
        "latency_ms": latency_ms,
        "runs": runs,
        "median_ms": round(median * 1000, 1),
        "p95_ms": round(percentile(parallel, 95) * 1000, 1),
        "ratio_to_latency": round(median / (latency_ms / 1000), 2),
        "requests_per_validation": per_validation,
        "sequential_median_ms": round(statistics.median(sequential) * 1000, 1),
        "speedup_vs_sequential": round(statistics.median(sequential) / median, 1),
        "objects_created_by_probes": len(created),
    }


# --- 2. fleet revalidation ----------------------------------------------------------


def _peak_rss_mb(pids: list[int]) -> float:
    peak = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]))
        except FileNotFoundError:
            pass
    return round(peak / 1024, 1)


def _tree(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()  # noqa: S603, S607
    return [pid, *(int(child) for child in out)]


def fleet_env() -> dict[str, str]:
    """The fleet's knobs for the light-check and sustained runs: the settings'
    (whose defaults are what production runs), unless a BENCH_* variable tries
    others. The workers are the Procfile's: one Celery worker, prefork,
    `--concurrency` = the processes that check."""
    from django.conf import settings

    return {
        "DISPATCH_BATCH_SIZE": os.environ.get("BENCH_BATCH", str(settings.DISPATCH_BATCH_SIZE)),
        "FLEET_CHECKS_IN_FLIGHT": os.environ.get("BENCH_IN_FLIGHT", str(settings.FLEET_CHECKS_IN_FLIGHT)),
        "FLEET_CONNECTIONS": os.environ.get("BENCH_CONNECTIONS", str(settings.FLEET_CONNECTIONS)),
    }


def _run_workers(
    processes: int,
    sandbox_url: str,
    store_ids: list[int],
    timeout: float,
    *,
    dispatch=None,
    worker_args: tuple[str, ...] = (),
    env_extra: dict | None = None,
    warm_up: bool = False,
) -> dict:
    """Start the workers, dispatch every store once and time until all are
    checked. `warm_up`: an untimed pass first, as a worker that has run for a
    while has its connections to BigCommerce open (a cold start opens 1,000)."""
    from django.conf import settings
    from django.db.models import Q

    from stores import claims
    from stores.models import Store
    from stores.services import checks_dispatch_due

    flush_broker()
    env = worker_env(BIGCOMMERCE_API_URL=sandbox_url, **(env_extra or {}))
    # One worker: prefork with `processes` children, unless `worker_args` says otherwise.
    pool = worker_args or (f"--concurrency={processes}",)
    workers = [
        subprocess.Popen(  # noqa: S603
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--loglevel=WARNING",
                "--hostname=bench@%h",
                "--without-gossip",
                "--without-mingle",
                "--prefetch-multiplier=1",
                *pool,
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
    ]
    # The stores are one id range (the benchmark's only stores): a range
    # is cheap to poll often, 10,000 ids in every poll were not.
    if len(store_ids) == max(store_ids) - min(store_ids) + 1:
        ours = Q(pk__gte=min(store_ids), pk__lte=max(store_ids))
    else:
        ours = Q(pk__in=store_ids)

    def one_pass() -> tuple[int, int, float]:
        began = time.perf_counter()
        started_at = time.time()
        queued = (dispatch or checks_dispatch_due)()
        # Checked: released and rescheduled past this pass.
        checked = Store.objects.filter(ours, claim_token="", next_check_at__gt=_ts(started_at + 60))
        # The poll runs on the measured machine, ten times a second, so it
        # must cost next to nothing: counting `checked` (a scan of every
        # store, on a new connection each time) took a third of PostgreSQL's
        # CPU during a light pass. It asks the dispatcher's index whether any
        # store is still due or claimed: a claim made at dispatch moves the
        # store to at most `claim_by + lease`, a recorded check to at least
        # one interval from then. The exact count confirms the end.
        claim_by = started_at + 60
        waiting = claims.due_stores(_ts(claim_by + settings.CHECK_LEASE_SECONDS)).filter(ours)
        exact = settings.CHECK_LEASE_SECONDS + 120 >= settings.STORE_CHECK_INTERVAL_MINUTES * 60
        done = 0
        while time.perf_counter() - began < timeout:
            if exact or not waiting.exists():
                done = checked.count()
                if done >= len(store_ids):
                    break
            time.sleep(0.1)
        return queued, done, time.perf_counter() - began

    try:
        time.sleep(3)  # let the pool start
        if warm_up:
            one_pass()
            _make_due(store_ids)
        # CPU of the timed pass only (not the start, not the warm-up).
        before = cpu_seconds([pid for w in workers for pid in _tree(w.pid)])
        queued, checked, elapsed = one_pass()
        pids = [pid for w in workers for pid in _tree(w.pid)]
        peak = _peak_rss_mb(pids)
        cpu = round(cpu_seconds(pids) - before, 1)
    finally:
        for w in workers:
            os.killpg(w.pid, signal.SIGTERM)
        for w in workers:
            w.wait(timeout=30)
    return {
        "queued": queued,
        "checked": checked,
        "passes": 2 if warm_up else 1,  # the warm-up's checks count in requests and rows per store
        "seconds": round(elapsed, 2),
        "stores_per_second": round(checked / elapsed, 1),
        "peak_worker_rss_mb": peak,
        "worker_cpu_seconds": cpu,
    }


def _ts(epoch: float):
    from datetime import UTC, datetime

    return datetime.fromtimestamp(epoch, tz=UTC)


_MANY = re.compile(r"^(\d+) times: ")


def executed_statements(captured: list[dict]) -> int:
    """How many statements the database ran: Django logs an `executemany` as
    one entry ("<n> times: <sql>"), though it runs its statement once per row."""
    total = 0
    for query in captured:
        many = _MANY.match(query["sql"])
        total += int(many.group(1)) if many else 1
    return total


def _queries_per_store(sandbox_url: str, sample: int) -> float:
    """Statements of one batch per store (an executemany counts once per row),
    counted in this process with the real code."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from stores import claims, fleet
    from stores.models import Store

    Store.objects.filter(pk__in=Store.objects.order_by("pk").values("pk")[:sample]).update(
        next_check_at=_ts(time.time() - 5)
    )
    from django.conf import settings

    settings.BIGCOMMERCE_API_URL = sandbox_url
    fleet.reset_engine()
    with CaptureQueriesContext(connection) as queries:
        claim = claims.claim_due_stores(limit=sample)
        fleet.check_stores(claim.store_ids, claim_token=claim.token)
    fleet.reset_engine()  # close this process's connections to the sandbox
    return round(executed_statements(queries.captured_queries) / max(1, len(claim.store_ids)), 2)


def _naive_loop(sandbox_url: str, rows: list[list[str]]) -> float:
    """How a cron script would do it: one store after another, one request at a time."""
    session = requests.Session()
    began = time.perf_counter()
    for store_hash, token, _ in rows:
        for probe in PROBES:
            kwargs = {} if probe.method == "GET" else {"json": probe.body}
            session.request(
                probe.method,
                f"{sandbox_url}/stores/{store_hash}{probe.path}",
                headers={"X-Auth-Token": token, "Accept": "application/json"},
                timeout=10,
                **kwargs,
            )
    return len(rows) / (time.perf_counter() - began)


def _dispatch_one_task_per_store() -> int:
    """The baseline's dispatcher: claim every due store, one task each."""
    from bench.baseline import baseline_check_store
    from stores import claims

    claim = claims.claim_due_stores(limit=10_000_000)
    for store_id in claim.store_ids:
        baseline_check_store.delay(store_id)
    return len(claim.store_ids)


def _ceiling(url: str, rows: list[list[str]], *, seconds: float = 10, concurrency: int = 1000) -> dict:
    """A bare asyncio/aiohttp client sending the light check's one request per
    store to the same sandbox: no database, no Celery, its own process."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from sandbox.bench_sandbox import _hammer_in_process, summarise

    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=context) as pool:
        part = pool.submit(_hammer_in_process, url, rows, concurrency, seconds, "v2/store").result()
    result = summarise([part])
    return {
        "requests_per_second": result["requests_per_s"],
        "statuses": result["statuses"],
        "latency_ms": result["latency_ms"],
        "client_cpu_seconds": result["client_cpu_s"],
    }


def _make_due(store_ids: list[int], **fields) -> None:
    """These stores due now, before a pass; and the dead row versions the
    passes before left vacuumed away (bench.data.vacuum)."""
    from stores.models import Store

    Store.objects.filter(pk__in=store_ids).update(
        next_check_at=_ts(time.time() - 1), claim_token="", claimed_until=None, **fields
    )
    data.vacuum(Store)


def _check_table_bytes() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_total_relation_size('stores_check')")
        return cursor.fetchone()[0]


def fleet(*, stores: int, naive_sample: int, latency_ms: int = 100) -> dict:
    from django.conf import settings

    from stores.models import Check

    with running_sandbox(fixture=None, latency_ms=latency_ms, mode="subprocess") as sandbox:
        rows = sandbox.control.bulk(stores, prefix="f")["stores"]
        data.wipe()
        store_ids = data.connected_stores(rows)
        timeout = stores / 20 + 120

        # Full checks first (every store's scopes unverified): the rate, the
        # requests, and the rows and bytes one full check writes.
        _make_due(store_ids, scopes_verified_at=None)
        rows_before, bytes_before = Check.objects.count(), _check_table_bytes()
        before = sandbox.control.stats()["requests"]
        full = _run_workers(2, sandbox.url, store_ids, timeout)
        full["requests_per_store"] = round((sandbox.control.stats()["requests"] - before) / max(1, full["checked"]), 2)
        full_rows = Check.objects.count() - rows_before
        full["rows_per_check"] = round(full_rows / max(1, full["checked"]), 3)
        full["bytes_per_check"] = round((_check_table_bytes() - bytes_before) / max(1, full_rows))

        queries = _queries_per_store(sandbox.url, sample=min(500, stores))
        results = {"full_2_process": full}
        knobs = fleet_env()
        for processes in (1, 2):
            _make_due(store_ids)
            rows_before, bytes_before = Check.objects.count(), _check_table_bytes()
            before = sandbox.control.stats()["requests"]
            settings.DISPATCH_BATCH_SIZE = int(knobs["DISPATCH_BATCH_SIZE"])  # the dispatcher runs here
            run = _run_workers(
                processes,
                sandbox.url,
                store_ids,
                timeout,
                env_extra=knobs,
                warm_up=True,
            )
            checks = run["passes"] * run["checked"]
            run["requests_per_store"] = round((sandbox.control.stats()["requests"] - before) / max(1, checks), 2)
            run["rows_per_check"] = round((Check.objects.count() - rows_before) / max(1, checks), 3)
            results[f"light_{processes}_process"] = run
        # The ceiling right after the light passes: this machine's speed drifts
        # by minutes (bench.environment.cpu_speed), so the two figures of the
        # ratio are taken as close together as they can be.
        ceiling = _ceiling(sandbox.url, rows)

        # The baseline: one Celery task per store, requests, 200 threads.
        _make_due(store_ids)
        before = sandbox.control.stats()["requests"]
        baseline = _run_workers(
            200,
            sandbox.url,
            store_ids,
            timeout=stores / 5 + 120,
            dispatch=_dispatch_one_task_per_store,
            worker_args=("--pool=threads", "--concurrency=200", "-I", "bench.baseline"),
            env_extra={"CONN_MAX_AGE": "0"},
        )
        baseline["requests_per_store"] = round(
            (sandbox.control.stats()["requests"] - before) / max(1, baseline["checked"]), 2
        )
        naive = _naive_loop(sandbox.url, rows[:naive_sample])
        created = sandbox.control.created()
    best = max(results["light_1_process"]["stores_per_second"], results["light_2_process"]["stores_per_second"])
    checks_per_day = 24 * 60 / settings.STORE_CHECK_INTERVAL_MINUTES
    full_per_day = 24 * 60 / settings.SCOPE_CHECK_INTERVAL_MINUTES
    light_requests = results["light_2_process"]["requests_per_store"]
    requests_per_day = (checks_per_day - full_per_day) * light_requests + full_per_day * full["requests_per_store"]
    return {
        "stores": stores,
        "latency_ms": latency_ms,
        "fleet_env": knobs,
        **results,
        "best_stores_per_second": best,
        "baseline": baseline,
        "fleet_vs_baseline": round(best / max(0.01, baseline["stores_per_second"]), 2),
        "ceiling": ceiling,
        "fleet_vs_ceiling": round(best / max(0.01, ceiling["requests_per_second"]), 2),
        "queries_per_store": queries,
        "at_defaults": {
            "store_check_interval_minutes": settings.STORE_CHECK_INTERVAL_MINUTES,
            "scope_check_interval_minutes": settings.SCOPE_CHECK_INTERVAL_MINUTES,
            "checks_per_store_per_day": round(checks_per_day, 1),
            "requests_per_store_per_hour": round(requests_per_day / 24, 2),
            "rows_per_store_per_day_from_healthy_checks": round(
                full_per_day * full["rows_per_check"]
                + (checks_per_day - full_per_day) * results["light_2_process"]["rows_per_check"],
                3,
            ),
            "bytes_per_store_per_day": round(
                full_per_day * full["rows_per_check"] * full["bytes_per_check"]
                + (checks_per_day - full_per_day)
                * results["light_2_process"]["rows_per_check"]
                * full["bytes_per_check"]
            ),
        },
        "naive_sample": naive_sample,
        "naive_stores_per_second": round(naive, 2),
        "two_vs_one_process": round(
            results["light_2_process"]["stores_per_second"] / results["light_1_process"]["stores_per_second"], 2
        ),
        "objects_created_by_probes": len(created) if isinstance(created, list) else sum(map(len, created.values())),
    }


def incident_rule(*, stores: int, rounds: int = 3, latency_ms: int = 100) -> dict:
    """The fleet-wide incident rule's cost on the fleet pass (issue 26): light
    passes of the same stores with INCIDENT_DETECTION on and off, interleaved
    (on, off, on, off…) in one run so the machine's drift hits both alike;
    the best pass of each, and their ratio (target: ≤ 5 % slower with it)."""
    from django.conf import settings

    with running_sandbox(fixture=None, latency_ms=latency_ms, mode="subprocess") as sandbox:
        rows = sandbox.control.bulk(stores, prefix="i")["stores"]
        data.wipe()
        store_ids = data.connected_stores(rows)
        knobs = fleet_env()
        settings.DISPATCH_BATCH_SIZE = int(knobs["DISPATCH_BATCH_SIZE"])
        passes: dict[str, list[float]] = {"on": [], "off": []}
        for _ in range(rounds):
            for mode in ("on", "off"):
                _make_due(store_ids)
                run = _run_workers(
                    2,
                    sandbox.url,
                    store_ids,
                    stores / 20 + 120,
                    env_extra={**knobs, "INCIDENT_DETECTION": "1" if mode == "on" else "0"},
                    warm_up=True,
                )
                passes[mode].append(run["stores_per_second"])
    with_rule, without_rule = max(passes["on"]), max(passes["off"])
    return {
        "stores": stores,
        "latency_ms": latency_ms,
        "passes_stores_per_second": passes,
        "with_rule_stores_per_second": with_rule,
        "without_rule_stores_per_second": without_rule,
        "cost_percent": round(100 * (1 - with_rule / max(0.01, without_rule)), 1),
    }


# --- 3. dispatcher at scale --------------------------------------------------------------


def dispatcher(*, stores: int, batch: int = 100) -> dict:
    from django.db import connection

    from stores import claims

    data.wipe()
    data.many_stores(stores)
    from django.utils import timezone

    query = claims.due_stores(timezone.now()).values_list("id", flat=True)[:batch]
    sql, params = query.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    timings = []
    for _ in range(10):
        began = time.perf_counter()
        claim = claims.claim_due_stores(limit=batch)
        timings.append(time.perf_counter() - began)
        assert len(claim.store_ids) == batch
    return {
        "stores": stores,
        "batch": batch,
        "claim_median_ms": round(statistics.median(timings) * 1000, 2),
        "claim_max_ms": round(max(timings) * 1000, 2),
        "uses_index": "store_due_idx" in plan,
        "plan": plan,
    }


# --- 4. staff store list -----------------------------------------------------------------


# The pages measured. "search" is the figure's first search ("Store 12": every store is
# named "Store N", and "12" alone is shorter than a trigram); the others are what
# staff type most: a store hash, and a merchant's slug.
ADMIN_LIST_PAGES = (
    ("unfiltered", ""),
    ("filtered_broken", "?status__exact=revoked"),
    ("search", "?q=Store+12"),
    ("search_hash", "?q=m4242"),
    ("search_merchant", "?q=bench-007"),
)


def admin_list(*, stores: int, runs: int = 20) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    data.wipe()
    data.many_stores(stores, domains=True)
    client = data.staff_client()
    url = "/admin/stores/store/"
    results = {}
    for label, query in ADMIN_LIST_PAGES:
        client.get(url + query)  # warm
        timings = []
        for _ in range(runs):
            began = time.perf_counter()
            response = client.get(url + query)
            timings.append(time.perf_counter() - began)
            assert response.status_code == 200
        with CaptureQueriesContext(connection) as queries:
            client.get(url + query)
        results[label] = {
            "median_ms": round(statistics.median(timings) * 1000, 1),
            "p95_ms": round(percentile(timings, 95) * 1000, 1),
            "queries": len(queries),
        }
    return {"stores": stores, **results}


# --- 5. encryption cost ---------------------------------------------------------------------


def encryption(*, rows: int) -> dict:
    from io import StringIO

    from django.core.management import call_command
    from django.test.utils import override_settings

    data.wipe()
    rows_data = [[f"e{i}", f"{i:031d}"[-31:], f"c{i:029d}"] for i in range(rows)]
    began = time.perf_counter()
    data.connected_stores(rows_data, due=False)
    create_seconds = time.perf_counter() - began
    from django.conf import settings

    old = list(settings.FERNET_KEYS)
    with override_settings(FERNET_KEYS=["bench-new-key", *old]):
        began = time.perf_counter()
        out = StringIO()
        call_command("rotate_credentials", stdout=out)
        seconds = time.perf_counter() - began
        from stores.models import Credential

        sample = Credential.objects.order_by("?")[:100]
        assert all(c.access_token for c in sample)
    return {
        "rows": rows,
        "encrypt_and_insert_seconds": round(create_seconds, 2),
        "rotation_seconds": round(seconds, 2),
        "rotation_rows_per_second": round(rows / seconds, 1),
        "command_said": out.getvalue().strip(),
    }


# --- 6. merchant pages ----------------------------------------------------------------------


def merchant_pages(*, stores: int = 50, checks: int = 1000, runs: int = 30) -> dict:
    """The merchant's dashboard and one store page: 50 stores, 1,000 checks of history."""
    from datetime import timedelta

    from django.test import Client
    from django.urls import reverse
    from django.utils import timezone

    from merchants.models import Membership, User
    from stores.models import Check, Store

    data.wipe()
    merchant = data.merchants(1)[0]
    user = User.objects.filter(email="bench-owner@violet.test").first() or User.objects.create_user(
        email="bench-owner@violet.test", password="bench-owner"
    )
    Membership.objects.get_or_create(merchant=merchant, user=user, defaults={"role": Membership.Role.OWNER})
    now = timezone.now()
    created = Store.objects.bulk_create(
        Store(
            merchant=merchant,
            store_hash=f"mp{i}",
            name=f"Page store {i}",
            status="connected",
            last_checked_at=now,
            scopes_verified_at=now,
            next_check_at=now + timedelta(minutes=15),
        )
        for i in range(stores)
    )
    scopes = {"store_v2_information_read_only": "granted", "store_v2_orders": "granted"}
    evidence = [{"method": "GET", "path": "/v2/store", "status": 200, "elapsed_ms": 100, "attempts": 1}] * 6
    Check.objects.bulk_create(
        Check(
            store=created[i % stores],
            trigger="schedule",
            kind="full",
            started_at=now - timedelta(minutes=15 * i),
            outcome="connected",
            scopes=scopes,
            evidence=evidence,
        )
        for i in range(checks)
    )
    client = Client()
    client.force_login(user)
    pages = {
        "dashboard": reverse("connect:dashboard", kwargs={"merchant_slug": merchant.slug}),
        "store_page": reverse(
            "connect:store_detail", kwargs={"merchant_slug": merchant.slug, "store_hash": created[0].store_hash}
        ),
    }
    results = {}
    for name, url in pages.items():
        assert client.get(url).status_code == 200
        timings = []
        for _ in range(runs):
            began = time.perf_counter()
            client.get(url)
            timings.append(time.perf_counter() - began)
        results[name] = {
            "median_ms": round(statistics.median(timings) * 1000, 1),
            "p95_ms": round(percentile(timings, 95) * 1000, 1),
        }
    return {"stores": stores, "checks": checks, **results}


# --- 7. sustained load -----------------------------------------------------------------------


def sustained(*, stores: int, interval_seconds: float, intervals: int, latency_ms: int = 100) -> dict:
    """`stores` stores all due within one interval, for several intervals, with
    2 fleet worker processes and the dispatcher every second (as beat would,
    but more often). The lag of a check: when its result was recorded
    (`last_checked_at`) minus when the store was due (read just before the
    dispatcher claimed it)."""
    from datetime import timedelta

    from django.conf import settings
    from django.db import connection
    from django.utils import timezone

    from stores import claims
    from stores.models import Store
    from stores.tasks import check_stores as check_stores_task

    env = {**fleet_env(), "STORE_CHECK_INTERVAL_MINUTES": str(interval_seconds / 60)}
    settings.DISPATCH_BATCH_SIZE = int(env["DISPATCH_BATCH_SIZE"])
    with running_sandbox(fixture=None, latency_ms=latency_ms, mode="subprocess") as sandbox:
        rows = sandbox.control.bulk(stores, prefix="s")["stores"]
        data.wipe()
        store_ids = data.connected_stores(rows)
        # Verified scopes and the profile each store's light check will bring,
        # due spread evenly over the first interval.
        Store.objects.filter(pk__in=store_ids).update(scopes_verified_at=timezone.now())
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE stores_store SET next_check_at = now() + (id %% %s) * interval '1 millisecond' "
                "WHERE id = ANY(%s)",
                [int(interval_seconds * 1000), store_ids],
            )
        flush_broker()
        workers = [
            subprocess.Popen(  # noqa: S603
                [sys.executable, "-m", "celery", "-A", "config", "worker", "--loglevel=WARNING",
                 "--hostname=sustained@%h", "--without-gossip", "--without-mingle",
                 "--prefetch-multiplier=1", "--concurrency=2"],
                cwd=ROOT, env=worker_env(BIGCOMMERCE_API_URL=sandbox.url, **env),
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
            )  # fmt: skip
        ]  # one worker, the Procfile's: prefork, two checking processes
        lags: list[float] = []
        due: dict[int, float] = {}
        watermark = timezone.now()
        before = sandbox.control.stats()["requests"]
        def read_recorded() -> None:
            # A batch's last_checked_at is taken before its transaction
            # commits: look a few seconds behind the newest one seen.
            nonlocal watermark
            recent = Store.objects.filter(last_checked_at__gt=watermark - timedelta(seconds=5))
            for store_id, checked_at in recent.values_list("id", "last_checked_at"):
                watermark = max(watermark, checked_at)
                if store_id in due:
                    lags.append(max(0.0, checked_at.timestamp() - due.pop(store_id)))

        try:
            time.sleep(3)
            began = time.time()
            ticks = 0
            read_every = max(1, int(interval_seconds // 9))  # 10 s at a 90 s interval
            while time.time() - began < interval_seconds * intervals:
                tick = time.time()
                ticks += 1
                # Reading what was recorded scans every store (no index on
                # last_checked_at), on the measured machine: a ninth of an
                # interval apart is enough, as a store's last_checked_at is
                # overwritten only by its next check, an interval later.
                if ticks % read_every == 0:
                    read_recorded()
                # The dispatcher's work (services.checks_dispatch_due), with one
                # `now` for reading the due times and for claiming them.
                now = timezone.now()
                pending = claims.due_stores(now).values_list("id", "next_check_at")
                due.update((store_id, at.timestamp()) for store_id, at in pending[: settings.DISPATCH_MAX_PER_RUN])
                while (claim := claims.claim_due_stores(limit=settings.DISPATCH_BATCH_SIZE, now=now)).store_ids:
                    check_stores_task.delay(claim.store_ids, claim.token)
                time.sleep(max(0.0, 1 - (time.time() - tick)))
            elapsed = time.time() - began
            read_recorded()
        finally:
            for w in workers:
                os.killpg(w.pid, signal.SIGTERM)
            for w in workers:
                w.wait(timeout=30)
        requests_made = sandbox.control.stats()["requests"] - before
    waiting = [time.time() - at for at in due.values()]  # due, not yet recorded when the run ended
    return {
        "stores": stores,
        "interval_seconds": interval_seconds,
        "intervals": intervals,
        "required_stores_per_second": round(stores / interval_seconds, 1),
        "achieved_requests_per_second": round(requests_made / elapsed, 1),
        "checks_recorded": len(lags),
        "checks_per_second": round(len(lags) / elapsed, 1),
        "lag_p50_seconds": round(percentile(lags, 50), 2) if lags else None,
        "lag_p99_seconds": round(percentile(lags, 99), 2) if lags else None,
        "lag_max_seconds": round(max(lags), 2) if lags else None,
        "still_waiting_at_end": len(waiting),
        "oldest_waiting_seconds": round(max(waiting), 2) if waiting else 0,
        "lag_under_one_interval": bool(lags) and percentile(lags, 99) < interval_seconds,
    }


# --- 8. bulk import of existing stores -------------------------------------------------------


def imports(*, rows: int, latency_ms: int = 100, concurrency: int = 20) -> dict:
    """`import_stores` on a file of `rows` healthy stores: a dry run, the real
    import, and the same file again (every row unchanged, no request)."""
    from django.test.utils import override_settings

    from sandbox.state import derived
    from stores.importing import import_stores, read_import_file
    from stores.models import Store

    with running_sandbox(fixture=None, latency_ms=latency_ms, mode="subprocess") as sandbox:
        created = sandbox.control.bulk(rows, prefix="imp")["stores"]
        data.wipe()
        slug = data.merchants(1)[0].slug
        lines = ["merchant,API path,Client ID,Client secret,Access token"] + [
            f"{slug},https://api.bigcommerce.com/stores/{store_hash}/v3/,{client_id},"
            f"{derived(store_hash, 'client_secret', 64)},{token}"
            for store_hash, token, client_id in created
        ]
        parsed = read_import_file("\n".join(lines).encode())
        runs = {}
        with override_settings(BIGCOMMERCE_API_URL=sandbox.url, BIGCOMMERCE_WEBHOOKS_ENABLED=False):
            for label, dry_run in (("dry_run", True), ("import", False), ("again", False)):
                before = sandbox.control.stats()["requests"]
                began = time.perf_counter()
                report = import_stores(parsed, dry_run=dry_run, concurrency=concurrency)
                seconds = time.perf_counter() - began
                runs[label] = {
                    "seconds": round(seconds, 2),
                    "rows_per_second": round(rows / seconds, 1),
                    "requests_per_row": round((sandbox.control.stats()["requests"] - before) / rows, 2),
                    "summary": report.summary,
                }
        assert runs["import"]["summary"] == {"connected": rows}, runs
        assert runs["again"]["summary"] == {"unchanged": rows}, runs
        assert Store.objects.filter(status="connected").count() == rows
    return {
        "rows": rows,
        "latency_ms": latency_ms,
        "concurrency": concurrency,
        # Each live check is one round trip (7 requests at once): the most that
        # `concurrency` checks in flight can do at this latency.
        "ceiling_rows_per_second": round(concurrency / (latency_ms / 1000), 1),
        **runs,
        "rows_per_second": runs["import"]["rows_per_second"],
    }
