"""`make bench`: how fast a merchant is answered and how many stores one machine can watch.

    .venv/bin/python -m bench            # full size (~15-20 minutes; the proxy figure ~4)
    .venv/bin/python -m bench --quick    # about a tenth of the size, under 3 minutes
    .venv/bin/python -m bench --only onboarding,fleet

Prints a table and writes bench/results.json. With `--only`, the figures named
are measured again and replace theirs in results.json; the others are kept.
Every figure names the commit it measured (`commit`), and so does the file
(the latest run's). Needs PostgreSQL and Redis (`make bench` starts them if
they are down).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.environment import cpu_speed, create_database, machine, setup_django

SIZES = {
    "full": {
        "onboarding_runs": 20,
        "fleet_stores": 10_000,
        "naive_sample": 200,
        "dispatcher_stores": 1_000_000,
        "admin_stores": 100_000,
        "encryption_rows": 100_000,
        "import_rows": 1_000,
        "sustained": (100_000, 90, 3),
        "proxy": {"seconds": 15, "rounds": 3, "warm_up": 3},
        "release": (100_000, 1_000_000, 1000),
    },
    "quick": {
        "onboarding_runs": 10,
        "fleet_stores": 3_000,
        "naive_sample": 20,
        "dispatcher_stores": 100_000,
        "admin_stores": 10_000,
        "encryption_rows": 10_000,
        "import_rows": 1_000,
        "sustained": (10_000, 9, 3),
        "proxy": {"seconds": 5, "rounds": 2, "warm_up": 2},
        "release": (10_000, 100_000, 300),
    },
}
TARGETS = {
    "onboarding": "median ≤ 1.5 × latency (aim 1.2 ×), ≤ 13 requests",
    "fleet": "light checks ≥ 600 stores/s (aim 1,100), ≥ 5 × baseline, ≥ 0.5 × ceiling (aim 0.7), "
    "≤ 1 row per store per day from healthy checks",
    "dispatcher": "claim < 50 ms, plan uses store_due_idx",
    "admin_list": "≤ 15 queries (aim 10), p95 < 200 ms; search p95 < 100 ms at 100,000 stores",
    "encryption": "≥ 5,000 rows/s",
    "merchant_pages": "p95 < 50 ms (50 stores, 1,000 checks)",
    "sustained": "lag p99 < one interval at the 1 M / 15 min rate",
    "imports": "reported (ceiling: concurrency / latency)",
    "incident_rule": "≤ 5 % fewer stores/s with the fleet-wide incident rule than without (same run)",
    "proxy": "≥ 0.5 × nginx's calls/s (aim 0.7), added latency p50 ≤ 3 ms and p99 ≤ 20 ms over direct calls, "
    "CPU µs per call reported",
    "credential_release": "p95 ≤ 10 ms at 100,000 stores (with its audit write); 304 p95 ≤ 5 ms",
    "detection": "first failing proxied call → status flipped and owner's e-mail planned within "
    "STORE_CONFIRM_AFTER_SECONDS + 30 s (real worker and proxy process)",
}


ALL_FIGURES = (
    "onboarding",
    "fleet",
    "incident_rule",
    "sustained",
    "dispatcher",
    "admin_list",
    "encryption",
    "merchant_pages",
    "imports",
    "proxy",
    "credential_release",
    "detection",
)
RESULTS = Path(__file__).with_name("results.json")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument(
        "--only",
        default="onboarding,fleet,sustained,dispatcher,admin_list,encryption,merchant_pages,imports,proxy,"
        "credential_release,detection",
    )
    args = parser.parse_args()
    size = SIZES["quick" if args.quick else "full"]
    create_database()
    setup_django()
    from bench import figures, proxy
    from bench.credential_release import credential_release
    from bench.detection import detection

    plan = {
        "onboarding": lambda: figures.onboarding(runs=size["onboarding_runs"]),
        "fleet": lambda: figures.fleet(stores=size["fleet_stores"], naive_sample=size["naive_sample"]),
        "dispatcher": lambda: figures.dispatcher(stores=size["dispatcher_stores"]),
        "admin_list": lambda: figures.admin_list(stores=size["admin_stores"]),
        "encryption": lambda: figures.encryption(rows=size["encryption_rows"]),
        "imports": lambda: figures.imports(rows=size["import_rows"]),
        "incident_rule": lambda: figures.incident_rule(stores=size["fleet_stores"]),
        "merchant_pages": lambda: figures.merchant_pages(),
        "proxy": lambda: proxy.proxy(**size["proxy"]),
        "detection": lambda: detection(confirm_after_seconds=5),
        "credential_release": lambda: credential_release(
            stores=size["release"][0], audit_rows=size["release"][1], count=size["release"][2]
        ),
        "sustained": lambda: figures.sustained(
            stores=size["sustained"][0], interval_seconds=size["sustained"][1], intervals=size["sustained"][2]
        ),
    }
    commit = git_commit()
    partial = set(args.only.split(",")) != set(ALL_FIGURES)
    kept = json.loads(RESULTS.read_text()).get("figures", {}) if partial and RESULTS.exists() else {}
    for figure in kept.values():  # figures measured before figures named their commit
        figure.setdefault("commit", json.loads(RESULTS.read_text()).get("commit", "unknown"))
    results = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": commit,
        "machine": machine(),
        "size": "quick" if args.quick else "full",
        "figures": kept,
    }
    for name in args.only.split(","):
        began = time.perf_counter()
        print(f"… {name}", flush=True)
        speed = cpu_speed()  # the machine's speed drifts: say it for each figure
        results["figures"][name] = plan[name]()
        results["figures"][name]["speed_before"] = speed
        results["figures"][name]["bench_seconds"] = round(time.perf_counter() - began, 1)
        results["figures"][name]["commit"] = commit
        shown = {k: v for k, v in results["figures"][name].items() if k not in ("plan", "runs")}
        print(f"  {name}: {json.dumps(shown)}", flush=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print_table(results)


def git_commit() -> str:
    """The commit measured, with "-dirty" if the work tree had changes (other
    than bench/results.json itself, which an earlier `--only` run rewrote)."""
    root = Path(__file__).resolve().parent.parent
    run = lambda *args: subprocess.run(["git", *args], cwd=root, capture_output=True, text=True).stdout.strip()  # noqa: E731, S603, S607
    commit = run("rev-parse", "HEAD")
    changed = run("status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)bench/results.json")
    return commit + ("-dirty" if changed else "")


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
        full = fl["full_2_process"]
        rows.append(
            (
                f"Fleet FULL checks: {fl['stores']} stores, {fl['latency_ms']} ms, 2 processes",
                f"{full['stores_per_second']} stores/s",
                f"{full['requests_per_store']} req/store, {full['bytes_per_check']} bytes/row",
            )
        )
        for key in ("light_1_process", "light_2_process"):
            run = fl[key]
            rows.append(
                (
                    f"Fleet LIGHT checks, {key.split('_', 1)[1].replace('_', ' ')}",
                    f"{run['stores_per_second']} stores/s",
                    f"{run['requests_per_store']} req/store, {run['rows_per_check']} rows/check, "
                    f"peak {run['peak_worker_rss_mb']} MB, {run['worker_cpu_seconds']} CPU s",
                )
            )
        b, c, d = fl["baseline"], fl["ceiling"], fl["at_defaults"]
        rows += [
            (
                "  baseline: task per store, requests, 200 threads",
                f"{b['stores_per_second']} stores/s",
                f"fleet / baseline = {fl['fleet_vs_baseline']} × (≥ 5)",
            ),
            (
                "  ceiling: bare aiohttp client, GET /v2/store",
                f"{c['requests_per_second']} req/s",
                f"fleet / ceiling = {fl['fleet_vs_ceiling']} (≥ 0.5, aim 0.7)",
            ),
            ("  queries per store / 2 vs 1 process", f"{fl['queries_per_store']}", f"{fl['two_vs_one_process']} ×"),
            (
                f"  naive loop ({fl['naive_sample']} stores, full checks)",
                f"{fl['naive_stores_per_second']} stores/s",
                "",
            ),
            (
                "At the defaults: requests per store per hour",
                f"{d['requests_per_store_per_hour']}",
                f"{d['checks_per_store_per_day']} checks/day (Standard plan allows 18,000/h)",
            ),
            (
                "  rows / bytes per store per day (healthy)",
                f"{d['rows_per_store_per_day_from_healthy_checks']}",
                f"{d['bytes_per_store_per_day']} bytes",
            ),
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
        for label in ("unfiltered", "filtered_broken", "search", "search_hash", "search_merchant"):
            rows.append(
                (
                    f"Staff store list, {a['stores']:,} stores, {label}",
                    f"{a[label]['median_ms']} ms median",
                    f"p95 {a[label]['p95_ms']} ms, {a[label]['queries']} queries",
                )
            )
    if "incident_rule" in f:
        i = f["incident_rule"]
        rows.append(
            (
                f"Fleet LIGHT checks with / without the incident rule ({i['stores']:,} stores)",
                f"{i['with_rule_stores_per_second']} / {i['without_rule_stores_per_second']} stores/s",
                f"cost {i['cost_percent']} % (≤ 5 %)",
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
    if "sustained" in f:
        su = f["sustained"]
        rows.append(
            (
                f"Sustained: {su['stores']:,} stores every {su['interval_seconds']} s × {su['intervals']}",
                f"lag p50 {su['lag_p50_seconds']} s",
                f"p99 {su['lag_p99_seconds']} s, max {su['lag_max_seconds']} s, under one interval: "
                f"{su['lag_under_one_interval']} ({su['required_stores_per_second']} stores/s needed, "
                f"{su['achieved_requests_per_second']} req/s done)",
            )
        )
    if "merchant_pages" in f:
        mp = f["merchant_pages"]
        for page in ("dashboard", "store_page"):
            rows.append(
                (
                    f"Merchant {page.replace('_', ' ')} ({mp['stores']} stores, {mp['checks']:,} checks)",
                    f"{mp[page]['median_ms']} ms median",
                    f"p95 {mp[page]['p95_ms']} ms",
                )
            )
    if "proxy" in f:
        rows += proxy_rows(f["proxy"])
    if "detection" in f:
        d = f["detection"]
        rows.append(
            (
                f"Detection from traffic (confirm after {d['confirm_after_seconds']} s, real worker)",
                f"{d['seconds_to_owner_told']} s",
                f"first failing proxied call ({d['first_failing_status']}) → {d['status']}, owner told; "
                f"≤ {d['bound_seconds']} s {'✔' if d['met'] else '✘'}",
            )
        )
    if "credential_release" in f:
        cr = f["credential_release"]
        in_flight = f"{cr['concurrent']['in_flight']} in flight"
        for label, key in (("one in flight", "sequential"), (in_flight, "concurrent")):
            run = cr[key]
            for kind, target in (("released", "≤ 10"), ("not_modified", "≤ 5")):
                answer = "200" if kind == "released" else "304"
                django = run.get("in_django_ms", {}).get(answer, {})
                rows.append(
                    (
                        f"Credential release {answer}, {cr['stores']:,} stores, {label}",
                        f"p95 {run[kind]['p95_ms']} ms",
                        f"p50 {run[kind]['p50_ms']}, p99 {run[kind]['p99_ms']} ms "
                        + (
                            f"(target p95 {target} ms); "
                            if key == "sequential"
                            else f"({run['requests_per_second']} req/s; no target: the clients share the cores); "
                        )
                        + f"in Django p50/p95 {django.get('p50')}/{django.get('p95')} ms; "
                        f"{run['server_cpu_ms_per_request']} ms server CPU/request",
                    )
                )
        rows.append(
            (
                "  audit rows per 200 / queries per 200, 304",
                f"{cr['audit_rows_per_200']}",
                f"{cr['queries']['released']}, {cr['queries']['not_modified']}",
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
    print(f"Load average when it started (other work on these cores): {machine.get('load')}.")
    if speed := machine.get("speed"):
        print(
            f"Speed today: 2,000,000 Python additions in {speed['python_loop_ms']} ms, "
            f"a Fernet encryption in {speed['fernet_encrypt_us']} µs (compare runs by these)."
        )
    print(f"Commit: {results['commit']}.")
    print("Written to bench/results.json.")


def proxy_rows(p: dict) -> list[tuple[str, str, str]]:
    mark = lambda ok: "✔" if ok else "✘"  # noqa: E731
    met = p["targets_met"]
    runs = f"best / median of {p['rounds']} interleaved runs"
    rows = [
        (
            f"Proxy: GET via /api/v1/proxy/, {p['concurrency']} in flight, {p['latency_ms']} ms sandbox",
            f"{p['proxy']['best_calls_per_second']} calls/s",
            f"median {p['proxy']['median_calls_per_second']}; {runs}",
        ),
        (
            f"  nginx {p['nginx_setup']['version']} (worker_processes {p['nginx_setup']['worker_processes']})",
            f"{p['nginx']['best_calls_per_second']} calls/s",
            f"median {p['nginx']['median_calls_per_second']}; proxy / nginx = {p['proxy_vs_nginx_best']} "
            f"(median {p['proxy_vs_nginx_median']}) (≥ 0.5 {mark(met['throughput'])}, "
            f"aim 0.7 {mark(met['throughput_aim'])})",
        ),
        (
            "  direct to the sandbox",
            f"{p['direct']['best_calls_per_second']} calls/s",
            f"median {p['direct']['median_calls_per_second']}; p50 {p['direct']['p50_ms']} ms, "
            f"p99 {p['direct']['p99_ms']} ms",
        ),
        (
            f"  latency added over direct calls, {p['light_concurrency']} in flight, mixed (medians)",
            f"p50 {p['added_p50_ms']} ms",
            f"(≤ 3 {mark(met['added_p50'])}), p99 {p['added_p99_ms']} ms (≤ 20 {mark(met['added_p99'])}); "
            f"nginx adds p50 {p['nginx_added_p50_ms']} ms, p99 {p['nginx_added_p99_ms']} ms",
        ),
        (
            f"  latency added at {p['concurrency']} in flight (saturated: throughput's mirror)",
            f"p50 {p['added_at_full_load_p50_ms']} ms",
            f"p99 {p['added_at_full_load_p99_ms']} ms; nginx p50 {p['nginx_added_at_full_load_p50_ms']} ms",
        ),
        (
            "  CPU per call: proxy (gunicorn, 2 workers) / nginx",
            f"{p['proxy_cpu_us_per_call']} / {p['nginx_cpu_us_per_call']} µs",
            f"{p.get('proxy_cpu_per_client_cpu')} / {p.get('nginx_cpu_per_client_cpu')} × the client's; "
            f"sandbox {p['direct']['cpu_us_per_call']['sandbox']} µs, "
            f"client {p['direct']['cpu_us_per_call']['client']} µs (direct runs)",
        ),
    ]
    if p["failed"]:
        failures = {
            f"{name}{suffix}": table[name]["failures"]
            for suffix, table in (("", p), (" (light)", p["light"]))
            for name in ("direct", "nginx", "proxy")
        }
        rows.append(("  FAILED: calls not answered 200", str(sum(failures.values())), str(failures)))
    if p.get("proxy_exited") is not None:
        rows.append(
            ("  FAILED: the proxy process stopped", f"exit code {p['proxy_exited']}", "var/bench/proxy-gunicorn.log")
        )
    return rows


if __name__ == "__main__":
    main()
