"""Real services for integration tests: the sandbox on loopback, a Celery
worker and beat as separate processes, PostgreSQL and Redis.

These tests run when the suite runs on PostgreSQL and Redis (the second pass
of `.ci/run`); on the embedded defaults they are skipped, because a worker in
another process cannot see an in-memory SQLite test database.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from sandbox.testing import running_sandbox

ROOT = Path(__file__).resolve().parents[2]


def real_services_available() -> bool:
    return connection.vendor == "postgresql" and settings.CELERY_BROKER_URL.startswith("redis://")


@pytest.fixture
def real_services(transactional_db):
    if not real_services_available():
        pytest.skip("needs PostgreSQL and Redis (DATABASE_URL, CELERY_BROKER_URL), as in .ci/run's second pass")
    import redis

    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()


@pytest.fixture
def sandbox():
    with running_sandbox(fixture=None) as running:
        yield running


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class WebhookReceiver:
    url: str
    received: list[Received] = field(default_factory=list)

    def events(self, event_type: str | None = None) -> list[dict]:
        events = [json.loads(r.body) for r in self.received]
        return [e for e in events if event_type is None or e["type"] == event_type]


@pytest.fixture
def webhook_receiver():
    received: list[Received] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            length = int(self.headers.get("Content-Length", 0))
            received.append(Received(dict(self.headers), self.rfile.read(length)))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield WebhookReceiver(url=f"http://127.0.0.1:{server.server_port}/hooks", received=received)
    server.shutdown()
    server.server_close()


def database_url() -> str:
    db = connection.settings_dict
    user = db.get("USER") or "postgres"
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{host}:{port}/{db['NAME']}"


@dataclass
class Celery:
    """Worker and beat processes pointed at the test database and the sandbox."""

    env: dict[str, str]
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    logs: Path | None = None

    def start(self, name: str, *args: str) -> subprocess.Popen:
        with open(self.logs / f"{name}.log", "ab") as log:  # the process has its own copy of the file
            process = subprocess.Popen(  # noqa: S603
                [sys.executable, "-m", "celery", "-A", "config", *args],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.processes[name] = process
        return process

    def start_worker(self, name: str = "worker") -> subprocess.Popen:
        return self.start(
            name,
            "worker",
            "--loglevel=INFO",
            "--concurrency=2",
            "--without-gossip",
            "--without-mingle",
            "-n",
            f"{name}-{os.getpid()}@%h",
        )

    def start_beat(self, name: str = "beat") -> subprocess.Popen:
        return self.start(name, "beat", "--loglevel=INFO", "--schedule", str(self.logs / f"{name}.schedule"))

    def children(self, name: str) -> list[int]:
        out = subprocess.run(["pgrep", "-P", str(self.processes[name].pid)], capture_output=True, text=True)  # noqa: S603, S607
        return [int(pid) for pid in out.stdout.split()]

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        process = self.processes.pop(name)
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            pass
        process.wait(timeout=15)

    def stop_all(self) -> None:
        # The test is over: nothing is waited for (a warm shutdown took seconds a
        # test); the database is flushed after the test, Redis when the next one starts.
        for name in list(self.processes):
            self.kill(name, signal.SIGKILL)

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")


@pytest.fixture
def celery(real_services, sandbox, tmp_path, settings):
    settings.BIGCOMMERCE_API_URL = sandbox.url
    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "BIGCOMMERCE_API_URL": sandbox.url,
        "EMAIL_URL": f"filemail:///{mail_dir}",  # four slashes: an absolute path
        "STAFF_NOTIFICATION_EMAILS": "oncall@violet.test",
        "STORE_CONFIRM_AFTER_SECONDS": "1",
        "CELERY_VISIBILITY_TIMEOUT_SECONDS": "5",
        "CELERY_UNACKED_RESTORE_SECONDS": "1",
        "CELERY_UNACKED_MUTEX_EXPIRE_SECONDS": "3",
        "CHECK_LEASE_SECONDS": "30",
        "CONN_MAX_AGE": "0",
        "PYTHONUNBUFFERED": "1",
    }
    runner = Celery(env=env, logs=tmp_path)
    runner.mail_dir = mail_dir
    yield runner
    runner.stop_all()


def wait_for(condition: Callable[[], object], *, timeout: float = 30, interval: float = 0.2, what: str = ""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what or condition}")
