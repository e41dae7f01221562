"""The import itself: check each row as the wizard would, settle what the
database already knows, check the rest live (bounded concurrency), save each
usable store through the wizard's services."""


from __future__ import annotations

import asyncio
import hmac
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.views.decorators.debug import sensitive_variables

from config.crypto import UndecryptableCredential
from merchants import services as merchant_services
from merchants.models import Merchant

from .. import services
from ..bigcommerce.client import AiohttpTransport, BigCommerceClient
from ..bigcommerce.doctor import diagnose
from ..bigcommerce.report import Credentials, Outcome, Problem, Report
from ..bigcommerce.scopes import scope_label
from ..bigcommerce.validation import validate
from ..models import Credential, Store
from ..status import StoreStatus
from ..verification import client_options
from .files import CREDENTIAL_FIELDS, SLUG, ImportRow
from .report import ImportOutcome, ImportReport, RowResult

logger = logging.getLogger("stores.importing")

DEFAULT_CONCURRENCY = 20
MAX_CONCURRENCY = 200

# --- the import -------------------------------------------------------------------------


@dataclass(repr=False)
class _Item:
    """A row on its way: the merchant it goes to and its cleaned credentials."""

    result: RowResult
    credentials: Credentials | None = None
    merchant: Merchant | None = None
    existing: Store | None = None

    def __repr__(self) -> str:
        return f"<_Item line {self.result.row} {self.result.store_hash}>"


@dataclass(frozen=True)
class _NewMerchant:
    name: str
    owner_email: str


Progress = Callable[[int], None]  # called with how many rows were just settled


@sensitive_variables("rows", "row", "values", "diagnosis", "items")
def import_stores(
    rows: list[ImportRow],
    *,
    dry_run: bool = False,
    keep_broken: bool = False,
    concurrency: int = DEFAULT_CONCURRENCY,
    user=None,
    on_progress: Progress | None = None,
) -> ImportReport:
    """Validate every row as the wizard would and save the usable ones (see the module's steps)."""
    began = time.perf_counter()
    concurrency = max(1, min(int(concurrency), MAX_CONCURRENCY))
    progress = on_progress or (lambda count: None)
    merchants, new_merchants = _merchants_for(rows)
    items = [_diagnose(row, merchants, new_merchants) for row in rows]
    _settle_known(items)
    settled = sum(1 for item in items if item.credentials is None)
    if settled:
        progress(settled)
    to_check = [item for item in items if item.credentials is not None]
    created: dict[str, Merchant | None] = {}
    for item, report, duration_ms in _live_checks(to_check, concurrency):
        _conclude(
            item,
            report,
            duration_ms,
            dry_run=dry_run,
            keep_broken=keep_broken,
            user=user,
            new_merchants=new_merchants,
            created=created,
        )
        progress(1)
    result = ImportReport(
        rows=[item.result for item in items],
        dry_run=dry_run,
        keep_broken=keep_broken,
        seconds=time.perf_counter() - began,
        requests_made=len(to_check),
    )
    logger.info("%s", result.log_summary())
    return result


def _merchants_for(rows: list[ImportRow]) -> tuple[dict[str, Merchant], dict[str, _NewMerchant]]:
    """Existing merchants by slug (one query), and those the file may create:
    an unknown slug whose name and owner's email some row gives (the first such row wins)."""
    slugs = {row.values.get("merchant", "").strip().lower() for row in rows} - {""}
    merchants = {merchant.slug: merchant for merchant in Merchant.objects.filter(slug__in=slugs)}
    new: dict[str, _NewMerchant] = {}
    for row in rows:
        slug = row.values.get("merchant", "").strip().lower()
        name = row.values.get("merchant_name", "").strip()
        email = row.values.get("owner_email", "").strip().lower()
        if slug and slug not in merchants and slug not in new and name and email:
            if not _merchant_problems(slug, name, email):
                new[slug] = _NewMerchant(name, email)
    return merchants, new


def _merchant_problems(slug: str, name: str, email: str) -> list[Problem]:
    problems = []
    if not SLUG.fullmatch(slug):
        problems.append(
            Problem("merchant", "bad_merchant", "The merchant must be a slug: lowercase letters, digits, - and _.")
        )
    if len(name) > Merchant._meta.get_field("name").max_length:
        problems.append(Problem("merchant_name", "too_long", "The merchant name is longer than 200 characters."))
    if email:
        try:
            validate_email(email)
        except ValidationError:
            problems.append(Problem("owner_email", "bad_email", "The owner's email address is not valid."))
    return problems


