"""Read queries of the staff console: the store list, its filters, the store
page, and the fleet at a glance on the admin index.

Nothing here loads an encrypted field: credentials are read with
`fingerprints_only()`, webhook endpoints with their secret deferred. Each
function says how many queries it costs, because the pages using them have a
query budget that must not grow with the number of stores.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.core.cache import cache
from django.db import connection
from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncHour
from django.utils import timezone

from merchants.timezones import written
from notifications.models import WebhookEndpoint
from stores.incident_rule import KIND_WORDS, IncidentKind
from stores.models import Check, Incident, Store
from stores.selectors import broken_values, credential_fingerprint  # noqa: F401 - the console reads it from here too
from stores.status import BROKEN_STATUSES, StoreStatus

# What the store list and its CSV export show: never `profile` (a big JSON
# document per row) and nothing of the credential.
STORE_LIST_FIELDS = (
    "id",
    "store_hash",
    "name",
    "domain",
    "plan_name",
    "status",
    "status_changed_at",
    "last_checked_at",
    "next_check_at",
    "created_at",
    "connected_at",
    "problem",
    "merchant__id",
    "merchant__name",
    "merchant__slug",
)
BROKEN_FOR_LONG = timedelta(hours=24)
PLAN_NAMES_CACHE_KEY = "stores:selectors:plan_names"
PLAN_NAMES_LIMIT = 50
CHECKS_PER_HOUR_CACHE_KEY = "stores:selectors:checks_per_hour"
CACHE_SECONDS = 300
# Below this many rows an exact COUNT(*) is cheap; above it, PostgreSQL's own
# estimate (pg_class.reltuples) is good enough for an unfiltered page count.
ESTIMATE_COUNT_ABOVE = 10_000


def stores_for_list(queryset: QuerySet | None = None) -> QuerySet:
    """The store list's rows: one query, merchant joined, no profile, no credential."""
    queryset = Store.objects.all() if queryset is None else queryset
    return queryset.select_related("merchant").only(*STORE_LIST_FIELDS)


def stores_broken_for_long(queryset: QuerySet | None = None, *, now: datetime | None = None) -> QuerySet:
    """Stores broken (revoked, missing scopes, unavailable, unreachable) for more than a day."""
    queryset = Store.objects.all() if queryset is None else queryset
    cutoff = (now or timezone.now()) - BROKEN_FOR_LONG
    return queryset.filter(status__in=broken_values(), status_changed_at__lt=cutoff)


def stores_broken_recently(queryset: QuerySet | None = None, *, now: datetime | None = None) -> QuerySet:
    """Stores broken now whose break happened within the last 24 hours."""
    queryset = Store.objects.all() if queryset is None else queryset
    cutoff = (now or timezone.now()) - BROKEN_FOR_LONG
    return queryset.filter(status__in=broken_values(), status_changed_at__gte=cutoff)


def plan_names() -> list[str]:
    """The plans stores are on, for the list filter: at most one bounded query
    every few minutes (cached), never a DISTINCT over every row per page view."""
    names = cache.get(PLAN_NAMES_CACHE_KEY)
    if names is None:
        names = sorted(
            Store.objects.exclude(plan_name="")
            .order_by()
            .values_list("plan_name", flat=True)
            .distinct()[:PLAN_NAMES_LIMIT]
        )
        cache.set(PLAN_NAMES_CACHE_KEY, names, CACHE_SECONDS)
    return names


def estimated_row_count(model) -> int | None:
    """PostgreSQL's estimate of a table's rows, or None when there is none
    (another database, or a table never analysed)."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
            [model._meta.db_table],
        )
        row = cursor.fetchone()
    if row is None or row[0] is None or row[0] < 0:
        return None
    return int(row[0])


# --- the fleet at a glance (the admin index) ------------------------------------


def status_counts() -> list[dict]:
    """Every status with its number of stores (one GROUP BY on the status index)."""
    counts = dict(Store.objects.order_by().values_list("status").annotate(n=Count("id")))
    return [
        {
            "status": str(status),
            "label": status.label,
            "count": counts.get(str(status), 0),
            "broken": status in BROKEN_STATUSES,
        }
        for status in StoreStatus
    ]


def recently_broken(*, now: datetime | None = None, limit: int = 10) -> tuple[int, list[Store]]:
    """Stores broken now that broke within the last 24 hours: how many, and the latest few."""
    queryset = stores_broken_recently(now=now)
    rows = list(stores_for_list(queryset).order_by("-status_changed_at", "-id")[:limit])
    return queryset.count(), rows


def checks_per_hour(*, now: datetime | None = None) -> list[dict]:
    """Checks started in each of the last 24 hours, oldest first (cached a few minutes)."""
    now = now or timezone.now()
    end = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    start = end - timedelta(hours=24)
    cached = cache.get(CHECKS_PER_HOUR_CACHE_KEY)
    if cached is not None and cached["end"] == end:
        return cached["hours"]
    counted = {
        row["hour"]: row["n"]
        for row in Check.objects.filter(started_at__gte=start, started_at__lt=end)
        .annotate(hour=TruncHour("started_at"))
        .order_by()
        .values("hour")
        .annotate(n=Count("id"))
    }
    peak = max(counted.values(), default=0)
    hours = []
    for i in range(24):
        hour = start + timedelta(hours=i)
        n = counted.get(hour, 0)
        percent = round(100 * n / peak) if peak else 0
        # The bar's height in steps of 5%, as a CSS class (the CSP allows no inline style).
        hours.append({"hour": hour, "count": n, "percent": percent, "step": 5 * round(percent / 5)})
    cache.set(CHECKS_PER_HOUR_CACHE_KEY, {"end": end, "hours": hours}, CACHE_SECONDS)
    return hours


def failing_webhook_endpoints(limit: int = 10) -> list:
    """Endpoints that are disabled or whose last delivery failed (secret never loaded)."""
    return list(
        WebhookEndpoint.objects.filter(Q(is_active=False) | ~Q(last_error="")).defer("secret").order_by("name")[:limit]
    )


def fleet_overview(*, now: datetime | None = None) -> dict:
    """Everything the admin index shows, in at most five cheap queries."""
    now = now or timezone.now()
    counts = status_counts()
    broken_count, broken = recently_broken(now=now)
    hours = checks_per_hour(now=now)
    return {
        "status_counts": counts,
        "total": sum(row["count"] for row in counts),
        "broken_total": sum(row["count"] for row in counts if row["broken"]),
        "recently_broken": broken,
        "recently_broken_count": broken_count,
        "checks_per_hour": hours,
        "checks_last_24h": sum(hour["count"] for hour in hours),
        "failing_endpoints": failing_webhook_endpoints(),
    }


def open_incidents() -> list[Incident]:
    """The open fleet-wide incidents, each with `words` (what fails), for the banner."""
    incidents = list(Incident.objects.filter(closed_at__isnull=True).order_by("opened_at").only("kind", "opened_at"))
    for incident in incidents:
        incident.words = KIND_WORDS[IncidentKind(incident.kind)]
        incident.since = written(incident.opened_at)  # in the reader's zone, named
    return incidents
