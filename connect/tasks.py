"""Celery tasks: thin shells over the services (the rule is written out in `stores.tasks`)."""

from celery import shared_task

from . import onboarding


@shared_task(name="connect.forget_expired_drafts", ignore_result=True)
def forget_expired_drafts() -> int:
    return onboarding.drafts_forget_expired()
