"""The Celery app. Workers: `celery -A config worker`; beat: `celery -A config beat`."""

import gc
import os
import sys
import tempfile

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

# A worker's pool children count metrics in files under one directory (as
# gunicorn's workers do, config/gunicorn.conf.py), so WORKER_METRICS_PORT adds
# them up. prometheus_client reads the variable when first imported, which in a
# worker happens while Django sets up, before any Celery signal: decide here.
if (
    not os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    and os.path.basename(sys.argv[0]) in {"celery", "__main__.py"}
    and "worker" in sys.argv[1:]
):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="violet-worker-metrics-")

app = Celery("violet_connect")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


# --- Production process model (issue 15): logs, metrics, shutdown ----------
# Acknowledged late and rejected when the worker is lost (settings): a check
# cut short by SIGKILL goes back on the queue, and its claim's lease makes the
# store come due again even if the message were lost. SIGTERM is Celery's warm
# shutdown: the pool finishes the tasks it holds, takes no new ones, then exits.


@signals.task_prerun.connect
def _bind_task_to_logs(task_id=None, task=None, **_):
    from config.logging import bind, clear

    clear()
    bind(task_id=task_id, task=getattr(task, "name", ""))


@signals.task_postrun.connect
def _unbind_task_from_logs(**_):
    from config.logging import clear

    clear()


@signals.celeryd_init.connect
def _fresh_metrics_directory(**_):
    """Before the pool starts: this worker's multi-process metrics start from zero."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        os.makedirs(directory, exist_ok=True)
        for name in os.listdir(directory):
            if name.endswith(".db"):
                os.unlink(os.path.join(directory, name))


@signals.worker_process_shutdown.connect
def _pool_child_exits(pid=None, **_):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid or os.getpid())


@signals.worker_ready.connect
def _serve_worker_metrics(**_):
    """WORKER_METRICS_PORT: this worker's counters (its pool children's, added up)."""
    from django.conf import settings

    if settings.WORKER_METRICS_PORT:
        from prometheus_client import start_http_server

        from ops.metrics import registry

        start_http_server(settings.WORKER_METRICS_PORT, registry=registry(fleet=False))


@signals.worker_process_init.connect
def _freeze_startup_objects(**_):
    """A pool child starts with everything its parent imported (Django, the
    models, Celery): hundreds of thousands of objects that live as long as
    the process. Frozen, the garbage collector stops walking them on every
    full collection. Profiled on the fleet's light pass: collections set off
    while a batch was loaded took ~5 % of a worker's CPU, and the worker
    spent ~16 % fewer samples on the same checks once frozen.

    Then a young collection every YOUNG_COLLECTION_THRESHOLD allocations
    instead of Python's 700: a light check allocates a few hundred short-lived
    objects (a coroutine, a response, a report, dicts), nearly all freed by
    reference counting, so collecting the young generation every couple of
    checks found next to nothing. Measured on the light pass (two processes,
    20,000 stores): workers' CPU 5.1 -> 4.8 s. Cycles are still collected,
    the older generations at Python's ratios (10, 10) to the young one."""
    gc.freeze()
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, 10, 10)


YOUNG_COLLECTION_THRESHOLD = 50_000
