"""`/metrics`: every process's counters (defined in `config/metrics.py`) and
today's fleet, in prometheus_client's formats.

With `PROMETHEUS_MULTIPROC_DIR` set, prometheus_client's multi-process
collector adds up what every process of this machine wrote there. The fleet
gauges are read from the database at scrape time, so every web process
reports the same fleet.
"""

from __future__ import annotations

import os

from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import choose_encoder
from prometheus_client.multiprocess import MultiProcessCollector

# --- exposition -------------------------------------------------------------


def multiprocess_mode() -> bool:
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


class _ThisProcess:
    """The default registry (this process's metrics, plus process and platform
    collectors) as one collector of a per-scrape registry."""

    def collect(self):
        yield from REGISTRY.collect()


class FleetCollector:
    """Today's fleet, read from the database: the same from every process."""

    def collect(self):
        from . import checks

        for name, _kind, help_text, samples in checks.metrics():
            labels = sorted({key for labels, _ in samples for key in labels})
            family = GaugeMetricFamily(name, help_text, labels=labels)
            for sample_labels, value in samples:
                family.add_metric([str(sample_labels[key]) for key in labels], float(value))
            yield family


def registry(*, fleet: bool = True) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    if multiprocess_mode():
        MultiProcessCollector(registry)
    else:
        registry.register(_ThisProcess())
    if fleet:
        registry.register(FleetCollector())
    return registry


def exposition(*, fleet: bool = True, accept: str = "") -> tuple[bytes, str]:
    """The body and its content type, negotiated from the scraper's Accept
    header as prometheus_client does (text 0.0.4 without one; OpenMetrics when asked)."""
    encoder, content_type = choose_encoder(accept)
    return encoder(registry(fleet=fleet)), content_type
