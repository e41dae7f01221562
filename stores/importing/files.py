"""Reading an import file: CSV (header row) or JSON Lines, columns matched the
way a person writes them, and errors that give the line and why but never
quote a value."""


from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass

from django.views.decorators.debug import sensitive_variables

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
        except RecursionError:
            raise ImportFileError(f"Line {number} is nested too deeply to be a store's row.") from None
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
