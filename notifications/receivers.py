"""React to the store services' signals (see `stores.signals`)."""

from django.dispatch import receiver

from stores import signals

from .tasks import dispatch as dispatch_task


@receiver(signals.status_flipped_by_traffic)
def tell_now(sender, store_id: int, **kwargs) -> None:
    """A flip confirmed after a traffic signal: plan (and send) its
    notifications now rather than at the next scheduled run. The planning
    claims each change once, so a scheduled run racing this one is harmless."""
    dispatch_task.delay()
