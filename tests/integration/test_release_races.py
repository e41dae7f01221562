"""Credential release's guards under real concurrency (PostgreSQL; see
tests/integration/test_races.py for the pattern)."""

from __future__ import annotations

from datetime import timedelta

from django.core import mail
from django.utils import timezone

from api.models import CredentialRelease, ServiceClient
from api.releases import credential_release_anomalies_alert
from api.service_clients import service_client_create
from stores.models import Store
from stores.status import StoreStatus
from tests.integration.test_races import ROUNDS, postgres, race  # noqa: F401 (fixture)


def test_two_watchers_alert_staff_once_about_a_client(postgres, acme, settings):  # noqa: F811
    """Two workers run "Watch credential releases" at once: staff get one mail.
    Mutation tried: the `alerted_at` condition dropped from the claiming
    update (`filter(pk=…)` alone) — both send."""
    settings.STAFF_NOTIFICATION_EMAILS = ["ops@violet.test"]
    settings.CREDENTIAL_RELEASE_ALERT_MIN_STORES = 3
    stores = Store.objects.bulk_create(
        Store(merchant=acme, store_hash=f"race{i}", status=StoreStatus.CONNECTED) for i in range(5)
    )
    for round_ in range(ROUNDS):
        client = service_client_create(name=f"sync-{round_}", scopes=["credentials:read"]).client
        now = timezone.now()
        CredentialRelease.objects.bulk_create(
            CredentialRelease(client=client, store=store, version="v", released_at=now - timedelta(minutes=1))
            for store in stores
        )
        mail.outbox.clear()
        results = race(*[lambda at=now: credential_release_anomalies_alert(now=at)] * 2)
        alerted = [c.pk for result in results for c in result if c.pk == client.pk]
        assert len(alerted) == 1, f"round {round_}: alerted {len(alerted)} times"
        assert len([m for m in mail.outbox if f"sync-{round_} read" in m.subject]) == 1
        ServiceClient.objects.filter(pk=client.pk).update(alerted_at=now)
        CredentialRelease.objects.filter(client=client).delete()
