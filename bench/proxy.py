"""The proxy figure (issue 25): the portal's BigCommerce proxy against nginx.

One sandbox store at 100 ms latency; the same light GET (`v2/store`), the same
client (bench.load: one aiohttp process, exactly 200 calls in flight) against
(a) the sandbox directly, with the store's token; (b) nginx, Debian's package,
a plain reverse proxy adding the token (bench.nginx); (c) the portal's proxy,
`/api/v1/proxy/<store_hash>/v2/store` with a service client's secret, served as
production serves it: gunicorn with the project's settings, uvicorn workers, 2
workers. Runs interleaved (direct, nginx, proxy, × rounds), as the machine is
shared and drifts; each run's throughput, latency, statuses and the CPU per
call of the proxying server, the sandbox and the client.

Throughput is measured at 200 calls in flight, where this machine saturates: at
a fixed number in flight the latency is then the number in flight divided by
the throughput (Little's law), so a latency difference there mostly restates
the throughput's. What a proxy adds to one call's latency is measured at light
load instead: one run per round with 30 in flight (about 300 calls/s at 100 ms,
well below every target's ceiling), each caller taking direct, nginx and proxy
in turn, so the three are timed at the same moments; the added latency is the
median over rounds of that run's proxy p50 (p99) minus its direct p50 (p99).
The full-load differences are kept for context.

The store's rate-limit quota in the sandbox is lifted: one store takes every
call here, and the proxy rightly answers 429 itself once BigCommerce says a
store's quota is spent.

`BENCH_PROXY_PROFILE=<dir>`: the portal's workers run under cProfile
(bench/gunicorn_profile.py) and leave one file per worker in <dir>.
"""

from __future__ import annotations

import multiprocessing
import os
import shlex
import statistics
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

from bench import data, load
from bench.environment import ROOT, worker_env
from bench.measure import child_pid, tree_pids
from bench.nginx import free_port, running_nginx, wait_for_port
from sandbox.testing import running_sandbox

TARGETS = ("direct", "nginx", "proxy")
SERVICE_CLIENT = "bench-proxy"
PORTAL_WORKERS = 2


@dataclass
class RunningPortal:
    url: str
    pid: int
    log: Path
    process: subprocess.Popen

    def exited(self) -> int | None:
        """gunicorn's exit code if it has stopped (it halts when a new worker fails to boot)."""
        return self.process.poll()


def procfile_proxy(settings_file: Path) -> list[str]:
    """The Procfile's `proxy` command, with `settings_file` as gunicorn's settings."""
    [entry] = [line.split(": ", 1)[1] for line in (ROOT / "Procfile").read_text().splitlines()
               if line.startswith("proxy: ")]  # fmt: skip
    argv = shlex.split(entry)
    argv[argv.index("-c") + 1] = str(settings_file)
    return argv


@contextmanager
def running_portal(sandbox_url: str, *, workers: int = PORTAL_WORKERS) -> Iterator[RunningPortal]:
    """The Procfile's `proxy` process: gunicorn with the project's settings file
    and uvicorn's workers, on the benchmark's database. Its log is kept in
    var/bench/proxy-gunicorn.log."""
    profile_dir = os.environ.get("BENCH_PROXY_PROFILE")
    settings_file = ROOT / ("bench/gunicorn_profile.py" if profile_dir else "config/gunicorn.conf.py")
    port = free_port()
    # INFO: gunicorn's own lines (a worker replaced, failing to boot, the master
    # halting) are in the log; the proxy writes no line per call at INFO.
    env = worker_env(
        BIGCOMMERCE_API_URL=sandbox_url,
        HOST="127.0.0.1",
        PORT=str(port),
        WEB_CONCURRENCY=str(workers),
        LOG_LEVEL="INFO",
    )
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)  # gunicorn's settings make a fresh one
    if profile_dir:
        Path(profile_dir).mkdir(parents=True, exist_ok=True)
        env["BENCH_PROXY_PROFILE"] = str(Path(profile_dir).resolve())
    log = ROOT / "var" / "bench" / "proxy-gunicorn.log"  # kept after the run: the errors, if any
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", *procfile_proxy(settings_file)],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        wait_for_port(port, process=process)
        yield RunningPortal(url=f"http://127.0.0.1:{port}", pid=process.pid, log=log, process=process)
    except BaseException:
        sys.stderr.write(log.read_text(errors="replace")[-4000:])
        raise
    finally:
        process.terminate()
        try:
            process.wait(timeout=40)  # the graceful timeout, and the profiles' writing
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _service_client_secret() -> str:
    """A fresh service client allowed to read through the proxy; its secret."""
    from api.models import ServiceClient
    from api.service_clients import service_client_create

    ServiceClient.objects.filter(name=SERVICE_CLIENT).delete()
    return service_client_create(name=SERVICE_CLIENT, scopes=["proxy:read"]).secret


