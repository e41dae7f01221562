"""The credential doctor: every rule, with realistic values."""

from __future__ import annotations

import codecs

import pytest

from stores.bigcommerce.doctor import (
    FIELD_LABELS,
    MAX_FIELD_LENGTH,
    MAX_FILE_SIZE,
    PROBLEM_CODES,
    WARNING_CODES,
    Diagnosis,
    DoctorError,
    diagnose,
    diagnose_text,
    parse_credentials_text,
    store_hash_from_api_path,
)
from stores.bigcommerce.report import Credentials, Problem

TOKEN = "a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p"  # 31 chars [a-z0-9]
CLIENT_ID = "q9w8e7r6t5y4u3i2o1p0l9k8j7h6g5"  # 30 chars [a-z0-9]
SECRET = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"  # 64 hex
OLD_SECRET = "z8y7x6w5v4u3t2s1r0q9p8o7n6m5l4k"  # 31 chars alphanumeric, not hex
STORE = "abc123xyz"
API_PATH = f"https://api.bigcommerce.com/stores/{STORE}/v3/"

VALID = {
    "api_path": API_PATH,
    "client_id": CLIENT_ID,
    "client_secret": SECRET,
    "access_token": TOKEN,
}

CREDENTIALS_FILE = (
    f"ACCESS TOKEN: {TOKEN}\n"
    "CLIENT NAME: Violet Connect\n"
    f"API PATH: {API_PATH}\n"
    f"CLIENT ID: {CLIENT_ID}\n"
    f"CLIENT SECRET: {SECRET}\n"
)


def run(**changes: str) -> Diagnosis:
    return diagnose(**{**VALID, **changes})


def codes(diagnosis: Diagnosis, field: str | None = None) -> list[str]:
    return [p.code for p in diagnosis.problems if field is None or p.field == field]


def warning_codes(diagnosis: Diagnosis, field: str | None = None) -> list[str]:
    return [w.code for w in diagnosis.warnings if field is None or w.field == field]


def only_problem(diagnosis: Diagnosis) -> Problem:
    assert len(diagnosis.problems) == 1, diagnosis.problems
    assert diagnosis.credentials is None
    assert not diagnosis.ok
    return diagnosis.problems[0]


# --------------------------------------------------------------------------- the happy path


def test_field_labels_are_the_merchants_words():
    assert FIELD_LABELS == {
        "api_path": "API path",
        "store_hash": "Store hash",
        "client_id": "Client ID",
        "client_secret": "Client secret",
        "access_token": "Access token",
        "file": "Credentials file",
    }


def test_valid_values_give_credentials_and_nothing_else():
    diagnosis = run()
    assert diagnosis.ok
    assert diagnosis.problems == []
    assert diagnosis.warnings == []
    assert diagnosis.credentials == Credentials(
        store_hash=STORE, access_token=TOKEN, client_id=CLIENT_ID, client_secret=SECRET
    )


def test_outer_whitespace_is_trimmed_silently_and_values_keep_the_trimmed_text():
    diagnosis = diagnose(
        api_path=f"  \t{API_PATH}\n",
        client_id=f"\u00a0{CLIENT_ID}\u00a0",
        client_secret=f"\r\n{SECRET}\r\n",
        access_token=f" {TOKEN} \u2003",
    )
    assert diagnosis.ok, diagnosis.problems
    assert diagnosis.warnings == []
    assert diagnosis.credentials.access_token == TOKEN
    assert diagnosis.values == {
        "api_path": API_PATH,
        "store_hash": "",
        "client_id": CLIENT_ID,
        "client_secret": SECRET,
        "access_token": TOKEN,
    }


def test_token_and_store_hash_are_enough_when_client_fields_are_not_required():
    diagnosis = diagnose(store_hash=STORE, access_token=TOKEN, require_client_fields=False)
    assert diagnosis.ok
    assert diagnosis.credentials == Credentials(store_hash=STORE, access_token=TOKEN)


def test_client_fields_given_anyway_are_still_checked_when_not_required():
    diagnosis = diagnose(
        store_hash=STORE, access_token=TOKEN, client_id="abc def", require_client_fields=False
    )
    assert codes(diagnosis) == ["inner_whitespace"]
    assert diagnosis.problems[0].field == "client_id"


def test_repr_of_a_diagnosis_never_shows_a_secret():
    text = repr(run())
    assert TOKEN not in text and SECRET not in text and CLIENT_ID not in text
    assert "…4o5p" in text[text.index("values=") :]
    assert STORE in text


