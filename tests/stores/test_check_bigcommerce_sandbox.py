"""`check_bigcommerce --credentials FILE --json` against the sandbox, in each of its
modes: /v2/time per the docs, each way of answering an unknown store hash, and
403s that are not the scope error."""

import io
import json

import pytest
from django.core.management import call_command
from django.test import override_settings

testing = pytest.importorskip("sandbox.testing", reason="the sandbox is not available")
PORTAL_REQUIRED = pytest.importorskip("sandbox.scopes").PORTAL_REQUIRED

pytestmark = pytest.mark.integration
INFO = "store_v2_information_read_only"


@pytest.fixture(scope="module")
def sandbox():
    with testing.running_sandbox(None) as running:
        yield running


@pytest.fixture
def account(sandbox):
    store = sandbox.control.add_store(profile={"name": "Command shop"})
    yield sandbox.control.add_account(store["store_hash"])
    sandbox.control.delete_store(store["store_hash"])
    sandbox.control.settings(v2_time="observed", unknown_store="404")


def run(sandbox, tmp_path, store_hash, token):
    path = tmp_path / "creds.json"
    path.write_text(json.dumps({"store_hash": store_hash, "access_token": token}))
    out = io.StringIO()
    code = 0
    with override_settings(BIGCOMMERCE_API_URL=sandbox.url):
        try:
            call_command("check_bigcommerce", "--credentials", str(path), "--json", stdout=out)
        except SystemExit as exit_:
            code = exit_.code
    return code, json.loads(out.getvalue())


@pytest.mark.parametrize("v2_time", ["observed", "docs"])
def test_docs_conformant_v2_time_without_the_information_scope(sandbox, account, tmp_path, v2_time):
    sandbox.control.set_v2_time(v2_time)
    sandbox.control.set_scopes(account["client_id"], [s for s in PORTAL_REQUIRED if s != INFO])
    code, report = run(sandbox, tmp_path, account["store_hash"], account["access_token"])
    assert code == 1
    assert report["outcome"] == "missing_scopes"
    assert [s for s, state in report["scopes"].items() if state == "missing"] == [INFO]


@pytest.mark.parametrize(
    ("mode", "outcome"),
    [
        ("404", "store_not_found"),
        ("401", "invalid_token"),
        ("403", "store_not_found"),
        ("403_scope", "credentials_rejected"),
    ],
)
@pytest.mark.parametrize("v2_time", ["observed", "docs"])
def test_unknown_store_in_each_mode(sandbox, account, tmp_path, mode, outcome, v2_time):
    sandbox.control.settings(unknown_store=mode, v2_time=v2_time)
    code, report = run(sandbox, tmp_path, "zz0nothere", account["access_token"])
    assert code == 1
    assert report["outcome"] == outcome
    assert "missing" not in report["scopes"].values()


def test_a_non_scope_403(sandbox, account, tmp_path):
    sandbox.control.refuse(account["store_hash"], ["v3/carts"])
    code, report = run(sandbox, tmp_path, account["store_hash"], account["access_token"])
    assert code == 1
    assert report["outcome"] == "forbidden"
    assert report["scopes"]["store_cart"] == "unknown"
    assert "another reason than a missing scope" in report["problems"][0]["message"]