def _first_call(name: str, url: str, headers: dict[str, str]) -> None:
    """One call before the runs, so a wrong set-up fails here, plainly."""
    response = requests.get(url, headers=headers, timeout=60)
    if response.status_code != 200:
        raise RuntimeError(f"{name}: {response.status_code} for the first call: {response.text[:300]!r}")


def _median(runs: list[dict], pick) -> float | None:
    """The median over runs; a run that completed no call has no latency, and counts out."""
    values = [value for run in runs if (value := pick(run)) is not None]
    return round(statistics.median(values), 2) if values else None


def summary(runs: list[dict]) -> dict:
    """Best and median throughput of one target's runs, their median latencies,
    failures and median CPU per call of each process."""
    return {
        "best_calls_per_second": max(run["calls_per_second"] for run in runs),
        "median_calls_per_second": _median(runs, lambda run: run["calls_per_second"]),
        "p50_ms": _median(runs, lambda run: run["latency_ms"]["p50"]),
        "p99_ms": _median(runs, lambda run: run["latency_ms"]["p99"]),
        "failures": sum(run["failures"] for run in runs),
        "cpu_us_per_call": {
            part: _median(runs, lambda run, part=part: run["cpu_us_per_call"][part])
            for part in runs[0]["cpu_us_per_call"]
        },
    }


def added_latency(runs: dict[str, list[dict]], name: str, p: str) -> float | None:
    """The median over rounds of `name`'s latency percentile `p` ("p50") minus
    the direct calls' in the same round."""
    differences = [
        theirs["latency_ms"][p] - direct["latency_ms"][p]
        for theirs, direct in zip(runs[name], runs["direct"], strict=True)
        if theirs["latency_ms"][p] is not None and direct["latency_ms"][p] is not None
    ]
    return round(statistics.median(differences), 2) if differences else None


def aggregate(loaded: dict[str, list[dict]], light: dict[str, list[dict]]) -> dict:
    """The figure from every run: throughput at full load (best proxy / best
    nginx, and the medians' ratio), and what the proxy and nginx add to a
    direct call's latency at light load and, for context, at full load."""
    out = {name: summary(runs) for name, runs in loaded.items()}
    calm = {name: summary(runs) for name, runs in light.items()}
    proxy, nginx = out["proxy"], out["nginx"]

    return {
        **out,
        "light": calm,
        "proxy_vs_nginx_best": round(proxy["best_calls_per_second"] / max(0.01, nginx["best_calls_per_second"]), 2),
        "proxy_vs_nginx_median": round(
            proxy["median_calls_per_second"] / max(0.01, nginx["median_calls_per_second"]), 2
        ),
        "added_p50_ms": added_latency(light, "proxy", "p50"),
        "added_p99_ms": added_latency(light, "proxy", "p99"),
        "nginx_added_p50_ms": added_latency(light, "nginx", "p50"),
        "nginx_added_p99_ms": added_latency(light, "nginx", "p99"),
        "added_at_full_load_p50_ms": added_latency(loaded, "proxy", "p50"),
        "added_at_full_load_p99_ms": added_latency(loaded, "proxy", "p99"),
        "nginx_added_at_full_load_p50_ms": added_latency(loaded, "nginx", "p50"),
        "proxy_cpu_us_per_call": proxy["cpu_us_per_call"]["proxy"],
        "nginx_cpu_us_per_call": nginx["cpu_us_per_call"]["nginx"],
        # The client's work per call is the same in every run, its CPU per call
        # moves only with the machine: the proxy's over the client's is the
        # figure to compare between runs and days.
        "proxy_cpu_per_client_cpu": _median(
            loaded["proxy"], lambda run: run["cpu_us_per_call"]["proxy"] / max(0.1, run["cpu_us_per_call"]["client"])
        ),
        "nginx_cpu_per_client_cpu": _median(
            loaded["nginx"], lambda run: run["cpu_us_per_call"]["nginx"] / max(0.1, run["cpu_us_per_call"]["client"])
        ),
        "failed": any(table[name]["failures"] for table in (out, calm) for name in table),
    }


