"""Every real BigCommerce answer the project relies on (docs/bigcommerce/answers.json),
read by the probe table: each entry's expected verdict, and its source beside it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stores.bigcommerce.client import NO_BODY
from stores.bigcommerce.probes import BASELINE, INFORMATION, REJECTED_CONTENT, SUCCESS, Probe, Verdict

ROOT = Path(__file__).resolve().parents[3]
ANSWERS_FILE = ROOT / "docs" / "bigcommerce" / "answers.json"
SPACE48_FILE = ROOT / "docs" / "bigcommerce" / "recorded" / "space48-real-store-answers.json"
ANSWERS = json.loads(ANSWERS_FILE.read_text())["answers"]


def probe_for(entry: dict) -> Probe:
    request = entry["request"]
    if entry["probe"] == "baseline":
        return BASELINE
    if (request["method"], request["path"]) == (INFORMATION.method, INFORMATION.path):
        return INFORMATION  # a store-level answer (its 503 is the store's)
    granted = SUCCESS if entry["probe"] == "read" else SUCCESS | REJECTED_CONTENT
    body = NO_BODY if request["method"] == "GET" else request["body"]
    return Probe("some_scope", request["method"], request["path"], body, granted=granted)


def raw_body(entry: dict) -> bytes | None:
    body = entry["response"]["body"]
    if body is None:
        return None
    return body.encode() if isinstance(body, str) else json.dumps(body).encode()


@pytest.mark.parametrize("entry", ANSWERS, ids=[entry["name"] for entry in ANSWERS])
def test_each_recorded_answer_gets_its_expected_verdict(entry):
    probe = probe_for(entry)
    assert probe.interpret(entry["response"]["status"], raw_body(entry)) == Verdict(entry["expect"])


def test_every_entry_says_where_it_comes_from():
    names = [entry["name"] for entry in ANSWERS]
    assert len(names) == len(set(names))
    for entry in ANSWERS:
        assert entry["kind"] in {"observed", "documented", "assumed"}, entry["name"]
        assert len(entry["source"]) > 20, entry["name"]
        assert entry["probe"] in {"baseline", "read", "read_by_id", "write"}, entry["name"]
        Verdict(entry["expect"])


def test_every_answer_recorded_from_real_stores_is_in_the_file():
    recorded = json.loads(SPACE48_FILE.read_text())["entries"]
    observed = {
        (e["request"]["method"], e["request"]["path"], e["response"]["status"], json.dumps(e["response"]["body"]))
        for e in ANSWERS
        if e["kind"] == "observed"
    }
    for entry in recorded:
        key = (entry["method"], entry["path"], entry["status"], json.dumps(entry["response_body"]))
        assert key in observed, key


def test_the_file_covers_each_kind_of_answer_the_rules_rely_on():
    verdicts = {(entry["kind"], entry["expect"]) for entry in ANSWERS}
    assert ("observed", "missing") in verdicts  # the scope error
    assert ("observed", "granted") in verdicts  # content rejections and /v2/time without scopes
    assert ("documented", "forbidden") in verdicts  # a 403 that is not a scope error
    assert ("documented", "unavailable") in verdicts
    assert ("documented", "not_found") in verdicts
    # issue 27
    assert ("observed", "forbidden") in verdicts  # the trailing-slash 403 (bigcommerce/api issue 95)
    assert ("documented", "plan_limit") in verdicts  # 507
    assert ("assumed", "not_found") in verdicts  # a write's 404 about the store or the route
    older = [e for e in ANSWERS if e["name"].startswith("scope_error_older_wording")]
    assert {e["response"]["status"] for e in older} == {401, 403}
    assert {e["expect"] for e in older} == {"missing"}


def test_a_503_is_the_store_s_only_where_the_store_answers_or_says_so():
    """Every recorded 503: store-level (GET /v2/time, /v2/store) or saying maintenance
    or suspended is the store's; any other is one service's, unknown for now."""
    for entry in [e for e in ANSWERS if e["response"]["status"] == 503]:
        store_level = entry["request"]["path"] in {"/v2/time", "/v2/store"}
        says = any(word in json.dumps(entry["response"]["body"]).lower() for word in ("maintenance", "suspend"))
        expected = "unavailable" if store_level or says else "transient"
        assert entry["expect"] == expected, entry["name"]
