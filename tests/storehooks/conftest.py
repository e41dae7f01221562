"""Webhook test helpers: deliveries signed the way BigCommerce signs them
(written here from the Standard Webhooks spec, independently of the code under
test), and a sandbox with a store connected to it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from sandbox.testing import RunningSandbox, running_sandbox
from stores import services
from stores.bigcommerce.report import Credentials
from stores.models import Store
from stores.verification import verify_credentials


def signature(secret: str, msg_id: str, timestamp: int | str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256)
    return "v1," + base64.b64encode(mac.digest()).decode()


def event(store_hash: str, scope: str = "store/information/updated", **extra: Any) -> dict[str, Any]:
    return {
        "scope": scope,
        "store_id": "1000001",
        "data": {"type": "store", "id": 1000001},
        "hash": "352e4afc6dd3fc85ea26bfdf3f91852604d57528",
        "created_at": int(time.time()),
        "producer": f"stores/{store_hash}",
        **extra,
    }


def signed_headers(
    secret: str, body: bytes, *, msg_id: str | None = None, timestamp: int | None = None
) -> dict[str, str]:
    msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
    timestamp = int(time.time()) if timestamp is None else timestamp
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(secret, msg_id, timestamp, body),
    }


def deliver(store_hash: str, body: bytes, headers: dict[str, str], *, client: Client | None = None):
    """POST a delivery the way BigCommerce does: no cookies, no CSRF token."""
    client = client or Client(enforce_csrf_checks=True)
    return client.post(
        reverse("storehooks:receive", args=[store_hash]),
        data=body,
        content_type="application/json",
        headers=headers,
    )


def deliver_event(store_hash: str, secret: str, payload: dict | None = None, **kwargs):
    body = json.dumps(payload or event(store_hash)).encode()
    return deliver(store_hash, body, signed_headers(secret, body, **kwargs))


@pytest.fixture(scope="module")
def bc():
    """A BigCommerce sandbox in a background thread, accepting http destinations."""
    with running_sandbox(fixture=None) as sandbox:
        sandbox.control.settings(allow_http_webhooks=True)
        yield sandbox


@pytest.fixture
def webhooks_on(settings, bc):
    settings.BIGCOMMERCE_API_URL = bc.url
    settings.BIGCOMMERCE_WEBHOOKS_ENABLED = True
    # Nothing listens there: a delivery the sandbox sends is refused at once.
    settings.PUBLIC_BASE_URL = "http://127.0.0.1:9"
    return settings


@dataclass
class Connected:
    store: Store
    account: dict[str, Any]
    credentials: Credentials
    sandbox: RunningSandbox
    registrations_queued: list = field(default_factory=list)

    @property
    def hash(self) -> str:
        return self.store.store_hash

    def hooks(self) -> list[dict[str, Any]]:
        return self.sandbox.control.hooks(self.hash)


def connect_store(merchant, sandbox: RunningSandbox, monkeypatch, capture, **profile) -> Connected:
    """Connect a new sandbox store through the real services; the registration
    task is captured (not run) so each test decides when it runs."""
    created = sandbox.control.add_store(
        profile={
            "name": "Acme Outfitters",
            "plan_name": "Standard",
            "plan_level": "Standard",
            **profile,
        }
    )
    account = sandbox.control.add_account(created["store_hash"])
    credentials = Credentials(
        created["store_hash"],
        account["access_token"],
        account["client_id"],
        account["client_secret"],
    )
    report, _ = verify_credentials(credentials)
    assert report.ok, report.to_dict()
    queued: list = []
    monkeypatch.setattr("storehooks.tasks.register_hooks.delay", lambda *args: queued.append(args))
    with capture(execute=True):
        store = services.store_connect(merchant=merchant, credentials=credentials, report=report)
    return Connected(store, account, credentials, sandbox, queued)


@pytest.fixture
def connected(acme, bc, webhooks_on, monkeypatch, django_capture_on_commit_callbacks) -> Connected:
    return connect_store(acme, bc, monkeypatch, django_capture_on_commit_callbacks)