# --------------------------------------------------------------------------- API path forms


@pytest.mark.parametrize(
    "api_path",
    [
        "https://api.bigcommerce.com/stores/abc123xyz/v3/",
        "https://api.bigcommerce.com/stores/abc123xyz/v3",
        "https://api.bigcommerce.com/stores/abc123xyz/v2/",
        "https://api.bigcommerce.com/stores/abc123xyz",
        "http://api.bigcommerce.com/stores/abc123xyz/v3/",
        "api.bigcommerce.com/stores/abc123xyz/v3/",
        "//api.bigcommerce.com/stores/abc123xyz/v3/",
        "/stores/abc123xyz",
        "/stores/abc123xyz/v3/",
        "stores/abc123xyz/v3",
        "https://api.bigcommerce.com//stores//abc123xyz//v3//",
        "HTTPS://API.BIGCOMMERCE.COM/STORES/ABC123XYZ/V3/",
        "https://api.bigcommerce.com./stores/abc123xyz/v3/",
        "https://api.bigcommerce.com:443/stores/abc123xyz/v3/",
        "https://api.bigcommerce.com/stores/abc123xyz/v3/catalog/products?limit=1",
        "https://api.bigcommerce.com/stores/abc123xyz/v3/#top",
        "store-abc123xyz.mybigcommerce.com",
        "https://store-abc123xyz.mybigcommerce.com/manage/dashboard",
        "https://STORE-ABC123XYZ.mybigcommerce.com/",
        "abc123xyz",
        "ABC123XYZ",
    ],
)
def test_store_hash_comes_from_any_form_of_the_api_path(api_path):
    assert store_hash_from_api_path(api_path) == STORE
    diagnosis = run(api_path=api_path)
    assert diagnosis.ok, diagnosis.problems
    assert diagnosis.credentials.store_hash == STORE


@pytest.mark.parametrize(
    "api_path",
    [
        "https://evil.example/stores/abc123xyz/v3/",
        "https://api.bigcommerce.com.evil.com/stores/abc123xyz/v3/",
        "api.bigcommerce.com.evil.com/stores/abc123xyz/v3/",
        "https://api.bigcommerce.com@evil.com/stores/abc123xyz/v3",
        "https://user:pass@api.bigcommerce.com/stores/abc123xyz/v3",
        "https://evil.api.bigcommerce.com/stores/abc123xyz/v3/",
        "https://bigcommerce.com/stores/abc123xyz/v3/",
        "https://mystore.mybigcommerce.com/stores/abc123xyz/v3/",
        "https://store-abc123xyz.mybigcommerce.com.evil.com/",
        "https://www.my-shop.com/stores/abc123xyz/v3/",
        "https://127.0.0.1/stores/abc123xyz/v3/",
        "https://localhost/stores/abc123xyz/v3/",
    ],
)
def test_any_other_host_is_refused(api_path):
    with pytest.raises(DoctorError) as raised:
        store_hash_from_api_path(api_path)
    assert raised.value.problem.code == "foreign_host"
    assert raised.value.problem.field == "api_path"
    problem = only_problem(run(api_path=api_path))
    assert problem == Problem("api_path", "foreign_host", problem.message)
    assert "https://api.bigcommerce.com/stores/abc123/v3/" in problem.message


@pytest.mark.parametrize(
    "api_path",
    [
        "https://api.bigcommerce.com\\@evil.com/stores/abc123xyz/v3",
        "https://api.bigcommerce.com:evil.com/stores/abc123xyz/v3",
        "ftp://api.bigcommerce.com/stores/abc123xyz/v3/",
        "javascript:alert(1)",
        "https://api.bigcommerce.com/",
        "https://api.bigcommerce.com/v3/abc123xyz",
        "https://",
        "abc123xyz/v3",
    ],
)
def test_broken_api_paths_are_refused_with_the_expected_shape(api_path):
    with pytest.raises(DoctorError) as raised:
        store_hash_from_api_path(api_path)
    assert raised.value.problem.code in {"bad_api_path", "foreign_host"}
    problem = only_problem(run(api_path=api_path))
    assert problem.code in {"bad_api_path", "foreign_host"}
    assert "https://api.bigcommerce.com/stores/abc123/v3/" in problem.message


