"""Celery tasks: thin. They take a store id or a delivery id, never a secret.

Services import these tasks at their top; each task imports the service it
runs in its body (the rule is written out in `stores.tasks`).
"""

from __future__ import annotations

from celery import shared_task

from stores.bigcommerce.webhooks import CallFailed


@shared_task(bind=True, name="storehooks.register_hooks", ignore_result=True, acks_late=True, max_retries=5)
def register_hooks(self, store_id: int) -> None:
    from .services import hooks_register

    try:
        hooks_register(store_id=store_id)
    except CallFailed as error:
        if error.transient and self.request.retries < self.max_retries:
            raise self.retry(countdown=30 * 2**self.request.retries) from None


@shared_task(bind=True, name="storehooks.process_delivery", ignore_result=True, acks_late=True, max_retries=3)
def process_delivery(self, delivery_id: int) -> None:
    from .services import delivery_process

    try:
        delivery_process(delivery_id=delivery_id, final_attempt=self.request.retries >= self.max_retries)
    except CallFailed:
        raise self.retry(countdown=15 * 2**self.request.retries) from None


@shared_task(name="storehooks.sweep", ignore_result=True)
def sweep() -> dict:
    from .services import webhooks_sweep

    return webhooks_sweep()


@shared_task(name="storehooks.keep_hooks_alive", ignore_result=True)
def keep_hooks_alive() -> dict:
    from .services import hooks_sweep_due

    return hooks_sweep_due()
