"""The six OAuth scopes Violet needs, as BigCommerce names and labels them.

The merchant guide asks for exactly these when creating the Store-level API
account. `param` is BigCommerce's scope parameter name (the key used in every
report); `label` is the text the control panel shows, so the UI can quote it.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Scope:
    param: str
    label: str
    why: str


REQUIRED_SCOPES: tuple[Scope, ...] = (
    Scope(
        param="store_v2_customers",
        label="Customers: modify",
        why="to create and update the shoppers who buy through Violet's channels.",
    ),
    Scope(
        param="store_v2_information_read_only",
        label="Information & settings: read-only",
        why="to read your store's name, plan, currencies and measurement units.",
    ),
    Scope(
        param="store_v2_orders",
        label="Orders: modify",
        why="to place the orders shoppers make on Violet's channels and keep them updated.",
    ),
    Scope(
        param="store_v2_products_read_only",
        label="Products: read-only",
        why="to read your catalog so channels can list your products.",
    ),
    Scope(
        param="store_cart",
        label="Carts: modify",
        why="to build shoppers' carts with your prices, discounts and stock.",
    ),
    Scope(
        param="store_checkout",
        label="Checkouts: modify",
        why="to complete checkouts with shipping, taxes and payment.",
    ),
)

SCOPES_BY_PARAM: dict[str, Scope] = {scope.param: scope for scope in REQUIRED_SCOPES}


def scope_label(param: str) -> str:
    """The control panel's label for a scope parameter, or the parameter itself."""
    scope = SCOPES_BY_PARAM.get(param)
    return scope.label if scope else param


# Which required scope a call needs, by the first segments of its path
# (relative to /stores/{store_hash}, as `client.normalise_path` writes it).
# BigCommerce's "API Accounts & OAuth Scopes" page lists each endpoint under
# its scope; only the endpoints of the six scopes Violet requires are here.
# A path missing from this table needs a scope the portal does not watch: a
# scope error there tells nothing about the store's API account as Violet
# asked for it.
_SCOPE_OF_PREFIX: tuple[tuple[str, str], ...] = (
    ("/v2/customers", "store_v2_customers"),
    ("/v3/customers", "store_v2_customers"),
    ("/v2/store", "store_v2_information_read_only"),
    ("/v2/currencies", "store_v2_information_read_only"),
    ("/v3/settings", "store_v2_information_read_only"),
    ("/v2/orders", "store_v2_orders"),
    ("/v3/orders", "store_v2_orders"),
    ("/v2/products", "store_v2_products_read_only"),
    ("/v2/brands", "store_v2_products_read_only"),
    ("/v2/categories", "store_v2_products_read_only"),
    ("/v3/catalog", "store_v2_products_read_only"),
    ("/v3/carts", "store_cart"),
    ("/v3/checkouts", "store_checkout"),
)
# Violet asks for these read-only: a write there is refused by design.
READ_ONLY_SCOPES = frozenset({"store_v2_information_read_only", "store_v2_products_read_only"})
READ_METHODS = frozenset({"GET", "HEAD"})


def scope_for_call(method: str, path: str) -> str | None:
    """The required scope that lets Violet's API account make this call, or
    None: a path outside the table, or a write where Violet asks only to read.

    `path` is a normalised API path (`/v3/catalog/products?limit=1`)."""
    route = path.split("?", 1)[0].rstrip("/").lower()
    for prefix, param in _SCOPE_OF_PREFIX:
        if route == prefix or route.startswith(prefix + "/"):
            if param in READ_ONLY_SCOPES and method.upper() not in READ_METHODS:
                return None
            return param
    return None
