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


# --- issue 27: what the merchant is told in each new sandbox mode -------------------------------


@pytest.fixture
def clean_faults(sandbox, account):
    yield
    sandbox.control.clear_faults(account["store_hash"])


def requests_to(sandbox, store_hash, path):
    return [e for e in sandbox.control.log(store_hash=store_hash) if e["path"].endswith(path)]


def test_a_degraded_endpoint_is_unknown_for_now_not_maintenance(sandbox, account, tmp_path, clean_faults):
    # Its retry delay (30 s) does not fit in the check's 20 s: that scope stays unknown.
    sandbox.control.add_fault(account["store_hash"], "degraded", path="v3/catalog/products", retry_after_seconds=30)
    code, report = run(sandbox, tmp_path, account["store_hash"], account["access_token"])
    assert code == 1
    assert report["outcome"] == "unreachable"
    assert report["scopes"]["store_v2_products_read_only"] == "unknown"
    assert list(report["scopes"].values()).count("granted") == 5
    message = report["problems"][0]["message"]
    assert "Products: read-only" in message and "try again in a few minutes" in message
    assert "maintenance" not in message and "unavailable" not in message


def test_a_degraded_endpoint_is_retried_after_its_delay(sandbox, account, tmp_path, clean_faults):
    sandbox.control.add_fault(
        account["store_hash"], "degraded", path="v3/catalog/products", retry_after_seconds=1, count=1
    )
    code, report = run(sandbox, tmp_path, account["store_hash"], account["access_token"])
    assert (code, report["outcome"]) == (0, "connected")
    assert [e["status"] for e in requests_to(sandbox, account["store_hash"], "/v3/catalog/products")][-2:] == [503, 200]


def test_a_store_in_maintenance_is_still_told_so(sandbox, account, tmp_path):
    sandbox.control.set_maintenance(account["store_hash"], True)
    try:
        code, report = run(sandbox, tmp_path, account["store_hash"], account["access_token"])
    finally:
        sandbox.control.set_maintenance(account["store_hash"], False)
    assert (code, report["outcome"]) == (1, "store_unavailable")
    assert "maintenance" in report["problems"][0]["message"]


def test_a_long_reset_ends_rate_limited_without_spending_more_requests(sandbox, account, tmp_path, clean_faults):
    sandbox.control.add_fault(account["store_hash"], "rate_limit", reset_ms=60000)
    before = len(sandbox.control.log(store_hash=account["store_hash"]))
    code, report = run(sandbox, tmp_path, account["store_hash"], account["access_token"])
    assert (code, report["outcome"]) == (1, "rate_limited")
    assert "missing" not in report["scopes"].values()
    assert "rate limit" in report["problems"][0]["message"]
    assert "credentials" in report["problems"][0]["message"]  # "nothing is known to be wrong with them"
    # the seven probes met the spent quota once each: none retried into it
    assert len(sandbox.control.log(store_hash=account["store_hash"])) - before == 7


def test_a_reset_that_fits_is_waited_then_the_check_connects(sandbox, account, tmp_path, clean_faults):
    sandbox.control.add_fault(account["store_hash"], "rate_limit", reset_ms=1500, count=1)
    code, report = run(sandbox, tmp_path, account["store_hash"], account["access_token"])
    assert (code, report["outcome"]) == (0, "connected")


def test_a_plan_limit_says_what_it_is(sandbox, account, tmp_path, clean_faults):
    sandbox.control.add_fault(account["store_hash"], "plan_limit", path="v3/customers")
    code, report = run(sandbox, tmp_path, account["store_hash"], account["access_token"])
    assert (code, report["outcome"]) == (1, "plan_limit")
    message = report["problems"][0]["message"]
    assert "limit of its plan" in message and "will not pass by itself" in message
    assert len(requests_to(sandbox, account["store_hash"], "/v3/customers")) == 1  # not retried


def test_an_unknown_store_whose_404_names_the_store(sandbox, account, tmp_path):
    sandbox.control.settings(unknown_store="404_store")
    code, report = run(sandbox, tmp_path, "zz0nothere", account["access_token"])
    assert (code, report["outcome"]) == (1, "store_not_found")
    assert set(report["scopes"].values()) == {"unknown"}
