"""The store status vocabulary, used everywhere: UI, admin, JSON, webhooks."""

from django.db import models


class StoreStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    CONNECTED = "connected", "Connected"
    MISSING_SCOPES = "missing_scopes", "Missing scopes"
    REVOKED = "revoked", "Revoked"
    STORE_UNAVAILABLE = "store_unavailable", "Store unavailable"
    # BigCommerce refuses our requests for another reason than a missing scope.
    REFUSED = "refused", "Refused by BigCommerce"
    UNREACHABLE = "unreachable", "Unreachable"
    PAUSED = "paused", "Paused"
    DISCONNECTED = "disconnected", "Disconnected"


# Statuses that mean Violet cannot use the store right now.
BROKEN_STATUSES = frozenset(
    {
        StoreStatus.MISSING_SCOPES,
        StoreStatus.REVOKED,
        StoreStatus.STORE_UNAVAILABLE,
        StoreStatus.REFUSED,
        StoreStatus.UNREACHABLE,
    }
)
# Statuses the scheduler never checks.
UNCHECKED_STATUSES = frozenset({StoreStatus.PAUSED, StoreStatus.DISCONNECTED})
