"""Inviting someone to a merchant from the console: the email goes out, and it is logged."""

from __future__ import annotations

import re

from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core import mail

from merchants.models import Invitation
from tests.console.conftest import url


def test_invite_sends_the_email_and_is_logged(ops, operations, acme_store):
    merchant = acme_store.merchant
    page = ops.get(url("merchants_merchant_change", merchant.pk)).content.decode()
    assert "Invite someone" in page
    response = ops.post(
        url("merchants_merchant_invite", merchant.pk),
        {"email": "Dana@Acme.test", "role": "owner"},
        follow=True,
    )
    assert "Invitation sent to dana@acme.test (owner)." in response.content.decode()
    invitation = Invitation.objects.get()
    assert (
        invitation.email == "dana@acme.test"
        and invitation.role == "owner"
        and invitation.invited_by == operations
    )
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["dana@acme.test"]
    assert re.search(r"https?://\S+/invitations/\S+/", mail.outbox[0].body)  # the link to accept it
    entry = LogEntry.objects.get(
        content_type=ContentType.objects.get_for_model(merchant), object_id=str(merchant.pk)
    )
    assert entry.user == operations and entry.change_message == "Invited dana@acme.test as owner."


def test_invite_with_a_bad_address_sends_nothing(ops, acme_store):
    response = ops.post(
        url("merchants_merchant_invite", acme_store.merchant_id),
        {"email": "not-an-address", "role": "member"},
    )
    assert (
        response.status_code == 400 and "Enter a valid email address" in response.content.decode()
    )
    assert mail.outbox == [] and not Invitation.objects.exists() and not LogEntry.objects.exists()
