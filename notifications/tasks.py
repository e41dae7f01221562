"""Celery tasks: thin shells over the services (the rule is written out in `stores.tasks`)."""

from celery import shared_task

from . import services


@shared_task(name="notifications.dispatch", ignore_result=True)
def dispatch() -> dict:
    """Plan notifications for new status changes, store events and incidents, then deliver what is due."""
    planned = services.status_changes_process() + services.store_events_process() + services.incidents_process()
    delivered = services.notifications_deliver_due()
    return {"planned": planned, "delivered": delivered}
