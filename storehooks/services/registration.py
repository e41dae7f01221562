"""Register the store's webhooks with BigCommerce, and remove them.

- `hooks_register_queue(store)`: after connect/replace: queue the
  registration (the `storehooks.register_hooks` task), when webhooks are on.
- `hooks_register(store_id)`: that task's work: one active hook per scope in
  `SCOPES`, through the store's own API account.
- `hooks_removal_prepare(store)` / `hooks_removal_run(removal)`: on
  disconnect, read the token while the credentials still exist (no network,
  inside the disconnect's transaction), then delete the hooks after it
  commits, with a short timeout; never a network call under the row lock.

Secrets are read here from the database, by store id; they never travel in
a task's arguments, a log line or a record.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from config.crypto import UndecryptableCredential
from stores.bigcommerce.webhooks import CallFailed
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


@sensitive_variables("access_token")
def account_key(access_token: str) -> str:
    """A digest naming one API account; it reveals nothing of the token."""
    return hashlib.sha256(b"violet-connect/webhooks:" + access_token.encode()).hexdigest()[:24]


def hooks_register_queue(*, store: Store) -> bool:
    """Queue the registration of the store's hooks; False when webhooks are off."""
    if not webhooks_enabled():
        return False
    register_hooks_task.delay(store.pk)
    return True


@sensitive_variables("credential", "token")
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


@dataclass(frozen=True)
class HookRemoval:
    """What removing a store's hooks needs, read while its credentials still
    exist. The token lives in memory only: never saved, logged or queued."""

    store_id: int
    store_hash: str
    access_token: str = field(repr=False)
    registration_id: int | None


@sensitive_variables("credential")
def hooks_removal_prepare(*, store: Store) -> HookRemoval | None:
    """Read (no network) what `hooks_removal_run` needs; None when there is
    nothing to remove. Called while disconnecting, before the credentials go;
    raises `UndecryptableCredential` when the token cannot be read."""
    registration = HookRegistration.objects.filter(store=store).first()
    if registration is None and not webhooks_enabled():
        return None
    credential = credential_for(store=store)
    if credential is None:
        return None
    return HookRemoval(
        store_id=store.pk,
        store_hash=store.store_hash,
        access_token=credential.access_token,
        registration_id=registration.pk if registration is not None else None,
    )


@sensitive_variables("removal")
def hooks_removal_run(removal: HookRemoval, *, timeout: float | None = None) -> int:
    """Delete the hooks through BigCommerce; how many went. Never call it inside
    a transaction (it waits on the network, up to `timeout`): the disconnect
    runs it after its commit. Raises `CallFailed` (e.g. on timeout)."""
    timeout = settings.BIGCOMMERCE_WEBHOOKS_CLEANUP_TIMEOUT_SECONDS if timeout is None else timeout
    try:
        removed = bigcommerce_api.remove_hooks(
            removal.store_hash,
            access_token=removal.access_token,
            destination=receiver_url(removal.store_hash),
            timeout=timeout,
        )
    except CallFailed as error:
        if removal.registration_id is not None:
            HookRegistration.objects.filter(pk=removal.registration_id).update(
                last_attempt_at=timezone.now(),
                last_error=f"Removing the hooks failed: {error}"[:300],
            )
        raise
    HookRegistration.objects.filter(store_id=removal.store_id).update(hooks={}, registered_at=None, last_error="")
    logger.info("store %s: %d webhooks removed", removal.store_hash, removed)
    return removed

