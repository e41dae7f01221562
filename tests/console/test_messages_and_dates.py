"""The console's words: a refused action is a warning that says why (never a
success line saying nothing was done), and times are written one way, with
their zone."""

from __future__ import annotations

from django.contrib.messages import constants

from stores.models import Store
from tests.console.conftest import url


def console_messages(response) -> list[tuple[int, str]]:
    return [(m.level, m.message) for m in response.context["messages"]]


def test_check_now_in_bulk_on_a_disconnected_store_is_a_warning_saying_why(ops, acme_store, queued):
    Store.objects.filter(pk=acme_store.pk).update(status="disconnected")
    response = ops.post(
        url("stores_store_changelist"),
        {"action": "check_now_action", "_selected_action": [acme_store.pk]},
        follow=True,
    )
    said = console_messages(response)
    assert said == [
        (
            constants.WARNING,
            "Acme Outfitters was not checked: it is disconnected, so Violet holds no credentials for it; "
            "reconnect it first.",
        )
    ]
    assert not any("0 stores" in text for _, text in said) and queued == []


def test_check_now_on_a_disconnected_stores_page_is_a_warning(ops, acme_store, queued):
    Store.objects.filter(pk=acme_store.pk).update(status="disconnected")
    response = ops.post(url("stores_store_check", acme_store.pk), follow=True)
    [(level, text)] = console_messages(response)
    assert level == constants.WARNING and "reconnect it first" in text


def test_the_store_page_writes_every_time_one_way_with_its_zone(ops, acme_store):
    body = ops.get(url("stores_store_change", acme_store.pk)).content.decode()
    created = f"{acme_store.created_at:%Y-%m-%d %H:%M} UTC"
    assert created in body
    assert "a.m." not in body and "p.m." not in body
