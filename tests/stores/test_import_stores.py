"""`manage.py import_stores` and `stores.importing`, against the real sandbox on
loopback (the import uses the fleet's aiohttp client, which `responses` cannot
fake): every outcome, both file formats, the guide's labels, stdin, idempotency,
dry runs, --keep-broken, the exit codes, 1,000 rows, and leaks."""

from __future__ import annotations

import io
import json
import logging
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.core import mail
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from merchants.models import Invitation, Membership, Merchant
from sandbox import scopes as sandbox_scopes
from sandbox.state import derived
from sandbox.testing import RunningSandbox, running_sandbox
from stores.importing import ImportFileError, import_stores, read_import_file
from stores.models import Check, Credential, StatusChange, Store
from tests.leaks import assert_no_secret
from tests.stores.import_files import HEADER, Shop, csv_text, jsonl_text

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def sandbox() -> Iterator[RunningSandbox]:
    with running_sandbox(None) as running:
        yield running


@pytest.fixture(autouse=True)
def _point_at_sandbox(settings, sandbox):
    settings.BIGCOMMERCE_API_URL = sandbox.url
    # A fault should become `unreachable` quickly, not after the production budget.
    settings.BIGCOMMERCE_CHECK_DEADLINE_SECONDS = 3
    settings.BIGCOMMERCE_READ_TIMEOUT_SECONDS = 2
    settings.BIGCOMMERCE_WEBHOOKS_ENABLED = False


@pytest.fixture
def shop(sandbox) -> Shop:
    return Shop(sandbox)


def run(tmp_path, content: str, *args: str, name: str = "stores.csv") -> tuple[int, str, str]:
    """Run the command; (exit code, stdout, stderr)."""
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    code = 0
    try:
        call_command("import_stores", str(path), *args, stdout=out, stderr=err)
    except SystemExit as exit_:
        code = exit_.code
    except CommandError as error:
        code = error.returncode
        err.write(str(error))
    return code, out.getvalue(), err.getvalue()


def run_json(tmp_path, content: str, *args: str, name: str = "stores.csv") -> tuple[int, dict[str, Any]]:
    code, out, _ = run(tmp_path, content, "--json", *args, name=name)
    return code, json.loads(out)


def outcomes(report: dict) -> list[str]:
    return [row["outcome"] for row in report["rows"]]


def counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (Merchant, Store, Credential, Check, StatusChange, Invitation)
    }


# --- outcomes ---------------------------------------------------------------------------


def test_a_working_account_is_connected_under_its_merchant_encrypted(tmp_path, acme, shop):
    code, report = run_json(tmp_path, csv_text([shop.row()]))

    assert code == 0, report
    assert outcomes(report) == ["connected"]
    assert report["rows"][0] == {
        "row": 2,
        "merchant": "acme",
        "store_hash": shop.hash,
        "outcome": "connected",
        "problems": [],
        "missing_scopes": [],
        "kept": False,
        "merchant_created": False,
        "access_token_ending": "…" + shop.account["access_token"][-4:],
    }
    assert report["summary"] == {"connected": 1}
    store = Store.objects.get(store_hash=shop.hash)
    assert store.merchant == acme and store.status == "connected" and store.name == "Sandbox shop"
    assert Credential.objects.get(store=store).access_token == shop.account["access_token"]
    # The live check was the wizard's: 7 requests (baseline included), nothing created.
    assert len(store.checks.get().evidence) == 7


