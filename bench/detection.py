"""Figure `detection`: detection from real traffic, with real processes.

A store connected through a sandbox account; the Procfile's `proxy` process;
a real Celery worker on the benchmark's database and broker. The merchant
deletes the API account; the clock starts at the first failing proxied call
(BigCommerce's 401, passed through) and stops when the store has flipped to
revoked and its owner's e-mail is planned. Target: within
`STORE_CONFIRM_AFTER_SECONDS` + 30 s (issue 25). No beat: the signal queues the
check and the check its confirmation by themselves, and the benchmark's other
stores (hundreds of thousands of them) must not be checked meanwhile.
"""

from __future__ import annotations

import secrets
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import requests

from bench.environment import ROOT, flush_broker, worker_env
from bench.nginx import free_port, wait_for_port
from bench.proxy import procfile_proxy


def _wait(condition, *, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise RuntimeError(f"timed out after {timeout} s waiting for {what}")


def detection(confirm_after_seconds: int = 5) -> dict:
    from django.conf import settings
    from django.utils import timezone

    from api.service_clients import service_client_create
    from merchants.models import Membership, Merchant, User
    from notifications.models import Notification
    from sandbox.testing import running_sandbox
    from stores import services
    from stores.bigcommerce.report import Credentials
    from stores.bigcommerce.scopes import REQUIRED_SCOPES
    from stores.models import Check, StatusChange, Store, TrafficSignal
    from stores.verification import verify_credentials

    flush_broker()
    suffix = secrets.token_hex(4)
    processes: list[subprocess.Popen] = []
    with running_sandbox(fixture=None) as sandbox, tempfile.TemporaryDirectory(prefix="bench-detect-") as tmp:
        settings.BIGCOMMERCE_API_URL = sandbox.url
        merchant = Merchant.objects.create(name=f"Detection {suffix}", slug=f"detection-{suffix}")
        owner = User.objects.create_user(email=f"owner-{suffix}@bench.test", password=secrets.token_hex(16))
        Membership.objects.create(merchant=merchant, user=owner, role="owner")
        store_hash = sandbox.control.add_store(profile={"name": "Detection"})["store_hash"]
        account = sandbox.control.add_account(store_hash, [scope.param for scope in REQUIRED_SCOPES])
        credentials = Credentials(store_hash, account["access_token"], account["client_id"], account["client_secret"])
        report, _ = verify_credentials(credentials)
        if not report.ok:
            raise RuntimeError(f"the sandbox store did not pass its check: {report.to_dict()}")
        store = services.store_connect(merchant=merchant, credentials=credentials, report=report)
        StatusChange.objects.filter(store=store).update(processed_at=timezone.now())
        Store.objects.filter(pk=store.pk).update(next_check_at=timezone.now() + timedelta(hours=6))
        secret = service_client_create(name=f"bench-detect-{suffix}", scopes=["proxy:read"]).secret
        env = worker_env(
            BIGCOMMERCE_API_URL=sandbox.url,
            STORE_CONFIRM_AFTER_SECONDS=str(confirm_after_seconds),
            EMAIL_URL="consolemail://",
        )
        port = free_port()
        logs = Path(tmp)
        with open(logs / "worker.log", "wb") as log:
            processes.append(subprocess.Popen(  # noqa: S603
                [sys.executable, "-m", "celery", "-A", "config", "worker", "--loglevel=INFO", "--concurrency=2",
                 "--without-gossip", "--without-mingle", "-n", f"bench-detect-{suffix}@%h"],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            ))  # fmt: skip
        with open(logs / "proxy.log", "wb") as log:
            proxy_env = {**env, "PORT": str(port), "HOST": "127.0.0.1", "WEB_CONCURRENCY": "2"}
            proxy_env.pop("PROMETHEUS_MULTIPROC_DIR", None)
            processes.append(subprocess.Popen(  # noqa: S603
                [sys.executable, "-m", *procfile_proxy(ROOT / "config" / "gunicorn.conf.py")],
                cwd=ROOT, env=proxy_env, stdout=log, stderr=subprocess.STDOUT,
            ))  # fmt: skip
        try:
            wait_for_port(port, process=processes[1])
            _wait(lambda: " ready." in (logs / "worker.log").read_text(errors="replace"), timeout=60, what="the worker")
            url = f"http://127.0.0.1:{port}/api/v1/proxy/{store_hash}/v3/catalog/products?limit=5"
            headers = {"Authorization": f"Bearer {secret}"}
            if requests.get(url, headers=headers, timeout=10).status_code != 200:
                raise RuntimeError("the proxied call did not work before the account was deleted")
            sandbox.control.revoke(account["client_id"])  # the merchant deletes the API account
            started = time.monotonic()
            failing = requests.get(url, headers=headers, timeout=10).status_code
            told = Notification.objects.filter(
                channel="email", audience="merchant", status_change__new_status="revoked", status_change__store=store
            )
            planned = _wait(
                told.first,
                timeout=confirm_after_seconds + 60,
                what="the owner's e-mail planned",
            )
            elapsed = time.monotonic() - started
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
        bound = confirm_after_seconds + 30
        return {
            "confirm_after_seconds": confirm_after_seconds,
            "bound_seconds": bound,
            "first_failing_status": failing,
            "seconds_to_owner_told": round(elapsed, 1),
            "owner_told": planned.recipients == [owner.email],
            "status": Store.objects.get(pk=store.pk).status,
            "signal_checks": Check.objects.filter(store=store, trigger="signal").count(),
            "signals": TrafficSignal.objects.filter(store=store).count(),
            "met": elapsed <= bound and planned.recipients == [owner.email],
        }
