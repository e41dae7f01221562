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
