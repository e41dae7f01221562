"""The credential doctor: from pasted text to clean credentials or precise problems.

A merchant pastes the four values of a BigCommerce Store-level API account
(API path, Client ID, Client secret, Access token), or the whole ``.txt`` file
BigCommerce downloads, or just a store hash. The doctor cleans them and says,
in the merchant's words, what is wrong and what to do. It is pure Python: no
Django, no network. It only ever yields a store hash; the client builds URLs
from its own configured base, never from a host the merchant typed.

Rules, in the order they are applied to each field:

1. Outer whitespace (anything ``str.isspace`` accepts, NBSP included) is
   trimmed silently. ``Diagnosis.values`` holds every field after this trim
   and nothing else, so a form can re-display what was typed.
2. More than ``MAX_FIELD_LENGTH`` characters: ``too_long``, nothing else is
   checked for that field.
3. Several lines of the credentials file in one field: ``whole_file_in_field``.
4. A label pasted with the value (``ACCESS TOKEN: a1b2…``): when the label
   names this field it is **repaired** (removed, warning ``label_removed``);
   when it names another field it is a ``looks_like_<field>`` problem.
5. Character by character: whitespace inside the value (space, tab, line
   break, NBSP, other Unicode spaces), invisible characters (Unicode Cc/Cf,
   e.g. U+200B, U+FEFF, U+202E), quotation marks (straight and curly) and any
   other non-ASCII character are problems. Positions are 1-based and counted
   from the first character after the outer whitespace (the label, if any,
   counts). In a key field (token, ID, secret) capital letters and ASCII
   punctuation are only warnings.
6. API path / store hash: parsed to a store hash (see ``store_hash_from_api_path``).
   Token, ID and secret: a web address is a problem; then the value's shape is
   compared with what BigCommerce issues.
7. Across fields: the same value in two fields, the Client ID in the token
   field, an API path in the wrong field, swapped token and secret.

Observed shapes (loose: only what cannot be right blocks): access token 31
chars ``[a-z0-9]``; client ID 30-31 chars ``[a-z0-9]``; client secret 64 chars
lowercase hex (older accounts: 31 chars alphanumeric); store hash 7-10 chars
``[a-z0-9]`` (1-20 accepted, normalised to lowercase).

The character scan reports each kind of bad character once (its first
position, and how many more follow); the later checks stop at a field's first
problem. Warnings are dropped for a field that has a problem. Messages never
contain a value: at most a character position and the character's name.

Problem codes (blocking: no network call may be made) are listed in
:data:`PROBLEM_CODES`, warning codes (never blocking) in :data:`WARNING_CODES`,
both below. ``too_long`` is also used with field ``file`` for a file over 64 KB;
``looks_like_access_token`` is also a warning, for a 31-character secret (old
accounts have those).
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from dataclasses import dataclass, field

from .report import Credentials, Problem

FIELD_LABELS: dict[str, str] = {
    "api_path": "API path",
    "store_hash": "Store hash",
    "client_id": "Client ID",
    "client_secret": "Client secret",
    "access_token": "Access token",
    "file": "Credentials file",
}

FIELDS: tuple[str, ...] = ("api_path", "store_hash", "client_id", "client_secret", "access_token")
LOCATION_FIELDS: tuple[str, ...] = ("api_path", "store_hash")
KEY_FIELDS: tuple[str, ...] = ("access_token", "client_id", "client_secret")

#: Codes of the problems the doctor reports (each blocks any network call).
PROBLEM_CODES: frozenset[str] = frozenset(
    {
        "required",
        "too_long",
        "whole_file_in_field",
        "inner_whitespace",
        "invisible_character",
        "quotes",
        "unexpected_character",
        "url_in_field",
        "foreign_host",
        "bad_api_path",
        "bad_store_hash",
        "store_hash_mismatch",
        "looks_like_access_token",
        "looks_like_client_id",
        "looks_like_client_secret",
        "looks_like_api_path",
        "looks_like_client_name",
        "same_value_twice",
        "file_unreadable",
        "file_empty",
        "file_no_credentials",
        "file_conflicting_values",
    }
)
#: Codes of the warnings (never blocking; dropped for a field that has a problem).
WARNING_CODES: frozenset[str] = frozenset(
    {
        "label_removed",
        "odd_length",
        "not_hex",
        "uppercase",
        "odd_characters",
        "looks_like_access_token",
    }
)

MAX_FIELD_LENGTH = 1000
MAX_FILE_SIZE = 64 * 1024

API_HOST = "api.bigcommerce.com"
EXAMPLE_API_PATH = "https://api.bigcommerce.com/stores/abc123/v3/"
TOKEN_LENGTH = 31
CLIENT_ID_LENGTHS = (30, 31)
SECRET_LENGTH = 64
OLD_SECRET_LENGTH = 31
STORE_HASH_MAX = 20
STORE_HASH_USUAL = range(7, 11)

_ALNUM = re.compile(r"[A-Za-z0-9]+")
_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
_HEX = re.compile(r"[0-9a-fA-F]+")
_CONTROL_PANEL_HOST = re.compile(r"store-([a-z0-9]+)\.mybigcommerce\.com")
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")
_LABEL = re.compile(
    r"(access[\s_-]*token|client[\s_-]*id|client[\s_-]*secret|client[\s_-]*name"
    r"|api[\s_-]*path|store[\s_-]*hash)\s*:\s*",
    re.IGNORECASE,
)
_FILE_LINE = re.compile(r"\s*([A-Za-z][A-Za-z _-]*?)\s*:(.*)")
_QUOTES = frozenset("\"'`´“”„‟‘’‚‛«»‹›＂＇")
_LINE_BREAKS = frozenset("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")

# How the merchant finds each value again, and what BigCommerce's own values look like.
_WHERE = {
    "api_path": "the API PATH line",
    "store_hash": "the API PATH line",
    "client_id": "the CLIENT ID line",
    "client_secret": "the CLIENT SECRET line",
    "access_token": "the ACCESS TOKEN line",
}
_NOUN = {
    "access_token": "access tokens",
    "client_id": "client IDs",
    "client_secret": "client secrets",
}
_COPY_AGAIN = "Copy it again from BigCommerce, or check for spaces or copy/paste errors."


class DoctorError(ValueError):
    """Raised by ``store_hash_from_api_path``; ``.problem`` says why, for the merchant."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


