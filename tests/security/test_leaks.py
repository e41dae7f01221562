"""The leak scanner: known credentials go through the whole portal, and every
byte it emits is searched for them (and for any 8-character slice of them):
merchant pages, error pages with DEBUG off and the error email, logs at DEBUG
level (SQL included), emails, webhook bodies, Celery messages as they sit in
the broker, and the sandbox's request log. The staff console's pages are
scanned by tests/console/test_no_secrets.py with the same definition of a leak.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import responses
from django.conf import settings
from django.core import mail
from django.db import connection
from django.test import override_settings
from django.urls import reverse

from notifications import services as notification_services
from notifications.models import Notification, WebhookEndpoint
from sandbox.testing import running_sandbox
from stores import claims, fleet
from stores import services as store_services
from stores.models import Store
from tests.conftest import client_for
from tests.leaks import leaks

HOOK_URL = "https://hooks.violet.test/events"


class Collector(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record):
        try:
            self.lines.append(self.format(record))
        except Exception:  # noqa: BLE001 - a log record that cannot format is still scanned raw
            self.lines.append(repr(record.__dict__))


@pytest.fixture
def debug_logs():
    collector = Collector()
    collector.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(collector)
    root.setLevel(logging.DEBUG)
    for name in ("django.db.backends", "django.request", "celery", "kombu", "urllib3", "aiohttp", "stores", "connect"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    connection.force_debug_cursor = True  # SQL and its parameters are logged too
    yield collector
    connection.force_debug_cursor = False
    root.removeHandler(collector)
    root.setLevel(old_level)


@pytest.fixture
def sandbox(settings):
    with running_sandbox(fixture=None) as running:
        settings.BIGCOMMERCE_API_URL = running.url
        fleet.reset_engine()
        yield running
    fleet.reset_engine()


def broker_bytes() -> bytes:
    """Every message waiting in the broker, raw."""
    url = settings.CELERY_BROKER_URL
    if url.startswith("redis://"):
        import redis

        client = redis.Redis.from_url(url)
        return b"\n".join(
            item for key in client.keys("*") if client.type(key) == b"list" for item in client.lrange(key, 0, -1)
        )
    folder = Path(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_out"])
    return b"\n".join(path.read_bytes() for path in folder.glob("*") if path.is_file())


@responses.activate(assert_all_requests_are_fired=False)
def test_no_secret_anywhere_the_portal_speaks(alice, bob, charlie, sandbox, debug_logs, settings, monkeypatch):
    responses.add_passthru(sandbox.url)
    responses.post(HOOK_URL, status=204)
    settings.STAFF_NOTIFICATION_EMAILS = ["oncall@violet.test"]
    WebhookEndpoint.objects.create(name="core", url=HOOK_URL)
    store_hash = sandbox.control.add_store(profile={"name": "Acme Outfitters"})["store_hash"]
    account = sandbox.control.add_account(store_hash)
    secrets = [account["access_token"], account["client_secret"], account["client_id"]]
    emitted: dict[str, str | bytes] = {}
    owner, member, stranger = client_for(alice), client_for(bob), client_for(charlie)

    # 1. The wizard: a failed attempt (kept secrets), then a successful one.
    url = reverse("connect:wizard_credentials", args=["acme"])
    fields = {
        "api_path": f"https://api.bigcommerce.com/stores/{store_hash}/v3/",
        "client_id": account["client_id"],
        "client_secret": account["client_secret"],
        "access_token": account["access_token"],
    }
    emitted["wizard, failed attempt"] = owner.post(
        url, {**fields, "access_token": fields["access_token"][:9] + " x"}
    ).content
    emitted["wizard, retry page"] = owner.get(url).content
    response = owner.post(url, fields)
    assert response.status_code == 302, response.content[:2000]
    store = Store.objects.get(store_hash=store_hash)

    # 2. Every merchant page, as owner, member and stranger.
    for name, args in [
        ("dashboard", []),
        ("store_detail", [store_hash]),
        ("store_replace", [store_hash]),
        ("store_disconnect", [store_hash]),
        ("people", []),
        ("wizard_account", []),
        ("wizard_scopes", []),
        ("wizard_save", []),
        ("wizard_credentials", []),
    ]:
        path = reverse(f"connect:{name}", args=["acme", *args])
        for who, client in (("owner", owner), ("member", member), ("stranger", stranger)):
            emitted[f"{who} GET {path}"] = client.get(path).content

    # 3. Revalidation through the real engine: revoked, confirmed, announced.
    sandbox.control.revoke(account["client_id"])
    for _ in range(2):
        claim = claims.claim_store(store.pk)
        fleet.check_stores([store.pk], claim_token=claim.token)
    store.refresh_from_db()
    assert store.status == "revoked"
    notification_services.status_changes_process()
    notification_services.notifications_deliver_due()
    emitted["webhook bodies"] = b"\n".join(call.request.body or b"" for call in responses.calls)
    emitted["webhook headers"] = "\n".join(str(dict(call.request.headers)) for call in responses.calls)
    assert Notification.objects.filter(state="delivered").exists()
    emitted["emails"] = "\n".join(f"{m.subject}\n{m.body}\n{m.to}\n{[a for a in m.alternatives]}" for m in mail.outbox)

    # 4. A check queued for a worker: the message as it sits in the broker.
    settings.CELERY_TASK_ALWAYS_EAGER = False  # the fixture restores it (a monkeypatch on it outlived the test)
    assert store_services.store_check_request(store=store, trigger="merchant").queued
    emitted["broker"] = broker_bytes()
    assert emitted["broker"], "the queued message should be in the broker"

    # 5. Errors with DEBUG off: 404, 403, and a 500 while secrets were being
    #    posted, with the error email Django sends to ADMINS.
    emitted["404"] = stranger.get(reverse("connect:store_detail", args=["acme", store_hash])).content
    emitted["403"] = member.post(url, fields).content

    def explode(*args, **kwargs):
        raise RuntimeError("BigCommerce client exploded")

    monkeypatch.setattr("connect.onboarding.verify_credentials", explode)
    mail.outbox.clear()
    with override_settings(DEBUG=False, ADMINS=[("Ops", "ops@violet.test")]):
        owner.raise_request_exception = False
        server_error = owner.post(url, fields)
        assert server_error.status_code == 500
        emitted["500 page"] = server_error.content
    emitted["error email"] = "\n".join(f"{m.subject}\n{m.body}" for m in mail.outbox)

    # 6. What BigCommerce (the sandbox) recorded, apart from the X-Auth-Token header itself.
    # The sandbox notes which of its own API accounts each request used
    # (`client_id`): that is BigCommerce's knowledge, not something the portal sent.
    emitted["sandbox log"] = str(
        [{k: v for k, v in entry.items() if k != "client_id"} for entry in sandbox.control.log()]
    )
    # The test's own calls to the sandbox's control API are not the portal speaking.
    emitted["logs"] = "\n".join(line for line in debug_logs.lines if "/_sandbox/" not in line)
    assert len(debug_logs.lines) > 50, "the DEBUG logs should have been captured"

    found = {where: leaks(text, secrets) for where, text in emitted.items()}
    assert {where: pieces for where, pieces in found.items() if pieces} == {}
