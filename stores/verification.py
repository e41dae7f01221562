"""Live checks of one set of credentials from sync Django code (the wizard,
the admin's credential replacement, the command-line doctor).

Settings meet the BigCommerce client here; one pooled transport is shared by
every request of this process so connections to BigCommerce are reused.
"""

from __future__ import annotations

import threading
import time

from django.conf import settings
from django.views.decorators.debug import sensitive_variables

from .bigcommerce.client import RequestsTransport
from .bigcommerce.report import Credentials, Report
from .bigcommerce.validation import validate_sync

_transport: RequestsTransport | None = None
_lock = threading.Lock()


def _shared_transport() -> RequestsTransport:
    global _transport
    with _lock:
        if _transport is None:
            _transport = RequestsTransport()
        return _transport


@sensitive_variables("credentials")
def verify_credentials(credentials: Credentials, *, baseline: bool = True) -> tuple[Report, int]:
    """Validate live; the report and how long it took (ms)."""
    began = time.perf_counter()
    report = validate_sync(
        credentials,
        base_url=settings.BIGCOMMERCE_API_URL,
        baseline=baseline,
        transport=_shared_transport(),
        connect_timeout=settings.BIGCOMMERCE_CONNECT_TIMEOUT_SECONDS,
        read_timeout=settings.BIGCOMMERCE_READ_TIMEOUT_SECONDS,
        deadline=settings.BIGCOMMERCE_CHECK_DEADLINE_SECONDS,
    )
    return report, int((time.perf_counter() - began) * 1000)
