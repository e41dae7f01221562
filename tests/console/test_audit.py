"""The staff actions log: every action listed, read-only."""

from __future__ import annotations

from django.contrib.admin.models import LogEntry

from tests.conftest import client_for
from tests.console.conftest import url


def test_the_staff_action_log_lists_every_action_read_only(ops, superuser, acme_store, queued):
    ops.post(url("stores_store_check", acme_store.pk))
    ops.post(url("stores_store_pause", acme_store.pk))
    client = client_for(superuser)
    body = client.get(url("admin_logentry_changelist")).content.decode()
    assert (
        "Queued a check (check now)." in body
        and "Paused checks" in body
        and "ops@violet.test" in body
    )
    entry = LogEntry.objects.first()
    assert client.post(url("admin_logentry_change", entry.pk), {}).status_code == 403
    assert client.get(url("admin_logentry_delete", entry.pk)).status_code == 403