def test_every_refusal_is_named_and_changes_nothing(tmp_path, sandbox, acme, globex):
    missing = Shop(sandbox, scopes=[s for s in sandbox_scopes.PORTAL_REQUIRED if s != "store_cart"])
    revoked = Shop(sandbox)
    sandbox.control.revoke(revoked.account["client_id"])
    unknown = Shop(sandbox)
    sandbox.control.delete_store(unknown.hash)
    down = Shop(sandbox)
    sandbox.control.set_maintenance(down.hash)
    flaky = Shop(sandbox)
    sandbox.control.add_fault(flaky.hash, "reset")
    elsewhere = Shop(sandbox)
    Store.objects.create(merchant=globex, store_hash=elsewhere.hash, status="connected")
    fine = Shop(sandbox)
    token = fine.account["access_token"]
    rows = [
        missing.row(),
        revoked.row(),
        unknown.row(),
        down.row(),
        flaky.row(),
        elsewhere.row(),
        fine.row(access_token=token[:5] + " " + token[5:]),
        fine.row(api_path=f"https://evil.example/stores/{fine.hash}/v3/"),
        fine.row(merchant="nobody"),
    ]
    before = counts()
    sandbox.control.clear_log()

    code, report = run_json(tmp_path, csv_text(rows))

    assert code == 1
    assert outcomes(report) == [
        "missing_scopes",
        "invalid_token",
        "store_not_found",
        "store_unavailable",
        "unreachable",
        "connected_elsewhere",
        "malformed_input",
        "malformed_input",
        "malformed_input",
    ]
    by_line = {row["row"]: row for row in report["rows"]}
    assert by_line[2]["missing_scopes"] == ["Carts: modify"]
    assert "Carts" in by_line[2]["problems"][0]["message"]
    assert [p["code"] for p in by_line[8]["problems"]] == ["inner_whitespace"]
    assert [p["code"] for p in by_line[9]["problems"]] == ["foreign_host"]
    assert [p["code"] for p in by_line[10]["problems"]] == ["unknown_merchant"]
    assert report["summary"]["malformed_input"] == 3 and sum(report["summary"].values()) == 9
    assert counts() == before
    # Refused by the doctor or the database: no request at all for those stores.
    logged = {entry["store_hash"] for entry in sandbox.control.log()}
    assert fine.hash not in logged and elsewhere.hash not in logged
    assert {missing.hash, revoked.hash, down.hash, flaky.hash} <= logged


def test_a_plan_limit_and_a_spent_quota_are_named_as_such(tmp_path, sandbox, acme):
    capped, limited = Shop(sandbox), Shop(sandbox)
    sandbox.control.add_fault(capped.hash, "plan_limit", path="v3/customers")
    sandbox.control.add_fault(limited.hash, "rate_limit", reset_ms=60000)
    before = counts()

    code, report = run_json(tmp_path, csv_text([capped.row(), limited.row()]))

    assert code == 1
    assert outcomes(report) == ["plan_limit", "rate_limited"]
    assert "limit of its plan" in report["rows"][0]["problems"][0]["message"]
    assert "rate limit" in report["rows"][1]["problems"][0]["message"]
    assert counts() == before


def test_a_store_another_merchant_disconnected_is_connected_under_the_rows_merchant(tmp_path, sandbox, acme, globex):
    """`connected_elsewhere` is for a store still connected under another merchant;
    a disconnected one is free: it moves, with its `merchant_since` set."""
    freed, taken = Shop(sandbox), Shop(sandbox)
    Store.objects.create(merchant=globex, store_hash=freed.hash, status="disconnected")
    Store.objects.create(merchant=globex, store_hash=taken.hash, status="paused")

    code, report = run_json(tmp_path, csv_text([freed.row(), taken.row()]))

    assert code == 1 and outcomes(report) == ["connected", "connected_elsewhere"]
    assert "globex" not in json.dumps(report["rows"][1]).lower()
    moved = Store.objects.get(store_hash=freed.hash)
    assert moved.merchant == acme and moved.status == "connected" and moved.merchant_since is not None
    assert Credential.objects.get(store=moved).access_token == freed.account["access_token"]
    kept = Store.objects.get(store_hash=taken.hash)
    assert kept.merchant == globex and kept.status == "paused" and not Credential.objects.filter(store=kept).exists()


def test_a_new_merchant_is_created_and_its_owner_invited(db, tmp_path, sandbox, django_capture_on_commit_callbacks):
    one, two = Shop(sandbox), Shop(sandbox)
    rows = [
        one.row("initech", merchant_name="Initech", owner_email="Peter@Initech.test"),
        two.row("initech"),  # the same new merchant: created once
    ]
    with django_capture_on_commit_callbacks(execute=True):
        code, report = run_json(tmp_path, csv_text(rows))

    assert code == 0, report
    assert [row["merchant_created"] for row in report["rows"]] == [True, False]
    merchant = Merchant.objects.get(slug="initech")
    assert merchant.name == "Initech" and merchant.stores.count() == 2
    invitation = Invitation.objects.get(merchant=merchant)
    assert invitation.email == "peter@initech.test" and invitation.role == Membership.Role.OWNER
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["peter@initech.test"]
    assert report["merchants_created"] == ["initech"]


