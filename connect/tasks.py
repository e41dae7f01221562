from celery import shared_task

from . import onboarding


@shared_task(name="connect.forget_expired_drafts", ignore_result=True)
def forget_expired_drafts() -> int:
    return onboarding.drafts_forget_expired()
