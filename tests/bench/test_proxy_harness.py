"""The proxy figure's harness, without the load: percentiles, the CPU of a
process tree from /proc, the load generator's window, nginx's configuration,
and the verdict."""

import os
import subprocess
import time
from pathlib import Path

import pytest

from bench import load, measure, nginx
from bench.proxy import aggregate, verdict


def stat(pid: int, ppid: int, utime: int, stime: int, cutime: int = 0, cstime: int = 0, comm: str = "python") -> str:
    # /proc/<pid>/stat: pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt
    # utime stime cutime cstime ...
    return f"{pid} ({comm}) S {ppid} {pid} {pid} 0 -1 4194560 10 0 0 0 {utime} {stime} {cutime} {cstime} 20 0 1 0"


def test_percentiles_are_nearest_rank_of_the_sorted_values():
    values = [5.0, 1.0, 4.0, 2.0, 3.0]
    assert measure.percentile(values, 50) == 3.0
    assert measure.percentile(values, 0) == 1.0
    assert measure.percentile(values, 100) == 5.0
    assert measure.percentile(range(1, 1001), 99) == 990
    with pytest.raises(ValueError):
        measure.percentile([], 50)


def test_a_command_with_spaces_and_parentheses_does_not_shift_the_fields():
    text = stat(42, 7, utime=300, stime=20, cutime=5, cstime=1, comm="gunicorn: worker (x) [violet]")
    assert measure.parent_pid(text) == 7
    assert measure.cpu_ticks(text) == 320
    assert measure.cpu_ticks(text, with_reaped_children=True) == 326


def test_a_tree_counts_its_descendants_and_nothing_else():
    parents = {10: 1, 11: 10, 12: 10, 13: 11, 20: 1, 21: 20}
    assert measure.descendants(parents, 10) == [11, 12, 13]
    assert measure.descendants(parents, 21) == []


def test_a_replaced_worker_s_cpu_is_counted_once_through_its_master():
    """gunicorn replaces a worker after max_requests: between two readings the
    old worker's ticks move to the master's reaped-children fields."""
    before = {
        100: stat(100, 1, utime=10, stime=5),  # master
        101: stat(101, 100, utime=400, stime=100),  # worker 1
        102: stat(102, 100, utime=300, stime=50),  # worker 2
        200: stat(200, 1, utime=9999, stime=9999),  # someone else's process
    }
    after = {
        # worker 1 spent 60 more ticks, exited and was waited for; 103 replaced it
        100: stat(100, 1, utime=12, stime=5, cutime=440, cstime=120),
        102: stat(102, 100, utime=380, stime=70),
        103: stat(103, 100, utime=30, stime=3),
        200: stat(200, 1, utime=20000, stime=20000),
    }
    spent = measure.tree_cpu_ticks(after, 100) - measure.tree_cpu_ticks(before, 100)
    assert spent == 2 + 60 + 100 + 33
    assert measure.tree_cpu_ticks(after, 999) == 0


def test_this_process_cpu_is_read_from_proc():
    began = measure.tree_cpu_seconds({"me": os.getpid()})["me"]
    deadline = time.process_time() + 0.2
    while time.process_time() < deadline:
        pass
    assert measure.tree_cpu_seconds({"me": os.getpid()})["me"] - began >= 0.15
    assert measure.tree_pids(os.getpid())[0] == os.getpid()


def test_a_child_is_found_by_its_command_line():
    child = subprocess.Popen(["sleep", "5"])  # noqa: S603, S607
    try:
        assert measure.child_pid("sleep 5") == child.pid
        with pytest.raises(LookupError):
            measure.child_pid("no such command here")
    finally:
        child.kill()
        child.wait()


def test_the_window_counts_calls_ended_in_it_and_times_calls_started_in_it():
    calls = [
        (0.0, 0.1, "200"),  # warm-up: counted in statuses only
        (0.9, 1.1, "200"),  # ended in the window, started before: throughput, not latency
        (1.0, 1.2, "200"),
        (1.5, 1.8, "502"),
        (2.9, 3.3, "200"),  # started in the window, ended after: latency, not throughput
    ]
    result = load.summarise(calls, (1.0, 3.0), {"proxy": 0.001, "client": 0.002})
    assert result["calls"] == 3 and result["calls_per_second"] == 1.5
    assert result["latency_ms"]["p50"] == 300.0 and result["latency_ms"]["max"] == 400.0
    assert result["statuses"] == {"200": 4, "502": 1} and result["failures"] == 1
    assert result["cpu_us_per_call"] == {"proxy": 333.3, "client": 666.7}
    empty = load.summarise([], (1.0, 3.0), {})
    assert empty["calls"] == 0 and empty["latency_ms"]["p50"] is None


