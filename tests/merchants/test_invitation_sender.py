"""An invitation is void once its sender loses the right to send it (issue 28,
item 10): an owner removed from the team, made a member, deactivated or
deleted; a staff user who is no longer active staff. Invitations from the
command-line import (no sender) keep working. Checked when the link is opened
and again, under the merchant's row lock, when it is accepted; the People
page shows such an invitation as void."""

from __future__ import annotations

import pytest
from django.urls import reverse

from merchants import services, team
from merchants.models import Invitation, Membership, Merchant, User
from tests.conftest import _person, client_for

NEW_PASSWORD = "a-long-new-password-42"


def link_path(invitation: Invitation) -> str:
    return reverse("invitation_accept", args=[services.invitation_token(invitation)])


def owner_invitation(acme, sender: User, role: str = "owner") -> Invitation:
    return services.invitation_create(merchant=acme, email="dana@acme.test", role=role, invited_by=sender)


@pytest.fixture
def erin(acme) -> User:
    """A second owner of Acme, who can remove or demote alice."""
    return _person("erin@acme.test", acme, Membership.Role.OWNER)


def assert_void(client, invitation: Invitation) -> None:
    path = link_path(invitation)
    opened = client.get(path)
    assert opened.status_code == 410
    assert "whoever sent it can no longer invite people" in opened.content.decode()
    accepted = client.post(path, {"password": NEW_PASSWORD})
    assert accepted.status_code == 410
    assert not User.objects.filter(email="dana@acme.test").exists()
    invitation.refresh_from_db()
    assert invitation.accepted_at is None


def assert_works(client, invitation: Invitation, role: str = "owner") -> None:
    path = link_path(invitation)
    assert client.get(path).status_code == 200
    response = client.post(path, {"password": NEW_PASSWORD})
    assert response.status_code == 302
    dana = User.objects.get(email="dana@acme.test")
    assert Membership.objects.get(user=dana, merchant=invitation.merchant).role == role


@pytest.mark.parametrize("role", ["owner", "member"])
def test_an_invitation_from_an_owner_later_removed_is_void(client, acme, alice, erin, mailoutbox, role):
    invitation = owner_invitation(acme, alice, role)
    team.membership_remove(merchant=acme, membership_id=Membership.objects.get(user=alice).pk, by=erin)
    assert_void(client, invitation)


def test_an_invitation_from_an_owner_made_a_member_is_void(client, acme, alice, erin, mailoutbox):
    invitation = owner_invitation(acme, alice)
    team.membership_change_role(
        merchant=acme, membership_id=Membership.objects.get(user=alice).pk, role="member", by=erin
    )
    assert_void(client, invitation)


def test_an_invitation_from_a_deactivated_or_deleted_owner_is_void(client, acme, alice, erin, mailoutbox):
    invitation = owner_invitation(acme, alice)
    User.objects.filter(pk=alice.pk).update(is_active=False)
    assert_void(client, invitation)
    alice.delete()  # invited_by is emptied; it was still an owner's invitation
    invitation.refresh_from_db()
    assert invitation.invited_by is None and invitation.sent_as == Invitation.Sender.OWNER
    assert_void(client, invitation)


def test_a_signed_in_invitee_is_refused_too(charlie, acme, alice, erin, mailoutbox):
    invitation = services.invitation_create(merchant=acme, email=charlie.email, role="owner", invited_by=alice)
    team.membership_remove(merchant=acme, membership_id=Membership.objects.get(user=alice).pk, by=erin)
    response = client_for(charlie).post(link_path(invitation))
    assert response.status_code == 410
    assert not Membership.objects.filter(user=charlie, merchant=acme).exists()


def test_the_sender_removed_between_opening_and_accepting(client, acme, alice, erin, mailoutbox):
    """The page opened while alice was an owner; the acceptance is checked again."""
    invitation = owner_invitation(acme, alice)
    path = link_path(invitation)
    assert client.get(path).status_code == 200
    team.membership_remove(merchant=acme, membership_id=Membership.objects.get(user=alice).pk, by=erin)
    assert client.post(path, {"password": NEW_PASSWORD}).status_code == 410
    with pytest.raises(services.InvitationError, match="can no longer invite"):
        services.invitation_accept(token=services.invitation_token(invitation), user=None, password=NEW_PASSWORD)
    assert not User.objects.filter(email="dana@acme.test").exists()


def test_an_owner_still_in_place_still_invites(client, acme, alice, erin, mailoutbox):
    invitation = owner_invitation(acme, alice)
    # Another owner leaving changes nothing for alice's invitation.
    team.membership_remove(merchant=acme, membership_id=Membership.objects.get(user=erin).pk, by=erin)
    assert_works(client, invitation)


