"""The Procfile and gunicorn's configuration: what a platform runs."""

from __future__ import annotations

import os
import runpy
import shlex
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def procfile() -> dict[str, str]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line and not line.startswith("#"))


def test_the_procfile_runs_web_proxy_worker_beat_and_a_release_step():
    entries = procfile()
    assert set(entries) == {"release", "web", "proxy", "worker", "beat"}
    assert shlex.split(entries["web"]) == ["gunicorn", "-c", "config/gunicorn.conf.py", "config.wsgi"]
    assert shlex.split(entries["proxy"]) == [
        "gunicorn", "-c", "config/gunicorn.conf.py", "--worker-class", "uvicorn_worker.UvicornWorker",
        "--max-requests", "0", "config.asgi",
    ]
    assert shlex.split(entries["worker"])[:4] == ["celery", "-A", "config", "worker"]
    assert shlex.split(entries["beat"])[:4] == ["celery", "-A", "config", "beat"]
    release = (ROOT / entries["release"].split()[-1]).read_text()
    assert "migrate --noinput" in release and "collectstatic --noinput" in release and "set -eu" in release


def test_gunicorn_drains_on_sigterm_and_keeps_metrics_per_worker(monkeypatch, tmp_path):
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    monkeypatch.setenv("PORT", "5123")
    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    conf = runpy.run_path(str(ROOT / "config" / "gunicorn.conf.py"))
    assert conf["bind"].endswith(":5123") and conf["workers"] == 3
    assert conf["graceful_timeout"] >= 20 and conf["accesslog"] is None
    stale = tmp_path / "counter_999.db"
    stale.write_bytes(b"x")
    conf["on_starting"](server=None)
    assert not stale.exists()  # a new start counts from zero
    assert callable(conf["child_exit"])


def test_without_a_directory_gunicorn_makes_its_own(monkeypatch):
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    try:
        runpy.run_path(str(ROOT / "config" / "gunicorn.conf.py"))
        assert Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]).is_dir()
    finally:
        os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)


def test_a_check_cut_short_is_redelivered():
    from django.conf import settings

    from stores.tasks import check_stores

    assert check_stores.acks_late is True
    assert settings.CELERY_TASK_REJECT_ON_WORKER_LOST is True
    assert settings.CELERY_WORKER_PREFETCH_MULTIPLIER == 1


def test_a_pool_child_freezes_what_it_started_with():
    """What a worker's pool child inherits lives as long as it does: frozen,
    the garbage collector stops walking it on every full collection."""
    import gc

    from celery import signals

    from config import celery

    assert celery._freeze_startup_objects in [ref() for _, ref in signals.worker_process_init.receivers]
    thresholds = gc.get_threshold()
    try:
        signals.worker_process_init.send(sender=None)
        assert gc.get_freeze_count() > 10_000
        # and collects its young objects every 50,000 allocations, not 700
        assert gc.get_threshold() == (celery.YOUNG_COLLECTION_THRESHOLD, 10, 10) == (50_000, 10, 10)
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)
    assert gc.get_freeze_count() == 0
