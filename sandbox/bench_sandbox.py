"""Load the sandbox the way a revalidation fleet would, and report requests per second.

Runs the sandbox in a subprocess (its own GIL), creates ``--stores`` stores with one
token each, then keeps ``--concurrency`` requests in flight from aiohttp for
``--seconds`` with ``--latency-ms`` of injected latency per request::

    .venv/bin/python -m sandbox.bench_sandbox --concurrency 1000 --latency-ms 100 --seconds 5

With latency L and C requests in flight the ideal rate is C / L (1000 / 0.1 s =
10 000 req/s); the report shows how close the sandbox gets and where time goes.
Not a test: numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import random
import statistics
import sys
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import aiohttp

from sandbox.testing import running_sandbox


async def hammer(url: str, stores: list[list[str]], *, concurrency: int, seconds: float,
                 path: str) -> dict[str, Any]:
    """Keep ``concurrency`` requests in flight for ``seconds``; collect statuses and timings."""
    statuses: Counter[str] = Counter()
    latencies: list[float] = []
    deadline = time.monotonic() + seconds
    connector = aiohttp.TCPConnector(limit=concurrency, limit_per_host=concurrency,
                                     force_close=False)
    timeout = aiohttp.ClientTimeout(total=30)

    async def worker(session: aiohttp.ClientSession, seed: int) -> None:
        rng = random.Random(seed)
        while time.monotonic() < deadline:
            store_hash, token, _ = stores[rng.randrange(len(stores))]
            started = time.monotonic()
            try:
                async with session.get(f"{url}/stores/{store_hash}/{path}",
                                       headers={"X-Auth-Token": token,
                                                "Accept": "application/json"}) as response:
                    await response.read()
                    statuses[str(response.status)] += 1
            except (TimeoutError, aiohttp.ClientError) as exc:
                statuses[type(exc).__name__] += 1
            latencies.append(time.monotonic() - started)

    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        started = time.monotonic()
        await asyncio.gather(*(worker(session, i) for i in range(concurrency)))
        elapsed = time.monotonic() - started
    return {"elapsed_s": elapsed, "statuses": dict(statuses), "latencies": latencies,
            "cpu_s": time.process_time()}


def _hammer_in_process(url: str, stores: list[list[str]], concurrency: int, seconds: float,
                       path: str) -> dict[str, Any]:
    """One load-generator process (for ``--clients`` > 1)."""
    started_cpu = time.process_time()
    result = asyncio.run(hammer(url, stores, concurrency=concurrency, seconds=seconds,
                                path=path))
    result["cpu_s"] = time.process_time() - started_cpu
    return result


def summarise(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """Merge the results of one or more load generators."""
    statuses: Counter[str] = Counter()
    latencies: list[float] = []
    for part in parts:
        statuses.update(part["statuses"])
        latencies.extend(part["latencies"])
    elapsed = max(part["elapsed_s"] for part in parts)
    total = sum(statuses.values())
    latencies.sort()

    def pct(q: float) -> float | None:
        return round(latencies[min(len(latencies) - 1, int(len(latencies) * q))] * 1000, 1) \
            if latencies else None

    return {
        "requests": total,
        "elapsed_s": round(elapsed, 3),
        "requests_per_s": round(total / elapsed, 1),
        "statuses": dict(statuses),
        "latency_ms": {"p50": round(statistics.median(latencies) * 1000, 1) if latencies
                       else None, "p90": pct(0.9), "p99": pct(0.99)},
        "client_cpu_s": round(sum(part["cpu_s"] for part in parts), 3),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrency", type=int, default=1000)
    parser.add_argument("--latency-ms", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--stores", type=int, default=1000)
    parser.add_argument("--path", default="v2/store", help="endpoint under /stores/{hash}/")
    parser.add_argument("--clients", type=int, default=1,
                        help="load-generator processes sharing --concurrency (default 1)")
    parser.add_argument("--json", action="store_true", help="print one JSON line only")
    args = parser.parse_args(argv)

    with running_sandbox(None, mode="subprocess", latency_ms=args.latency_ms) as sb:
        stores = sb.control.bulk(args.stores, prefix="bench")["stores"]
        sb.control.reset()
        server_cpu_before = sb.control.stats()["process_cpu_s"]
        share = max(1, args.concurrency // args.clients)
        if args.clients == 1:
            parts = [_hammer_in_process(sb.url, stores, share, args.seconds, args.path)]
        else:
            context = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(args.clients, mp_context=context) as pool:
                futures = [pool.submit(_hammer_in_process, sb.url, stores, share, args.seconds,
                                       args.path) for _ in range(args.clients)]
                parts = [f.result() for f in futures]
        result = summarise(parts)
        client_cpu = result.pop("client_cpu_s")
        server = sb.control.stats()
        server_cpu = server["process_cpu_s"] - server_cpu_before
    ideal = args.concurrency / (args.latency_ms / 1000) if args.latency_ms else None
    report = {
        "concurrency": args.concurrency,
        "latency_ms": args.latency_ms,
        "stores": args.stores,
        "path": args.path,
        **result,
        "ideal_requests_per_s": ideal,
        "server_max_in_flight": server["max_in_flight"],
        "server_requests": server["requests"],
        "server_cpu_share": round(server_cpu / result["elapsed_s"], 2),
        "server_cpu_us_per_request": round(1e6 * server_cpu / max(1, server["requests"]), 1),
        "clients": args.clients,
        "client_cpu_share": round(client_cpu / result["elapsed_s"], 2),
    }
    if args.json:
        print(json.dumps(report))
        return 0
    print(f"{report['requests']} requests in {report['elapsed_s']} s "
          f"= {report['requests_per_s']} req/s "
          f"({args.concurrency} in flight, {args.latency_ms} ms latency, "
          f"{args.stores} stores, GET {args.path})")
    if ideal:
        print(f"ideal at this latency: {ideal:.0f} req/s "
              f"({100 * report['requests_per_s'] / ideal:.0f}% reached)")
    print(f"latency p50/p90/p99: {report['latency_ms']['p50']}/{report['latency_ms']['p90']}/"
          f"{report['latency_ms']['p99']} ms; statuses: {report['statuses']}; "
          f"server max in flight: {report['server_max_in_flight']}")
    print(f"server CPU per request: {report['server_cpu_us_per_request']} us "
          f"(~{1e6 / max(1.0, report['server_cpu_us_per_request']):.0f} req/s per free core)")
    print(f"CPU busy: server {report['server_cpu_share']:.0%} of a core, "
          f"load generator{'s' if args.clients > 1 else ''} "
          f"{report['client_cpu_share']:.0%} of a core")
    return 0


if __name__ == "__main__":
    sys.exit(main())
