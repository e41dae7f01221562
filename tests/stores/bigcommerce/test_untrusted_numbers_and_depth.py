"""Issue 28 item 1's classes of bug outside the receiver: numbers read from
BigCommerce's headers or pasted text take ASCII digits only, and JSON nested
deeper than Python recurses is an unreadable answer, never an exception."""

from __future__ import annotations

import pytest

from stores.bigcommerce.client import announced_wait, error_texts
from stores.bigcommerce.doctor import diagnose
from stores.importing.files import ImportFileError, read_import_file

DEEP = "[" * 50_000 + "]" * 50_000


@pytest.mark.parametrize("value", ["inf", "nan", "1e400", "١٢", "²", "-5", "1.5e3", " 1_0 "])
def test_a_wait_announced_with_anything_but_ascii_digits_is_ignored(value):
    assert announced_wait({"X-Rate-Limit-Time-Reset-Ms": value}) is None
    assert announced_wait({"X-Retry-After": value}) is None


def test_a_wait_announced_in_ascii_digits_is_read():
    assert announced_wait({"X-Rate-Limit-Time-Reset-Ms": "1500"}) == 1.5
    assert announced_wait({"X-Retry-After": "2"}) == 2.0


def test_an_error_body_nested_too_deep_is_read_as_text_not_raised():
    assert error_texts(DEEP.encode())  # some words, no RecursionError


def test_a_json_lines_row_nested_too_deep_is_a_clear_error():
    with pytest.raises(ImportFileError, match="Line 1 is nested too deeply"):
        read_import_file(('{"a":' * 50_000 + "1" + "}" * 50_000).encode())


def test_a_port_of_unicode_digits_is_refused_in_an_api_path():
    diagnosis = diagnose(api_path="https://api.bigcommerce.com:²/stores/abc123/v3/", access_token="x" * 31)
    assert any(problem.field == "api_path" for problem in diagnosis.problems), diagnosis.problems
