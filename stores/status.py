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

# What a broken status means, in the merchant's words: the store page's card,
# the status-change line and the status e-mail all say this one text, so a
# cause is never told two ways (the live check's own problem text is written
# for the wizard, where the values were just typed).
CAUSES = {
    StoreStatus.REVOKED: "Violet's access token no longer works: the API account was most likely deleted.",
    StoreStatus.STORE_UNAVAILABLE: (
        "BigCommerce says the store is unavailable: down for maintenance, upgrading, or suspended."
    ),
    StoreStatus.REFUSED: (
        "BigCommerce refuses Violet's requests for this store, for another reason than a missing scope."
    ),
    StoreStatus.UNREACHABLE: "Violet has not been able to reach BigCommerce for this store for a while.",
}