def test_a_wrong_looking_api_path_says_where_to_copy_it_from():
    problem = only_problem(run(api_path="https://api.bigcommerce.com/v3/catalog"))
    assert problem.code == "bad_api_path"
    assert problem.message.startswith("API path has no /stores/<store hash>/ part.")
    assert "API PATH line" in problem.message


def test_doctor_error_is_a_value_error_carrying_the_problem():
    with pytest.raises(ValueError, match="API path") as raised:
        store_hash_from_api_path("https://evil.example/stores/abc/v3/")
    assert isinstance(raised.value, DoctorError)
    assert str(raised.value) == raised.value.problem.message


def test_store_hash_from_api_path_refuses_empty_and_invisible_input():
    with pytest.raises(DoctorError) as empty:
        store_hash_from_api_path("   ")
    assert empty.value.problem.code == "required"
    with pytest.raises(DoctorError) as invisible:
        store_hash_from_api_path("https://api.bigcommerce.com/stores/abc\u200b123/v3/")
    assert invisible.value.problem.code == "invisible_character"


# --------------------------------------------------------------------------- store hash


def test_a_bare_store_hash_works_in_the_store_hash_field():
    diagnosis = diagnose(
        store_hash=" ABC123XYZ ",
        client_id=CLIENT_ID,
        client_secret=SECRET,
        access_token=TOKEN,
    )
    assert diagnosis.ok
    assert diagnosis.credentials.store_hash == STORE
    assert diagnosis.values["store_hash"] == "ABC123XYZ"


def test_a_full_api_path_also_works_in_the_store_hash_field():
    diagnosis = diagnose(store_hash=API_PATH, access_token=TOKEN, require_client_fields=False)
    assert diagnosis.credentials.store_hash == STORE


def test_store_hash_and_api_path_that_agree_are_fine():
    assert run(store_hash="ABC123XYZ").ok


def test_store_hash_and_api_path_that_disagree_block():
    problem = only_problem(run(store_hash="def456uvw"))
    assert (problem.field, problem.code) == ("store_hash", "store_hash_mismatch")


@pytest.mark.parametrize("store", ["abc1", "a", "abcdefghij1234567890"])
def test_an_unusual_but_possible_store_hash_length_is_a_warning(store):
    diagnosis = run(api_path=f"https://api.bigcommerce.com/stores/{store}/v3/")
    assert diagnosis.ok
    assert diagnosis.credentials.store_hash == store
    assert warning_codes(diagnosis) == ["odd_length"]
    assert "7 to 10" in diagnosis.warnings[0].message


@pytest.mark.parametrize("store", ["abc1234567890123456789", "abc_123", "abc-123", "abc.123"])
def test_a_store_hash_that_cannot_be_right_blocks(store):
    problem = only_problem(run(api_path=f"https://api.bigcommerce.com/stores/{store}/v3/"))
    assert problem.code == "bad_store_hash"


def test_a_bare_value_too_long_for_a_store_hash_blocks():
    problem = only_problem(run(api_path="abcdefghij12345678901"))
    assert problem.code == "bad_store_hash"


def test_a_secret_pasted_as_api_path_is_recognised():
    problem = only_problem(run(api_path=SECRET))
    assert problem.code == "looks_like_client_secret"
    assert problem.message.startswith("API path looks like your Client secret.")


def test_a_token_pasted_as_api_path_is_recognised():
    problem = only_problem(run(api_path=TOKEN))
    assert problem.code == "looks_like_access_token"
    assert "Access token or a Client ID" in problem.message


# --------------------------------------------------------------------------- required fields


@pytest.mark.parametrize(
    ("field", "expected_start"),
    [
        ("access_token", "Paste the Access token BigCommerce showed you"),
        ("client_id", "Paste the Client ID BigCommerce showed you"),
        ("client_secret", "Paste the Client secret BigCommerce showed you"),
        ("api_path", "Paste the API path BigCommerce showed you"),
    ],
)
def test_each_missing_field_gets_its_own_problem(field, expected_start):
    problem = only_problem(run(**{field: "   "}))
    assert (problem.field, problem.code) == (field, "required")
    assert problem.message.startswith(expected_start)


def test_everything_missing_gives_one_problem_per_field():
    diagnosis = diagnose()
    assert sorted((p.field, p.code) for p in diagnosis.problems) == [
        ("access_token", "required"),
        ("api_path", "required"),
        ("client_id", "required"),
        ("client_secret", "required"),
    ]


