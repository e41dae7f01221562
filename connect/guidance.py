"""What a store's status means for the merchant, and what to do about it."""

from __future__ import annotations

import copy
from dataclasses import dataclass

from stores.bigcommerce.scopes import REQUIRED_SCOPES, scope_label
from stores.bigcommerce.validation import PLAN_LIMIT_LEAD
from stores.models import Check, Store
from stores.selectors import status_before_pause
from stores.status import BROKEN_STATUSES, CAUSES, StoreStatus

from .templatetags.connect_tags import exact_time, outcome_words


@dataclass(frozen=True)
class Guidance:
    headline: str
    what_to_do: str = ""
    needs_new_account: bool = False  # the fix is a new API account (then Replace credentials)


def for_store(store: Store, latest: Check | None = None) -> Guidance:
    """What the store page's card says; `latest` is the newest check the merchant may see."""
    status = store.status
    if status == StoreStatus.CONNECTED:
        if latest is not None and latest.outcome != "connected":
            return _unconfirmed(store, latest)
        return Guidance("Violet can use this store. Every scope it needs is granted.")
    if status == StoreStatus.PENDING:
        return Guidance("Waiting for the first check.")
    if status == StoreStatus.MISSING_SCOPES:
        missing = ", ".join(scope_label(p) for p in store.missing_scopes) or "one or more scopes"
        return Guidance(
            f"The API account is missing: {missing}.",
            "BigCommerce does not let anyone change a store-level API account's scopes. Create a new "
            "API account with all six scopes, then replace the credentials (Replace credentials, on this "
            "store's page).",
            needs_new_account=True,
        )
    if status == StoreStatus.REVOKED:
        return Guidance(
            CAUSES[StoreStatus.REVOKED],
            "Create a new API account with all six scopes, then replace the credentials (Replace credentials, "
            "on this store's page).",
            needs_new_account=True,
        )
    if status == StoreStatus.STORE_UNAVAILABLE:
        return Guidance(
            CAUSES[StoreStatus.STORE_UNAVAILABLE],
            "Nothing to do if it is maintenance: Violet keeps checking. If the store is suspended, "
            "check your BigCommerce billing.",
        )
    if status == StoreStatus.REFUSED:
        if store.problem.startswith(PLAN_LIMIT_LEAD):  # a 507: say what it is
            return Guidance("BigCommerce refuses some of Violet's requests: the store is at a limit of its plan.",
                            store.problem)
        return Guidance(
            CAUSES[StoreStatus.REFUSED],
            "A new API account would not help. Check that the store owner's BigCommerce account is in good "
            "standing (billing, permissions). Violet staff have been told and are looking into it; write to "
            "support@violet.io if it lasts.",
        )
    if status == StoreStatus.UNREACHABLE:
        return Guidance(
            CAUSES[StoreStatus.UNREACHABLE],
            "Usually a passing problem on BigCommerce's side. Violet keeps trying; nothing to do yet.",
        )
    if status == StoreStatus.PAUSED:
        paused = Guidance("Violet staff paused the checks of this store.", "Write to support@violet.io to know more.")
        before = StoreStatus(status_before_pause(store))
        if before not in BROKEN_STATUSES:
            return paused
        # Paused while broken: the fix still applies, and the merchant must see it.
        broken = for_store(_as_status(store, before))
        return Guidance(
            f"{broken.headline} {paused.headline}",
            f"{broken.what_to_do} Checks resume once Violet staff lift the pause; write to support@violet.io "
            "when you have fixed it.",
            needs_new_account=broken.needs_new_account,
        )
    return Guidance(
        "This store is disconnected: Violet deleted its credentials.",
        "To connect it again, go through the wizard: if its API account still exists in BigCommerce, "
        "the same values work; if you deleted it, create a new one.",
    )


def _unconfirmed(store: Store, latest: Check) -> Guidance:
    """Still connected, but the newest check failed: say what it saw and what happens
    next, never "every scope is granted" over a failed check (a definitive answer
    is confirmed by a second check before the status changes)."""
    saw = f"The last check, at {exact_time(latest.started_at)}, did not pass: {outcome_words(latest.outcome)}."
    if store.suspected_status:
        label = StoreStatus(store.suspected_status).label.lower()
        when = f"at {exact_time(store.next_check_at)}" if store.next_check_at else "shortly"
        return Guidance(
            saw,
            f"Violet checks again {when} before it calls this store {label}; nothing changes until then. "
            "If you deleted or replaced its API account in BigCommerce, replace the credentials (Replace "
            "credentials, on this store's page).",
        )
    return Guidance(
        saw,
        "Usually a passing problem on BigCommerce's side: Violet keeps checking, and only a problem that "
        "lasts changes the store's status.",
    )


def _as_status(store: Store, status: StoreStatus) -> Store:
    """A copy of `store` that reads as `status` (for the guidance of the status before a pause)."""
    other = copy.copy(store)
    other.status = status
    return other


def scope_rows(check: Check) -> list[dict]:
    """The latest check's answer for each scope, in the guide's order and words."""
    return [
        {"label": scope.label, "param": scope.param, "state": check.scopes.get(scope.param, "unknown")}
        for scope in REQUIRED_SCOPES
    ]
