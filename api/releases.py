"""Credential release: a service client asks for a store's credentials.

1. The store, its status, its credentials' version and the credentials
   themselves, still encrypted, are read in one query
   (stores.release.store_release_read); nothing is decrypted yet.
2. Unknown → not_found; a status that may not be used → not_usable (its
   status, no secret); `If-None-Match` naming the version → not_modified (no
   secret, no audit row, not rate limited: polling is cheap and encouraged).
3. Over the client's rate limit → throttled (Retry-After).
4. Otherwise the credentials are decrypted (stores.release, the one hand-out)
   and the release is recorded (CredentialRelease: one INSERT, committed
   durably on its own — synchronous commit — before the answer is returned;
   if it fails, the request fails and no secret leaves) and counted.

Query budget (tests/api/test_credential_release.py holds it): a 304, 404 or
409 is one query after authentication, a 200 two (the read, the audit row).

Also: pruning old rows (CREDENTIAL_RELEASE_RETENTION_DAYS), the reads shown on
the console and the merchant's store pages, and the staff alert when a client
reads far more stores than usual.
"""

from __future__ import annotations

import enum
import ipaddress
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, Max, Q
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.http import parse_etags
from django.views.decorators.debug import sensitive_variables

from config import metrics, throttle
from config.retention import delete_in_batches
from notifications.staff_alerts import staff_alert_send
from stores.models import Store
from stores.release import ReleasedCredentials, store_credentials_release, store_release_read

from .models import CredentialRelease, ServiceClient

log = logging.getLogger("violet.credential_release")


class Outcome(enum.StrEnum):
    RELEASED = "released"
    NOT_MODIFIED = "not_modified"
    NOT_FOUND = "not_found"
    NOT_USABLE = "not_usable"
    THROTTLED = "throttled"


@dataclass(frozen=True)
class Answer:
    outcome: Outcome
    status: str = ""
    version: str = ""
    credentials: ReleasedCredentials | None = None
    retry_after: int = 0


def _matches(if_none_match: str, version: str) -> bool:
    if not if_none_match or not version:
        return False
    if if_none_match.strip() == "*":
        return True
    wanted = {tag.removeprefix("W/").strip('"') for tag in parse_etags(if_none_match[:1000])}
    return version in wanted