def test_only_token_and_location_are_required_without_client_fields():
    diagnosis = diagnose(require_client_fields=False)
    assert sorted(p.field for p in diagnosis.problems) == ["access_token", "api_path"]


def test_a_label_alone_counts_as_missing():
    problem = only_problem(run(access_token="ACCESS TOKEN:"))
    assert (problem.field, problem.code) == ("access_token", "required")


# --------------------------------------------------------------------------- characters


def test_a_space_inside_the_token_is_named_with_its_position():
    token = TOKEN[:11] + " " + TOKEN[11:]
    problem = only_problem(run(access_token=token))
    assert problem == Problem(
        "access_token",
        "inner_whitespace",
        "Access token has a space at character 12. "
        "Copy it again from BigCommerce, or check for spaces or copy/paste errors.",
    )


def test_several_spaces_are_counted():
    token = TOKEN[:3] + " " + TOKEN[3:10] + " " + TOKEN[10:20] + " " + TOKEN[20:]
    problem = only_problem(run(access_token=token))
    assert "a space at character 4 (and 2 more after it)" in problem.message


@pytest.mark.parametrize(
    ("inserted", "described"),
    [
        ("\t", "a tab"),
        ("\n", "a line break"),
        ("\r\n", "a line break"),
        ("\u00a0", "a non-breaking space (U+00A0 NO-BREAK SPACE)"),
        ("\u2003", "an unusual space (U+2003 EM SPACE)"),
        ("\u2028", "a line break"),
    ],
)
def test_every_kind_of_inner_whitespace_blocks(inserted, described):
    problem = only_problem(run(client_id=CLIENT_ID[:6] + inserted + CLIENT_ID[6:]))
    assert (problem.field, problem.code) == ("client_id", "inner_whitespace")
    assert problem.message.startswith(f"Client ID has {described} at character 7")


def test_a_zero_width_space_in_the_secret_is_named():
    problem = only_problem(run(client_secret=SECRET[:4] + "\u200b" + SECRET[4:]))
    assert problem == Problem(
        "client_secret",
        "invisible_character",
        "Client secret contains an invisible character (U+200B ZERO WIDTH SPACE) at "
        "character 5 — it usually comes from copying out of a chat or document. "
        "Paste it again as plain text.",
    )


@pytest.mark.parametrize(
    ("inserted", "name"),
    [
        ("\ufeff", "U+FEFF ZERO WIDTH NO-BREAK SPACE"),
        ("\u202e", "U+202E RIGHT-TO-LEFT OVERRIDE"),
        ("\u200d", "U+200D ZERO WIDTH JOINER"),
        ("\u00ad", "U+00AD SOFT HYPHEN"),
        ("\x00", "U+0000"),
        ("\x7f", "U+007F"),
    ],
)
def test_invisible_characters_anywhere_block(inserted, name):
    for token in (inserted + TOKEN, TOKEN + inserted, TOKEN[:9] + inserted + TOKEN[9:]):
        problem = only_problem(run(access_token=token))
        assert problem.code == "invisible_character"
        assert f"({name})" in problem.message


def test_a_leading_bom_is_not_trimmed_silently():
    problem = only_problem(run(access_token="\ufeff" + TOKEN))
    assert problem.code == "invisible_character"
    assert "at character 1 " in problem.message


def test_invisible_characters_in_the_api_path_block():
    problem = only_problem(run(api_path=API_PATH.replace("abc", "ab\u200bc")))
    assert (problem.field, problem.code) == ("api_path", "invisible_character")


@pytest.mark.parametrize("quote", ['"', "'", "“", "”", "‘", "’", "«", "`"])
def test_quotation_marks_block(quote):
    problem = only_problem(run(access_token=f"{quote}{TOKEN}{quote}"))
    assert problem.code == "quotes"
    assert "at character 1 (and 1 more after it)" in problem.message
    assert "without quotation marks" in problem.message


def test_quotes_around_the_api_path_block():
    problem = only_problem(run(api_path=f'"{API_PATH}"'))
    assert (problem.field, problem.code) == ("api_path", "quotes")


def test_a_look_alike_letter_blocks():
    token = TOKEN[:2] + "\u0430" + TOKEN[3:]  # CYRILLIC SMALL LETTER A
    problem = only_problem(run(access_token=token))
    assert problem.code == "unexpected_character"
    assert "(U+0430 CYRILLIC SMALL LETTER A) at character 3" in problem.message


