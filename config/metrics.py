"""Every Prometheus metric, defined once, and the one-line calls that count them.

They live in `config/` because every app counts into them (the stores
services, notifications, the webhook receiver) and `stores` may import nothing
above it; `ops/metrics.py` serves them at `/metrics`.

Counters and histograms live in the process that does the work (a gunicorn
worker, a Celery pool child). With `PROMETHEUS_MULTIPROC_DIR` set,
prometheus_client writes each process's values to files there and
`ops.metrics.exposition()` adds them up, so any web process answers for its
machine (`config/gunicorn.conf.py` sets the directory and marks dead workers;
Celery workers do the same in `config/celery.py` and serve their own figures
on `WORKER_METRICS_PORT`).

Counts are taken when the transaction that wrote the event commits: a batch
rolled back and retried is counted once.
"""


from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from prometheus_client import Counter, Histogram

CHECKS = Counter(
    "violet_checks",
    "Store checks recorded, by what asked for them and what they found.",
    ["trigger", "outcome"],
)
BIGCOMMERCE_REQUEST_SECONDS = Histogram(
    "violet_bigcommerce_request_seconds",
    "BigCommerce API calls made by checks (retries included), by endpoint and final status.",
    ["endpoint", "status"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30),
)
NOTIFICATIONS = Counter(
    "violet_notification_attempts",
    "Notification delivery attempts by channel and result (sent, retry, failed).",
    ["channel", "result"],
)
WEBHOOK_DELIVERIES = Counter(
    "violet_bigcommerce_webhook_deliveries",
    "Webhook deliveries received from BigCommerce, by outcome.",
    ["outcome"],
)
STATUS_CHANGES = Counter(
    "violet_status_changes",
    "Store status flips, by old and new status.",
    ["from", "to"],
)
CREDENTIAL_RELEASES = Counter(
    "violet_credential_releases",
    "Credential release requests by service client and outcome "
    "(released, not_modified, not_usable, throttled). Never a store or a secret.",
    ["client", "outcome"],
)
PROXY_CALLS = Counter(
    "violet_proxy_calls",
    "Calls through the BigCommerce proxy by outcome (forwarded, refused, quota, failed) "
    "and status class. Never a store, a path or a secret.",
    ["outcome", "status"],
)

TRAFFIC_SIGNALS = Counter(
    "violet_traffic_signals",
    "Answers to Violet's own traffic (via: proxy or report) by signal kind (none: not a signal) "
    "and outcome (queued, already_queued, already_known, not_checked, not_a_signal). Never a store.",
    ["kind", "via", "outcome"],
)


def _after_commit(count) -> None:
    # Outside a transaction on_commit runs at once.
    transaction.on_commit(count)


def endpoint_of(method: str, path: str) -> str:
    """ "GET /v3/catalog/products": the probe's path template (relative to
    /stores/{store_hash}, query string dropped), never a URL with ids."""
    return f"{method.upper()} {path.split('?', 1)[0]}"


def check_recorded(trigger: str, report) -> None:
    """A check's row is being written: count it and its BigCommerce calls."""
    checks_recorded(trigger, [report])


def checks_recorded(trigger: str, reports: Iterable) -> None:
    """A batch of checks recorded: count them and their BigCommerce calls, in
    one commit hook, each label set looked up once (the fleet records 500
    healthy checks in a statement; a hook and a lookup per check cost more
    than the statement)."""
    outcomes: dict[str, int] = {}
    calls: dict[tuple[str, str], list[float]] = {}
    for report in reports:
        outcome = str(report.outcome)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        for e in report.exchanges:
            status = str(e.status) if e.status is not None else (e.error or "none")
            calls.setdefault((endpoint_of(e.method, e.path), status), []).append(e.elapsed_ms / 1000)
    if not outcomes:
        return

    def count() -> None:
        for outcome, n in outcomes.items():
            CHECKS.labels(trigger=str(trigger), outcome=outcome).inc(n)
        for (endpoint, status), seconds in calls.items():
            histogram = BIGCOMMERCE_REQUEST_SECONDS.labels(endpoint=endpoint, status=status)
            for value in seconds:
                histogram.observe(value)

    _after_commit(count)


def status_flipped(old: str, new: str) -> None:
    _after_commit(lambda: STATUS_CHANGES.labels(**{"from": str(old), "to": str(new)}).inc())


def status_flips(flips: Iterable[tuple]) -> None:
    """`(store, old_status, …)` tuples whose store now holds the new status."""
    for store, old, *_ in flips:
        status_flipped(old, store.status)


def notification_attempted(notification) -> None:
    """After an attempt was recorded: its new state says sent, retry or failed."""
    result = {"delivered": "sent", "failed": "failed"}.get(str(notification.state), "retry")
    NOTIFICATIONS.labels(channel=str(notification.channel), result=result).inc()


def webhook_delivery(outcome: str) -> None:
    WEBHOOK_DELIVERIES.labels(outcome=str(outcome)).inc()


def credential_release(client: str, outcome: str) -> None:
    """A service client asked for a store's credentials: counted when the
    audit row (if any) commits."""
    _after_commit(lambda: CREDENTIAL_RELEASES.labels(client=str(client), outcome=str(outcome)).inc())


def traffic_signal(kind: str, via: str, outcome: str) -> None:
    """A traffic answer was judged (and its signal, if any, recorded): counted on commit."""
    _after_commit(lambda: TRAFFIC_SIGNALS.labels(kind=str(kind), via=str(via), outcome=str(outcome)).inc())
