"""Bulk import of existing Store-level API accounts: a CSV or JSON Lines file
in, stores validated live and saved encrypted, a report out.

The command (`manage.py import_stores`) and the staff console's import page
are thin: both call `read_import_file` then `import_stores`, which

1. checks each row's merchant (an unknown one is created, with its owner
   invited by email, when the file gives its name and owner's email) and runs
   the wizard's doctor on its values: refused rows make no request at all;
2. settles without a request the rows whose answer the database already
   knows: a store connected under another merchant (`connected_elsewhere`;
   a disconnected one is free and moves to the row's merchant), the same
   credentials already stored (`unchanged`), a store twice in the file;
3. runs the wizard's live check (`validate`, baseline included) on the rest,
   at most `concurrency` stores at a time, over the fleet's aiohttp client, in
   a thread of its own, while
4. this thread saves each usable store, as soon as its answer arrives,
   through the wizard's services (`store_connect`, or
   `store_replace_credentials` for a store this merchant already has; with
   `keep_broken`, `store_keep_missing_scopes`), one transaction per row.

A dry run does 1-3 and writes nothing. No secret ever reaches the report, a
log line or an exception: rows carry `Credentials` (whose repr shows the last
four characters) and results carry fingerprints at most.
"""

from __future__ import annotations

import asyncio
import csv
import hmac
import io
import json
import logging
import queue
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from enum import StrEnum

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.views.decorators.debug import sensitive_variables

from merchants import services as merchant_services
from merchants.models import Merchant

from . import services
from .bigcommerce.client import AiohttpTransport, BigCommerceClient
from .bigcommerce.doctor import diagnose
from .bigcommerce.report import Credentials, Outcome, Problem, Report
from .bigcommerce.scopes import scope_label
from .bigcommerce.validation import validate
from .crypto import UndecryptableCredential
from .models import Credential, Store
from .status import StoreStatus
from .verification import client_options

logger = logging.getLogger(__name__)

DEFAULT_CONCURRENCY = 20
MAX_CONCURRENCY = 200


class ImportOutcome(StrEnum):
    CONNECTED = "connected"
    REPLACED = "replaced"
    UNCHANGED = "unchanged"
    MISSING_SCOPES = "missing_scopes"
    INVALID_TOKEN = "invalid_token"
    STORE_NOT_FOUND = "store_not_found"
    STORE_UNAVAILABLE = "store_unavailable"
    UNREACHABLE = "unreachable"
    MALFORMED_INPUT = "malformed_input"
    CONNECTED_ELSEWHERE = "connected_elsewhere"


OK_OUTCOMES = frozenset({ImportOutcome.CONNECTED, ImportOutcome.REPLACED, ImportOutcome.UNCHANGED})

# The file's columns: the field each one fills, matched after lowercasing and
# turning every run of spaces, hyphens, underscores or punctuation into "_"
# ("API path", "Client ID", "ACCESS TOKEN:", "client-secret" all match).
COLUMN_NAMES: dict[str, tuple[str, ...]] = {
    "merchant": ("merchant", "merchant_slug", "slug"),
    "merchant_name": ("merchant_name",),
    "owner_email": ("owner_email", "owner_e_mail", "owner", "email", "e_mail"),
    "api_path": ("api_path",),
    "store_hash": ("store_hash",),
    "client_id": ("client_id",),
    "client_secret": ("client_secret",),
    "access_token": ("access_token",),
}
FIELD_BY_COLUMN = {alias: name for name, aliases in COLUMN_NAMES.items() for alias in aliases}
COLUMN_LABELS = {
    "merchant": "merchant",
    "merchant_name": "merchant_name",
    "owner_email": "owner_email",
    "api_path": "API path",
    "store_hash": "store hash",
    "client_id": "Client ID",
    "client_secret": "Client secret",
    "access_token": "Access token",
}
REQUIRED_FIELDS = ("merchant", "client_id", "client_secret", "access_token")
CREDENTIAL_FIELDS = ("api_path", "store_hash", "client_id", "client_secret", "access_token")
SLUG = re.compile(r"[a-z0-9][a-z0-9_-]{0,79}")


