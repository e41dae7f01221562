"""gunicorn's settings for the web process (`gunicorn -c config/gunicorn.conf.py config.wsgi`).

Everything can be overridden from the environment: PORT (platforms set it),
WEB_CONCURRENCY (worker processes), GUNICORN_THREADS, GUNICORN_TIMEOUT,
GUNICORN_GRACEFUL_TIMEOUT.

- Graceful shutdown: on SIGTERM gunicorn stops accepting, lets each worker
  finish the requests it holds for up to `graceful_timeout`, then exits.
- Metrics: each worker counts in its own files under PROMETHEUS_MULTIPROC_DIR
  (a fresh directory per start unless one is given); /metrics adds them up, and
  `child_exit` marks a dead worker's files so its live gauges disappear.
- Logs: gunicorn's own lines go through Django's logging (JSON in production);
  the access log is off, because `config.logging.RequestLogMiddleware` writes
  one line a request with the client's real address and the route, never a
  path that may carry a token.
"""

import os
import shutil
import tempfile

# Before any worker imports prometheus_client: it reads this at import time.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="violet-web-metrics-")

bind = f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '8000')}"  # noqa: S104 - behind the platform's router
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
worker_class = "gthread"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))  # the wizard's live check takes up to 20 s
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
keepalive = 5
# Recycle workers now and then (jittered, so not all at once).
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "5000"))
max_requests_jitter = max_requests // 10
# X-Forwarded-Proto from the platform's router (SECURE_PROXY_SSL_HEADER); the
# client's address is decided by TRUSTED_PROXY_COUNT, not here.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "*")
accesslog = None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
proc_name = "violet-web"


def on_starting(server):
    """A directory named by the operator may hold a previous run's files: start from zero."""
    directory = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    os.makedirs(directory, exist_ok=True)
    for name in os.listdir(directory):
        path = os.path.join(directory, name)
        if name.endswith(".db"):
            os.unlink(path)
        elif os.path.isdir(path):
            shutil.rmtree(path, ignore_errors=True)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