def _address(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def _throttle_key(client: ServiceClient) -> str:
    return f"credential-release:{client.pk}"


@sensitive_variables("released")
def credentials_release(*, client: ServiceClient, store_hash: str, address: str, if_none_match: str = "") -> Answer:
    """The answer to one release request (steps in the module docstring)."""
    releasable = store_release_read(store_hash)
    if releasable is None:
        return Answer(Outcome.NOT_FOUND)
    status = releasable.store.status
    if not releasable.usable:
        metrics.credential_release(client.name, Outcome.NOT_USABLE)
        return Answer(Outcome.NOT_USABLE, status=status)
    if _matches(if_none_match, releasable.version):
        metrics.credential_release(client.name, Outcome.NOT_MODIFIED)
        return Answer(Outcome.NOT_MODIFIED, status=status, version=releasable.version)
    limit, window = settings.CREDENTIAL_RELEASE_RATE_LIMIT, settings.CREDENTIAL_RELEASE_RATE_WINDOW_SECONDS
    if not throttle.allow(_throttle_key(client), limit=limit, window_seconds=window):
        metrics.credential_release(client.name, Outcome.THROTTLED)
        retry = throttle.retry_after(_throttle_key(client), limit=limit, window_seconds=window)
        return Answer(Outcome.THROTTLED, status=status, retry_after=max(retry, 1))
    # The values were read with their version (one snapshot): no query, never None.
    released = store_credentials_release(releasable)
    # One statement, so no BEGIN / COMMIT round trips: outside a transaction
    # it commits (and waits for the WAL flush) before create() returns.
    CredentialRelease.objects.create(
        client=client, store=releasable.store, version=released.version, client_address=_address(address)
    )
    metrics.credential_release(client.name, Outcome.RELEASED)
    return Answer(Outcome.RELEASED, status=status, version=released.version, credentials=released)


# --- what the pages show -----------------------------------------------------------------------------


def recent_releases(store: Store, *, limit: int = 10) -> list[CredentialRelease]:
    """The console's store page: the latest releases of this store (the (store, -time) index)."""
    return list(CredentialRelease.objects.filter(store=store).select_related("client").order_by("-released_at")[:limit])


def services_that_used(store: Store) -> list[tuple[str, datetime]]:
    """The merchant's store page: which of Violet's services read the store's
    credentials and when last — names and times only, and only since the store
    came to its current merchant (`merchant_since`)."""
    releases = CredentialRelease.objects.filter(store=store)
    if store.merchant_since is not None:
        releases = releases.filter(released_at__gte=store.merchant_since)
    rows = releases.values("client__name").annotate(last=Max("released_at")).order_by("-last")[:20]
    return [(row["client__name"], row["last"]) for row in rows]


# --- retention -------------------------------------------------------------------------------------


def credential_releases_prune(*, now: datetime | None = None, batch_size: int = 5000) -> int:
    """Delete releases older than CREDENTIAL_RELEASE_RETENTION_DAYS, in batches; how many went."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.CREDENTIAL_RELEASE_RETENTION_DAYS)
    return delete_in_batches(CredentialRelease.objects.filter(released_at__lt=cutoff), batch_size)


# --- far more stores than usual -------------------------------------------------------------------


def reads_far_more_than_usual(last_hour: int, daily_average: float, *, factor: float, minimum: int) -> bool:
    """The rule, pure: distinct stores read in the last hour against the
    client's average of distinct stores a day before it. A service that reads
    every store once a day has an average of its fleet: an hour over three
    times that is a copy of the fleet's keys, not a sync."""
    return last_hour >= minimum and last_hour > factor * daily_average


def credential_release_anomalies_alert(*, now: datetime | None = None) -> list[ServiceClient]:
    """Mail staff about each client whose last hour broke the rule, at most
    once a day per client (a conditional update on `alerted_at` claims the
    alert, so two workers never send it twice). The clients alerted."""
    now = now or timezone.now()
    hour_ago = now - timedelta(hours=1)
    days = settings.CREDENTIAL_RELEASE_ALERT_BASELINE_DAYS
    active = (
        CredentialRelease.objects.filter(released_at__gte=hour_ago)
        .values("client_id")
        .annotate(stores=Count("store_id", distinct=True))
    )
    alerted = []
    for row in active:
        if row["stores"] < settings.CREDENTIAL_RELEASE_ALERT_MIN_STORES:
            continue
        store_days = (
            CredentialRelease.objects.filter(
                client_id=row["client_id"], released_at__gte=hour_ago - timedelta(days=days), released_at__lt=hour_ago
            )
            .annotate(day=TruncDate("released_at"))
            .values("store_id", "day")
            .distinct()
            .count()
        )
        average = store_days / days
        if not reads_far_more_than_usual(
            row["stores"],
            average,
            factor=settings.CREDENTIAL_RELEASE_ALERT_FACTOR,
            minimum=settings.CREDENTIAL_RELEASE_ALERT_MIN_STORES,
        ):
            continue
        claimed = ServiceClient.objects.filter(
            Q(alerted_at__isnull=True) | Q(alerted_at__lte=now - timedelta(days=1)), pk=row["client_id"]
        ).update(alerted_at=now)
        if not claimed:
            continue  # alerted in the last day, or another worker just did
        client = ServiceClient.objects.get(pk=row["client_id"])
        log.warning(
            "service client %s read %s distinct stores in the last hour (usually %.1f a day)",
            client.name,
            row["stores"],
            average,
        )
        staff_alert_send(
            subject=f"Service client {client.name} read {row['stores']} stores' credentials in an hour",
            body=(
                f"The service client “{client.name}” read the credentials of {row['stores']} distinct stores "
                f"in the hour to {now:%Y-%m-%d %H:%M} UTC. Over the {days} days before, it read "
                f"{average:.1f} distinct stores a day on average.\n\n"
                "If this is not expected (a new service rolling out, a re-sync), revoke or rotate the client "
                "in the console (Service clients) and look at its credential releases.\n"
                "This alert is sent at most once a day per client."
            ),
        )
        alerted.append(client)
    return alerted
