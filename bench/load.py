"""A load generator that keeps exactly N calls in flight against one URL, or several.

One asyncio/aiohttp process (run it in its own process: it needs a core's worth
of GIL). A warm-up first (connections opened, caches filled), then a measured
window: the calls completed in it, the latency of the calls started in it, every
answer's status, and the CPU that the named process trees and this client
spent during the window (bench.measure, from /proc). With several targets each
caller takes them in turn, so their latencies are measured under the same
conditions at the same moments (a shared machine's drift hits them alike). No
Django here.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import Any

from bench.measure import percentile, tree_cpu_seconds


def summarise(
    calls: list[tuple[float, float, str]], window: tuple[float, float], cpu: dict[str, float]
) -> dict[str, Any]:
    """`calls`: (started, ended, status) on one clock; `window`: (start, end) on
    it; `cpu`: seconds each process spent in the window. Throughput counts
    the calls that ended in the window; latency, the calls that started in it;
    statuses and failures (any answer but "200"), every call, the warm-up's too."""
    start, end = window
    seconds = end - start
    done = sum(1 for began, ended, _ in calls if start <= ended <= end)
    latencies = [ended - began for began, ended, _ in calls if start <= began < end]
    statuses = Counter(status for _, _, status in calls)
    failures = sum(count for status, count in statuses.items() if status != "200")
    ms = lambda p: round(percentile(latencies, p) * 1000, 2) if latencies else None  # noqa: E731
    return {
        "seconds": round(seconds, 3),
        "calls": done,
        "calls_per_second": round(done / seconds, 1) if seconds > 0 else 0.0,
        "latency_ms": {"p50": ms(50), "p90": ms(90), "p99": ms(99), "max": ms(100)},
        "statuses": dict(statuses),
        "failures": failures,
        "cpu_us_per_call": {name: round(1e6 * value / max(1, done), 1) for name, value in cpu.items()},
        "cpu_share": {name: round(value / seconds, 2) if seconds > 0 else 0.0 for name, value in cpu.items()},
    }


async def keep_in_flight(
    targets: dict[str, tuple[str, dict[str, str]]],
    *,
    concurrency: int,
    warm_up: float,
    seconds: float,
    watch: dict[str, int],
    timeout: float = 30.0,
) -> dict[str, dict[str, Any]]:
    """`concurrency` callers, each calling again as soon as its answer is read,
    for `warm_up` + `seconds`; `targets`: name → (url, headers), taken in turn.
    CPU of `watch` (name → root pid) and of this process is read at the
    window's edges, and divided by the calls of a sole target (with several,
    each summary has no CPU per call). Answers name → summary."""
    import aiohttp

    names = list(targets)
    calls: dict[str, list[tuple[float, float, str]]] = {name: [] for name in names}
    began = time.monotonic()
    stop = began + warm_up + seconds
    edges: dict[str, Any] = {}

    async def caller(session: aiohttp.ClientSession, turn: int) -> None:
        while (started := time.monotonic()) < stop:
            name = names[turn % len(names)]
            turn += 1
            url, headers = targets[name]
            try:
                async with session.get(url, headers=headers) as response:
                    await response.read()
                    status = str(response.status)
            except (TimeoutError, aiohttp.ClientError) as error:
                status = type(error).__name__
            calls[name].append((started, time.monotonic(), status))

    def reading() -> tuple[float, dict[str, float]]:
        cpu = tree_cpu_seconds(watch)
        cpu["client"] = time.process_time()
        return time.monotonic(), cpu

    async def clock() -> None:
        await asyncio.sleep(warm_up)
        edges["start"] = reading()
        await asyncio.sleep(max(0.0, stop - time.monotonic()))
        edges["end"] = reading()

    connector = aiohttp.TCPConnector(limit=concurrency, limit_per_host=concurrency)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=timeout)) as session:
        await asyncio.gather(clock(), *(caller(session, turn) for turn in range(concurrency)))
    (start, cpu_start), (end, cpu_end) = edges["start"], edges["end"]
    cpu = {name: cpu_end[name] - cpu_start[name] for name in cpu_end} if len(names) == 1 else {}
    results = {name: summarise(calls[name], (start, end), cpu) for name in names}
    for result in results.values():
        result["concurrency"] = concurrency
    return results


def run(targets: dict[str, tuple[str, dict[str, str]]], concurrency: int, warm_up: float, seconds: float, watch):
    """The entry point for a process pool (a fresh event loop each call)."""
    return asyncio.run(keep_in_flight(targets, concurrency=concurrency, warm_up=warm_up, seconds=seconds, watch=watch))