def test_a_new_merchant_whose_every_store_fails_is_not_created(
    db, tmp_path, sandbox, django_capture_on_commit_callbacks
):
    broken = Shop(sandbox)
    sandbox.control.revoke(broken.account["client_id"])
    with django_capture_on_commit_callbacks(execute=True):
        code, report = run_json(
            tmp_path, csv_text([broken.row("initech", merchant_name="Initech", owner_email="p@initech.test")])
        )
    assert code == 1 and outcomes(report) == ["invalid_token"]
    assert not Merchant.objects.filter(slug="initech").exists()
    assert mail.outbox == []


def test_new_credentials_for_a_store_the_merchant_has_are_replaced(tmp_path, sandbox, acme_store):
    shop = Shop(sandbox, store_hash=acme_store.store_hash)
    code, report = run_json(tmp_path, csv_text([shop.row()]))
    assert code == 0 and outcomes(report) == ["replaced"]
    assert Credential.objects.get(store=acme_store).access_token == shop.account["access_token"]


def test_the_same_file_twice_changes_nothing_the_second_time(tmp_path, sandbox, acme):
    shops = [Shop(sandbox) for _ in range(3)]
    content = csv_text([shop.row() for shop in shops])
    assert run_json(tmp_path, content)[1]["summary"] == {"connected": 3}
    before = counts()
    sandbox.control.clear_log()

    code, report = run_json(tmp_path, content)

    assert code == 0 and report["summary"] == {"unchanged": 3}
    assert counts() == before
    # Unchanged is settled from the database: no live check at all.
    assert sandbox.control.log() == [] and report["live_checks"] == 0


def test_a_store_twice_in_the_file_is_imported_once(tmp_path, acme, shop):
    code, report = run_json(tmp_path, csv_text([shop.row(), shop.row()]))
    assert code == 1 and outcomes(report) == ["connected", "malformed_input"]
    assert report["rows"][1]["problems"][0]["code"] == "duplicate_store"
    assert "line 2" in report["rows"][1]["problems"][0]["message"]


# --- dry run, keep broken ----------------------------------------------------------------


def test_dry_run_checks_live_and_writes_nothing(tmp_path, sandbox, acme, django_capture_on_commit_callbacks):
    shop, new = Shop(sandbox), Shop(sandbox)
    rows = [shop.row(), new.row("initech", merchant_name="Initech", owner_email="p@initech.test")]
    before = counts()
    sandbox.control.clear_log()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        code, report = run_json(tmp_path, csv_text(rows), "--dry-run")

    assert code == 0 and report["dry_run"] is True
    assert outcomes(report) == ["connected", "connected"]
    assert report["rows"][1]["merchant_created"] is True  # would be
    assert counts() == before
    assert mail.outbox == [] and callbacks == []
    assert {entry["store_hash"] for entry in sandbox.control.log()} == {shop.hash, new.hash}


def test_keep_broken_saves_a_store_missing_scopes_and_exits_0(tmp_path, sandbox, acme):
    shop = Shop(sandbox, scopes=[s for s in sandbox_scopes.PORTAL_REQUIRED if s != "store_checkout"])

    code, report = run_json(tmp_path, csv_text([shop.row()]), "--keep-broken")

    assert code == 0, report
    row = report["rows"][0]
    assert row["outcome"] == "missing_scopes" and row["kept"] is True
    assert row["missing_scopes"] == ["Checkouts: modify"]
    store = Store.objects.get(store_hash=shop.hash)
    assert store.status == "missing_scopes" and store.missing_scopes == ["store_checkout"]
    assert "Checkouts" in store.problem
    assert store.status_changes.get().new_status == "missing_scopes"
    # Without --keep-broken the same row is refused (and, being kept, is now unchanged).
    code, report = run_json(tmp_path, csv_text([shop.row()]))
    assert code == 0 and outcomes(report) == ["unchanged"]


def test_keep_broken_never_replaces_working_credentials(tmp_path, sandbox, acme_store):
    shop = Shop(sandbox, scopes=["store_v2_information_read_only"], store_hash=acme_store.store_hash)
    code, report = run_json(tmp_path, csv_text([shop.row()]), "--keep-broken")
    assert code == 1 and report["rows"][0]["kept"] is False
    assert Credential.objects.get(store=acme_store).access_token != shop.account["access_token"]


