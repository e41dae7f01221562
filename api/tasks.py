"""Celery shells over api/releases.py."""

from celery import shared_task


@shared_task(name="api.prune_credential_releases", ignore_result=True)
def prune_credential_releases() -> int:
    from .releases import credential_releases_prune

    return credential_releases_prune()


@shared_task(name="api.watch_credential_releases", ignore_result=True)
def watch_credential_releases() -> int:
    from .releases import credential_release_anomalies_alert

    return len(credential_release_anomalies_alert())
