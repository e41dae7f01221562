"""From a status change to an event: its type, its stable id, its JSON body."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.urls import reverse

from stores.bigcommerce.scopes import scope_label
from stores.incident_rule import KIND_WORDS, IncidentKind
from stores.models import Incident, StatusChange
from stores.status import BROKEN_STATUSES, StoreStatus

EVENT_BY_STATUS = {
    StoreStatus.MISSING_SCOPES: "store.missing_scopes",
    StoreStatus.REVOKED: "store.revoked",
    StoreStatus.STORE_UNAVAILABLE: "store.unavailable",
    StoreStatus.REFUSED: "store.refused",
    StoreStatus.UNREACHABLE: "store.unreachable",
    StoreStatus.DISCONNECTED: "store.disconnected",
}
EVENT_TYPES = (
    "store.connected",
    "store.missing_scopes",
    "store.revoked",
    "store.unavailable",
    "store.refused",
    "store.unreachable",
    "store.recovered",
    "store.disconnected",
    # Fleet-wide incidents (staff's, never a merchant's): one when it opens, one when it closes.
    "incident.opened",
    "incident.closed",
)
_EVENT_NAMESPACE = uuid.UUID("6f1d3c52-8a0e-4d1b-9b57-8e7f0b9a4c21")


def event_type_for(change: StatusChange) -> str | None:
    """The event a status change announces, or None (e.g. staff pausing checks)."""
    new, old = StoreStatus(change.new_status), change.old_status
    if old == StoreStatus.PAUSED:
        return None  # resuming checks: staff's doing, and the status before the pause was announced then
    if new == StoreStatus.CONNECTED:
        if old in BROKEN_STATUSES:
            return "store.recovered"
        if old in (StoreStatus.PENDING, StoreStatus.DISCONNECTED):
            return "store.connected"
        return None  # resumed after a pause
    return EVENT_BY_STATUS.get(new)


def event_id_for(change: StatusChange) -> str:
    """Stable across retries and re-runs: receivers deduplicate on it."""
    return "evt_" + uuid.uuid5(_EVENT_NAMESPACE, f"status-change:{change.pk}").hex


def store_page_url(change: StatusChange) -> str:
    store = change.store
    path = reverse("connect:store_detail", args=[store.merchant.slug, store.store_hash])
    return f"{settings.PUBLIC_BASE_URL}{path}"


def api_accounts_url(store_hash: str) -> str:
    """BigCommerce's Settings → API → Store-level API accounts page for this store."""
    return f"https://store-{store_hash}.mybigcommerce.com/manage/settings/api-accounts"


def event_payload(change: StatusChange, event_type: str) -> dict[str, Any]:
    store = change.store
    return {
        "id": event_id_for(change),
        "type": event_type,
        "created_at": change.created_at.isoformat(),
        "data": {
            "store_hash": store.store_hash,
            "store_name": store.name,
            "domain": store.domain,
            "merchant": {"id": store.merchant_id, "name": store.merchant.name},
            "status": change.new_status,
            "previous_status": change.old_status,
            "reason": change.reason,
            "missing_scopes": [{"scope": param, "label": scope_label(param)} for param in store.missing_scopes]
            if change.new_status == StoreStatus.MISSING_SCOPES
            else [],
            "changed_at": change.created_at.isoformat(),
            "portal_url": store_page_url(change),
        },
    }


def incident_event_id(incident: Incident, event_type: str) -> str:
    return "evt_" + uuid.uuid5(_EVENT_NAMESPACE, f"incident:{incident.pk}:{event_type}").hex


def incident_page_url(incident: Incident) -> str:
    return f"{settings.PUBLIC_BASE_URL}{reverse('admin:stores_incident_change', args=[incident.pk])}"


def incident_payload(incident: Incident, event_type: str) -> dict[str, Any]:
    """An incident's event: what failed, how widely, since when, examples; on
    closing, what was held. No store's secret: examples are checks' evidence."""
    return {
        "id": incident_event_id(incident, event_type),
        "type": event_type,
        "created_at": (incident.closed_at if event_type == "incident.closed" else incident.opened_at).isoformat(),
        "data": {
            "incident_id": incident.pk,
            "kind": incident.kind,
            "what": KIND_WORDS[IncidentKind(incident.kind)],
            "opened_at": incident.opened_at.isoformat(),
            "closed_at": incident.closed_at.isoformat() if incident.closed_at else None,
            "reason": incident.reason,
            "by_reference": incident.by_reference,
            "stores_at_open": incident.stores_at_open,
            "checks_at_open": incident.checks_at_open,
            "examples": incident.examples,
            "held_stores": incident.held_stores_count,
            "held_checks": incident.held_checks_count,
            "close_reason": incident.close_reason,
            "console_url": incident_page_url(incident),
        },
    }