def test_without_keep_broken_a_store_missing_scopes_is_not_saved(tmp_path, sandbox, acme):
    shop = Shop(sandbox, scopes=["store_v2_information_read_only"])
    code, report = run_json(tmp_path, csv_text([shop.row()]))
    assert code == 1 and outcomes(report) == ["missing_scopes"] and not Store.objects.exists()


# --- formats, labels, stdin ---------------------------------------------------------------


def test_json_lines(tmp_path, sandbox, acme):
    one, two = Shop(sandbox), Shop(sandbox)
    code, report = run_json(tmp_path, jsonl_text([one.row(), two.row()]) + "\n", name="stores.jsonl")
    assert code == 0 and outcomes(report) == ["connected", "connected"]
    assert [row["row"] for row in report["rows"]] == [1, 2]


def test_the_guides_labels_and_a_spreadsheets_semicolons(tmp_path, acme, shop):
    header = "Merchant;Merchant name;Owner e-mail;API path;Client ID;Client secret;Access token"
    values = shop.row()
    line = ";".join(values[key] for key in HEADER.split(","))
    code, report = run_json(tmp_path, "\ufeff" + header + "\r\n" + line + "\r\n")
    assert code == 0 and outcomes(report) == ["connected"]


@pytest.mark.parametrize(
    "header",
    [
        "MERCHANT,API PATH,CLIENT ID,CLIENT SECRET,ACCESS TOKEN",
        "merchant,api-path,client-id,client-secret,access-token",
        " Merchant , API Path: , Client_ID , client secret , Access  Token ",
    ],
)
def test_column_names_are_matched_as_people_write_them(header):
    rows = read_import_file(f"{header}\nacme,abc1234,id,secret,token\n".encode())
    assert rows[0].values == {
        "merchant": "acme",
        "api_path": "abc1234",
        "client_id": "id",
        "client_secret": "secret",
        "access_token": "token",
    }


def test_stdin(acme, shop, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(jsonl_text([shop.row()]).encode())))
    out = io.StringIO()
    call_command("import_stores", "-", "--json", stdout=out)
    assert outcomes(json.loads(out.getvalue())) == ["connected"]


def test_the_table_names_each_row_and_what_to_fix(tmp_path, sandbox, acme):
    good = Shop(sandbox)
    bad = Shop(sandbox, scopes=[s for s in sandbox_scopes.PORTAL_REQUIRED if s != "store_cart"])
    code, out, _ = run(tmp_path, csv_text([good.row(), bad.row()]))
    assert code == 1
    assert f"2     acme      {good.hash}" in out.replace("  ", "  ")
    assert "missing_scopes" in out and "missing: Carts: modify" in out
    assert "What to fix:" in out and "line 3:" in out
    assert "Imported stores: 2 rows: 1 connected, 1 missing_scopes." in out
    # Not a terminal: no progress bar's control characters.
    assert "\x1b[" not in out


# --- unusable files: exit 2 --------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("", "empty"),
        ("merchant,api_path,client_id,access_token\nacme,x,y,z\n", "Missing required columns"),
        ('{"merchant": "acme"}\n{"merchant": "acme", oops}\n', "Line 2 is not valid JSON"),
        ('{"merchant": "acme"}\n[1, 2]\n', "Line 2 is a JSON array"),
        ("[{}]", "JSON array"),
        ("merchant,Client ID,client_id\n", "Columns 2 and 3 of the header are both the Client ID"),
        ("merchant,api_path,client_id,client_secret,access_token\n", "no rows"),
    ],
)
def test_an_unusable_file_exits_2_saying_where_and_why(tmp_path, content, says):
    code, out, err = run(tmp_path, content)
    assert code == 2 and says in err, err


def test_a_binary_or_non_utf8_file_exits_2(tmp_path):
    path = tmp_path / "stores.csv"
    path.write_bytes(HEADER.encode() + b"\nacme,caf\xe9\n")
    with pytest.raises(CommandError) as excinfo:
        call_command("import_stores", str(path))
    assert excinfo.value.returncode == 2 and "Line 2 is not UTF-8" in str(excinfo.value)
    path.write_bytes(b"PK\x03\x04\x00\x00")
    with pytest.raises(CommandError, match="binary"):
        call_command("import_stores", str(path))


