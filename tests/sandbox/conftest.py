"""Fixtures for the sandbox's own tests: one sandbox per session, a fresh store per test."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from sandbox import scopes as sc
from sandbox.control import SandboxControl
from sandbox.testing import RunningSandbox, running_sandbox

_counter = itertools.count(1)


@pytest.fixture(scope="session")
def sandbox() -> Iterator[RunningSandbox]:
    """The demo-fixture sandbox, served from a background thread."""
    with running_sandbox() as sb:
        yield sb


@pytest.fixture
def control(sandbox: RunningSandbox) -> Iterator[SandboxControl]:
    """The control client; global switches are put back after each test."""
    yield sandbox.control
    sandbox.control.settings(latency_ms=0, maintenance=False, enforce_quota=False,
                             auth_error_style="json", strict_slashes=True)
    sandbox.control.clear_global_faults()


@dataclass
class Shop:
    """A fresh store with accounts of every interesting kind, and request helpers."""

    url: str
    hash: str
    full: dict[str, Any]
    readonly: dict[str, Any]
    noscopes: dict[str, Any]
    session: requests.Session

    def call(self, method: str, path: str, token: str | None = "full", *,
             json: Any = None, data: bytes | None = None, store_hash: str | None = None,
             timeout: float | tuple[float, float] = 10.0, **headers: str) -> requests.Response:
        """``method /stores/{hash}/{path}``; ``token`` is an account attribute name or a token."""
        if token in ("full", "readonly", "noscopes"):
            token = getattr(self, token)["access_token"]
        sent = {"Accept": "application/json"}
        if token is not None:
            sent["X-Auth-Token"] = token
        sent.update(headers)
        return self.session.request(method, f"{self.url}/stores/{store_hash or self.hash}/{path}",
                                    json=json, data=data, headers=sent, timeout=timeout)

    def get(self, path: str, token: str | None = "full", **kw: Any) -> requests.Response:
        return self.call("GET", path, token, **kw)

    def post(self, path: str, json: Any = None, token: str | None = "full", **kw: Any
             ) -> requests.Response:
        return self.call("POST", path, token, json=json, **kw)

    def account_with(self, control: SandboxControl, scopes: list[str] | tuple[str, ...]
                     ) -> dict[str, Any]:
        return control.add_account(self.hash, scopes, client_name="test account")


@pytest.fixture
def shop(sandbox: RunningSandbox, control: SandboxControl) -> Iterator[Shop]:
    """A new store (Standard plan) with a full, a read-only and a scope-less account."""
    store_hash = f"t{next(_counter):04d}x{id(object()) % 1000:03d}"
    created = control.add_store(store_hash, profile={"name": f"Test store {store_hash}"},
                                accounts=[
                                    {"client_name": "full", "scopes": list(sc.PORTAL_REQUIRED)},
                                    {"client_name": "readonly",
                                     "scopes": list(sc.READ_ONLY_VARIANTS)},
                                    {"client_name": "noscopes", "scopes": []},
                                ])
    by_name = {a["client_name"]: a for a in created["accounts"]}
    with requests.Session() as session:
        yield Shop(sandbox.url, store_hash, by_name["full"], by_name["readonly"],
                   by_name["noscopes"], session)
    control.delete_store(store_hash)