@sensitive_variables("row", "values", "diagnosis")
def _diagnose(row: ImportRow, merchants: dict[str, Merchant], new: dict[str, _NewMerchant]) -> _Item:
    values = row.values
    slug = values.get("merchant", "").strip().lower()
    diagnosis = diagnose(**{name: values.get(name, "") for name in CREDENTIAL_FIELDS})
    store_hash = diagnosis.credentials.store_hash if diagnosis.ok else ""
    # A slug is shown only when it names a merchant: in a row whose cells are
    # shifted, the merchant cell may hold a secret.
    known = slug in merchants or slug in new
    result = RowResult(
        row=row.line, merchant=slug if known else "", store_hash=store_hash, outcome=ImportOutcome.MALFORMED_INPUT
    )
    item = _Item(result=result)
    problems: list[Problem] = []
    if not slug:
        problems.append(Problem("merchant", "required", "The merchant (its slug) is missing."))
    elif not known:
        # Unknown: the name and email this row gives are checked, or are missing.
        name, email = values.get("merchant_name", "").strip(), values.get("owner_email", "").strip()
        problems += _merchant_problems(slug, name, email)
        if not problems:
            problems.append(
                Problem(
                    "merchant",
                    "unknown_merchant",
                    "No merchant has the slug in this row's merchant column. To create one, give its "
                    "merchant_name and owner_email (on this row or another row of the file).",
                )
            )
    problems += diagnosis.problems
    if problems:
        result.problems = problems
        return item
    item.credentials = diagnosis.credentials
    item.merchant = merchants.get(slug)
    result.access_token_ending = "…" + diagnosis.credentials.access_token[-4:]
    return item


def _settle_known(items: list[_Item]) -> None:
    """Rows the database already answers, without a request: a store twice in
    the file, a store of another merchant, the same credentials already stored."""
    usable = [item for item in items if item.credentials is not None]
    hashes = {item.credentials.store_hash for item in usable}
    stores = {store.store_hash: store for store in Store.objects.filter(store_hash__in=hashes)}
    first_line: dict[str, int] = {}
    for item in usable:
        store_hash = item.credentials.store_hash
        if store_hash in first_line:
            item.result.problems = [
                Problem(
                    "api_path",
                    "duplicate_store",
                    f"Store {store_hash} is also on line {first_line[store_hash]}; only its first line is imported.",
                )
            ]
            item.credentials = None
            continue
        first_line[store_hash] = item.result.row
        store = stores.get(store_hash)
        if store is None or store.status == StoreStatus.DISCONNECTED:
            continue  # free for any merchant: `store_connect` gives it to this row's
        if item.merchant is None or store.merchant_id != item.merchant.pk:
            _refuse_elsewhere(item)
        else:
            item.existing = store
    candidates = [item for item in usable if item.existing is not None and item.credentials is not None]
    for item in _same_credentials(candidates):
        item.result.outcome = ImportOutcome.UNCHANGED
        item.credentials = None


def _refuse_elsewhere(item: _Item) -> None:
    item.result.outcome = ImportOutcome.CONNECTED_ELSEWHERE
    item.result.problems = [
        Problem(
            "",
            "owned_elsewhere",
            "This store is already connected to Violet under another merchant; nothing was changed.",
        )
    ]
    item.credentials = None


@sensitive_variables("stored", "given")
def _same_credentials(items: list[_Item]) -> list[_Item]:
    """The items whose store already holds exactly these credentials. The last
    four characters are compared first; only stores whose fingerprints all
    match have their values decrypted (by the credential model, through
    `config.crypto`), and compared in constant time."""
    by_store = {item.existing.pk: item for item in items}
    fingerprints = Credential.objects.fingerprints_only().filter(store_id__in=list(by_store))
    maybe = [
        row.store_id
        for row in fingerprints
        if (row.client_id_last4, row.client_secret_last4, row.access_token_last4)
        == _last4(by_store[row.store_id].credentials)
    ]
    same = []
    for store_id in maybe:
        try:
            stored = Credential.objects.get(store_id=store_id)
        except UndecryptableCredential:
            continue  # no key decrypts it: the file's credentials will replace it
        given = by_store[store_id].credentials
        if all(
            hmac.compare_digest(getattr(stored, name).encode(), getattr(given, name).encode())
            for name in Credential.SECRET_FIELDS
        ):
            same.append(by_store[store_id])
    return same


@sensitive_variables("credentials")
def _last4(credentials: Credentials) -> tuple[str, str, str]:
    return credentials.client_id[-4:], credentials.client_secret[-4:], credentials.access_token[-4:]