def verdict(result: dict) -> dict[str, bool]:
    """The issue's minimums (a run with any failed call fails them all)."""
    ok = not result["failed"] and None not in (result["added_p50_ms"], result["added_p99_ms"])
    return {
        "throughput": ok and result["proxy_vs_nginx_best"] >= 0.5,
        "throughput_aim": ok and result["proxy_vs_nginx_best"] >= 0.7,
        "added_p50": ok and result["added_p50_ms"] <= 3,
        "added_p99": ok and result["added_p99_ms"] <= 20,
    }


def _say(name: str, in_flight: int, run: dict) -> None:
    print(
        f"    {name:<6} {in_flight:>3} in flight {run['calls_per_second']:>8} calls/s  "
        f"p50 {run['latency_ms']['p50']} ms  p99 {run['latency_ms']['p99']} ms  "
        f"failures {run['failures']}  CPU µs/call {run['cpu_us_per_call']}  "
        f"replaced {run.get('portal_processes_replaced', '-')}",
        flush=True,
    )


def proxy(
    *,
    seconds: float,
    rounds: int,
    warm_up: float = 3.0,
    concurrency: int = 200,
    light_concurrency: int = 30,
    light_seconds: float | None = None,
    latency_ms: int = 100,
    path: str = "v2/store",
    nginx_workers: str = "auto",
) -> dict:
    with running_sandbox(fixture=None, latency_ms=latency_ms, mode="subprocess") as sandbox:
        store_hash = sandbox.control.add_store()["store_hash"]
        account = sandbox.control.add_account(store_hash)
        sandbox.control.set_rate_limit(store_hash, 10**9)
        token = account["access_token"]
        data.wipe()
        data.connected_stores([[store_hash, token, account["client_id"]]], due=False)
        secret = _service_client_secret()
        sandbox_pid = child_pid("-m sandbox")
        upstream = sandbox.url.split("://", 1)[1]
        accept = {"Accept": "application/json"}
        context = multiprocessing.get_context("spawn")
        with (
            running_nginx(upstream=upstream, token=token, workers=nginx_workers) as nginx,
            running_portal(sandbox.url) as portal,
            ProcessPoolExecutor(1, mp_context=context) as client,
        ):
            targets = {
                "direct": (f"{sandbox.url}/stores/{store_hash}/{path}", {**accept, "X-Auth-Token": token}, {}),
                "nginx": (f"{nginx.url}/stores/{store_hash}/{path}", accept, {"nginx": nginx.pid}),
                "proxy": (
                    f"{portal.url}/api/v1/proxy/{store_hash}/{path}",
                    {**accept, "Authorization": f"Bearer {secret}"},
                    {"proxy": portal.pid},
                ),
            }
            for name, (url, headers, _) in targets.items():
                _first_call(name, url, headers)
            loaded: dict[str, list[dict]] = {name: [] for name in TARGETS}
            light: dict[str, list[dict]] = {name: [] for name in TARGETS}
            every = {name: (url, headers) for name, (url, headers, _) in targets.items()}
            for _ in range(rounds):
                for name in TARGETS:
                    url, headers, watch = targets[name]
                    workers_before = set(tree_pids(portal.pid))
                    run = client.submit(
                        load.run, {name: (url, headers)}, concurrency, warm_up, seconds,
                        {"sandbox": sandbox_pid, **watch},
                    ).result()[name]  # fmt: skip
                    # gunicorn replaces a worker after `max_requests` calls (config/gunicorn.conf.py).
                    run["portal_processes_replaced"] = len(set(tree_pids(portal.pid)) - workers_before)
                    if (code := portal.exited()) is not None and "proxy_exited" not in run:
                        run["proxy_exited"] = code
                    loaded[name].append(run)
                    _say(name, concurrency, run)
                mixed = client.submit(
                    load.run, every, light_concurrency, warm_up, light_seconds or seconds * 2 / 3, {}
                ).result()
                for name in TARGETS:
                    light[name].append(mixed[name])
                    _say(name, light_concurrency, mixed[name])
            nginx_version = nginx.version
            proxy_exited = portal.exited()
    result = {
        "concurrency": concurrency,
        "light_concurrency": light_concurrency,
        "latency_ms": latency_ms,
        "path": f"GET {path}",
        "seconds_per_run": seconds,
        "warm_up_seconds": warm_up,
        "rounds": rounds,
        "nginx_setup": {"version": nginx_version, "worker_processes": nginx_workers},
        "portal_workers": PORTAL_WORKERS,
        "proxy_exited": proxy_exited,  # None: gunicorn was still serving at the end
        **aggregate(loaded, light),
        "runs": loaded,
        "light_runs": light,
    }
    result["targets_met"] = verdict(result)
    return result