def test_a_look_alike_host_is_refused():
    problem = only_problem(run(api_path="https://api.bigcommerce.c\u043em/stores/abc123xyz/v3/"))
    assert problem.code == "unexpected_character"


def test_different_kinds_of_bad_characters_are_each_reported():
    diagnosis = run(access_token=TOKEN[:5] + " " + TOKEN[5:10] + "\u200b" + TOKEN[10:])
    assert sorted(codes(diagnosis)) == ["inner_whitespace", "invisible_character"]


def test_a_capital_letter_is_only_a_warning():
    diagnosis = run(access_token="A" + TOKEN[1:])
    assert diagnosis.ok
    assert warning_codes(diagnosis) == ["uppercase"]
    assert "capital letter at character 1" in diagnosis.warnings[0].message
    assert diagnosis.credentials.access_token == "A" + TOKEN[1:]  # case is kept


def test_ascii_punctuation_in_a_key_is_only_a_warning():
    diagnosis = run(client_id=CLIENT_ID[:29] + "-")
    assert diagnosis.ok
    assert warning_codes(diagnosis) == ["odd_characters"]
    assert "“-” at character 30" in diagnosis.warnings[0].message


# --------------------------------------------------------------------------- labels


def test_the_fields_own_label_is_removed_with_a_warning():
    diagnosis = run(access_token=f"ACCESS TOKEN: {TOKEN}")
    assert diagnosis.ok
    assert diagnosis.credentials.access_token == TOKEN
    assert warning_codes(diagnosis) == ["label_removed"]
    assert "“ACCESS TOKEN:”" in diagnosis.warnings[0].message
    assert diagnosis.values["access_token"] == f"ACCESS TOKEN: {TOKEN}"


@pytest.mark.parametrize(
    ("field", "text"),
    [
        ("client_id", f"client id:{CLIENT_ID}"),
        ("client_secret", f"Client_Secret :  {SECRET}"),
        ("api_path", f"API PATH: {API_PATH}"),
        ("api_path", f"Store hash: {STORE}"),
    ],
)
def test_labels_in_any_case_and_spacing_are_removed(field, text):
    diagnosis = run(**{field: text})
    assert diagnosis.ok, diagnosis.problems
    assert warning_codes(diagnosis) == ["label_removed"]


def test_positions_count_the_label_that_was_pasted():
    problem = only_problem(run(access_token=f"ACCESS TOKEN: {TOKEN[:4]} {TOKEN[4:]}"))
    assert "at character 19." in problem.message
    assert "label_removed" not in warning_codes(run(access_token=f"ACCESS TOKEN: {TOKEN} x"))


@pytest.mark.parametrize(
    ("field", "text", "code"),
    [
        ("access_token", f"CLIENT SECRET: {SECRET}", "looks_like_client_secret"),
        ("client_secret", f"ACCESS TOKEN: {TOKEN}", "looks_like_access_token"),
        ("access_token", f"CLIENT ID: {CLIENT_ID}", "looks_like_client_id"),
        ("client_id", f"API PATH: {API_PATH}", "looks_like_api_path"),
        ("client_id", "CLIENT NAME: Violet Connect", "looks_like_client_name"),
        ("api_path", f"ACCESS TOKEN: {TOKEN}", "looks_like_access_token"),
    ],
)
def test_another_fields_label_says_which_field_it_is(field, text, code):
    diagnosis = run(**{field: text})
    problem = only_problem(diagnosis)
    assert (problem.field, problem.code) == (field, code)
    assert problem.message.startswith(FIELD_LABELS[field])


def test_the_whole_file_pasted_in_one_field_is_recognised():
    problem = only_problem(run(access_token=CREDENTIALS_FILE))
    assert (problem.field, problem.code) == ("access_token", "whole_file_in_field")
    assert "each value in its own field" in problem.message


# --------------------------------------------------------------------------- web addresses


def test_the_api_path_in_the_token_field_is_recognised():
    diagnosis = run(access_token=API_PATH)
    problem = only_problem(diagnosis)
    assert (problem.field, problem.code) == ("access_token", "looks_like_api_path")
    assert problem.message.startswith("Access token looks like your API path.")


@pytest.mark.parametrize(
    "value", ["https://login.bigcommerce.com/", "www.bigcommerce.com", "https://example.com/a"]
)
def test_another_web_address_in_a_key_field_blocks(value):
    problem = only_problem(run(client_secret=value))
    assert (problem.field, problem.code) == ("client_secret", "url_in_field")
    assert "web address" in problem.message