@dataclass(frozen=True)
class Diagnosis:
    """What the doctor concluded about one set of pasted values.

    ``credentials`` is set only when ``problems`` is empty: then, and only
    then, a live check may be made. ``warnings`` never block.
    """

    credentials: Credentials | None
    problems: list[Problem]
    warnings: list[Problem]
    values: dict[str, str]

    @property
    def ok(self) -> bool:
        return self.credentials is not None and not self.problems

    def __repr__(self) -> str:
        # Like Credentials, never show a secret: diagnoses end up in logs and tracebacks.
        shown = {
            name: f"…{value[-4:]}" if name in KEY_FIELDS and value else value
            for name, value in self.values.items()
        }
        return (
            f"Diagnosis(credentials={self.credentials!r}, problems={self.problems!r}, "
            f"warnings={self.warnings!r}, values={shown!r})"
        )

    __str__ = __repr__


@dataclass
class _Field:
    """One field on its way through the checks."""

    name: str
    value: str  # after trimming and label removal
    offset: int = 0  # characters removed from the front (a label), for positions
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    @property
    def label(self) -> str:
        return FIELD_LABELS[self.name]

    @property
    def usable(self) -> bool:
        return bool(self.value) and not self.problems

    def block(self, code: str, message: str) -> None:
        self.problems.append(Problem(self.name, code, message))

    def warn(self, code: str, message: str) -> None:
        self.warnings.append(Problem(self.name, code, message))


# --------------------------------------------------------------------------- public API