def _live_checks(items: list[_Item], concurrency: int) -> Iterator[tuple[_Item, Report, int]]:
    """Each item with its live check's report, in the order they finish.

    The checks run on an event loop in a thread of their own (no database
    there); this generator hands each answer to the calling thread, which
    saves it while the next checks are in flight.
    """
    if not items:
        return
    answers: queue.Queue = queue.Queue()
    stop = threading.Event()
    done = object()

    async def check_all() -> None:
        gate = asyncio.Semaphore(concurrency)
        # Each check fires 7 requests at once: room for all of them.
        client = BigCommerceClient(
            settings.BIGCOMMERCE_API_URL, AiohttpTransport(limit=concurrency * 8), **client_options()
        )

        async def one(index: int) -> None:
            async with gate:
                if stop.is_set():
                    return
                began = time.perf_counter()
                report = await validate(items[index].credentials, client=client, baseline=True)
                answers.put((index, report, int((time.perf_counter() - began) * 1000)))

        async with client:
            await asyncio.gather(*(one(index) for index in range(len(items))))

    def run() -> None:
        try:
            asyncio.run(check_all())
        except BaseException as error:  # handed to the calling thread
            answers.put(error)
        finally:
            answers.put(done)

    thread = threading.Thread(target=run, name="store-import-checks", daemon=True)
    thread.start()
    try:
        while (answer := answers.get()) is not done:
            if isinstance(answer, BaseException):
                raise RuntimeError(f"The live checks failed: {type(answer).__name__}") from None
            index, report, duration_ms = answer
            yield items[index], report, duration_ms
    finally:
        stop.set()
        thread.join()


_REFUSED = {
    Outcome.MISSING_SCOPES: ImportOutcome.MISSING_SCOPES,
    Outcome.INVALID_TOKEN: ImportOutcome.INVALID_TOKEN,
    Outcome.STORE_NOT_FOUND: ImportOutcome.STORE_NOT_FOUND,
    Outcome.STORE_UNAVAILABLE: ImportOutcome.STORE_UNAVAILABLE,
    Outcome.PLAN_LIMIT: ImportOutcome.PLAN_LIMIT,
    Outcome.RATE_LIMITED: ImportOutcome.RATE_LIMITED,
    Outcome.UNREACHABLE: ImportOutcome.UNREACHABLE,
    Outcome.MALFORMED_INPUT: ImportOutcome.MALFORMED_INPUT,
}


def _conclude(
    item: _Item,
    report: Report,
    duration_ms: int,
    *,
    dry_run: bool,
    keep_broken: bool,
    user,
    new_merchants: dict[str, _NewMerchant],
    created: dict[str, Merchant | None],
) -> None:
    """Turn one live check into the row's outcome, and save the store unless dry."""
    result = item.result
    result.problems = list(report.problems)
    result.missing_scopes = [scope_label(param) for param in report.missing_scopes]
    keep = keep_broken and report.outcome == Outcome.MISSING_SCOPES and item.existing is None
    if report.outcome != Outcome.CONNECTED and not keep:
        result.outcome = _REFUSED.get(report.outcome, ImportOutcome.UNREACHABLE)
        return
    if report.outcome == Outcome.CONNECTED:
        result.outcome = ImportOutcome.REPLACED if item.existing is not None else ImportOutcome.CONNECTED
    else:
        result.outcome, result.kept = ImportOutcome.MISSING_SCOPES, True
    slug = result.merchant
    needs_merchant = item.merchant is None and slug not in created
    if dry_run:
        if needs_merchant:
            result.merchant_created = True
            created[slug] = None  # this row would create it; later rows would reuse it
        return
    try:
        with transaction.atomic():
            merchant = item.merchant or created.get(slug)
            if merchant is None:
                plan = new_merchants[slug]
                merchant = merchant_services.merchant_create_invited(
                    name=plan.name, slug=slug, owner_email=plan.owner_email, invited_by=user
                )
                result.merchant_created = True
            _save(item, merchant, report, duration_ms, keep=keep, user=user)
    except services.StoreOwnedElsewhere:
        # Another writer connected it meanwhile: theirs stands.
        result.merchant_created, result.kept = False, False
        _refuse_elsewhere(item)
        return
    if result.merchant_created:
        created[slug] = merchant


def _save(item: _Item, merchant: Merchant, report: Report, duration_ms: int, *, keep: bool, user) -> None:
    options = {"credentials": item.credentials, "report": report, "user": user, "duration_ms": duration_ms}
    if keep:
        services.store_keep_missing_scopes(merchant=merchant, **options)
    elif item.existing is not None:
        services.store_replace_credentials(store=item.existing, **options)
    else:
        services.store_connect(merchant=merchant, **options)
