"""React to the store services' signals (see `stores.signals`). Like
`send_robust`, a receiver here never raises: connecting, replacing and
disconnecting always succeed, whatever BigCommerce or the broker does."""

from __future__ import annotations

import logging

from django.db import transaction
from django.dispatch import receiver

from stores import signals
from stores.bigcommerce.webhooks import CallFailed
from stores.models import Store

from . import services

logger = logging.getLogger(__name__)


@receiver(signals.credentials_saved, dispatch_uid="storehooks.register_after_save")
def register_after_save(sender, store: Store, **kwargs) -> None:
    """Forget a proof about replaced credentials; queue the hooks' registration."""
    try:
        services.secret_proof_forget_stale(store=store)
        services.hooks_register_queue(store=store)
    except Exception as error:
        logger.warning("store %s: webhook registration not queued: %s", store.store_hash, type(error).__name__)


@receiver(signals.store_disconnecting, dispatch_uid="storehooks.remove_before_disconnect")
def remove_after_disconnect(sender, store: Store, **kwargs) -> None:
    """Read the token while the credentials still exist (no network: this runs
    under the store's row lock), then delete the hooks once the disconnect has
    committed, with a short timeout."""
    try:
        removal = services.hooks_removal_prepare(store=store)
    except Exception as error:
        logger.warning("store %s: webhooks not removed: %s", store.store_hash, type(error).__name__)
        return
    if removal is not None:
        transaction.on_commit(lambda: _remove(removal), robust=True)


def _remove(removal: services.HookRemoval) -> None:
    try:
        services.hooks_removal_run(removal)
    except Exception as error:
        logger.warning(
            "store %s: webhooks not removed: %s",
            removal.store_hash,
            error if _safe(error) else type(error).__name__,
        )


def _safe(error: Exception) -> bool:
    """Our own failures say method, path and status only; anything else is named, not quoted."""
    return isinstance(error, CallFailed)
