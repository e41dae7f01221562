"""Invitations cannot be used to send Violet-branded spam: the inviter's address
must be verified, they are throttled per merchant and per inviter, and nothing
the inviter chose reaches the subject. The plain-text body is not HTML-escaped."""

import pytest
from django.urls import reverse
from django.utils import timezone

from merchants import services
from merchants.models import Invitation, Membership, Merchant, User
from tests.conftest import client_for


def _invite(client, slug, email):
    return client.post(reverse("connect:people", args=[slug]), {"email": email, "role": "member"})


def test_an_unverified_new_account_cannot_invite(client, db, mailoutbox):
    client.post(
        reverse("signup"),
        {"merchant_name": "Spam & Co <Urgent>", "email": "spammer@x.test", "password": "tps-reports-2026!"},
    )
    spammer = User.objects.get(email="spammer@x.test")
    merchant = Merchant.objects.get(memberships__user=spammer)
    mailoutbox.clear()
    response = _invite(client_for(spammer), merchant.slug, "victim@example.test")
    assert response.status_code == 200
    assert "Confirm your e-mail address first" in response.content.decode()
    assert mailoutbox == [] and not Invitation.objects.exists()
    # The unconfirmed address is said on every page, with a way to get a new link.
    body = client_for(spammer).get(reverse("connect:dashboard", args=[merchant.slug])).content.decode()
    assert "Confirm your e-mail address: open the link we sent to <strong>spammer@x.test</strong>" in body
    assert f'action="{reverse("email_verify_resend")}"' in body and "Send a new link" in body
    client_for(spammer).post(reverse("email_verify_resend"))
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["spammer@x.test"]

    with pytest.raises(services.InvitationRefused):
        services.invitation_create(merchant=merchant, email="v@example.test", role="member", invited_by=spammer)
    # Once confirmed, the notice goes.
    spammer.email_verified_at = timezone.now()
    spammer.save()
    body = client_for(spammer).get(reverse("connect:dashboard", args=[merchant.slug])).content.decode()
    assert "Send a new link" not in body


def test_invitations_are_throttled_per_inviter(alice, acme, settings, mailoutbox):
    settings.INVITATION_THROTTLE_PER_USER = 3
    client = client_for(alice)
    for n in range(3):
        assert _invite(client, "acme", f"p{n}@example.test").status_code == 302
    refused = _invite(client, "acme", "p4@example.test")
    assert refused.status_code == 200
    assert "Too many invitations" in refused.content.decode()
    assert len(mailoutbox) == 3 and Invitation.objects.count() == 3


def test_invitations_are_throttled_per_merchant_across_inviters(alice, acme, settings, mailoutbox):
    settings.INVITATION_THROTTLE_PER_MERCHANT = 2
    other_owner = User.objects.create_user(email="o@acme.test", password="x", email_verified_at=alice.date_joined)
    Membership.objects.create(merchant=acme, user=other_owner, role="owner")
    assert _invite(client_for(alice), "acme", "a@example.test").status_code == 302
    assert _invite(client_for(other_owner), "acme", "b@example.test").status_code == 302
    assert _invite(client_for(other_owner), "acme", "c@example.test").status_code == 200
    assert len(mailoutbox) == 2


def test_the_subject_is_violets_and_the_body_is_plain_text(alice, acme, mailoutbox):
    acme.name = 'Tom & Jerry\'s "Deals" <Act now>'
    acme.save()
    services.invitation_create(merchant=acme, email="dana@example.test", role="member", invited_by=alice)
    [mail] = mailoutbox
    assert "Tom" not in mail.subject and "Act now" not in mail.subject
    # A text/plain mail: the name as typed, never &amp; or &lt;.
    assert 'the team "Tom & Jerry\'s "Deals" <Act now>"' in mail.body
    assert "&amp;" not in mail.body and "&lt;" not in mail.body and "&#x27;" not in mail.body
