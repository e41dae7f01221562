"""Live checks of one set of credentials from sync Django code (the wizard,
the admin's credential replacement, the command-line doctor).

Settings meet the BigCommerce client here; one pooled transport is shared by
every request of this process so connections to BigCommerce are reused.
"""

from __future__ import annotations

import os
import threading
import time

from django.conf import settings
from django.views.decorators.debug import sensitive_variables

from .bigcommerce.client import RequestsTransport
from .bigcommerce.report import Credentials, Report
from .bigcommerce.validation import validate_sync

_transport: RequestsTransport | None = None
_pid: int | None = None
_lock = threading.Lock()


def shared_transport() -> RequestsTransport:
    """This process's pooled transport for sync callers (a forked worker child
    makes its own: a thread pool and sockets do not survive a fork)."""
    global _transport, _pid
    with _lock:
        if _transport is None or _pid != os.getpid():
            _transport, _pid = RequestsTransport(), os.getpid()
        return _transport


def client_options() -> dict:
    """Timeouts and the deadline from settings: the wizard's and the fleet's clients share them."""
    return {
        "connect_timeout": settings.BIGCOMMERCE_CONNECT_TIMEOUT_SECONDS,
        "read_timeout": settings.BIGCOMMERCE_READ_TIMEOUT_SECONDS,
        "deadline": settings.BIGCOMMERCE_CHECK_DEADLINE_SECONDS,
    }


@sensitive_variables("credentials")
def verify_credentials(credentials: Credentials, *, baseline: bool = True) -> tuple[Report, int]:
    """Validate live; the report and how long it took (ms)."""
    began = time.perf_counter()
    report = validate_sync(
        credentials,
        base_url=settings.BIGCOMMERCE_API_URL,
        baseline=baseline,
        transport=shared_transport(),
        **client_options(),
    )
    return report, int((time.perf_counter() - began) * 1000)
