"""The receiver BigCommerce delivers each store's webhooks to.

Fast: it verifies, records and queues (see `services.delivery_receive`);
the work runs in a Celery task. Every rejection answers exactly as an
unknown store hash does (404, same body), so a prober learns nothing about
which stores the portal knows or why a delivery failed; the reason is
recorded for staff. A replay of a delivery already accepted answers 200, so
BigCommerce stops resending it, and is not acted on again.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from . import services
from .models import WebhookDelivery

logger = logging.getLogger(__name__)

ACKNOWLEDGED = {
    WebhookDelivery.Outcome.ACCEPTED,
    WebhookDelivery.Outcome.REPLAYED,
    WebhookDelivery.Outcome.IGNORED,
}


class _AnswerFirst(HttpResponse):
    """Runs `after` in close(), which the WSGI server calls once the answer is
    sent: the sender does not wait for it (nor learn anything from its timing)."""

    after = None

    def close(self):
        try:
            if self.after is not None:
                self.after()
        except Exception:
            logger.exception("webhook receiver: recording a rejected delivery failed")
        finally:
            super().close()


def _plain(status: int, text: str, after=None) -> HttpResponse:
    response = _AnswerFirst(text + "\n", status=status, content_type="text/plain; charset=utf-8")
    response.after = after
    return response


@csrf_exempt  # BigCommerce has no CSRF token; the signature is the proof
@require_POST
def receive(request: HttpRequest, store_hash: str) -> HttpResponse:
    limit = settings.BIGCOMMERCE_WEBHOOK_MAX_BODY_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        return _plain(413, "Too large.")
    body = request.read(limit + 1)
    if len(body) > limit:
        return _plain(413, "Too large.")
    receipt = services.delivery_receive(store_hash=store_hash, body=body, headers=request.headers)
    if receipt.outcome in ACKNOWLEDGED:
        return _plain(200, "OK.")
    return _plain(404, "Not found.", after=receipt.after)
