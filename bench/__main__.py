"""`make bench`: how fast a merchant is answered and how many stores one machine can watch.

    .venv/bin/python -m bench            # full size (~10-15 minutes)
    .venv/bin/python -m bench --quick    # about a tenth of the size, under 3 minutes
    .venv/bin/python -m bench --only onboarding,fleet

Prints a table and writes bench/results.json. Needs PostgreSQL and Redis
(`make bench` starts them if they are down).
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.environment import create_database, machine, setup_django

SIZES = {
    "full": {
        "onboarding_runs": 20,
        "fleet_stores": 10_000,
        "naive_sample": 200,
        "dispatcher_stores": 1_000_000,
        "admin_stores": 100_000,
        "encryption_rows": 100_000,
        "import_rows": 1_000,
    },
    "quick": {
        "onboarding_runs": 10,
        "fleet_stores": 1_000,
        "naive_sample": 20,
        "dispatcher_stores": 100_000,
        "admin_stores": 10_000,
        "encryption_rows": 10_000,
        "import_rows": 1_000,
    },
}
TARGETS = {
    "onboarding": "median ≤ 1.5 × latency (aim 1.2 ×), ≤ 13 requests",
    "fleet": "≥ 50 stores/s (aim 300), ≥ 50 × naive, ≤ 13 requests and ≤ 8 queries per store, < 400 MB per worker",
    "dispatcher": "claim < 50 ms, plan uses store_due_idx",
    "admin_list": "≤ 15 queries (aim 10), p95 < 200 ms",
    "encryption": "reported",
    "imports": "reported (ceiling: concurrency / latency)",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", default="onboarding,fleet,dispatcher,admin_list,encryption,imports")
    args = parser.parse_args()
    size = SIZES["quick" if args.quick else "full"]
    create_database()
    setup_django()
    from bench import figures

    plan = {
        "onboarding": lambda: figures.onboarding(runs=size["onboarding_runs"]),
        "fleet": lambda: figures.fleet(stores=size["fleet_stores"], naive_sample=size["naive_sample"]),
        "dispatcher": lambda: figures.dispatcher(stores=size["dispatcher_stores"]),
        "admin_list": lambda: figures.admin_list(stores=size["admin_stores"]),
        "encryption": lambda: figures.encryption(rows=size["encryption_rows"]),
        "imports": lambda: figures.imports(rows=size["import_rows"]),
    }
    results = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "size": "quick" if args.quick else "full",
        "figures": {},
    }
    for name in args.only.split(","):
        began = time.perf_counter()
        print(f"… {name}", flush=True)
        results["figures"][name] = plan[name]()
        results["figures"][name]["bench_seconds"] = round(time.perf_counter() - began, 1)
        print(f"  {name}: {json.dumps({k: v for k, v in results['figures'][name].items() if k != 'plan'})}", flush=True)
    Path(__file__).with_name("results.json").write_text(json.dumps(results, indent=2) + "\n")
    print_table(results)


def print_table(results: dict) -> None:
    f = results["figures"]
    rows = []
    if "onboarding" in f:
        o = f["onboarding"]
        rows += [
            (
                f"Onboarding answer (median of {o['runs']}, {o['latency_ms']} ms latency)",
                f"{o['median_ms']} ms",
                f"{o['ratio_to_latency']} × latency",
            ),
            (
                "  sequential client (baseline)",
                f"{o['sequential_median_ms']} ms",
                f"{o['speedup_vs_sequential']} × slower",
            ),
            (
                "  requests per validation / objects created",
                f"{o['requests_per_validation']:g}",
                f"{o['objects_created_by_probes']} created",
            ),
        ]
    if "fleet" in f:
        fl = f["fleet"]
        for key in ("1_process", "2_process"):
            run = fl[key]
            rows.append(
                (
                    f"Fleet: {fl['stores']} stores, {fl['latency_ms']} ms, {key.replace('_', ' ')}",
                    f"{run['stores_per_second']} stores/s",
                    f"{run['requests_per_store']} req/store, peak {run['peak_worker_rss_mb']} MB",
                )
            )
        rows += [
            (
                f"  naive loop ({fl['naive_sample']} stores)",
                f"{fl['naive_stores_per_second']} stores/s",
                f"{fl['speedup_vs_naive']} × faster",
            ),
            ("  queries per store / 2 vs 1 process", f"{fl['queries_per_store']}", f"{fl['two_vs_one_process']} ×"),
        ]
    if "dispatcher" in f:
        d = f["dispatcher"]
        rows.append(
            (
                f"Dispatcher claim of {d['batch']} among {d['stores']:,} stores",
                f"{d['claim_median_ms']} ms median",
                f"max {d['claim_max_ms']} ms, index: {d['uses_index']}",
            )
        )
    if "admin_list" in f:
        a = f["admin_list"]
        for label in ("unfiltered", "filtered_broken", "search"):
            rows.append(
                (
                    f"Staff store list, {a['stores']:,} stores, {label}",
                    f"{a[label]['median_ms']} ms median",
                    f"p95 {a[label]['p95_ms']} ms, {a[label]['queries']} queries",
                )
            )
    if "encryption" in f:
        e = f["encryption"]
        rows.append(
            (
                f"Key rotation of {e['rows']:,} credentials",
                f"{e['rotation_seconds']} s",
                f"{e['rotation_rows_per_second']} rows/s",
            )
        )
    if "imports" in f:
        i = f["imports"]
        rows.append(
            (
                f"Import of {i['rows']:,} stores, {i['latency_ms']} ms, {i['concurrency']} at once",
                f"{i['rows_per_second']} rows/s",
                f"dry run {i['dry_run']['rows_per_second']} rows/s, again (unchanged) "
                f"{i['again']['rows_per_second']} rows/s, ceiling {i['ceiling_rows_per_second']}",
            )
        )
    width = max(len(r[0]) for r in rows) + 2
    print(f"\n{'figure':<{width}}{'value':<22}detail")
    for name, value, detail in rows:
        print(f"{name:<{width}}{value:<22}{detail}")
    if "dispatcher" in f:
        print("\nDispatcher plan:\n" + f["dispatcher"]["plan"])
    machine = results["machine"]
    print(f"\nMachine: {machine['cores']} cores, {machine['memory_gib']} GiB; {results['date']}.")
    print("Written to bench/results.json.")


if __name__ == "__main__":
    main()