class ImportFileError(Exception):
    """The file itself is unusable (not CSV or JSON Lines, missing columns):
    the message says where and why, and never quotes the file's content."""


def column_field(name: str) -> str | None:
    """The field a column header means, or None."""
    key = re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")
    return FIELD_BY_COLUMN.get(key)


@dataclass(repr=False)
class ImportRow:
    """One row of the file: its line and its values (secrets: never printed)."""

    line: int
    values: dict[str, str]

    def __repr__(self) -> str:
        return f"<ImportRow line {self.line}>"


# --- reading the file ------------------------------------------------------------------


@sensitive_variables("data", "text")
def read_import_file(data: bytes) -> list[ImportRow]:
    """The rows of a CSV (with a header row) or JSON Lines file; ImportFileError if unusable."""
    if b"\x00" in data:
        raise ImportFileError("This is a binary file, not CSV or JSON Lines text.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise ImportFileError(
            f"Line {line} is not UTF-8 text. Save the file as UTF-8 (CSV UTF-8 in a spreadsheet)."
        ) from None
    start = text.lstrip()[:1]
    if not start:
        raise ImportFileError("The file is empty.")
    if start == "[":
        raise ImportFileError("This is a JSON array; JSON Lines has one JSON object per line, without [ ].")
    rows = _read_json_lines(text) if start == "{" else _read_csv(text)
    if not rows:
        raise ImportFileError("The file has a header but no rows.")
    return rows


@sensitive_variables("text", "lines", "raw", "data", "values")
def _read_json_lines(text: str) -> list[ImportRow]:
    rows = []
    seen: set[str] = set()
    for number, raw in enumerate(text.split("\n"), start=1):
        if not raw.strip():
            continue
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as error:
            raise ImportFileError(
                f"Line {number} is not valid JSON: {error.msg} (column {error.colno}). "
                "JSON Lines has one complete JSON object per line."
            ) from None
        if not isinstance(data, dict):
            raise ImportFileError(f"Line {number} is a JSON {_json_kind(data)}, not an object.")
        values = {}
        for key, value in data.items():
            name = column_field(str(key))
            if name is None:
                continue
            if value is None:
                value = ""
            elif isinstance(value, bool) or not isinstance(value, str | int | float):
                raise ImportFileError(
                    f"Line {number}: the value of {COLUMN_LABELS[name]} is a JSON {_json_kind(value)}, not text."
                )
            values[name] = str(value)
        seen.update(values)
        rows.append(ImportRow(number, values))
    _require_fields(seen, "no line has")
    return rows


def _json_kind(value) -> str:
    for kind, names in ((dict, "object"), (list, "array"), (str, "string"), (bool, "boolean")):
        if isinstance(value, kind):
            return names
    return "null" if value is None else "number"


@sensitive_variables("text", "reader", "record", "values")
def _read_csv(text: str) -> list[ImportRow]:
    header_line = text.lstrip("\r\n").split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=header_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = next(reader)
        while not any(cell.strip() for cell in header):
            header = next(reader)
    except StopIteration:
        raise ImportFileError("The file is empty.") from None
    except csv.Error as error:
        raise ImportFileError(f"Line {reader.line_num} is not valid CSV: {error}.") from None
    columns: dict[int, str] = {}
    for position, name in enumerate(header, start=1):
        field_name = column_field(name)
        if field_name is None:
            continue
        if field_name in columns.values():
            first = next(index for index, name in columns.items() if name == field_name) + 1
            raise ImportFileError(
                f"Columns {first} and {position} of the header are both the {COLUMN_LABELS[field_name]}."
            )
        columns[position - 1] = field_name
    # Unknown headers are not quoted: a file without a header row would have
    # its first row's secrets there.
    _require_fields(set(columns.values()), "the header row has no", csv_hint=True)
    rows = []
    line = reader.line_num
    while True:
        start = line + 1
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            raise ImportFileError(f"Line {reader.line_num} is not valid CSV: {error}.") from None
        line = reader.line_num
        if not any(cell.strip() for cell in record):
            continue
        values = {name: record[index] for index, name in columns.items() if index < len(record)}
        rows.append(ImportRow(start, values))
    return rows