def diagnose(
    *,
    api_path: str = "",
    store_hash: str = "",
    client_id: str = "",
    client_secret: str = "",
    access_token: str = "",
    require_client_fields: bool = True,
) -> Diagnosis:
    """Check the pasted values; never raises on any text.

    The store hash comes from ``api_path`` or ``store_hash`` (either may hold
    a full API path, the control-panel address or a bare hash; if both are
    given they must agree). With ``require_client_fields=False`` only the store
    hash and the access token are required; client fields given anyway are
    still checked.
    """
    raw = {
        "api_path": api_path,
        "store_hash": store_hash,
        "client_id": client_id,
        "client_secret": client_secret,
        "access_token": access_token,
    }
    values = {name: (text or "").strip() for name, text in raw.items()}
    fields = {name: _prepare(name, values[name]) for name in FIELDS}

    store = _check_location(fields["api_path"], fields["store_hash"])
    for name in KEY_FIELDS:
        _check_key_field(fields[name])
    _check_across(fields)
    _require(fields, require_client_fields)

    problems = [p for name in FIELDS for p in fields[name].problems]
    warnings = [w for name in FIELDS if not fields[name].problems for w in fields[name].warnings]
    credentials = None
    if not problems and store:
        credentials = Credentials(
            store_hash=store,
            access_token=fields["access_token"].value,
            client_id=fields["client_id"].value,
            client_secret=fields["client_secret"].value,
        )
    return Diagnosis(credentials, problems, warnings, values)


def store_hash_from_api_path(value: str) -> str:
    """The lowercase store hash in an API path, a control-panel address or a bare hash.

    Accepts ``https://api.bigcommerce.com/stores/abc123/v3/`` and its variants
    (``/v2``, no trailing slash, no scheme, doubled slashes, any case, a path
    alone such as ``/stores/abc123``), ``store-abc123.mybigcommerce.com`` with
    or without scheme and path, and ``abc123``. Any other host is refused.
    Raises ``DoctorError`` carrying the first problem (field ``api_path``).
    """
    item = _prepare("api_path", (value or "").strip())
    if item.problems:
        raise DoctorError(item.problems[0])
    if not item.value:
        raise DoctorError(_required_problem("api_path"))
    return _parse_store_hash(item.value, "api_path")


def parse_credentials_text(text: str | bytes) -> tuple[dict[str, str], list[Problem]]:
    """Read the ``.txt`` BigCommerce downloads (uploaded as bytes or pasted as text).

    Returns the values found, keyed ``access_token``, ``api_path``,
    ``client_id``, ``client_secret``, ``client_name`` (and ``store_hash`` if a
    ``STORE HASH:`` line exists), each trimmed but otherwise unchecked, plus
    problems about the file itself (field ``file``). Tolerates a UTF-8 or
    UTF-16 byte-order mark, CRLF, blank lines, any key case, spaces around the
    colon, any order; unknown lines are ignored. Never raises.
    """
    decoded = _decode(text)
    if isinstance(decoded, Problem):
        return {}, [decoded]
    if not decoded.strip():
        return {}, [_file_problem("file_empty", "The credentials file is empty. " + _FILE_ADVICE)]
    found, conflicts = _read_lines(decoded)
    if conflicts:
        labels = ", ".join(FIELD_LABELS[name] for name in conflicts)
        return found, [
            _file_problem(
                "file_conflicting_values",
                f"The credentials file has two different values for {labels}. "
                "Upload the file of one API account only, as BigCommerce downloaded it.",
            )
        ]
    if not any(name in found for name in FIELDS):
        return found, [
            _file_problem(
                "file_no_credentials",
                "This file has none of the lines BigCommerce puts in its credentials file "
                "(ACCESS TOKEN, API PATH, CLIENT ID, CLIENT SECRET). " + _FILE_ADVICE,
            )
        ]
    return found, []


