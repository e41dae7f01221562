"""One attempt at connecting a store (or replacing its credentials), from what
the merchant typed, pasted or uploaded to a connected store or precise problems.

1. Gather the values: the uploaded or pasted `.txt`, then the fields typed
   (a typed value wins), then the secrets kept from the last attempt, when
   they were kept for the store this attempt names.
2. The doctor: paste mistakes are caught without any network call.
3. The throttle: live checks are limited per merchant and per address.
4. The live check (token, store hash, every scope).
5. Connect or replace through the store services; or keep, encrypted and for
   a short while, the secrets that were fine, and say what to fix.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.views.decorators.debug import sensitive_variables

from merchants.models import Merchant, User
from stores import services
from stores.bigcommerce.doctor import DoctorError, diagnose, parse_credentials_text, store_hash_from_api_path
from stores.bigcommerce.report import Outcome, Problem, Report
from stores.models import Store
from stores.selectors import credential_fingerprint
from stores.status import StoreStatus
from stores.verification import verify_credentials

from . import throttle
from .models import CredentialDraft

SECRET_FIELDS = CredentialDraft.SECRET_FIELDS
# After a live check fails, which secrets are still worth keeping.
KEEP_AFTER = {
    Outcome.INVALID_TOKEN: ("client_id", "client_secret"),
    Outcome.CREDENTIALS_REJECTED: ("client_id", "client_secret"),
    # Not the account's fault: keep everything for the next try.
    Outcome.FORBIDDEN: SECRET_FIELDS,
    Outcome.STORE_NOT_FOUND: SECRET_FIELDS,
    Outcome.STORE_UNAVAILABLE: SECRET_FIELDS,
    Outcome.UNREACHABLE: SECRET_FIELDS,
    Outcome.RATE_LIMITED: SECRET_FIELDS,
    Outcome.PLAN_LIMIT: SECRET_FIELDS,
    # Scopes cannot be changed: a new API account brings all-new values.
    Outcome.MISSING_SCOPES: (),
}


@dataclass
class Attempt:
    store: Store | None = None
    report: Report | None = None
    problems: list[Problem] = field(default_factory=list)
    kept: dict[str, str] = field(default_factory=dict)  # field → last 4, never more
    kept_store_hash: str = ""  # the store they were kept for ("" when none was named)
    throttled_for: int = 0  # seconds to wait, when throttled
    replaced: bool = False
    unchanged: bool = False  # "replaced" by the very credentials already in use
    # After a replacement: the old API account's Client ID ending, so the merchant can delete it.
    previous_client_id_last4: str = ""

    @property
    def ok(self) -> bool:
        return self.store is not None


def draft_for(merchant: Merchant, user: User, target: str = "") -> CredentialDraft | None:
    """The kept secrets, decrypted (for the next attempt), unless they expired."""
    return CredentialDraft.objects.live().filter(merchant=merchant, user=user, target=target).first()


def kept_for(merchant: Merchant, user: User, target: str = "") -> dict[str, str]:
    """{field: last 4 characters} of what is kept, without decrypting anything."""
    draft = kept_draft(merchant, user, target)
    return draft.kept() if draft else {}


def kept_draft(merchant: Merchant, user: User, target: str = "") -> CredentialDraft | None:
    """The kept draft with its secrets left unread (their ends, its store, its last problems)."""
    return (
        CredentialDraft.objects.live().fingerprints_only().filter(merchant=merchant, user=user, target=target).first()
    )


def named_store_hash(values: dict[str, str], store: Store | None = None) -> str:
    """The store an attempt is for: the store whose credentials are replaced, else
    the one its API path (or store hash) names; "" when it names none."""
    if store is not None:
        return store.store_hash
    for name in ("api_path", "store_hash"):
        try:
            return store_hash_from_api_path(values.get(name, ""))
        except DoctorError:
            continue
    return ""


def drafts_forget_expired() -> int:
    """Kept secrets live 30 minutes; then they are deleted, whoever comes back."""
    return CredentialDraft.objects.exclude(pk__in=CredentialDraft.objects.live().values("pk")).delete()[0]


def draft_discard(merchant: Merchant, user: User, target: str = "", fields=SECRET_FIELDS) -> None:
    draft = draft_for(merchant, user, target)
    if draft is None:
        return
    for name in fields:
        setattr(draft, name, "")
        setattr(draft, f"{name}_last4", "")
    if draft.kept():
        draft.save()
    else:
        draft.delete()


@dataclass
class _Gathered:
    values: dict[str, str]
    problems: list[Problem]
    store_hash: str  # the store these values name ("" when none)
    draft_used: bool  # whether the kept values were for that store (and so filled the gaps)


@sensitive_variables("values", "typed", "parsed", "draft", "file_text")
def _gather(
    typed: dict[str, str], file_text: str | bytes | None, draft: CredentialDraft | None, store: Store | None
) -> _Gathered:
    values: dict[str, str] = {}
    if file_text:
        parsed, problems = parse_credentials_text(file_text)
        if problems:
            return _Gathered({}, problems, "", False)
        values.update({k: v for k, v in parsed.items() if v})
    for name, value in typed.items():
        if value and value.strip():
            values[name] = value
    store_hash = named_store_hash(values, store)
    # Kept values belong to the store they were typed for: a Client ID kept while
    # connecting one store never completes an attempt at another.
    draft_used = draft is not None and draft.applies_to(store_hash)
    if draft_used:
        for name in SECRET_FIELDS:
            if not values.get(name) and getattr(draft, name):
                values[name] = getattr(draft, name)
    return _Gathered(values, [], store_hash, draft_used)


def _problem_rows(problems: list[Problem]) -> list[dict[str, str]]:
    return [{"field": p.field, "code": p.code, "message": p.message} for p in problems]


@sensitive_variables("values", "keep", "draft")
def _keep(
    merchant: Merchant,
    user: User,
    target: str,
    values: dict[str, str],
    keep,
    *,
    store_hash: str,
    problems: list[Problem] = (),
) -> dict[str, str]:
    """Keep these secrets (encrypted, short-lived) for the next attempt at
    `store_hash`, with the problems they met; forget the rest."""
    keep = [name for name in keep if values.get(name)]
    if not keep:
        CredentialDraft.objects.filter(merchant=merchant, user=user, target=target).delete()
        return {}
    draft = CredentialDraft.objects.filter(merchant=merchant, user=user, target=target).first()
    draft = draft or CredentialDraft(merchant=merchant, user=user, target=target)
    for name in SECRET_FIELDS:
        value = values.get(name, "").strip() if name in keep else ""
        setattr(draft, name, value)
        setattr(draft, f"{name}_last4", value[-4:])
    draft.store_hash = store_hash
    draft.last_problems = _problem_rows(list(problems))
    draft.expires_at = CredentialDraft.new_expiry()
    draft.save()
    return draft.kept()


@sensitive_variables("typed", "values", "draft", "gathered")
def kept_replace(*, merchant: Merchant, user: User, typed: dict[str, str], field: str, store: Store | None = None):
    """ "Replace the kept …": forget that kept value, and keep what came with the
    press — the other values typed, the store they are for, the last problems
    (but those about a secret typed anew) — so the page comes back as it was,
    that box empty. A value typed into the replaced box itself is its replacement."""
    target = store.store_hash if store else ""
    draft = draft_for(merchant, user, target)
    gathered = _gather(typed, None, draft, store)
    values = gathered.values
    if field in SECRET_FIELDS and not (typed.get(field) or "").strip():
        values.pop(field, None)
    problems = [Problem(**row) for row in draft.last_problems] if draft is not None and gathered.draft_used else []
    # A secret typed anew with the press is not the one its last problem was about.
    problems = [p for p in problems if not (p.field in SECRET_FIELDS and (typed.get(p.field) or "").strip())]
    kept = _keep(merchant, user, target, values, SECRET_FIELDS, store_hash=gathered.store_hash, problems=problems)
    return Attempt(problems=problems, kept=kept, kept_store_hash=gathered.store_hash if kept else "")


@sensitive_variables("values")
def _refused(draft_key, values: dict[str, str], store_hash: str, problems: list[Problem], keep, **more) -> Attempt:
    """A refused attempt: keep what was fine (for `store_hash`), say what was not."""
    kept = _keep(*draft_key, values, keep, store_hash=store_hash, problems=problems)
    return Attempt(problems=problems, kept=kept, kept_store_hash=store_hash if kept else "", **more)


@sensitive_variables("typed", "file_text", "values", "gathered", "diagnosis", "credentials")
def connect_attempt(
    *,
    merchant: Merchant,
    user: User,
    typed: dict[str, str],
    file_text: str | bytes | None = None,
    client_address: str = "",
    store: Store | None = None,
) -> Attempt:
    """Connect a new store, or with `store`, replace that store's credentials."""
    target = store.store_hash if store else ""
    draft = draft_for(merchant, user, target)
    gathered = _gather(typed, file_text, draft, store)
    if gathered.problems:
        kept = draft.kept() if draft else {}
        return Attempt(problems=gathered.problems, kept=kept, kept_store_hash=draft.store_hash if kept else "")
    values, named = gathered.values, gathered.store_hash
    if store is not None and not values.get("api_path") and not values.get("store_hash"):
        values["store_hash"] = store.store_hash

    # Closures would hold `values` in frames sensitive_variables does not cover: plain calls only.
    draft_key = (merchant, user, target)
    diagnosis = diagnose(
        api_path=values.get("api_path", ""),
        store_hash=values.get("store_hash", ""),
        client_id=values.get("client_id", ""),
        client_secret=values.get("client_secret", ""),
        access_token=values.get("access_token", ""),
    )
    if not diagnosis.ok:
        flawed = {problem.field for problem in diagnosis.problems}
        fine = [n for n in SECRET_FIELDS if n not in flawed]
        return _refused(draft_key, values, named, diagnosis.problems, fine)
    credentials = diagnosis.credentials
    if store is not None and credentials.store_hash != store.store_hash:
        problem = Problem(
            "api_path",
            "other_store",
            f"These credentials are for another store ({credentials.store_hash}), not "
            f"{store.store_hash}. Create the API account in this store's control panel.",
        )
        return _refused(draft_key, values, named, [problem], SECRET_FIELDS)

    wait = _throttled(merchant, client_address)
    if wait:
        return _refused(draft_key, values, named, [], SECRET_FIELDS, throttled_for=wait)

    report, duration_ms = verify_credentials(credentials)
    existing = Store.objects.filter(store_hash=credentials.store_hash).first()
    previous_last4, unchanged = "", False
    if report.outcome == Outcome.MISSING_SCOPES and _owned_elsewhere(existing, merchant):
        # Ownership first: a merchant told to fix the scopes would build a new API
        # account only to be refused. Said only once the token has proved it opens
        # this store (as after a full pass), so a typed hash reveals nothing.
        CredentialDraft.objects.filter(merchant=merchant, user=user, target=target).delete()
        return Attempt(problems=[OWNED_ELSEWHERE])  # not the report: its scopes are not this merchant's to fix
    if not report.ok:
        return _refused(draft_key, values, named, report.problems, KEEP_AFTER.get(report.outcome, ()), report=report)

    try:
        with transaction.atomic():
            if (
                existing is not None
                and existing.merchant_id == merchant.pk
                and existing.status != StoreStatus.DISCONNECTED
            ):
                previous = credential_fingerprint(existing)
                unchanged = services.credentials_unchanged(existing, credentials)
                connected = services.store_replace_credentials(
                    store=existing, credentials=credentials, report=report, user=user, duration_ms=duration_ms
                )
                replaced = True
                if previous is not None and previous.client_id_last4 != credentials.client_id[-4:]:
                    previous_last4 = previous.client_id_last4
            else:
                connected = services.store_connect(
                    merchant=merchant, credentials=credentials, report=report, user=user, duration_ms=duration_ms
                )
                replaced = False
            CredentialDraft.objects.filter(merchant=merchant, user=user, target=target).delete()
    except services.StoreOwnedElsewhere:
        CredentialDraft.objects.filter(merchant=merchant, user=user, target=target).delete()
        return Attempt(report=report, problems=[OWNED_ELSEWHERE])
    return Attempt(
        store=connected, report=report, replaced=replaced, unchanged=unchanged, previous_client_id_last4=previous_last4
    )


OWNED_ELSEWHERE = Problem(
    "",
    "owned_elsewhere",
    "This store is already connected to Violet under another account, so it cannot be "
    "connected here. If you think this is a mistake, write to support@violet.io.",
)


def _owned_elsewhere(existing: Store | None, merchant: Merchant) -> bool:
    """The rule `services.store_connect` applies under its lock, asked early (no lock: it only words a refusal)."""
    return existing is not None and existing.merchant_id != merchant.pk and existing.status != StoreStatus.DISCONNECTED


def _throttled(merchant: Merchant, client_address: str) -> int:
    """Seconds to wait before another live check, or 0 to go ahead."""
    window = settings.CONNECT_THROTTLE_WINDOW_SECONDS
    limits = (
        (f"connect:merchant:{merchant.pk}", settings.CONNECT_THROTTLE_PER_MERCHANT),
        (f"connect:address:{client_address}", settings.CONNECT_THROTTLE_PER_ADDRESS),
    )
    refused = [(key, limit) for key, limit in limits if not throttle.allow(key, limit=limit, window_seconds=window)]
    if not refused:
        return 0
    return max(1, *(throttle.retry_after(key, limit=limit, window_seconds=window) for key, limit in refused))