def test_a_staff_invitation_works_while_its_sender_is_active_staff(client, acme, admin_user, mailoutbox):
    # Staff are no member of the merchant, and need not be.
    invitation = owner_invitation(acme, admin_user)
    assert invitation.sent_as == Invitation.Sender.STAFF
    assert_works(client, invitation)


@pytest.mark.parametrize("change", [{"is_staff": False}, {"is_active": False}])
def test_a_staff_invitation_is_void_once_its_sender_is_no_longer_active_staff(
    client, acme, admin_user, mailoutbox, change
):
    invitation = owner_invitation(acme, admin_user)
    User.objects.filter(pk=admin_user.pk).update(**change)
    assert_void(client, invitation)


def test_an_import_invitation_has_no_sender_and_keeps_working(
    client, db, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        merchant = services.merchant_create_invited(
            name="Imported", slug="imported", owner_email="dana@acme.test", invited_by=None
        )
    invitation = Invitation.objects.get(merchant=merchant)
    assert invitation.invited_by is None and invitation.sent_as == Invitation.Sender.IMPORT
    # The merchant has no owner at all yet: the import's invitation is how it gets one.
    assert_works(client, invitation)


def test_the_console_import_is_staff_sent(db, admin_user, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        merchant = services.merchant_create_invited(
            name="Imported", slug="imported", owner_email="dana@acme.test", invited_by=admin_user
        )
    invitation = Invitation.objects.get(merchant=merchant)
    assert invitation.sent_as == Invitation.Sender.STAFF
    User.objects.filter(pk=admin_user.pk).update(is_staff=False)
    assert not services.invitation_sender_may_send(Invitation.objects.select_related("invited_by").get())
    assert Merchant.objects.filter(slug="imported").exists()


def test_the_people_page_shows_a_void_invitation(acme, alice, erin, mailoutbox):
    void = owner_invitation(acme, alice)
    live = services.invitation_create(merchant=acme, email="fay@acme.test", role="member", invited_by=erin)
    team.membership_change_role(
        merchant=acme, membership_id=Membership.objects.get(user=alice).pk, role="member", by=erin
    )
    page = client_for(erin).get(reverse("connect:people", args=["acme"])).content.decode()
    void_line = page.split(void.email, 1)[1].split("</li>", 1)[0]
    live_line = page.split(live.email, 1)[1].split("</li>", 1)[0]
    assert "void" in void_line and "expires" not in void_line
    assert "void" not in live_line and "expires" in live_line
    # Withdrawing it still works, and takes it off the list.
    client_for(erin).post(reverse("connect:invitation_withdraw", args=["acme", void.pk]))
    assert void.email not in client_for(erin).get(reverse("connect:people", args=["acme"])).content.decode()


def test_bob_the_member_never_had_the_right(client, acme, bob, mailoutbox):
    """An invitation recorded as sent by a member (no view allows it) is void."""
    invitation = Invitation.objects.create(merchant=acme, email="dana@acme.test", role="owner", invited_by=bob)
    assert_void(client, invitation)


def test_acceptance_checks_the_sender_again_under_the_lock(acme, alice, erin, mailoutbox, monkeypatch):
    """The sender removed after the link was read but before the claim (what a
    removal racing the acceptance looks like): the locked check refuses it."""
    invitation = owner_invitation(acme, alice)
    read = services.invitation_from_token

    def read_then_remove(token):
        found = read(token)
        team.membership_remove(merchant=acme, membership_id=Membership.objects.get(user=alice).pk, by=erin)
        return found

    monkeypatch.setattr(services, "invitation_from_token", read_then_remove)
    with pytest.raises(services.InvitationError, match="can no longer invite"):
        services.invitation_accept(token=services.invitation_token(invitation), user=None, password=NEW_PASSWORD)
    assert not User.objects.filter(email="dana@acme.test").exists()
    assert Invitation.objects.get(pk=invitation.pk).accepted_at is None


def test_an_owner_who_is_also_staff_keeps_either_right(client, acme, alice, erin, mailoutbox):
    """Either right will do: an owner's invitation stays while they are staff."""
    invitation = owner_invitation(acme, alice)
    User.objects.filter(pk=alice.pk).update(is_staff=True)
    team.membership_remove(merchant=acme, membership_id=Membership.objects.get(user=alice).pk, by=erin)
    assert_works(client, invitation)


def test_the_console_shows_a_void_invitation(acme, alice, erin, mailoutbox, admin_client):
    invitation = owner_invitation(acme, alice)
    page = reverse("admin:merchants_invitation_change", args=[invitation.pk])
    assert "void" not in admin_client.get(page).content.decode()
    team.membership_remove(merchant=acme, membership_id=Membership.objects.get(user=alice).pk, by=erin)
    content = admin_client.get(page).content.decode()
    assert "void (its sender can no longer invite)" in content
    assert "an owner of the merchant" in content  # sent_as
    assert "void (its sender" in admin_client.get(reverse("admin:merchants_invitation_changelist")).content.decode()
