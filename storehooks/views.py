"""The receiver BigCommerce delivers each store's webhooks to.

Fast: it verifies, records and queues (see `services.delivery_receive`);
the work runs in a Celery task.

Every well-formed delivery (a POST whose body is within
`BIGCOMMERCE_WEBHOOK_MAX_BODY_BYTES`) gets the same answer, `200 OK.`,
whether it was acted on, ignored, a replay, rejected, or for a store hash
the portal does not know. BigCommerce documents that "any response outside
the 200 range indicates the callback was not received": it retries for
about 48 hours, then deactivates the hook and e-mails the address
registered for the subscribing app (`docs/integrations/webhooks/overview.mdx`)
-- and it counts failures per destination domain and client id, so one
store's refused deliveries could get ours blocklisted. Refusing a delivery
would only make BigCommerce resend the same thing and then switch the hook
off. So nothing is refused: only verified deliveries are acted on, and why
the others were not is recorded for staff (`WebhookDelivery.reason`). A
prober learns nothing either (same status and body for known and unknown
stores; see `services.receiving` for the timing).
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from config import metrics

from . import services, signatures

logger = logging.getLogger(__name__)


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
    declared = signatures.ascii_int((request.META.get("CONTENT_LENGTH") or "").strip())
    if declared is not None and declared > limit:
        return _plain(413, "Too large.")
    body = request.read(limit + 1)
    if len(body) > limit:
        return _plain(413, "Too large.")
    receipt = services.delivery_receive(store_hash=store_hash, body=body, headers=request.headers)
    metrics.webhook_delivery(receipt.outcome)
    return _plain(200, "OK.", after=receipt.after)
