"""Read queries on stores shared by the JSON API and the staff console.

Nothing here loads an encrypted field. Each function says how many queries it
costs, because the pages using them have a query budget that must not grow
with the number of stores. The console's own queries (the store list, the
fleet at a glance) are in `console.selectors`.
"""

from __future__ import annotations

from django.db.models import OuterRef, Subquery
from django.utils import timezone

from .models import Check, Credential, StatusChange, Store, TrafficSignal
from .status import BROKEN_STATUSES


def broken_values() -> list[str]:
    return sorted(str(status) for status in BROKEN_STATUSES)


def check_in_flight(store: Store) -> bool:
    """A check of the store is running: its claim's lease has not run out.
    Its `next_check_at` is then the lease's end, not a next check."""
    return bool(store.claimed_until and store.claimed_until > timezone.now())


def check_state(store: Store) -> dict:
    """What a store page polls while a check runs (static/js/store-status.js):
    the merchant's and the staff console's status.json."""
    return {
        "checking": check_in_flight(store),
        "status": store.status,
        "last_checked_at": store.last_checked_at.isoformat() if store.last_checked_at else None,
    }


def latest_check(store: Store) -> Check | None:
    return Check.objects.filter(store=store).order_by("-started_at", "-id").first()


def latest_checks_by_store(store_ids: list[int]) -> dict[int, Check]:
    """{store id: its latest check}, in one query whatever the number of stores
    (each store's latest check id comes from the (store, -started_at) index)."""
    if not store_ids:
        return {}
    latest_ids = (
        Store.objects.filter(pk__in=store_ids)
        .annotate(
            latest=Subquery(
                Check.objects.filter(store=OuterRef("pk"))
                .order_by("-started_at", "-id")
                .values("id")[:1]
            )
        )
        .values("latest")
    )
    return {
        check.store_id: check for check in Check.objects.filter(pk__in=latest_ids).defer("evidence")
    }


def recent_status_changes(store: Store, limit: int = 10) -> list[StatusChange]:
    return list(StatusChange.objects.filter(store=store).order_by("-created_at", "-id")[:limit])


def status_before_pause(store: Store) -> str:
    """The status a paused store had before its latest pause (resuming returns to it)."""
    return (
        StatusChange.objects.filter(store=store, new_status="paused")
        .order_by("-created_at", "-pk")  # the latest pause
        .values_list("old_status", flat=True)
        .first()
    ) or "connected"


def credential_fingerprint(store: Store) -> Credential | None:
    """The store's credential without any secret in it (one query): last fours, when, by whom."""
    return Credential.objects.fingerprints_only().select_related("created_by").filter(store=store).first()


def recent_traffic_signals(store: Store, limit: int = 10) -> list[TrafficSignal]:
    """The console's store page: the latest traffic signals and who saw them
    (one query, the (store, -time) index)."""
    return list(TrafficSignal.objects.filter(store=store).select_related("client").order_by("-created_at")[:limit])
