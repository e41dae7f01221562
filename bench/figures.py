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
from sandbox.testing import running_sandbox
from stores.bigcommerce.client import BigCommerceClient, RequestsTransport
from stores.bigcommerce.probes import BASELINE, PROBES
from stores.bigcommerce.report import Credentials
from stores.bigcommerce.validation import validate_sync


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


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


def _run_workers(processes: int, sandbox_url: str, store_ids: list[int], timeout: float) -> dict:
    from django.db import connection

    from stores.models import Store
    from stores.services import checks_dispatch_due

    flush_broker()
    env = worker_env(BIGCOMMERCE_API_URL=sandbox_url)
    worker = subprocess.Popen(  # noqa: S603
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--loglevel=WARNING",
            f"--concurrency={processes}",
            "--without-gossip",
            "--without-mingle",
            "--prefetch-multiplier=1",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        time.sleep(3)  # let the pool start
        began = time.perf_counter()
        started_at = time.time()
        queued = checks_dispatch_due()
        checked = 0
        while time.perf_counter() - began < timeout:
            connection.close()
            checked = Store.objects.filter(
                pk__in=store_ids, claim_token="", next_check_at__gt=_ts(started_at + 60)
            ).count()
            if checked >= len(store_ids):
                break
            time.sleep(0.25)
        elapsed = time.perf_counter() - began
        peak = _peak_rss_mb(_tree(worker.pid))
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=30)
    return {
        "queued": queued,
        "checked": checked,
        "seconds": round(elapsed, 2),
        "stores_per_second": round(checked / elapsed, 1),
        "peak_worker_rss_mb": peak,
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


def fleet(*, stores: int, naive_sample: int, latency_ms: int = 100) -> dict:
    from stores.models import Store

    with running_sandbox(fixture=None, latency_ms=latency_ms, mode="subprocess") as sandbox:
        rows = sandbox.control.bulk(stores, prefix="f")["stores"]
        data.wipe()
        store_ids = data.connected_stores(rows)
        queries = _queries_per_store(sandbox.url, sample=min(200, stores))
        results = {}
        for processes in (1, 2):
            Store.objects.filter(pk__in=store_ids).update(
                next_check_at=_ts(time.time() - 1), claim_token="", claimed_until=None
            )
            before = sandbox.control.stats()["requests"]
            run = _run_workers(processes, sandbox.url, store_ids, timeout=stores / 20 + 120)
            run["requests_per_store"] = round(
                (sandbox.control.stats()["requests"] - before) / max(1, run["checked"]), 2
            )
            results[f"{processes}_process"] = run
        naive = _naive_loop(sandbox.url, rows[:naive_sample])
        created = sandbox.control.created()
    best = max(results.values(), key=lambda r: r["stores_per_second"])
    return {
        "stores": stores,
        "latency_ms": latency_ms,
        **results,
        "best_stores_per_second": best["stores_per_second"],
        "queries_per_store": queries,
        "naive_sample": naive_sample,
        "naive_stores_per_second": round(naive, 2),
        "speedup_vs_naive": round(best["stores_per_second"] / naive, 1),
        "two_vs_one_process": round(
            results["2_process"]["stores_per_second"] / results["1_process"]["stores_per_second"], 2
        ),
        "objects_created_by_probes": len(created) if isinstance(created, list) else sum(map(len, created.values())),
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


def admin_list(*, stores: int, runs: int = 20) -> dict:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    data.wipe()
    data.many_stores(stores)
    client = Client()
    client.force_login(data.staff_user())
    url = "/admin/stores/store/"
    results = {}
    for label, query in (("unfiltered", ""), ("filtered_broken", "?status__exact=revoked"), ("search", "?q=Store+12")):
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


# --- 6. bulk import of existing stores -------------------------------------------------------


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