def diagnose_text(
    text: str | bytes, *, require_client_fields: bool = True, **overrides: str
) -> Diagnosis:
    """Parse the credentials file, then diagnose its values.

    ``overrides`` are field values (``api_path``, ``store_hash``, ``client_id``,
    ``client_secret``, ``access_token``) typed beside the file: a non-blank
    override replaces the file's value, a blank one is ignored. When the file
    itself is unusable, only the file problems are returned (no "required"
    noise for each field).
    """
    unknown = set(overrides) - set(FIELDS)
    if unknown:
        raise TypeError(f"diagnose_text() got unexpected fields: {sorted(unknown)}")
    found, problems = parse_credentials_text(text)
    merged = {name: value for name, value in found.items() if name in FIELDS}
    merged.update({name: value for name, value in overrides.items() if value and value.strip()})
    if problems:
        values = {name: merged.get(name, "").strip() for name in FIELDS}
        return Diagnosis(None, problems, [], values)
    return diagnose(**merged, require_client_fields=require_client_fields)


# --------------------------------------------------------------------------- one field


def _prepare(name: str, value: str) -> _Field:
    """Length, whole-file, label and character checks, common to every field."""
    item = _Field(name, value)
    if not value:
        return item
    if len(value) > MAX_FIELD_LENGTH:
        item.block(
            "too_long",
            f"{item.label} is {len(value)} characters long, far longer than anything "
            f"BigCommerce issues. Paste only the value from {_WHERE[name]}.",
        )
        return item
    if _looks_like_whole_file(value):
        item.block(
            "whole_file_in_field",
            f"{item.label} contains several lines of the credentials file. Upload the file "
            "(or paste it in the credentials file box), or paste each value in its own field.",
        )
        return item
    _strip_label(item)
    if item.problems or not item.value:
        return item
    _scan_characters(item)
    return item


def _looks_like_whole_file(value: str) -> bool:
    if not any(ch in _LINE_BREAKS for ch in value):
        return False
    found, _ = _read_lines(value)
    return len(found) >= 2


def _strip_label(item: _Field) -> None:
    match = _LABEL.match(item.value)
    if not match:
        return
    labelled = _FILE_KEYS[_normalise_key(match.group(1))]
    own = {item.name} | (set(LOCATION_FIELDS) if item.name in LOCATION_FIELDS else set())
    if labelled in own:
        item.value = item.value[match.end() :]
        item.offset = match.end()
        if item.value:
            item.warn(
                "label_removed",
                f"{item.label} started with the label “{match.group(1).strip()}:”. "
                "We removed it and kept only the value after it.",
            )
        return
    if labelled == "client_name":
        item.block(
            "looks_like_client_name",
            f"{item.label} starts with the CLIENT NAME line, which is only the name you gave "
            f"the API account. Paste the value from {_WHERE[item.name]} here.",
        )
        return
    if labelled == "store_hash":
        labelled = "api_path"
    item.block(
        f"looks_like_{labelled}",
        f"{item.label} starts with the label “{match.group(1).strip()}:”, so it looks like your "
        f"{FIELD_LABELS[labelled]}. Paste the value from {_WHERE[item.name]} here, "
        f"and the {FIELD_LABELS[labelled]} in its own field.",
    )


def _scan_characters(item: _Field) -> None:
    """Report each kind of character that cannot be part of the value."""
    firsts: dict[str, tuple[int, str]] = {}
    counts: dict[str, int] = {}
    for index, ch in enumerate(item.value):
        kind = _classify(ch, key_field=item.name in KEY_FIELDS)
        if kind is None:
            continue
        counts[kind] = counts.get(kind, 0) + 1
        firsts.setdefault(kind, (item.offset + index + 1, ch))
    for kind, (position, ch) in firsts.items():
        _report_character(item, kind, position, ch, counts[kind] - 1)