def test_a_token_starting_with_http_is_not_a_web_address():
    assert run(access_token="http" + TOKEN[4:]).ok


# --------------------------------------------------------------------------- swapped fields


def test_the_secret_in_the_token_field_is_recognised():
    problem = only_problem(run(access_token=SECRET.upper()))
    assert (problem.field, problem.code) == ("access_token", "looks_like_client_secret")
    assert problem.message.startswith("Access token looks like your Client secret.")


def test_the_secret_in_the_client_id_field_is_recognised():
    problem = only_problem(run(client_id=SECRET))
    assert (problem.field, problem.code) == ("client_id", "looks_like_client_secret")


def test_an_old_style_31_character_secret_is_fine_with_a_warning():
    diagnosis = run(client_secret=OLD_SECRET)
    assert diagnosis.ok
    assert diagnosis.credentials.client_secret == OLD_SECRET
    assert warning_codes(diagnosis) == ["looks_like_access_token"]
    assert "Older API accounts" in diagnosis.warnings[0].message


def test_a_31_character_hex_secret_raises_no_suspicion():
    diagnosis = run(client_secret=SECRET[:31])
    assert diagnosis.ok
    assert diagnosis.warnings == []


def test_token_and_secret_swapped_both_block():
    diagnosis = run(access_token=SECRET, client_secret=TOKEN)
    assert sorted((p.field, p.code) for p in diagnosis.problems) == [
        ("access_token", "looks_like_client_secret"),
        ("client_secret", "looks_like_access_token"),
    ]
    assert diagnosis.warnings == []
    assert diagnosis.credentials is None


def test_the_client_id_in_the_token_field_is_recognised():
    problem = only_problem(run(access_token=CLIENT_ID))
    assert (problem.field, problem.code) == ("access_token", "looks_like_client_id")
    assert problem.message.startswith("Access token looks like your Client ID.")


def test_the_token_pasted_twice_is_recognised():
    problem = only_problem(run(client_secret=TOKEN))
    assert (problem.field, problem.code) == ("client_secret", "same_value_twice")
    assert problem.message.startswith("Client secret is the same as the Access token.")


def test_the_client_id_pasted_as_secret_is_recognised():
    problem = only_problem(run(client_secret=CLIENT_ID))
    assert (problem.field, problem.code) == ("client_secret", "same_value_twice")
    assert "Client ID" in problem.message


# --------------------------------------------------------------------------- odd shapes


def test_a_short_token_is_odd_but_not_blocking():
    diagnosis = run(access_token=TOKEN[:20])
    assert diagnosis.ok
    assert warning_codes(diagnosis) == ["odd_length"]
    assert diagnosis.warnings[0].message.startswith(
        "Access token is 20 characters long, but BigCommerce access tokens are usually 31."
    )


@pytest.mark.parametrize("client_id", [CLIENT_ID, CLIENT_ID + "x"])
def test_client_ids_of_30_or_31_characters_are_usual(client_id):
    assert run(client_id=client_id).warnings == []


def test_a_25_character_client_id_is_odd():
    diagnosis = run(client_id=CLIENT_ID[:25])
    assert diagnosis.ok
    assert warning_codes(diagnosis) == ["odd_length"]


def test_a_40_character_secret_is_odd():
    diagnosis = run(client_secret=SECRET[:40])
    assert diagnosis.ok
    assert warning_codes(diagnosis) == ["odd_length"]
    assert "usually 64" in diagnosis.warnings[0].message


def test_a_64_character_secret_that_is_not_hex_is_odd():
    diagnosis = run(client_secret=SECRET[:63] + "z")
    assert diagnosis.ok
    assert warning_codes(diagnosis) == ["not_hex"]


def test_warnings_are_dropped_for_a_field_that_has_a_problem():
    diagnosis = run(access_token=f"ACCESS TOKEN: {TOKEN[:10]} {TOKEN[10:20]}")
    assert codes(diagnosis) == ["inner_whitespace"]
    assert diagnosis.warnings == []


# --------------------------------------------------------------------------- length cap


@pytest.mark.parametrize("field", ["api_path", "access_token", "client_id", "client_secret"])
def test_an_overlong_field_is_refused_before_anything_else(field):
    value = "a b\u200b" * MAX_FIELD_LENGTH
    problem = only_problem(run(**{field: value}))
    assert (problem.field, problem.code) == (field, "too_long")