def test_nginx_adds_the_fixed_token_over_a_keepalive_pool(tmp_path):
    text = nginx.config(directory=tmp_path, listen_port=8081, upstream="127.0.0.1:8100", token="tok123", workers="1")
    for line in (
        "daemon off;",
        "worker_processes 1;",
        "access_log off;",
        "server 127.0.0.1:8100;",
        "keepalive 200;",
        "listen 127.0.0.1:8081",
        "proxy_http_version 1.1;",
        'proxy_set_header Connection "";',
        'proxy_set_header X-Auth-Token "tok123";',
    ):
        assert line in text
    assert str(tmp_path) in text and "/var/" not in text  # nothing written outside its directory
    with pytest.raises(ValueError):
        nginx.config(directory=tmp_path, listen_port=1, upstream="h:1", token='x"; evil', workers="1")


@pytest.mark.skipif(nginx.find_nginx() is None, reason="nginx is installed by the benchmark, not by the tests")
def test_nginx_accepts_the_configuration(tmp_path):
    conf = tmp_path / "nginx.conf"
    conf.write_text(nginx.config(directory=tmp_path, listen_port=8081, upstream="127.0.0.1:8100", token="t"))
    out = subprocess.run(  # noqa: S603
        [nginx.find_nginx(), "-t", "-p", str(tmp_path), "-c", str(conf), "-e", str(tmp_path / "e.log")],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    assert "syntax is ok" in out.stderr


def _run(calls_per_second: float, p50: float, p99: float, failures: int = 0, cpu: float = 100.0) -> dict:
    return {
        "calls_per_second": calls_per_second,
        "latency_ms": {"p50": p50, "p99": p99},
        "failures": failures,
        "cpu_us_per_call": {"sandbox": 150.0, "client": 150.0, "nginx": cpu, "proxy": cpu},
    }


def test_the_verdict_compares_best_runs_at_full_load_and_median_latencies_at_light_load():
    loaded = {
        "direct": [_run(1000, 200, 400), _run(900, 220, 450)],
        "nginx": [_run(1000, 200, 400), _run(800, 250, 500)],
        "proxy": [_run(600, 330, 700), _run(700, 290, 600, cpu=900)],
    }
    light = {  # one mixed run a round: each round's proxy is compared with that round's direct calls
        "direct": [_run(100, 100, 150), _run(100, 110, 160), _run(100, 90, 150)],
        "nginx": [_run(100, 101, 152), _run(100, 111, 170), _run(100, 91, 150)],
        "proxy": [_run(100, 103, 170), _run(100, 112, 175), _run(100, 95, 200)],
    }
    loaded = {name: [*runs, runs[-1]] for name, runs in loaded.items()}
    result = aggregate(loaded, light)
    assert result["proxy_vs_nginx_best"] == 0.7 and result["proxy_vs_nginx_median"] == 0.88
    assert result["added_p50_ms"] == 3.0 and result["added_p99_ms"] == 20.0
    assert result["nginx_added_p50_ms"] == 1.0
    assert result["added_at_full_load_p50_ms"] == 70.0  # rounds: 130, 70, 70
    assert result["proxy_cpu_us_per_call"] == 900.0
    assert result["proxy_cpu_per_client_cpu"] == 6.0 and result["nginx_cpu_per_client_cpu"] == 0.67
    assert verdict(result) == {"throughput": True, "throughput_aim": True, "added_p50": True, "added_p99": True}
    light["proxy"][1]["failures"] = 3  # a call not answered 200 fails the figure
    assert not any(verdict(aggregate(loaded, light)).values())


def test_the_profile_settings_keep_the_project_s_own(monkeypatch, tmp_path):
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))  # else the settings file makes one
    path = Path(__file__).resolve().parents[2] / "bench" / "gunicorn_profile.py"
    namespace = {"__file__": str(path)}
    exec(compile(path.read_text(), str(path), "exec"), namespace)  # noqa: S102
    assert namespace["proc_name"] == "violet-web" and callable(namespace["child_exit"])
    assert callable(namespace["post_worker_init"]) and callable(namespace["worker_exit"])
