from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from merchants import services
from merchants.models import Invitation, Membership, User
from tests.conftest import PASSWORD, client_for


@pytest.fixture
def invitation(alice, acme, mailoutbox):
    return services.invitation_create(merchant=acme, email="Dana@Acme.test", role="member", invited_by=alice)


def link_path(invitation) -> str:
    return reverse("invitation_accept", args=[services.invitation_token(invitation)])


def test_invitation_email_carries_a_working_link(invitation, mailoutbox):
    assert invitation.email == "dana@acme.test"
    assert len(mailoutbox) == 1
    assert link_path(invitation) in mailoutbox[0].body
    # The merchant's name (chosen by whoever signed up) is not in the subject,
    # only in the body, quoted as theirs.
    assert mailoutbox[0].subject == "You're invited to join a team on Violet Connect"
    assert 'to join the team "Acme" on Violet Connect' in mailoutbox[0].body


def test_an_invitation_says_who_violet_is_its_time_zone_once_and_what_to_do_if_unexpected(invitation, mailoutbox):
    body = mailoutbox[0].body
    assert "Violet sells merchants' products through other apps" in body
    assert "If you did not expect this e-mail" in body and "support@violet.io" in body
    assert "UTC UTC" not in body and body.count(" UTC") == 1


def test_an_invitation_from_violet_staff_says_it_is_violet_and_why(acme, admin_user, mailoutbox):
    """Import-created owner invitations came "from staff@violet.test" with no context."""
    services.invitation_create(merchant=acme, email="owner@acme.test", role="owner", invited_by=admin_user)
    body = mailoutbox[-1].body
    assert body.startswith(f"Violet's staff ({admin_user.email}) invited you to manage the merchant \"Acme\"")
    assert "your BigCommerce store is being connected to Violet" in body


def test_newcomer_sets_a_password_and_joins(client, invitation):
    path = link_path(invitation)
    assert client.get(path).status_code == 200
    response = client.post(path, {"password": "a-long-new-password-42"})
    assert response.status_code == 302
    assert response["Location"] == reverse("connect:dashboard", args=["acme"])
    user = User.objects.get(email="dana@acme.test")
    assert user.check_password("a-long-new-password-42")
    assert Membership.objects.get(user=user).role == "member"


def test_weak_password_is_refused_and_nothing_is_created(client, invitation):
    response = client.post(link_path(invitation), {"password": "123"})
    assert response.status_code == 200
    assert "too short" in response.content.decode()
    assert not User.objects.filter(email="dana@acme.test").exists()
    assert Invitation.objects.get(pk=invitation.pk).accepted_at is None


def test_the_link_works_once(client, invitation):
    path = link_path(invitation)
    client.post(path, {"password": "a-long-new-password-42"})
    response = client_for(User.objects.get(email="dana@acme.test")).post(path)
    assert response.status_code == 410
    assert "already been used" in response.content.decode()


def test_the_link_expires(client, invitation):
    with time_machine.travel(timezone.now() + timedelta(days=8)):
        response = client.get(link_path(invitation))
    assert response.status_code == 410
    assert "expired" in response.content.decode()


def test_a_tampered_link_is_refused(client, invitation):
    response = client.get(link_path(invitation)[:-3] + "xyz/")
    assert response.status_code == 410
    assert "not valid" in response.content.decode()


def test_a_new_invitation_replaces_the_old_one(alice, acme, invitation, client):
    services.invitation_create(merchant=acme, email="dana@acme.test", role="owner", invited_by=alice)
    response = client.get(link_path(invitation))
    assert response.status_code == 410
    assert "withdrawn" in response.content.decode()


def test_existing_person_joins_a_second_merchant_when_logged_in(charlie, acme, alice):
    invitation = services.invitation_create(merchant=acme, email=charlie.email, role="member", invited_by=alice)
    response = client_for(charlie).post(link_path(invitation))
    assert response.status_code == 302
    assert set(charlie.merchants.values_list("slug", flat=True)) == {"acme", "globex"}


def test_existing_person_must_log_in_first(client, charlie, acme, alice):
    invitation = services.invitation_create(merchant=acme, email=charlie.email, role="member", invited_by=alice)
    response = client.post(link_path(invitation), {"password": "a-long-new-password-42"})
    assert response.status_code == 410
    assert "log in first" in response.content.decode()
    assert charlie.check_password(PASSWORD)  # untouched
    assert Invitation.objects.get(pk=invitation.pk).accepted_at is None


def test_someone_else_logged_in_cannot_use_the_link(invitation, charlie):
    response = client_for(charlie).post(link_path(invitation))
    assert response.status_code == 410
    assert not Membership.objects.filter(user=charlie, merchant__slug="acme").exists()