def _classify(ch: str, *, key_field: bool) -> str | None:
    if ch.isascii() and ch.isalnum():
        return "uppercase" if key_field and ch.isupper() else None
    if ch.isspace():
        return "inner_whitespace"
    if ch in _QUOTES:
        return "quotes"
    if unicodedata.category(ch) in ("Cc", "Cf"):
        return "invisible_character"
    if not ch.isascii():
        return "unexpected_character"
    return "odd_characters" if key_field else None


def _report_character(item: _Field, kind: str, position: int, ch: str, more: int) -> None:
    where = f"at character {position}" + (f" (and {more} more after it)" if more else "")
    label = item.label
    if kind == "inner_whitespace":
        item.block(
            kind,
            f"{label} has {_describe_space(ch)} {where}. {_COPY_AGAIN}",
        )
    elif kind == "invisible_character":
        item.block(
            kind,
            f"{label} contains an invisible character ({_char_name(ch)}) {where} — it usually "
            "comes from copying out of a chat or document. Paste it again as plain text.",
        )
    elif kind == "quotes":
        item.block(
            kind,
            f"{label} has a quotation mark ({_char_name(ch)}) {where}. "
            "Paste only the value itself, without quotation marks.",
        )
    elif kind == "unexpected_character":
        item.block(
            kind,
            f"{label} has a character BigCommerce never uses ({_char_name(ch)}) {where}; "
            "a chat app or word processor may have changed it. Copy it again from BigCommerce "
            "and paste it as plain text.",
        )
    elif kind == "uppercase":
        item.warn(
            kind,
            f"{label} has a capital letter {where}, but BigCommerce {_NOUN[item.name]} are "
            "usually all lowercase. If your phone or browser capitalised it, retype that "
            "letter in lowercase; if BigCommerce shows it like this, it is fine.",
        )
    else:
        item.warn(
            kind,
            f"{label} has “{ch}” {where}, but BigCommerce {_NOUN[item.name]} are usually only "
            "letters and digits. Check that you copied the right value, and all of it.",
        )


def _describe_space(ch: str) -> str:
    if ch == " ":
        return "a space"
    if ch == "\t":
        return "a tab"
    if ch in _LINE_BREAKS:
        return "a line break"
    if ch == "\u00a0":
        return f"a non-breaking space ({_char_name(ch)})"
    return f"an unusual space ({_char_name(ch)})"


def _char_name(ch: str) -> str:
    name = unicodedata.name(ch, "")
    return f"U+{ord(ch):04X} {name}" if name else f"U+{ord(ch):04X}"


# --------------------------------------------------------------------------- store hash


def _check_location(api_path: _Field, store_hash: _Field) -> str:
    """Parse both location fields; return the store hash or "" when unusable."""
    hashes: dict[str, str] = {}
    for item in (api_path, store_hash):
        if not item.usable:
            continue
        try:
            hashes[item.name] = _parse_store_hash(item.value, item.name)
        except DoctorError as error:
            item.problems.append(error.problem)
            continue
        _warn_store_hash_length(item, hashes[item.name])
    if len(hashes) == 2 and hashes["api_path"] != hashes["store_hash"]:
        store_hash.block(
            "store_hash_mismatch",
            "Store hash does not match the store in the API path. Keep only the API path, "
            "or copy both again from the same API account.",
        )
    if api_path.problems or store_hash.problems:
        return ""
    return hashes.get("api_path") or hashes.get("store_hash", "")


def _warn_store_hash_length(item: _Field, store: str) -> None:
    if len(store) not in STORE_HASH_USUAL:
        item.warn(
            "odd_length",
            f"The store hash in {item.label} is {len(store)} characters long; BigCommerce store "
            "hashes are usually 7 to 10. Check that you copied the whole API path.",
        )


