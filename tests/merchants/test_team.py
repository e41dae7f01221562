"""The People page's changes (merchants.team): an owner withdraws an
invitation, removes a member, changes a role; a merchant always keeps at
least one owner, also when two owners demote each other at the same moment."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections
from django.urls import reverse

from merchants import team
from merchants.models import Invitation, Membership, User
from tests.conftest import PASSWORD, client_for


def people_url(name, *args):
    return reverse(f"connect:{name}", args=["acme", *args])


def membership(user) -> Membership:
    return Membership.objects.get(user=user)


def test_an_owner_withdraws_an_invitation_and_its_link_stops_working(alice, acme):
    invitation = Invitation.objects.create(merchant=acme, email="dora@acme.test", invited_by=alice)
    client = client_for(alice)
    response = client.post(people_url("invitation_withdraw", invitation.pk), follow=True)
    assert "The invitation to dora@acme.test is withdrawn" in response.content.decode()
    invitation.refresh_from_db()
    assert invitation.revoked_at is not None
    assert "dora@acme.test" not in client.get(people_url("people")).content.decode()
    again = client.post(people_url("invitation_withdraw", invitation.pk), follow=True)
    assert [m.level_tag for m in again.context["messages"]] == ["warning"]


def test_an_owner_removes_a_member_and_changes_a_role(alice, bob):
    client = client_for(alice)
    response = client.post(people_url("membership_role", membership(bob).pk), {"role": "owner"}, follow=True)
    assert "bob@acme.test is now owner" in response.content.decode()
    assert membership(bob).is_owner
    # "Remove" asks first: the page it leads to changes nothing, its button removes.
    people = client.get(people_url("people")).content.decode()
    assert f'href="{people_url("membership_remove", membership(bob).pk)}"' in people
    confirm = client.get(people_url("membership_remove", membership(bob).pk)).content.decode()
    assert "Remove <bdi>bob@acme.test</bdi>?" in confirm and 'method="post"' in confirm
    assert Membership.objects.filter(user=bob).exists()
    response = client.post(people_url("membership_remove", membership(bob).pk), follow=True)
    assert "bob@acme.test is no longer on the team" in response.content.decode()
    assert not Membership.objects.filter(user=bob).exists()


def test_a_role_that_is_not_one_changes_nothing(alice, bob):
    response = client_for(alice).post(people_url("membership_role", membership(bob).pk), {"role": "admin"}, follow=True)
    assert [(m.level_tag, m.message) for m in response.context["messages"]] == [("warning", "Choose Owner or Member.")]
    assert membership(bob).role == "member"


def test_the_last_owner_cannot_leave_nor_step_down(alice, bob):
    client = client_for(alice)
    for name, data in (("membership_role", {"role": "member"}), ("membership_remove", {})):
        response = client.post(people_url(name, membership(alice).pk), data, follow=True)
        [message] = response.context["messages"]
        assert message.level_tag == "warning" and "must keep at least one owner" in message.message
    assert membership(alice).is_owner


def test_a_member_changes_nothing_and_a_stranger_gets_404(alice, bob, charlie, globex):
    bobs = client_for(bob)
    assert bobs.post(people_url("membership_remove", membership(alice).pk)).status_code == 403
    assert bobs.post(people_url("membership_role", membership(bob).pk), {"role": "owner"}).status_code == 403
    assert membership(bob).role == "member" and Membership.objects.filter(user=alice).exists()
    # Globex's membership under Acme's URL: 404 even for Acme's owner.
    assert client_for(alice).post(people_url("membership_remove", membership(charlie).pk)).status_code == 404
    assert Membership.objects.filter(user=charlie).exists()


@pytest.mark.django_db(transaction=True)
def test_two_owners_demoting_each_other_at_once_leave_one_owner(acme, monkeypatch):
    """Both read "another owner stays" before either writes, unless the merchant
    row is locked first: then the second waits, counts again and is refused."""
    if connection.vendor != "postgresql":
        pytest.skip("a race of two transactions needs PostgreSQL (row locks); SQLite runs one writer at a time")
    owners = []
    for email in ("ann@acme.test", "ben@acme.test"):
        user = User.objects.create_user(email=email, password=PASSWORD)
        owners.append(Membership.objects.create(merchant=acme, user=user, role=Membership.Role.OWNER))

    # Hold each change between counting the owners and writing, until the other
    # has counted too (or 2 s pass: with the lock, the other is waiting on it).
    both_counted = threading.Barrier(2, timeout=2)
    counted = team._owners_left

    def count_then_wait(merchant_id, *, without):
        left = counted(merchant_id, without=without)
        try:
            both_counted.wait()
        except threading.BrokenBarrierError:
            pass
        return left

    monkeypatch.setattr(team, "_owners_left", count_then_wait)
    outcomes = {}

    def demote(mine, other):
        try:
            team.membership_change_role(merchant=acme, membership_id=other.pk, role="member", by=mine.user)
            outcomes[mine.user.email] = "done"
        except team.TeamError:
            outcomes[mine.user.email] = "refused"
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=demote, args=(owners[0], owners[1])),
        threading.Thread(target=demote, args=(owners[1], owners[0])),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes.values()) == ["done", "refused"], outcomes
    assert Membership.objects.filter(merchant=acme, role=Membership.Role.OWNER).count() == 1
