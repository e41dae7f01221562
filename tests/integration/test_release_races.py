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
from tests.conftest import ACME_TOKEN
from tests.integration.test_races import ROUNDS, postgres, race  # noqa: F401 (fixture)
from tests.reports import credentials, report


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


def test_a_release_racing_a_replacement_hands_out_the_values_of_the_version_it_records(
    postgres,  # noqa: F811
    acme_store,
    settings,
    monkeypatch,
):
    """Three services read a store's credentials while the merchant replaces them
    again and again: every answer's token is the token of the version it
    names (the ETag the service keeps, the version the audit row records).
    The guard: the version and the values are read by one statement, one
    snapshot (stores.release.store_release_read). Mutation tried: the values
    read by a second query after the version (without the version in its
    WHERE, as a naive two-step read) — answers name version N with the token
    of N + 1."""
    import threading
    import time

    from api.releases import Outcome, credentials_release
    from config import throttle
    from stores import services

    monkeypatch.setattr("stores.tasks.check_stores.delay", lambda *a: None)
    settings.CREDENTIAL_RELEASE_RATE_LIMIT = 1_000_000
    allow = throttle.allow

    def slow_allow(*args, **kwargs):
        # A slow moment between the read and the hand-out (a busy Redis):
        # widens the window a two-step read loses in, so the mutation fails
        # every run, not one in four; the real read does not care how wide.
        time.sleep(0.005)
        return allow(*args, **kwargs)

    monkeypatch.setattr(throttle, "allow", slow_allow)
    client = service_client_create(name="order-sync", scopes=["credentials:read"]).client
    tokens = {"1": ACME_TOKEN}
    done = threading.Event()

    def replace_again_and_again():
        try:
            for i in range(60):
                token = f"rep{i:028d}"
                store = services.store_replace_credentials(
                    store=acme_store, credentials=credentials(token=token), report=report()
                )
                tokens[str(store.credentials_version)] = token
        finally:
            done.set()

    def read_until_done():
        answers = []
        while not done.is_set() or not answers:
            answer = credentials_release(client=client, store_hash="acme123", address="10.0.0.1")
            assert answer.outcome == Outcome.RELEASED
            answers.append((answer.version, answer.credentials.access_token))
        return answers

    _replaced, *reads = race(replace_again_and_again, read_until_done, read_until_done, read_until_done)
    answers = [answer for read in reads for answer in read]
    wrong = [(version, token) for version, token in answers if tokens[version] != token]
    assert not wrong, f"{len(wrong)} of {len(answers)} answers named another version's token: {wrong[:3]}"
    assert len({version for version, _ in answers}) > 1, "the reads did not overlap the replacements"
    recorded = set(CredentialRelease.objects.values_list("version", flat=True))
    assert recorded <= set(tokens) and len(CredentialRelease.objects.all()) == len(answers)
