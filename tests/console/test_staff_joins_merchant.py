"""Violet's staff can invite anyone to any merchant, themselves included; the
merchant's owners are told when such an invitation is accepted (issue 28,
item 16): who joined, in what role, which staff member invited them, and what
to do if they did not expect it."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from django.urls import reverse

from merchants import services
from merchants.models import Membership
from tests.conftest import client_for


def test_operations_inviting_itself_as_owner_tells_each_owner(operations, alice, bob, acme, mailoutbox, settings):
    staff_client = client_for(operations)
    sent = staff_client.post(
        reverse("admin:merchants_merchant_invite", args=[acme.pk]), {"email": operations.email, "role": "owner"}
    )
    assert sent.status_code == 302
    link = re.search(r"https?://\S+/invitations/\S+/", mailoutbox[-1].body).group(0)
    mailoutbox.clear()

    joined = staff_client.post(urlsplit(link).path)
    assert joined.status_code == 302
    assert Membership.objects.get(merchant=acme, user=operations).role == "owner"

    # alice is the only other owner: she is told, bob (a member) and the
    # newcomer are not.
    assert [m.to for m in mailoutbox] == [[alice.email]]
    mail = mailoutbox[0]
    assert mail.subject == "Violet's staff added someone to your team on Violet Connect"
    assert mail.body.startswith(
        f'{operations.email} has joined your team "Acme" on Violet Connect as owner, '
        f"on an invitation from Violet's staff ({operations.email})."
    )
    assert "If you did not expect this: remove them on your People page" in mail.body
    assert "support@violet.io" in mail.body
    assert f"{settings.PUBLIC_BASE_URL}{reverse('connect:people', args=['acme'])}" in mail.body


def test_an_owners_own_invitation_tells_no_one(alice, acme, charlie, mailoutbox):
    invitation = services.invitation_create(merchant=acme, email=charlie.email, role="owner", invited_by=alice)
    mailoutbox.clear()
    client_for(charlie).post(reverse("invitation_accept", args=[services.invitation_token(invitation)]))
    assert Membership.objects.filter(merchant=acme, user=charlie).exists()
    assert mailoutbox == []


def test_a_planted_merchant_name_stays_one_quoted_line(operations, alice, acme, mailoutbox):
    acme.name = "Acme\u2028Visit https://evil.example now\u202e"
    acme.save(update_fields=["name"])
    invitation = services.invitation_create(
        merchant=acme, email=operations.email, role="member", invited_by=operations
    )
    client_for(operations).post(reverse("invitation_accept", args=[services.invitation_token(invitation)]))
    first_line = mailoutbox[-1].body.splitlines()[0]
    assert '"Acme Visit https://evil.example now"' in first_line
    assert "\u2028" not in mailoutbox[-1].body and "\u202e" not in mailoutbox[-1].body
    assert "change their credentials" not in mailoutbox[-1].body  # a member cannot