def _parse_store_hash(value: str, name: str) -> str:
    """Store hash from a value already free of whitespace and invisible characters."""
    if _ALNUM.fullmatch(value):
        return _bare_store_hash(value, name)
    if "\\" in value:
        raise _bad_api_path(name, "has a backslash (\\)")
    address = re.split(r"[?#]", value, maxsplit=1)[0]
    authority, path = _split_address(address, name)
    if authority is None:
        return _store_hash_from_path(path, name)
    host = _host(authority, name)
    if host == API_HOST:
        return _store_hash_from_path(path, name)
    control_panel = _CONTROL_PANEL_HOST.fullmatch(host)
    if control_panel:
        return _store_hash_in_url(control_panel.group(1), name)
    if not host:
        raise _bad_api_path(name, "has no web address in it")
    raise DoctorError(
        Problem(
            name,
            "foreign_host",
            f"{FIELD_LABELS[name]} is not a BigCommerce API address. It must look like "
            f"{EXAMPLE_API_PATH} — copy it from your API account in BigCommerce "
            "(Settings → API → Store-level API accounts) or from the API PATH line of its file.",
        )
    )


def _split_address(address: str, name: str) -> tuple[str | None, str]:
    """(authority, path); authority is None when the value is a path alone."""
    scheme = _SCHEME.match(address)
    if scheme:
        if scheme.group(1).lower() not in ("http", "https"):
            raise _bad_api_path(name, "does not start with https://")
        rest = address[scheme.end() :]
    elif address.startswith("//"):
        rest = address[2:]
    elif address.startswith("/") or address.lower().startswith("stores/"):
        return None, address
    else:
        rest = address
    authority, _, path = rest.partition("/")
    return authority, path


def _host(authority: str, name: str) -> str:
    """The lowercase host of an authority; anything with userinfo counts as foreign."""
    if "@" in authority:
        raise DoctorError(
            Problem(
                name,
                "foreign_host",
                f"{FIELD_LABELS[name]} contains “@”, which never appears in a BigCommerce API "
                f"path. It must look like {EXAMPLE_API_PATH} — copy it again from BigCommerce.",
            )
        )
    host, colon, port = authority.partition(":")
    if colon and port and not (port.isascii() and port.isdigit()):
        raise _bad_api_path(name, "has a colon (:) where it should not")
    return host.lower().removesuffix(".")


_API_VERSION = re.compile(r"(?i)v[0-9]")


def _store_hash_from_path(path: str, name: str) -> str:
    segments = [segment for segment in path.split("/") if segment]
    if len(segments) < 2 or segments[0].lower() != "stores":
        raise _bad_api_path(name, "has no /stores/<store hash>/ part")
    if _API_VERSION.fullmatch(segments[1]):
        # `…/stores/v3/` (the hash left out when typing it): `v3` would pass as a store hash.
        raise _bad_api_path(name, f"has no store hash between /stores/ and /{segments[1].lower()}/")
    return _store_hash_in_url(segments[1], name)


def _store_hash_in_url(candidate: str, name: str) -> str:
    if not _ALNUM.fullmatch(candidate) or len(candidate) > STORE_HASH_MAX:
        raise DoctorError(
            Problem(
                name,
                "bad_store_hash",
                f"The store hash in {FIELD_LABELS[name]} (the part after /stores/) should be a "
                "short code of letters and digits. Copy the API path again from BigCommerce.",
            )
        )
    return candidate.lower()


def _bare_store_hash(value: str, name: str) -> str:
    if _HEX64.fullmatch(value):
        raise DoctorError(_looks_like(name, "client_secret"))
    if len(value) in (TOKEN_LENGTH, *CLIENT_ID_LENGTHS):
        raise DoctorError(
            Problem(
                name,
                "looks_like_access_token",
                f"{FIELD_LABELS[name]} looks like an Access token or a Client ID, not a store. "
                f"Paste the API path, like {EXAMPLE_API_PATH}, from the API PATH line.",
            )
        )
    if len(value) > STORE_HASH_MAX:
        raise DoctorError(
            Problem(
                name,
                "bad_store_hash",
                f"{FIELD_LABELS[name]} is too long for a store hash. Paste the whole API path, "
                f"like {EXAMPLE_API_PATH}, from the API PATH line.",
            )
        )
    return value.lower()


