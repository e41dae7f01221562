import io
import json
import sys

import pytest
import responses
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.connect.test_wizard import API_PATH, HASH, TOKEN, TXT
from tests.fake_bigcommerce import ALL_SCOPES, FakeBigCommerce


@pytest.fixture
def bigcommerce():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        fake = FakeBigCommerce(rsps)
        fake.add_token(HASH, TOKEN)
        yield fake


def run(tmp_path, content: str, *extra, stdin=None):
    path = tmp_path / "creds.txt"
    path.write_text(content)
    out = io.StringIO()
    code = 0
    try:
        call_command("check_bigcommerce", "--credentials", str(path), *extra, stdout=out)
    except SystemExit as exit_:
        code = exit_.code
    return code, out.getvalue()


def test_the_txt_file_usable_exits_0(tmp_path, bigcommerce):
    code, out = run(tmp_path, TXT, "--json")
    report = json.loads(out)
    assert code == 0
    assert report["ok"] is True and report["outcome"] == "connected" and report["store_hash"] == HASH
    assert set(report["scopes"]) == ALL_SCOPES and set(report["scopes"].values()) == {"granted"}
    assert report["store"]["name"] == "Acme Outfitters"
    assert TOKEN not in out


def test_json_with_only_store_hash_and_token(tmp_path, bigcommerce):
    code, out = run(tmp_path, json.dumps({"store_hash": HASH, "access_token": TOKEN}), "--json")
    assert code == 0 and json.loads(out)["outcome"] == "connected"


def test_missing_scope_exits_1_and_names_it(tmp_path, bigcommerce):
    bigcommerce.add_token(HASH, TOKEN, ALL_SCOPES - {"store_cart"})
    code, out = run(tmp_path, json.dumps({"api_path": API_PATH, "access_token": TOKEN}))
    assert code == 1
    assert "missing_scopes" in out and "missing  Carts: modify" in out


def test_malformed_input_exits_1_without_a_call(tmp_path, bigcommerce):
    code, out = run(tmp_path, json.dumps({"api_path": API_PATH, "access_token": TOKEN[:4] + " " + TOKEN[4:]}), "--json")
    assert code == 1 and json.loads(out)["outcome"] == "malformed_input"
    assert bigcommerce.calls == 0


def test_stdin(bigcommerce, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(TXT.encode())))
    out = io.StringIO()
    call_command("check_bigcommerce", "--credentials", "-", "--json", stdout=out)
    assert json.loads(out.getvalue())["ok"] is True


@pytest.mark.parametrize("content", ["{not json", "[1, 2]", '{"token": "x"}'])
def test_bad_usage_exits_2(tmp_path, content):
    path = tmp_path / "creds.json"
    path.write_text(content)
    with pytest.raises(CommandError) as excinfo:
        call_command("check_bigcommerce", "--credentials", str(path))
    assert excinfo.value.returncode == 2


def test_unreadable_file_exits_2(tmp_path):
    with pytest.raises(CommandError) as excinfo:
        call_command("check_bigcommerce", "--credentials", str(tmp_path / "nope.txt"))
    assert excinfo.value.returncode == 2
