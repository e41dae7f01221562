"""Properties of the credential doctor that must hold for any input."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.provisional import domains

from stores.bigcommerce.doctor import (
    FIELDS,
    PROBLEM_CODES,
    WARNING_CODES,
    Diagnosis,
    DoctorError,
    diagnose,
    diagnose_text,
    parse_credentials_text,
    store_hash_from_api_path,
)

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

LOWER_ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789"
HEX = "0123456789abcdef"

tokens = st.text(LOWER_ALNUM, min_size=31, max_size=31)
client_ids = st.text(LOWER_ALNUM, min_size=30, max_size=31)
secrets = st.text(HEX, min_size=64, max_size=64)
store_hashes = st.text(LOWER_ALNUM, min_size=7, max_size=10)
outer_space = st.text(" \t\r\n\u00a0\u2003\u3000", max_size=4)

any_text = st.text(max_size=60) | st.sampled_from(
    ["", " ", "\u200b", "ACCESS TOKEN:", "https://api.bigcommerce.com/stores/abc123xyz/v3/"]
)


def api_path_forms(store: str) -> st.SearchStrategy[str]:
    upper = store.upper()
    return st.sampled_from(
        [
            f"https://api.bigcommerce.com/stores/{store}/v3/",
            f"https://api.bigcommerce.com/stores/{store}/v2",
            f"api.bigcommerce.com/stores/{store}",
            f"/stores/{store}/v3/",
            f"https://API.BigCommerce.com//stores//{upper}//v3//",
            f"https://store-{store}.mybigcommerce.com/manage/dashboard",
            f"store-{store}.mybigcommerce.com",
            store,
            upper,
            f"API PATH: https://api.bigcommerce.com/stores/{store}/v3/",
        ]
    )


@st.composite
def valid_inputs(draw: st.DrawFn) -> tuple[dict[str, str], tuple[str, str, str, str]]:
    store, token, client_id, secret = (
        draw(store_hashes),
        draw(tokens),
        draw(client_ids),
        draw(secrets),
    )
    assume(len({token, client_id, secret}) == 3)

    def padded(value: str) -> str:
        return draw(outer_space) + value + draw(outer_space)

    fields = {
        "api_path": padded(draw(api_path_forms(store))),
        "access_token": padded(draw(st.sampled_from([token, f"ACCESS TOKEN: {token}"]))),
        "client_id": padded(client_id),
        "client_secret": padded(secret),
    }
    return fields, (store, token, client_id, secret)


def check_invariants(diagnosis: Diagnosis) -> None:
    assert isinstance(diagnosis, Diagnosis)
    assert (diagnosis.credentials is None) == bool(diagnosis.problems)
    assert diagnosis.ok == (diagnosis.credentials is not None)
    assert {p.code for p in diagnosis.problems} <= PROBLEM_CODES
    assert {w.code for w in diagnosis.warnings} <= WARNING_CODES
    problem_fields = {p.field for p in diagnosis.problems}
    assert not any(w.field in problem_fields for w in diagnosis.warnings)
    for note in diagnosis.problems + diagnosis.warnings:
        assert note.field in (*FIELDS, "file")
        assert note.message.strip()
    if diagnosis.credentials:
        assert re.fullmatch(r"[a-z0-9]{1,20}", diagnosis.credentials.store_hash)
        assert diagnosis.credentials.access_token


# --------------------------------------------------------------------------- robustness


@FAST
@given(
    api_path=any_text,
    store_hash=any_text,
    client_id=any_text,
    client_secret=any_text,
    access_token=any_text,
    require=st.booleans(),
)
def test_any_text_in_any_field_gives_a_diagnosis(
    api_path, store_hash, client_id, client_secret, access_token, require
):
    given_values = {
        "api_path": api_path,
        "store_hash": store_hash,
        "client_id": client_id,
        "client_secret": client_secret,
        "access_token": access_token,
    }
    diagnosis = diagnose(**given_values, require_client_fields=require)
    check_invariants(diagnosis)
    assert diagnosis.values == {name: value.strip() for name, value in given_values.items()}


@FAST
@given(text=st.text(max_size=2000), require=st.booleans())
def test_any_text_as_a_credentials_file_gives_a_diagnosis(text, require):
    check_invariants(diagnose_text(text, require_client_fields=require))


@FAST
@given(data=st.binary(max_size=2000))
def test_parse_never_raises_on_arbitrary_bytes(data):
    found, problems = parse_credentials_text(data)
    assert set(found) <= {*FIELDS, "client_name"}
    assert all(p.field == "file" for p in problems)
    check_invariants(diagnose_text(data))


@FAST
@given(
    body=st.lists(
        st.sampled_from(["ACCESS TOKEN", "api path", "Client_ID", "client secret", "x"])
        | st.text(max_size=20),
        max_size=12,
    ).map(":".join),
    prefix=st.sampled_from([b"", b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff"]),
    encoding=st.sampled_from(["utf-8", "utf-16-le", "latin-1", "cp1252"]),
)
def test_parse_never_raises_on_near_miss_files(body, prefix, encoding):
    data = prefix + body.encode(encoding, errors="replace")
    found, problems = parse_credentials_text(data)
    assert isinstance(found, dict)
    assert all(p.field == "file" for p in problems)


# --------------------------------------------------------------------------- normalisation


@FAST
@given(valid_inputs())
def test_valid_values_in_any_accepted_form_give_the_same_credentials(case):
    fields, (store, token, client_id, secret) = case
    diagnosis = diagnose(**fields)
    check_invariants(diagnosis)
    assert diagnosis.ok, diagnosis.problems
    credentials = diagnosis.credentials
    assert (credentials.store_hash, credentials.access_token) == (store, token)
    assert (credentials.client_id, credentials.client_secret) == (client_id, secret)


@FAST
@given(
    api_path=any_text
    | st.builds(lambda s: f"https://api.bigcommerce.com/stores/{s}/v3/", any_text),
    store_hash=any_text,
    client_id=any_text | client_ids,
    client_secret=any_text | secrets,
    access_token=any_text | tokens,
)
def test_diagnosing_the_values_again_changes_nothing(
    api_path, store_hash, client_id, client_secret, access_token
):
    first = diagnose(
        api_path=api_path,
        store_hash=store_hash,
        client_id=client_id,
        client_secret=client_secret,
        access_token=access_token,
    )
    second = diagnose(**first.values)
    assert second.credentials == first.credentials
    assert second.problems == first.problems
    assert second.warnings == first.warnings
    assert second.values == first.values


@FAST
@given(valid_inputs())
def test_clean_credentials_diagnose_to_themselves(case):
    fields, _ = case
    credentials = diagnose(**fields).credentials
    assert credentials is not None
    again = diagnose(
        store_hash=credentials.store_hash,
        access_token=credentials.access_token,
        client_id=credentials.client_id,
        client_secret=credentials.client_secret,
    )
    assert again.credentials == credentials
    assert again.warnings == []


@FAST
@given(
    case=valid_inputs(),
    key_order=st.permutations(
        ["ACCESS TOKEN", "CLIENT NAME", "API PATH", "CLIENT ID", "CLIENT SECRET"]
    ),
    newline=st.sampled_from(["\n", "\r\n", "\r"]),
    spaces=st.sampled_from([("", " "), (" ", " "), ("  ", "   "), ("", "")]),
    casing=st.sampled_from([str.upper, str.lower, str.title]),
    bom=st.booleans(),
)
def test_the_credentials_file_in_any_order_case_and_line_ending_round_trips(
    case, key_order, newline, spaces, casing, bom
):
    _, (store, token, client_id, secret) = case
    values = {
        "ACCESS TOKEN": token,
        "CLIENT NAME": "Violet Connect",
        "API PATH": f"https://api.bigcommerce.com/stores/{store}/v3/",
        "CLIENT ID": client_id,
        "CLIENT SECRET": secret,
    }
    before, after = spaces
    lines = [f"{casing(key)}{before}:{after}{values[key]}" for key in key_order]
    text = newline.join(["", *lines, "", "Unknown: ignored", ""])
    data = (b"\xef\xbb\xbf" if bom else b"") + text.encode()
    diagnosis = diagnose_text(data)
    assert diagnosis.ok, diagnosis.problems
    assert diagnosis.credentials.store_hash == store
    assert diagnosis.credentials.access_token == token
    assert diagnosis.credentials.client_id == client_id
    assert diagnosis.credentials.client_secret == secret


# --------------------------------------------------------------------------- foreign hosts

ALLOWED_CONTROL_PANEL = re.compile(r"store-[a-z0-9]+\.mybigcommerce\.com")


def is_bigcommerce(host: str) -> bool:
    host = host.lower().removesuffix(".")
    return host == "api.bigcommerce.com" or bool(ALLOWED_CONTROL_PANEL.fullmatch(host))


@FAST
@given(
    host=domains(),
    store=store_hashes,
    form=st.sampled_from(
        [
            "https://{host}/stores/{store}/v3/",
            "{host}/stores/{store}/v3",
            "//{host}/stores/{store}",
            "https://api.bigcommerce.com@{host}/stores/{store}/v3",
            "https://api.bigcommerce.com:443@{host}/stores/{store}/v3",
            "https://api.bigcommerce.com.{host}/stores/{store}/v3/",
            "https://{host}.api.bigcommerce.com/stores/{store}/v3/",
            "https://store-{store}.mybigcommerce.com.{host}/manage",
            "HTTPS://{host}:8443/stores/{store}/v3/",
        ]
    ),
)
def test_a_foreign_host_is_never_accepted(host, store, form):
    api_path = form.format(host=host, store=store)
    assume(not is_bigcommerce(host))
    diagnosis = diagnose(api_path=api_path, access_token="a" * 31, require_client_fields=False)
    assert diagnosis.credentials is None
    assert any(p.field == "api_path" for p in diagnosis.problems)
    try:
        store_hash_from_api_path(api_path)
    except DoctorError as error:
        assert error.problem.field == "api_path"
    else:
        raise AssertionError(f"accepted {api_path!r}")


URL_PIECES = [
    "https://",
    "http://",
    "ftp://",
    "//",
    "/",
    "\\",
    "@",
    ":",
    "443",
    ".",
    "?",
    "#",
    "%40",
    "api.bigcommerce.com",
    "bigcommerce.com",
    "mybigcommerce.com",
    "store-abc123x.mybigcommerce.com",
    "evil.com",
    "evil",
    "stores",
    "abc123x",
    "v3",
    "user:pass",
    "[::1]",
]


def reference_host(text: str) -> str | None:
    """What a standard URL parser would connect to, or None for a bare hash or a path."""
    text = text.strip()
    if re.fullmatch(r"[A-Za-z0-9]+", text):
        return None
    if not re.match(r"[A-Za-z][A-Za-z0-9+.-]*://", text) and not text.startswith("//"):
        if text.startswith("/") or text.lower().startswith("stores/"):
            return None
        text = "//" + text
    return urlsplit(text).hostname or ""


@FAST
@given(st.lists(st.sampled_from(URL_PIECES), min_size=1, max_size=10).map("".join))
def test_whatever_is_accepted_points_at_bigcommerce(text):
    try:
        store = store_hash_from_api_path(text)
    except DoctorError:
        return
    assert re.fullmatch(r"[a-z0-9]{1,20}", store)
    assert "\\" not in text  # browsers read a backslash as a slash: always refused
    host = reference_host(text)
    assert host is None or is_bigcommerce(host), (text, host)


# --------------------------------------------------------------------------- secrets and positions

INSERTS = st.sampled_from(
    [" ", "\t", "\n", "\u200b", "\ufeff", "\u202e", "\u00a0", '"', "“", "\u0430"]
)


@FAST
@given(
    token=tokens,
    secret=secrets,
    client_id=client_ids,
    insert=INSERTS,
    where=st.integers(min_value=1, max_value=30),
    layout=st.sampled_from(["token", "secret", "swap", "twice", "labelled", "in_path"]),
)
def test_no_message_ever_contains_a_secret(token, secret, client_id, insert, where, layout):
    fields = {
        "api_path": "https://api.bigcommerce.com/stores/abc123xyz/v3/",
        "access_token": token,
        "client_id": client_id,
        "client_secret": secret,
    }
    if layout == "token":
        fields["access_token"] = token[:where] + insert + token[where:]
    elif layout == "secret":
        fields["client_secret"] = secret[:where] + insert + secret[where:]
    elif layout == "swap":
        fields["access_token"], fields["client_secret"] = secret, token
    elif layout == "twice":
        fields["client_secret"] = fields["client_id"] = token
    elif layout == "labelled":
        fields["access_token"] = f"CLIENT SECRET: {secret}"
    else:
        fields["api_path"] = f"https://api.bigcommerce.com/stores/{token}{insert}/v3/"
    diagnosis = diagnose(**fields)
    assert diagnosis.problems
    pieces = {value[i : i + 8] for value in (token, secret) for i in range(len(value) - 7)}
    messages = " ".join(n.message for n in diagnosis.problems + diagnosis.warnings)
    assert not any(piece in messages for piece in pieces)
    if layout != "in_path":  # the API path is not a secret: repr shows it as pasted
        assert not any(piece in repr(diagnosis) for piece in pieces)


@FAST
@given(token=tokens, insert=INSERTS, where=st.integers(min_value=1, max_value=30))
def test_the_reported_position_is_where_the_character_is(token, insert, where):
    diagnosis = diagnose(
        api_path="abc123xyz",
        access_token=token[:where] + insert + token[where:],
        require_client_fields=False,
    )
    problem = diagnosis.problems[0]
    assert problem.field == "access_token"
    assert f"at character {where + 1}" in problem.message