def _bad_api_path(name: str, reason: str) -> DoctorError:
    return DoctorError(
        Problem(
            name,
            "bad_api_path",
            f"{FIELD_LABELS[name]} {reason}. It should look like {EXAMPLE_API_PATH} "
            "(the part after /stores/ is your store hash). Copy it again from the API PATH line.",
        )
    )


# --------------------------------------------------------------------------- key fields


def _check_key_field(item: _Field) -> None:
    if not item.usable:
        return
    if _looks_like_address(item.value):
        _report_address(item)
        return
    if item.name in ("access_token", "client_id") and _HEX64.fullmatch(item.value):
        item.problems.append(_looks_like(item.name, "client_secret"))
        return
    _shape_warnings(item)


def _looks_like_address(value: str) -> bool:
    lower = value.lower()
    return "/" in value or "bigcommerce." in lower or lower.startswith(("http:", "https:", "www."))


def _report_address(item: _Field) -> None:
    try:
        _parse_store_hash(item.value, "api_path")
    except DoctorError:
        item.block(
            "url_in_field",
            f"{item.label} contains a web address, but it should be the code from "
            f"{_WHERE[item.name]}. Paste that value here.",
        )
        return
    item.block(
        "looks_like_api_path",
        f"{item.label} looks like your API path. Paste the API path in its own field, and "
        f"the value from {_WHERE[item.name]} here.",
    )


def _shape_warnings(item: _Field) -> None:
    length = len(item.value)
    if item.name == "access_token" and length != TOKEN_LENGTH:
        item.warn("odd_length", _length_message(item, f"{TOKEN_LENGTH}"))
    elif item.name == "client_id" and length not in CLIENT_ID_LENGTHS:
        item.warn("odd_length", _length_message(item, "30 or 31"))
    elif item.name == "client_secret":
        _secret_warnings(item)


def _secret_warnings(item: _Field) -> None:
    length = len(item.value)
    is_hex = bool(_HEX.fullmatch(item.value))
    if length == OLD_SECRET_LENGTH and not is_hex and _ALNUM.fullmatch(item.value):
        item.warn(
            "looks_like_access_token",
            "Client secret looks like an Access token or a Client ID (31 letters and digits) "
            "rather than a 64-character secret. Older API accounts have secrets like this, "
            "so if you copied it from the CLIENT SECRET line, it is fine.",
        )
    elif length not in (SECRET_LENGTH, OLD_SECRET_LENGTH):
        item.warn("odd_length", _length_message(item, f"{SECRET_LENGTH}"))
    elif length == SECRET_LENGTH and not is_hex:
        item.warn(
            "not_hex",
            "Client secret has letters beyond a–f, but BigCommerce client secrets are usually "
            "hexadecimal (digits and the letters a to f). Check that you copied the right value.",
        )


def _length_message(item: _Field, usual: str) -> str:
    return (
        f"{item.label} is {len(item.value)} characters long, but BigCommerce "
        f"{_NOUN[item.name]} are usually {usual}. Check that you copied all of it, "
        f"from {_WHERE[item.name]}."
    )


def _looks_like(name: str, other: str) -> Problem:
    return Problem(
        name,
        f"looks_like_{other}",
        f"{FIELD_LABELS[name]} looks like your {FIELD_LABELS[other]}. Paste the value from "
        f"{_WHERE[name]} here, and the {FIELD_LABELS[other]} in its own field.",
    )


# --------------------------------------------------------------------------- across fields


def _check_across(fields: dict[str, _Field]) -> None:
    token, client_id, secret = fields["access_token"], fields["client_id"], fields["client_secret"]
    if token.usable and client_id.usable and token.value == client_id.value:
        token.problems.append(_looks_like("access_token", "client_id"))
    for first, second in ((token, secret), (client_id, secret)):
        if first.usable and second.usable and first.value == second.value:
            second.block(
                "same_value_twice",
                f"{second.label} is the same as the {first.label}. Each field needs its own "
                f"value: copy the value from {_WHERE[second.name]} again.",
            )
    _upgrade_swapped_secret(fields)