def _require_fields(present: set[str], phrase: str, *, csv_hint: bool = False) -> None:
    missing = [name for name in REQUIRED_FIELDS if name not in present]
    if "api_path" not in present and "store_hash" not in present:
        missing.insert(1, "api_path")
    if not missing:
        return
    labels = ", ".join(COLUMN_LABELS[name] for name in missing)
    hint = " The first line must name the columns." if csv_hint else ""
    raise ImportFileError(
        f"Missing required columns: {phrase} {labels}.{hint} Expected: merchant, API path, Client ID, "
        "Client secret, Access token (optional: merchant_name, owner_email)."
    )


# --- the report -------------------------------------------------------------------------


@dataclass
class RowResult:
    row: int  # the file's line where the row starts (a CSV header is line 1)
    merchant: str
    store_hash: str
    outcome: ImportOutcome
    problems: list[Problem] = field(default_factory=list)
    missing_scopes: list[str] = field(default_factory=list)
    kept: bool = False  # saved anyway (missing_scopes with keep_broken)
    merchant_created: bool = False
    access_token_ending: str = ""  # the last 4 characters, as everywhere in the portal

    @property
    def ok(self) -> bool:
        return self.outcome in OK_OUTCOMES or self.kept

    def to_dict(self) -> dict:
        return {
            "row": self.row,
            "merchant": self.merchant,
            "store_hash": self.store_hash,
            "outcome": str(self.outcome),
            "problems": [asdict(problem) for problem in self.problems],
            "missing_scopes": list(self.missing_scopes),
            "kept": self.kept,
            "merchant_created": self.merchant_created,
            "access_token_ending": self.access_token_ending,
        }


@dataclass
class ImportReport:
    rows: list[RowResult]
    dry_run: bool = False
    keep_broken: bool = False
    seconds: float = 0.0
    requests_made: int = 0  # live checks run

    @property
    def ok(self) -> bool:
        return all(row.ok for row in self.rows)

    @property
    def summary(self) -> dict[str, int]:
        counts = Counter(str(row.outcome) for row in self.rows)
        return {str(outcome): counts[outcome] for outcome in ImportOutcome if counts[outcome]}

    @property
    def merchants_created(self) -> list[str]:
        return sorted({row.merchant for row in self.rows if row.merchant_created})

    def to_dict(self) -> dict:
        return {
            "rows": [row.to_dict() for row in self.rows],
            "summary": self.summary,
            "ok": self.ok,
            "dry_run": self.dry_run,
            "keep_broken": self.keep_broken,
            "kept": sum(1 for row in self.rows if row.kept),
            "merchants_created": self.merchants_created,
            "live_checks": self.requests_made,
            "seconds": round(self.seconds, 2),
        }

    def log_summary(self) -> str:
        """One line for the staff log and the server log: counts, never values."""
        counts = ", ".join(f"{count} {outcome}" for outcome, count in self.summary.items()) or "no rows"
        what = "Dry run of a store import" if self.dry_run else "Imported stores"
        extra = f"; {sum(1 for r in self.rows if r.kept)} kept with missing scopes" if self.keep_broken else ""
        created = f"; merchants created: {', '.join(self.merchants_created)}" if self.merchants_created else ""
        return f"{what}: {len(self.rows)} rows: {counts}{extra}{created}."


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
    `stores.crypto`), and compared in constant time."""
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