def test_the_length_cap_counts_after_trimming():
    padded = " " * (MAX_FIELD_LENGTH * 2) + TOKEN + " " * 10
    assert run(access_token=padded).ok
    assert codes(run(access_token="a" * (MAX_FIELD_LENGTH + 1))) == ["too_long"]
    assert run(access_token="a" * MAX_FIELD_LENGTH).ok


# --------------------------------------------------------------------------- messages


SEEDED_TOKEN = "s3cr3ttok3nzq9x8w7v6u5t4r3p2n1m"
SEEDED_SECRET = "d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2"

MALFORMED = [
    {"access_token": SEEDED_TOKEN[:10] + " " + SEEDED_TOKEN[10:]},
    {"access_token": SEEDED_TOKEN + "\u200b"},
    {"access_token": f'"{SEEDED_TOKEN}"'},
    {"access_token": SEEDED_SECRET, "client_secret": SEEDED_TOKEN},
    {"access_token": SEEDED_TOKEN, "client_secret": SEEDED_TOKEN},
    {"access_token": SEEDED_TOKEN, "client_id": SEEDED_TOKEN},
    {"access_token": f"ACCESS TOKEN: {SEEDED_TOKEN}"},
    {"access_token": f"CLIENT SECRET: {SEEDED_SECRET}"},
    {"access_token": SEEDED_TOKEN[:20]},
    {"access_token": SEEDED_TOKEN.upper()},
    {"access_token": SEEDED_TOKEN + "-"},
    {"access_token": SEEDED_TOKEN * 40},
    {"api_path": SEEDED_TOKEN},
    {"api_path": SEEDED_SECRET},
    {"api_path": f"https://api.bigcommerce.com/stores/{SEEDED_TOKEN}/v3/"},
    {"api_path": f"https://{SEEDED_TOKEN}.example/stores/abc/v3/"},
    {"client_secret": SEEDED_SECRET[:40]},
    {"client_secret": SEEDED_SECRET[:63] + "z"},
    {"client_secret": SEEDED_SECRET[:12] + "\u00a0" + SEEDED_SECRET[12:]},
    {"client_secret": f"https://example.com/{SEEDED_SECRET}"},
    {"client_id": SEEDED_SECRET},
    {"store_hash": SEEDED_TOKEN},
]


def windows(value: str, size: int = 5) -> set[str]:
    return {value[i : i + size] for i in range(len(value) - size + 1)}


@pytest.mark.parametrize("changes", MALFORMED)
def test_no_message_echoes_a_secret(changes):
    diagnosis = run(**changes)
    notes = diagnosis.problems + diagnosis.warnings
    assert notes, "each case should say something"
    forbidden = windows(SEEDED_TOKEN) | windows(SEEDED_SECRET)
    for note in notes:
        assert not any(piece in note.message for piece in forbidden), note


@pytest.mark.parametrize("changes", MALFORMED)
def test_every_message_names_its_field_and_uses_a_listed_code(changes):
    diagnosis = run(**changes)
    for note in diagnosis.problems + diagnosis.warnings:
        assert FIELD_LABELS[note.field] in note.message, note
    assert {p.code for p in diagnosis.problems} <= PROBLEM_CODES
    assert {w.code for w in diagnosis.warnings} <= WARNING_CODES


# --------------------------------------------------------------------------- the .txt file


def test_the_file_bigcommerce_downloads_is_read():
    found, problems = parse_credentials_text(CREDENTIALS_FILE)
    assert problems == []
    assert found == {
        "access_token": TOKEN,
        "client_name": "Violet Connect",
        "api_path": API_PATH,
        "client_id": CLIENT_ID,
        "client_secret": SECRET,
    }


def test_an_uploaded_file_with_bom_crlf_mixed_case_and_noise_is_read():
    text = (
        "\r\n"
        f"client secret   :   {SECRET}\r\n"
        "\r\n"
        "Some Other Key: whatever\r\n"
        f"Api Path:{API_PATH}\r\n"
        "a line without any colon\r\n"
        f"  Access_Token : {TOKEN}  \r\n"
        f"CLIENT ID: {CLIENT_ID}\r\n"
    )
    found, problems = parse_credentials_text(codecs.BOM_UTF8 + text.encode())
    assert problems == []
    assert found == {
        "access_token": TOKEN,
        "api_path": API_PATH,
        "client_id": CLIENT_ID,
        "client_secret": SECRET,
    }


