"""Start a sandbox for a test or a benchmark, and stop it again.

::

    with running_sandbox(latency_ms=0) as sb:
        requests.get(f"{sb.url}/stores/{hash}/v2/time", headers={"X-Auth-Token": token})
        sb.control.set_maintenance(hash)

``mode="thread"`` (default) serves from a background thread of this process: fast
to start, fine for tests. ``mode="subprocess"`` runs ``python -m sandbox`` in its
own process (own GIL): use it for benchmarks and load.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sandbox import DEMO_FIXTURE, PACKAGE_DIR
from sandbox.app import make_state, serve
from sandbox.control import SandboxControl

Fixture = str | Path | dict[str, Any] | None


@dataclass
class RunningSandbox:
    """A live sandbox: ``url`` is what ``BIGCOMMERCE_API_URL`` should be set to."""

    url: str
    control: SandboxControl
    fixture: dict[str, Any] = field(default_factory=dict)

    @property
    def host(self) -> str:
        return self.url.split("://", 1)[1].rsplit(":", 1)[0]

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def api(self, store_hash: str, version: str = "v3") -> str:
        """Base URL of one store's API, e.g. ``.../stores/abc123/v3``."""
        return f"{self.url}/stores/{store_hash}/{version}"

    def accounts(self) -> list[dict[str, Any]]:
        """Every account of the fixture, each with its ``store_hash``."""
        return [{"store_hash": s.get("store_hash") or s["profile"]["id"], **a}
                for s in self.fixture.get("stores", []) for a in s.get("accounts", [])]


def _load(fixture: Fixture) -> dict[str, Any]:
    if fixture is None:
        return {}
    if isinstance(fixture, dict):
        return fixture
    with Path(fixture).open(encoding="utf-8") as fh:
        return json.load(fh)


class _ThreadServer:
    """The sandbox's event loop in a daemon thread."""

    def __init__(self, state: Any, host: str, port: int) -> None:
        self._state = state
        self._host = host
        self._port = port
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None
        self.url = ""
        self._thread = threading.Thread(target=self._run, name="bigcommerce-sandbox",
                                        daemon=True)

    def _run(self) -> None:
        try:
            # asyncio.run also cancels handlers still running at the end (stalled answers).
            asyncio.run(self._main())
        except BaseException as exc:  # surfaced to the starting thread
            self._error = exc
            self._ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()

        def ready(url: str) -> None:
            self.url = url
            self._ready.set()

        await serve(self._state, self._host, self._port, on_ready=ready, stop=self._stop)

    def start(self, timeout: float = 15.0) -> str:
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError("the sandbox did not start in time")
        if self._error is not None:
            raise RuntimeError(f"the sandbox failed to start: {self._error!r}") from self._error
        return self.url

    def stop(self, timeout: float = 10.0) -> None:
        if self._loop is not None and self._stop is not None and self._loop.is_running():
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout)


class _ProcessServer:
    """``python -m sandbox`` in a child process; the URL comes back through a ready file."""

    def __init__(self, fixture_path: Path | None, host: str, port: int, latency_ms: int,
                 enforce_quota: bool, extra_args: list[str]) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="bc-sandbox-")
        self._ready_file = Path(self._tmp.name) / "ready"
        args = [sys.executable, "-m", "sandbox", "--host", host, "--port", str(port),
                "--latency-ms", str(latency_ms), "--quiet", "--ready-file", str(self._ready_file)]
        args += ["--fixture", str(fixture_path)] if fixture_path else ["--no-fixture"]
        if enforce_quota:
            args.append("--enforce-quota")
        args += extra_args
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(PACKAGE_DIR.parent), env.get("PYTHONPATH", "")) if p)
        self._proc = subprocess.Popen(args, env=env)  # noqa: S603 - our own interpreter
        self.url = ""

    def start(self, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._ready_file.exists() and self._ready_file.read_text().strip():
                self.url = self._ready_file.read_text().strip()
                return self.url
            if self._proc.poll() is not None:
                raise RuntimeError(f"the sandbox exited with {self._proc.returncode}")
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("the sandbox did not start in time")

    def stop(self, timeout: float = 10.0) -> None:
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout)
        self._tmp.cleanup()


@contextmanager
def running_sandbox(fixture: Fixture = DEMO_FIXTURE, *, latency_ms: int = 0,
                    host: str = "127.0.0.1", port: int = 0, mode: str = "thread",
                    enforce_quota: bool = False,
                    extra_args: list[str] | None = None) -> Iterator[RunningSandbox]:
    """Serve a sandbox on a free loopback port for the duration of the ``with`` block.

    ``fixture`` is a path, a parsed fixture document, or ``None`` for an empty sandbox.
    ``extra_args`` are passed to ``python -m sandbox`` (subprocess mode only).
    """
    document = _load(fixture)
    scratch = None
    server: _ThreadServer | _ProcessServer
    if mode == "thread":
        state = make_state(document, latency_ms=latency_ms, enforce_quota=enforce_quota)
        server = _ThreadServer(state, host, port)
    elif mode == "subprocess":
        fixture_path: Path | None = None
        if isinstance(fixture, str | Path):
            fixture_path = Path(fixture).resolve()
        elif document:
            scratch = tempfile.NamedTemporaryFile(  # noqa: SIM115 - removed below
                "w", suffix=".json", delete=False, encoding="utf-8")
            json.dump(document, scratch)
            scratch.close()
            fixture_path = Path(scratch.name)
        server = _ProcessServer(fixture_path, host, port, latency_ms, enforce_quota,
                                list(extra_args or []))
    else:
        raise ValueError("mode must be 'thread' or 'subprocess'")
    control = None
    try:
        url = server.start()
        control = SandboxControl(url)
        yield RunningSandbox(url=url, control=control, fixture=document)
    finally:
        if control is not None:
            control.close()
        server.stop()
        if scratch is not None:
            Path(scratch.name).unlink(missing_ok=True)
