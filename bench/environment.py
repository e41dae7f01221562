"""The benchmark's own database and broker, and Django set up to use them.

Runs against real PostgreSQL and Redis (started by `make bench` if down): a
database `violet_bench` (or `BENCH_DB`) that the benchmark may fill and wipe
at will, and Redis database 14 (or `BENCH_BROKER_URL`).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
DB_NAME = os.environ.get("BENCH_DB") or os.environ.get("BENCH_DB_NAME", "violet_bench")
DATABASE_URL = f"{PG}/{DB_NAME}"
BROKER_URL = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/14")


def worker_env(**extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": DATABASE_URL,
        "CELERY_BROKER_URL": BROKER_URL,
        "CONN_MAX_AGE": "600",
        # As in production: with DEBUG on, Django keeps and times every SQL
        # statement a worker runs (its debug cursor), which is not the
        # portal's cost.
        "DEBUG": "0",
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
        **extra,
    }


def create_database() -> None:
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DB_NAME]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{DB_NAME}"')


def setup_django(**settings_env: str) -> None:
    os.environ.update(worker_env(**settings_env))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def flush_broker() -> None:
    import redis

    redis.Redis.from_url(BROKER_URL).flushdb()


def machine() -> dict:
    meminfo = Path("/proc/meminfo").read_text().split()
    total_kb = int(meminfo[meminfo.index("MemTotal:") + 1])
    cpu = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()  # noqa: S603, S607
    return {
        "cores": int(cpu or os.cpu_count() or 0),
        "memory_gib": round(total_kb / 1024 / 1024, 1),
        "load": [round(x, 2) for x in os.getloadavg()],  # other work on the same cores
        "speed": cpu_speed(),
    }


def cpu_speed() -> dict:
    """How fast this machine is today, on fixed work: one core's pure Python
    (a loop of 2,000,000 additions) and Fernet (encrypting 2,000 tokens).
    The same code measured 2 × apart on two days; absolute figures from two
    runs compare only as far as these do."""
    import time

    from cryptography.fernet import Fernet

    began = time.perf_counter()
    total = 0
    for i in range(2_000_000):
        total += i
    loop_ms = (time.perf_counter() - began) * 1000
    fernet = Fernet(Fernet.generate_key())
    began = time.perf_counter()
    for _ in range(2000):
        fernet.encrypt(b"0123456789abcdef0123456789abcde")
    fernet_us = (time.perf_counter() - began) * 1e6 / 2000
    return {"python_loop_ms": round(loop_ms, 1), "fernet_encrypt_us": round(fernet_us, 1)}
