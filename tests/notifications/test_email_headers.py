"""Outside text in e-mail headers: a store or merchant name with a newline or
other control characters never makes a status e-mail fail."""

import pytest
from django.test import override_settings
from django.utils import timezone

from config.mail import header_text
from notifications import services
from notifications.models import Notification
from stores import services as store_services
from stores.models import StatusChange, Store
from tests.reports import credentials, report, revoke_by_two_checks


@pytest.mark.parametrize(
    "raw, clean",
    [
        ("Acme\nBcc: victim@example.test", "Acme Bcc: victim@example.test"),
        ("Acme\r\n\r\nbody", "Acme body"),
        ("A\u2028B\u2029C\x00D\u202eE", "A B C D E"),
        ("  plain  name ", "plain name"),
        ("x" * 300, "x" * 119 + "…"),
    ],
)
def test_header_text(raw, clean):
    assert header_text(raw) == clean


@override_settings(STAFF_NOTIFICATION_EMAILS=["oncall@violet.test"])
def test_a_newline_in_the_store_name_does_not_lose_the_notification(acme, alice, mailoutbox):
    acme.name = "Acme\nInc"
    acme.save()
    store = store_services.store_connect(merchant=acme, credentials=credentials(), report=report())
    Store.objects.filter(pk=store.pk).update(name="Evil\r\nBcc: victim@example.test\nShop")
    StatusChange.objects.update(processed_at=timezone.now())
    revoke_by_two_checks(store)
    Store.objects.filter(pk=store.pk).update(name="Evil\r\nBcc: victim@example.test\nShop")
    services.status_changes_process()
    services.notifications_deliver_due()

    emails = Notification.objects.filter(channel="email")
    assert emails.exists() and set(emails.values_list("state", flat=True)) == {"delivered"}
    owner = next(m for m in mailoutbox if m.to == ["alice@acme.test"])
    assert "\n" not in owner.subject and "\r" not in owner.subject
    assert "Evil Bcc: victim@example.test Shop" in owner.subject
    assert all("victim@example.test" not in m.to + m.cc + m.bcc for m in mailoutbox)
    assert any(m.to == ["oncall@violet.test"] for m in mailoutbox)
    # The body says the name once cleaned and quoted, as the store's own words (issue 28, item 9).
    assert '"Evil Bcc: victim@example.test Shop"' in owner.body
    assert "Evil\r\n" not in owner.body and "\u202e" not in owner.body
    staff = next(m for m in mailoutbox if m.to == ["oncall@violet.test"])
    assert 'of merchant "Acme Inc"' in staff.body


def test_planted_text_in_an_invitation_is_cleaned_and_quoted(acme, alice, mailoutbox):
    from merchants import services as merchant_services

    acme.name = "Acme\u2028Click https://evil.example/login now\u202e"
    acme.save()
    merchant_services.invitation_create(merchant=acme, email="dana@acme.test", role="member", invited_by=alice)
    body = mailoutbox[-1].body
    assert '"Acme Click https://evil.example/login now"' in body
    assert "\u2028" not in body and "\u202e" not in body
