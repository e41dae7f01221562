"""Register the store's webhooks with BigCommerce, and remove them.

- `hooks_register_queue(store)`: after connect/replace: queue the
  registration (the `storehooks.register_hooks` task), when webhooks are on.
- `hooks_register(store_id)`: that task's work: one active hook per scope in
  `SCOPES`, through the store's own API account.
- `hooks_remove(store)`: while disconnecting, with a short timeout.

Secrets are read here from the database, by store id; they never travel in
a task's arguments, a log line or a record.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from stores.bigcommerce.webhooks import CallFailed
from stores.crypto import UndecryptableCredential
from stores.models import Credential, Store

from .. import bigcommerce_api
from ..models import HookRegistration
from ..tasks import register_hooks as register_hooks_task

logger = logging.getLogger(__name__)

INFORMATION_UPDATED = "store/information/updated"
APP_UNINSTALLED = "store/app/uninstalled"
SCOPES = (INFORMATION_UPDATED, APP_UNINSTALLED)

# Sent by BigCommerce with every delivery of the hooks we register (a custom
# header of the hook): which API account registered it, as a digest of its
# token. A delivery that fails verification and names another account comes
# from hooks of credentials since replaced: not a sign of a wrong secret.
ACCOUNT_HEADER = "X-Violet-Account"


def credential_for(**lookup: Any) -> Credential | None:
    """A store's credential with its store, nothing decrypted yet: reading a
    secret field then loads it alone, and raises `UndecryptableCredential` there."""
    return Credential.objects.fingerprints_only().select_related("store").filter(**lookup).first()


def webhooks_enabled() -> bool:
    return bool(settings.BIGCOMMERCE_WEBHOOKS_ENABLED)


def receiver_url(store_hash: str) -> str:
    return settings.PUBLIC_BASE_URL + reverse("storehooks:receive", args=[store_hash])


def account_key(access_token: str) -> str:
    """A digest naming one API account; it reveals nothing of the token."""
    return hashlib.sha256(b"violet-connect/webhooks:" + access_token.encode()).hexdigest()[:24]


def hooks_register_queue(*, store: Store) -> bool:
    """Queue the registration of the store's hooks; False when webhooks are off."""
    if not webhooks_enabled():
        return False
    register_hooks_task.delay(store.pk)
    return True


def hooks_register(*, store_id: int) -> HookRegistration | None:
    """Register (or repair) the store's hooks; None when there is nothing to do.

    Raises `CallFailed` when BigCommerce did not let us (the task retries the
    transient ones); the failure is also recorded for staff.
    """
    if not webhooks_enabled():
        return None
    credential = credential_for(store_id=store_id)
    if credential is None:
        return None  # disconnected meanwhile
    store = credential.store
    destination = receiver_url(store.store_hash)
    now = timezone.now()
    try:
        token = credential.access_token
    except UndecryptableCredential:
        HookRegistration.objects.update_or_create(
            store=store,
            defaults={
                "destination": destination,
                "last_attempt_at": now,
                "last_error": "The Access token cannot be decrypted.",
            },
        )
        logger.error(
            "store %s: webhooks not registered: the Access token cannot be decrypted",
            store.store_hash,
        )
        return None
    try:
        result = bigcommerce_api.ensure_hooks(
            store.store_hash,
            access_token=token,
            destination=destination,
            scopes=list(SCOPES),
            headers={ACCOUNT_HEADER: account_key(token)},
        )
    except CallFailed as error:
        HookRegistration.objects.update_or_create(
            store=store,
            defaults={
                "destination": destination,
                "last_attempt_at": now,
                "last_error": str(error)[:300],
            },
        )
        logger.warning("store %s: registering webhooks failed: %s", store.store_hash, error)
        raise
    if not Credential.objects.filter(pk=credential.pk, created_at=credential.created_at).exists():
        # Disconnected or replaced while we worked: these hooks belong to an
        # account the portal no longer holds. Best effort; never mind failures.
        try:
            bigcommerce_api.remove_hooks(
                store.store_hash,
                access_token=token,
                destination=destination,
                timeout=settings.BIGCOMMERCE_WEBHOOKS_CLEANUP_TIMEOUT_SECONDS,
            )
        except CallFailed:
            pass
        return None
    registration, _ = HookRegistration.objects.update_or_create(
        store=store,
        defaults={
            "destination": destination,
            "hooks": result.hooks,
            "registered_at": now,
            "last_attempt_at": now,
            "last_error": "",
            # Registering is a sweep too (see `keepalive`).
            "swept_at": now,
            "hook_states": result.found,
            "sweep_changes": result.changes(),
            "sweep_error": "",
        },
    )
    logger.info(
        "store %s: webhooks registered (%d created, %d updated, %d deleted)",
        store.store_hash,
        result.created,
        result.updated,
        result.deleted,
    )
    return registration


def hooks_remove(*, store: Store, timeout: float | None = None) -> int | None:
    """Delete the store's hooks with its (still stored) credentials; how many went.

    None when there was nothing to do. Raises `CallFailed` (e.g. on timeout).
    """
    registration = HookRegistration.objects.filter(store=store).first()
    if registration is None and not webhooks_enabled():
        return None
    credential = credential_for(store=store)
    if credential is None:
        return None
    timeout = settings.BIGCOMMERCE_WEBHOOKS_CLEANUP_TIMEOUT_SECONDS if timeout is None else timeout
    try:
        removed = bigcommerce_api.remove_hooks(
            store.store_hash,
            access_token=credential.access_token,
            destination=receiver_url(store.store_hash),
            timeout=timeout,
        )
    except CallFailed as error:
        if registration is not None:
            HookRegistration.objects.filter(pk=registration.pk).update(
                last_attempt_at=timezone.now(),
                last_error=f"Removing the hooks failed: {error}"[:300],
            )
        raise
    HookRegistration.objects.filter(store=store).update(hooks={}, registered_at=None, last_error="")
    logger.info("store %s: %d webhooks removed", store.store_hash, removed)
    return removed