def test_a_utf16_file_with_bom_is_read():
    found, problems = parse_credentials_text(CREDENTIALS_FILE.encode("utf-16"))
    assert problems == []
    assert found["access_token"] == TOKEN


def test_a_pasted_text_with_a_bom_is_read():
    found, problems = parse_credentials_text("\ufeff" + CREDENTIALS_FILE.replace("\n", "\r"))
    assert problems == []
    assert found["client_secret"] == SECRET


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "file_unreadable"),
        (b"ACCESS TOKEN: \xff\xfe\xfa", "file_unreadable"),
        (b"ACCESS TOKEN: abc\x00def", "file_unreadable"),
        (b"", "file_empty"),
        (b" \r\n\t\r\n", "file_empty"),
        (codecs.BOM_UTF8, "file_empty"),
        (b"Dear merchant,\nhere are your keys.\n", "file_no_credentials"),
        (b"CLIENT NAME: Violet\n", "file_no_credentials"),
        (b"a" * (MAX_FILE_SIZE + 1), "too_long"),
    ],
)
def test_unusable_files_get_a_clear_file_problem(content, code):
    found, problems = parse_credentials_text(content)
    assert [(p.field, p.code) for p in problems] == [("file", code)]
    assert "BigCommerce" in problems[0].message


def test_two_different_values_for_one_key_are_refused():
    text = CREDENTIALS_FILE + f"ACCESS TOKEN: {SEEDED_TOKEN}\n"
    _, problems = parse_credentials_text(text)
    assert [p.code for p in problems] == ["file_conflicting_values"]
    assert "Access token" in problems[0].message
    assert SEEDED_TOKEN not in problems[0].message


def test_the_same_line_twice_is_harmless():
    _, problems = parse_credentials_text(CREDENTIALS_FILE + f"ACCESS TOKEN: {TOKEN}\n")
    assert problems == []


def test_diagnose_text_turns_the_file_into_credentials():
    diagnosis = diagnose_text(CREDENTIALS_FILE.encode())
    assert diagnosis.ok
    assert diagnosis.credentials == Credentials(STORE, TOKEN, CLIENT_ID, SECRET)
    assert diagnosis.values["api_path"] == API_PATH


def test_diagnose_text_applies_non_blank_overrides_only():
    text = CREDENTIALS_FILE.replace(TOKEN, "")
    diagnosis = diagnose_text(text, access_token=f" {TOKEN} ", client_id="  ")
    assert diagnosis.ok
    assert diagnosis.credentials.access_token == TOKEN
    assert diagnosis.credentials.client_id == CLIENT_ID


def test_diagnose_text_passes_require_client_fields():
    text = f"ACCESS TOKEN: {TOKEN}\nAPI PATH: {API_PATH}\n"
    assert codes(diagnose_text(text)) == ["required", "required"]
    assert diagnose_text(text, require_client_fields=False).ok


def test_diagnose_text_checks_the_values_from_the_file():
    diagnosis = diagnose_text(CREDENTIALS_FILE.replace(API_PATH, "https://evil.example/stores/x/"))
    assert codes(diagnosis) == ["foreign_host"]


def test_diagnose_text_reports_only_the_file_problem_for_an_unusable_file():
    diagnosis = diagnose_text(b"\x00\x01\x02")
    assert [(p.field, p.code) for p in diagnosis.problems] == [("file", "file_unreadable")]
    assert diagnosis.credentials is None


def test_diagnose_text_refuses_unknown_fields():
    with pytest.raises(TypeError):
        diagnose_text(CREDENTIALS_FILE, acess_token=TOKEN)


@pytest.mark.parametrize(
    "api_path",
    [
        "https://api.bigcommerce.com/stores/v3/",
        "https://api.bigcommerce.com/stores//v3/",
        "https://api.bigcommerce.com/stores/V2",
        "/stores/v3/catalog/products",
    ],
)
def test_an_api_path_without_its_store_hash_is_not_read_as_store_v3(api_path):
    with pytest.raises(DoctorError) as raised:
        store_hash_from_api_path(api_path)
    problem = raised.value.problem
    assert problem.code == "bad_api_path"
    assert "has no store hash between /stores/ and /v" in problem.message
    assert "https://api.bigcommerce.com/stores/abc123/v3/" in problem.message
