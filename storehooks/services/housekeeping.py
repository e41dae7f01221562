"""Housekeeping of webhook deliveries (the `storehooks.sweep` periodic task's
work): queue again what was never queued, forget what is old.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from ..models import JunkDeliveryCount, SeenWebhook, WebhookDelivery
from ..signatures import SEEN_RETENTION
from .receiving import Outcome, delivery_queue_processing

# A delivery id is remembered for SEEN_RETENTION, longer than any timestamp
# `signatures.verify` still accepts (BigCommerce's 48-hour retry window and a
# margin; the decision is written in `storehooks.signatures`), so a replay is
# caught for as long as it could pass the timestamp check.

# Accepted deliveries whose work was not queued after this long are queued again.
STUCK_AFTER = timedelta(minutes=5)


def webhooks_sweep(*, now: datetime | None = None, limit: int = 500) -> dict[str, int]:
    """1. Queue again accepted deliveries whose work never ran (the broker was down).
    2. Forget delivery ids past SEEN_RETENTION and deliveries past their retention."""
    now = now or timezone.now()
    stuck = list(
        WebhookDelivery.objects.filter(
            outcome=Outcome.ACCEPTED,
            processed_at=None,
            received_at__lt=now - STUCK_AFTER,
            received_at__gte=now - SEEN_RETENTION,
        ).values_list("id", flat=True)[:limit]
    )
    for delivery_id in stuck:
        delivery_queue_processing(delivery_id)
    seen = SeenWebhook.objects.filter(seen_at__lt=now - SEEN_RETENTION).delete()[0]
    cutoff = now - timedelta(days=settings.BIGCOMMERCE_WEBHOOK_DELIVERY_RETENTION_DAYS)
    deliveries = WebhookDelivery.objects.filter(received_at__lt=cutoff).delete()[0]
    deliveries += JunkDeliveryCount.objects.filter(hour__lt=cutoff).delete()[0]
    return {"requeued": len(stuck), "seen_pruned": seen, "deliveries_pruned": deliveries}