def test_a_file_without_a_header_row_is_refused_without_quoting_its_secrets(tmp_path, acme, shop):
    values = shop.row()
    line = ",".join(values[key] for key in HEADER.split(","))
    code, out, err = run(tmp_path, line + "\n")
    assert code == 2 and "The first line must name the columns" in err
    assert_no_secret(out + err, shop.secrets)


def test_bad_json_is_refused_without_quoting_the_line(shop):
    line = json.dumps(shop.row())[:-1] + ', "x": }'
    with pytest.raises(ImportFileError) as excinfo:
        read_import_file((line + "\n").encode())
    assert "Line 1" in str(excinfo.value)
    assert_no_secret(str(excinfo.value), shop.secrets)


# --- scale, and leaks ---------------------------------------------------------------------


def test_a_thousand_rows_against_the_sandbox(tmp_path, sandbox, acme):
    created = sandbox.control.bulk(1000, prefix="imp")["stores"]
    rows = [
        {
            "merchant": "acme",
            "merchant_name": "",
            "owner_email": "",
            "api_path": f"https://api.bigcommerce.com/stores/{store_hash}/v3/",
            "client_id": client_id,
            "client_secret": derived(store_hash, "client_secret", 64),
            "access_token": token,
        }
        for store_hash, token, client_id in created
    ]
    began = time.perf_counter()
    code, report = run_json(tmp_path, csv_text(rows), "--concurrency", "20")
    seconds = time.perf_counter() - began

    assert code == 0, report["summary"]
    assert report["summary"] == {"connected": 1000}
    assert Store.objects.filter(merchant=acme, status="connected").count() == 1000
    assert Credential.objects.count() == 1000
    assert seconds < 120, seconds
    code, report = run_json(tmp_path, csv_text(rows))
    assert report["summary"] == {"unchanged": 1000}


def test_no_secret_in_the_output_the_logs_or_the_raw_columns(tmp_path, sandbox, acme, caplog):
    good = Shop(sandbox)
    missing = Shop(sandbox, scopes=["store_v2_information_read_only"])
    revoked = Shop(sandbox)
    sandbox.control.revoke(revoked.account["client_id"])
    broken = Shop(sandbox)
    token = broken.account["access_token"]
    rows = [
        good.row(),
        missing.row(),
        revoked.row(),
        broken.row(access_token=token + "\u200b"),
        broken.row(client_secret=broken.account["access_token"], access_token=broken.account["client_secret"]),
        # Cells shifted by one: a secret in the merchant column is never echoed as a slug.
        broken.row(merchant=broken.account["access_token"]),
        broken.row(merchant=broken.account["client_id"], api_path=broken.account["client_secret"]),
    ]
    secrets = [s for shop in (good, missing, revoked, broken) for s in shop.secrets]
    caplog.set_level(logging.DEBUG)
    caplog.clear()  # the setup's own sandbox calls (e.g. revoking an account by its Client ID) are not the import's
    outputs = []
    for args in ((), ("--json",), ("--keep-broken", "--json"), ("--dry-run",)):
        code, out, err = run(tmp_path, csv_text(rows), *args)
        outputs += [out, err]
    jsonl_code, out, err = run(tmp_path, jsonl_text(rows), name="stores.jsonl")
    outputs += [out, err]

    assert_no_secret("\n".join(outputs), secrets, where="the command's output")
    # The scan saw the import's own log lines and the client's per-request DEBUG lines.
    assert {"stores.importing", "stores.bigcommerce.client"} <= {record.name for record in caplog.records}
    assert_no_secret(caplog.text, secrets, where="the logs")
    # The database's raw columns: every text column of every row, as stored.
    assert Credential.objects.filter(store__store_hash__in=[good.hash, missing.hash]).count() == 2
    with connection.cursor() as cursor:
        for table in (Store, Credential, Check, StatusChange, Merchant):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table._meta.db_table)}")  # noqa: S608
            dump = repr(cursor.fetchall())
            assert_no_secret(dump, secrets, where=f"table {table._meta.db_table}")


def test_the_service_reports_progress_for_every_row(sandbox, acme):
    shops = [Shop(sandbox) for _ in range(3)]
    rows = read_import_file(csv_text([s.row() for s in shops] + [shops[0].row(merchant="nobody")]).encode())
    ticks = []
    report = import_stores(rows, dry_run=True, on_progress=ticks.append)
    assert sum(ticks) == 4 and len(report.rows) == 4
