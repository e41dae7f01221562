"""Do what an accepted webhook delivery asks (the `storehooks.process_delivery`
task's work): re-read the store profile after `store/information/updated`,
or ask for a check now after `store/app/uninstalled`.
"""

from __future__ import annotations

import logging
from typing import Any

from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from config.crypto import UndecryptableCredential
from stores.bigcommerce.webhooks import CallFailed
from stores.models import Check, Store
from stores.services import store_check_request, store_refresh_profile

from .. import bigcommerce_api
from ..models import WebhookDelivery
from .registration import APP_UNINSTALLED, INFORMATION_UPDATED, credential_for

logger = logging.getLogger(__name__)

Outcome = WebhookDelivery.Outcome


def delivery_process(*, delivery_id: int, final_attempt: bool = True) -> WebhookDelivery | None:
    """Do what an accepted delivery asks. A transient failure is raised unless
    this is the final attempt, then recorded in the delivery's `result`."""
    delivery = WebhookDelivery.objects.select_related("store").filter(pk=delivery_id).first()
    if delivery is None or delivery.outcome != Outcome.ACCEPTED or delivery.processed_at is not None:
        return delivery
    store = delivery.store
    if delivery.scope == INFORMATION_UPDATED:
        try:
            result = _refresh_profile(store)
        except CallFailed as error:
            if error.transient and not final_attempt:
                raise
            result = {"error": f"Re-reading the profile failed: {error}"}
            if error.status == 401:  # the token may be revoked: let a check decide
                result["check_queued"] = store_check_request(store=store, trigger=Check.Trigger.WEBHOOK).queued
    elif delivery.scope == APP_UNINSTALLED:
        result = {"check_queued": store_check_request(store=store, trigger=Check.Trigger.WEBHOOK).queued}
    else:
        result = {}
    delivery.processed_at = timezone.now()
    delivery.result = result
    delivery.save(update_fields=["processed_at", "result"])
    return delivery


@sensitive_variables("credential", "token")
def _refresh_profile(store: Store) -> dict[str, Any]:
    """Re-read GET /v2/store and apply it; what changed.

    `changes` holds old and new values of the profile's columns (name, plan,
    currency, units...); `other_fields` only the names of other profile
    fields that changed (they may hold addresses and emails).
    """
    credential = credential_for(store=store)
    if credential is None:
        return {"error": "The store has no credentials (disconnected)."}
    try:
        token = credential.access_token
    except UndecryptableCredential:
        return {"error": "The Access token cannot be decrypted."}
    profile = bigcommerce_api.fetch_profile(store.store_hash, access_token=token)
    change = store_refresh_profile(store=store, profile=profile)
    changes, other = change.columns, change.other_fields
    if changes or other:
        logger.info(
            "store %s: profile refreshed, changed: %s",
            store.store_hash,
            ", ".join([*changes, *other]),
        )
    return {"changes": changes, "other_fields": other[:50]}
