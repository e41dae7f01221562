"""OAuth scope names of store-level API accounts and which grants satisfy which need.

A "modify" scope also satisfies reads that its ``_read_only`` variant allows; a
``_read_only`` scope never satisfies a write. Names come from BigCommerce's
"API Accounts & OAuth Scopes" page (see ``docs/bigcommerce/FACTS.md``).
"""

from __future__ import annotations

from collections.abc import Iterable

CUSTOMERS = "store_v2_customers"
CUSTOMERS_RO = "store_v2_customers_read_only"
INFORMATION = "store_v2_information"
INFORMATION_RO = "store_v2_information_read_only"
ORDERS = "store_v2_orders"
ORDERS_RO = "store_v2_orders_read_only"
PRODUCTS = "store_v2_products"
PRODUCTS_RO = "store_v2_products_read_only"
CARTS = "store_cart"
CARTS_RO = "store_cart_read_only"
CHECKOUTS = "store_checkout"
CHECKOUTS_RO = "store_checkout_read_only"

#: The six scopes the portal's guide asks for ("modify" where the guide says modify).
PORTAL_REQUIRED: tuple[str, ...] = (
    CUSTOMERS,
    INFORMATION_RO,
    ORDERS,
    PRODUCTS_RO,
    CARTS,
    CHECKOUTS,
)

#: Read-only variants of every scope the portal asks for.
READ_ONLY_VARIANTS: tuple[str, ...] = (
    CUSTOMERS_RO,
    INFORMATION_RO,
    ORDERS_RO,
    PRODUCTS_RO,
    CARTS_RO,
    CHECKOUTS_RO,
)

#: A requirement is the set of granted scopes any one of which lets a call through.
Requirement = frozenset[str]


def read(modify: str, read_only: str) -> Requirement:
    """Requirement of a read: the read-only scope or its modify counterpart."""
    return frozenset({modify, read_only})


def write(modify: str) -> Requirement:
    """Requirement of a write: only the modify scope."""
    return frozenset({modify})


def satisfies(granted: frozenset[str], requirement: Requirement | None) -> bool:
    """True when ``granted`` meets ``requirement`` (``None`` means: any valid token)."""
    return requirement is None or not granted.isdisjoint(requirement)


def normalise(scopes: Iterable[str]) -> frozenset[str]:
    """Scopes as a frozenset of stripped, non-empty names."""
    return frozenset(s.strip() for s in scopes if s and s.strip())