def _upgrade_swapped_secret(fields: dict[str, _Field]) -> None:
    """A 31-character secret is only a warning, unless the real secret sits in another field."""
    secret = fields["client_secret"]
    elsewhere = any(
        problem.code == "looks_like_client_secret"
        for name in ("access_token", "client_id")
        for problem in fields[name].problems
    )
    suspicious = [w for w in secret.warnings if w.code == "looks_like_access_token"]
    if not (elsewhere and suspicious and not secret.problems):
        return
    secret.warnings.remove(suspicious[0])
    secret.block(
        "looks_like_access_token",
        "Client secret looks like an Access token or a Client ID, and the Client secret is in "
        "another field: the values seem to be in the wrong fields. Paste the value from the "
        "CLIENT SECRET line here.",
    )


def _require(fields: dict[str, _Field], require_client_fields: bool) -> None:
    if not fields["api_path"].value and not fields["store_hash"].value:
        fields["api_path"].problems.append(_required_problem("api_path"))
    required = KEY_FIELDS if require_client_fields else ("access_token",)
    for name in required:
        if not fields[name].value and not fields[name].problems:
            fields[name].problems.append(_required_problem(name))


def _required_problem(name: str) -> Problem:
    label = FIELD_LABELS[name]
    if name == "api_path":
        message = (
            f"Paste the API path BigCommerce showed you, like {EXAMPLE_API_PATH} "
            "(it is also the API PATH line of the file BigCommerce downloaded)."
        )
    else:
        message = (
            f"Paste the {label} BigCommerce showed you when you created the API account "
            f"(it is also {_WHERE[name]} of the file it downloaded). BigCommerce shows it only "
            "once: if you no longer have it, create a new API account."
        )
    return Problem(name, "required", message)


# --------------------------------------------------------------------------- the file

_FILE_KEYS = {
    "access token": "access_token",
    "client name": "client_name",
    "api path": "api_path",
    "client id": "client_id",
    "client secret": "client_secret",
    "store hash": "store_hash",
}
_FILE_ADVICE = (
    "Upload the .txt file BigCommerce downloaded when you created the API account, "
    "or paste each value into its own field."
)


def _file_problem(code: str, message: str) -> Problem:
    return Problem("file", code, message)


def _decode(text: str | bytes) -> str | Problem:
    if len(text) > MAX_FILE_SIZE:
        return _file_problem(
            "too_long",
            "This file is far larger than BigCommerce's credentials file (a few lines). "
            + _FILE_ADVICE,
        )
    if isinstance(text, bytes | bytearray):
        utf16 = text.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
        encoding = "utf-16" if utf16 else "utf-8-sig"
        try:
            text = bytes(text).decode(encoding)
        except UnicodeDecodeError:
            return _unreadable()
    if "\x00" in text:
        return _unreadable()
    return text.removeprefix("\ufeff")


def _unreadable() -> Problem:
    return _file_problem(
        "file_unreadable",
        "We cannot read this file as text: it does not look like BigCommerce's credentials "
        "file. " + _FILE_ADVICE,
    )


def _read_lines(text: str) -> tuple[dict[str, str], list[str]]:
    """Known keys found, and the fields that appear twice with different values."""
    found: dict[str, str] = {}
    conflicts: list[str] = []
    for line in text.splitlines():
        match = _FILE_LINE.fullmatch(line.lstrip("\ufeff"))
        if not match:
            continue
        name = _FILE_KEYS.get(_normalise_key(match.group(1)))
        if name is None:
            continue
        value = match.group(2).strip()
        if name in found and found[name] != value:
            if name in FIELDS and name not in conflicts:
                conflicts.append(name)
            continue
        found[name] = value
    return found, conflicts


def _normalise_key(key: str) -> str:
    return re.sub(r"[\s_-]+", " ", key.strip().lower())
