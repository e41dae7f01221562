"""``python -m sandbox``: credential files, serving, subprocess mode, loopback-only control."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from sandbox import DEMO_FIXTURE
from sandbox.testing import running_sandbox

ROOT = Path(__file__).resolve().parents[2]


def _wait_for(path: Path, proc: subprocess.Popen, timeout: float = 20.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().strip():
            return path.read_text().strip()
        assert proc.poll() is None, "the sandbox exited early"
        time.sleep(0.05)
    raise AssertionError("the sandbox did not become ready")


def _parse_credentials(text: str) -> dict[str, str]:
    return dict(line.split(": ", 1) for line in text.strip().splitlines())


def test_cli_writes_credential_files_and_serves_them(tmp_path):
    ready = tmp_path / "ready"
    creds = tmp_path / "creds"
    proc = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--host", "127.0.0.1", "--port", "0",
         "--fixture", str(DEMO_FIXTURE), "--write-credentials", str(creds),
         "--ready-file", str(ready), "--latency-ms", "0"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        url = _wait_for(ready, proc)
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url)
        files = sorted(creds.glob("*.txt"))
        fixture = json.loads(DEMO_FIXTURE.read_text())
        accounts = [(s["profile"]["id"], a) for s in fixture["stores"] for a in s["accounts"]]
        assert len(files) == len(accounts) == 5
        for store_hash, account in accounts:
            matching = [f for f in files if f.name.startswith(f"{store_hash}--")
                        and _parse_credentials(f.read_text())["CLIENT ID"] == account["client_id"]]
            assert len(matching) == 1
            text = matching[0].read_text()
            assert list(_parse_credentials(text)) == [
                "ACCESS TOKEN", "CLIENT NAME", "API PATH", "CLIENT ID", "CLIENT SECRET"]
            parsed = _parse_credentials(text)
            assert parsed["ACCESS TOKEN"] == account["access_token"]
            assert parsed["CLIENT NAME"] == account["client_name"]
            assert parsed["API PATH"] == f"https://api.bigcommerce.com/stores/{store_hash}/v3/"
            assert parsed["CLIENT SECRET"] == account["client_secret"]
        index = json.loads((creds / "index.json").read_text())
        assert len(index) == 5 and "access_token" not in json.dumps(index)
        # a newcomer's paste works against the running sandbox
        parsed = _parse_credentials(files[0].read_text())
        store_hash = parsed["API PATH"].split("/stores/")[1].split("/")[0]
        response = requests.get(f"{url}/stores/{store_hash}/v2/time",
                                headers={"X-Auth-Token": parsed["ACCESS TOKEN"]}, timeout=5)
        assert response.status_code in (200, 503)  # vcdemo03 is in maintenance
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    assert "listening on" in out
    assert "Traceback" not in err


def test_cli_quiet_bulk_and_no_fixture(tmp_path):
    ready = tmp_path / "ready"
    proc = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--port", "0", "--no-fixture", "--bulk", "5",
         "--quiet", "--ready-file", str(ready)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        url = _wait_for(ready, proc)
        assert requests.get(f"{url}/_sandbox/stores", timeout=5).json()["count"] == 5
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=10)
    assert out == ""


def test_running_sandbox_in_a_subprocess():
    with running_sandbox(mode="subprocess", latency_ms=50) as sb:
        token = sb.accounts()[0]["access_token"]
        started = time.monotonic()
        response = requests.get(f"{sb.api('vcdemo01', 'v2')}/time",
                                headers={"X-Auth-Token": token}, timeout=5)
        assert response.status_code == 200
        assert time.monotonic() - started >= 0.045
        assert sb.control.health()["stores"] == 3
        assert sb.port > 0 and sb.host == "127.0.0.1"


def test_running_sandbox_with_a_fixture_document():
    document = {"stores": [{"profile": {"id": "docstore1", "name": "From a dict"},
                            "accounts": [{"client_name": "a", "scopes": []}]}]}
    with running_sandbox(document) as sb:
        assert sb.control.stores() == ["docstore1"]
    with running_sandbox(document, mode="subprocess") as sb:
        assert sb.control.store("docstore1")["profile"]["name"] == "From a dict"


def _non_loopback_ip() -> str | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.254", 9))  # no packet is sent for UDP connect
            address = probe.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") else address


def test_control_api_refuses_non_loopback_clients():
    address = _non_loopback_ip()
    if address is None:
        pytest.skip("this machine has no non-loopback IPv4 address")
    with running_sandbox(host="0.0.0.0") as sb:  # noqa: S104 - the point of the test
        external = f"http://{address}:{sb.port}"
        refused = requests.get(f"{external}/_sandbox/health", timeout=5)
        assert refused.status_code == 403
        # the BigCommerce API itself still answers
        assert requests.get(f"{external}/stores/vcdemo01/v2/time", timeout=5).status_code == 401
        assert requests.get(f"http://127.0.0.1:{sb.port}/_sandbox/health",
                            timeout=5).status_code == 200


def test_cli_arms_faults_on_every_store(tmp_path):
    ready = tmp_path / "ready"
    fault = json.dumps({"kind": "plan_limit", "path": "v3/customers"})
    proc = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--port", "0", "--fault", fault, "--ready-file", str(ready), "--quiet"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        url = _wait_for(ready, proc)
        faults = requests.get(f"{url}/_sandbox/faults", timeout=5).json()["faults"]
        assert [(f["kind"], f["path"]) for f in faults] == [("plan_limit", "v3/customers")]
        answer = requests.post(f"{url}/stores/vcdemo01/v3/customers", json={}, timeout=5)
        assert answer.status_code == 507
    finally:
        proc.terminate()
        proc.communicate(timeout=10)


def test_cli_refuses_a_fault_that_makes_no_sense():
    done = subprocess.run([sys.executable, "-m", "sandbox", "--fault", '{"kind": "nope"}'],
                          cwd=ROOT, capture_output=True, text=True, timeout=30,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 2
    assert "not a fault" in done.stderr
