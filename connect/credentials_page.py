"""What a credentials page shows after an attempt (`onboarding.connect_attempt`),
built once for the merchant wizard (`connect.views`) and the staff console's
credential replacement alike: which problems go beside which field, what was
kept from the last attempt, the missing scopes, and the HTTP status the page
answers with. Nothing here holds more of a secret than its last 4 characters.
"""

from __future__ import annotations

from dataclasses import dataclass

from merchants.models import Merchant, User
from stores.bigcommerce.doctor import FIELD_LABELS, DoctorError, store_hash_from_api_path
from stores.bigcommerce.report import Outcome, Problem
from stores.bigcommerce.scopes import scope_label
from stores.models import Store

from . import onboarding
from .forms import CredentialsForm

# The POST fields that hold secrets: hidden from error reports
# (`sensitive_post_parameters`) on every page that takes credentials.
# The API path too: a secret pasted into the wrong box is still a secret.
SECRET_POST_FIELDS = ("api_path", "client_id", "client_secret", "access_token", "credentials_text", "credentials_file")


API_PATH = "https://api.bigcommerce.com/stores/{store_hash}/v3/"


@dataclass(frozen=True)
class CredentialsPage:
    status: int
    kept: dict[str, dict[str, str]]  # field → {"label": …, "last4": …}
    field_problems: dict[str, list[Problem]]  # field typed by the merchant → its problems
    general_problems: list[Problem]  # problems that belong to no typed field
    missing_scopes: list[str]  # their labels
    throttled_for: int
    outcome: str
    # The store the attempt reached (its name from BigCommerce, its hash), and
    # the API path to show again: it was fine even when the account was not
    # (a missing scope needs a new API account on the same store).
    checked_store: dict[str, str] | None = None
    api_path: str = ""
    # The store the kept values were typed for (they are offered for it alone).
    kept_store_hash: str = ""

    def kept_last4(self, name: str) -> str:
        return self.kept.get(name, {}).get("last4", "")


def api_path_to_show(typed: object) -> str:
    """What to put back in the API path box after a POST: the canonical API
    path of the store hash the typed value names, or nothing.

    Never the typed text itself: merchants paste an Access token or a Client
    secret into the wrong box, and a value rendered back into a field is in
    the page's HTML (`value="…"`), the browser's history and any cache. A
    store hash (at most 20 letters and digits) is no secret."""
    if not isinstance(typed, str) or not typed.strip():
        return ""
    try:
        return API_PATH.format(store_hash=store_hash_from_api_path(typed))
    except DoctorError:
        return ""


def response_status(*, posted: bool, attempt: onboarding.Attempt | None) -> int:
    """200 for the empty page; after a POST, 400 when the form itself was
    invalid (no attempt was made), 429 when throttled, 422 when refused."""
    if not posted:
        return 200
    if attempt is None:
        return 400
    return 429 if attempt.throttled_for else 422


def problems_by_field(problems: list[Problem]) -> tuple[dict[str, list[Problem]], list[Problem]]:
    """({typed field: its problems}, the other problems). A store hash problem
    belongs beside the API path, where the merchant typed the store hash."""
    by_field = {name: [p for p in problems if p.field == name] for name in CredentialsForm.TYPED_FIELDS}
    by_field["api_path"] += [p for p in problems if p.field == "store_hash"]
    general = [p for p in problems if p.field not in by_field or p.field == "file"]
    return by_field, general


def credentials_page(
    *,
    posted: bool,
    attempt: onboarding.Attempt | None,
    merchant: Merchant,
    user: User,
    store: Store | None = None,
) -> CredentialsPage:
    """The page after `attempt` (None when nothing was tried: a GET, or an invalid form)."""
    if attempt is not None:
        kept, kept_store_hash = attempt.kept, attempt.kept_store_hash
    else:
        draft = onboarding.kept_draft(merchant, user, store.store_hash if store else "")
        kept, kept_store_hash = (draft.kept(), draft.store_hash) if draft else ({}, "")
    field_problems, general = problems_by_field(attempt.problems if attempt else [])
    report = attempt.report if attempt else None
    checked_store = None
    if report is not None and report.store_hash and report.outcome != Outcome.STORE_NOT_FOUND:
        name = (report.store or {}).get("name") or ""
        checked_store = {"name": str(name), "hash": report.store_hash}
    # The API path to put back (no secret: the store's own address): the store the
    # check reached, else the one the kept values are for, else the replaced store.
    shown_hash = (checked_store or {}).get("hash") or (kept_store_hash if kept else "") or (store and store.store_hash)
    return CredentialsPage(
        checked_store=checked_store,
        api_path=API_PATH.format(store_hash=shown_hash) if shown_hash else "",
        kept_store_hash=kept_store_hash if kept else "",
        status=response_status(posted=posted, attempt=attempt),
        kept={name: {"label": FIELD_LABELS[name], "last4": last4} for name, last4 in kept.items()},
        field_problems=field_problems,
        general_problems=general,
        missing_scopes=[scope_label(p) for p in report.missing_scopes] if report else [],
        throttled_for=attempt.throttled_for if attempt else 0,
        outcome=str(report.outcome) if report else "",
    )
