"""Who is on a merchant's team, changed by its owners: withdraw an open
invitation, remove a member, change a member's role.

The rule: a merchant always keeps at least one owner. Two owners who at the
same moment demote or remove each other would each see the other still
there; so every change that can take an owner away first locks the
merchant's row (SELECT ... FOR UPDATE) and only then counts the owners left.
The second change waits for the first to commit, counts again, and is
refused. tests/merchants/test_team.py races two such changes on PostgreSQL.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from .models import Invitation, Membership, Merchant, User
from .services import invitation_sender_may_send

logger = logging.getLogger(__name__)


class TeamError(Exception):
    """A change to the team that is refused, with a message for the owner."""


LAST_OWNER = "{merchant} must keep at least one owner: make someone else an owner first."


def _owners_left(merchant_id: int, *, without: int) -> int:
    """Owners of the merchant other than membership `without`."""
    return Membership.objects.filter(merchant_id=merchant_id, role=Membership.Role.OWNER).exclude(pk=without).count()


def _lock_merchant(merchant_id: int) -> Merchant:
    return Merchant.objects.select_for_update().get(pk=merchant_id)


def open_invitations(merchant: Merchant) -> list[Invitation]:
    """The invitations not yet used nor withdrawn, for the People page, each with
    `void` set when its sender can no longer send it (the link says withdrawn)."""
    owner_ids = set(
        Membership.objects.filter(merchant=merchant, role=Membership.Role.OWNER).values_list("user_id", flat=True)
    )
    invitations = list(merchant.invitations.filter(accepted_at=None, revoked_at=None).select_related("invited_by"))
    for invitation in invitations:
        invitation.void = not invitation_sender_may_send(invitation, owner_ids=owner_ids)
    return invitations


def invitation_withdraw(*, merchant: Merchant, invitation_id: int) -> Invitation:
    """Withdraw an open invitation; its link then says it was withdrawn."""
    invitation = Invitation.objects.filter(merchant=merchant, pk=invitation_id).first()
    if invitation is None:
        raise TeamError("There is no such invitation.")
    updated = Invitation.objects.filter(pk=invitation.pk, accepted_at=None, revoked_at=None).update(
        revoked_at=timezone.now()
    )
    if not updated:
        raise TeamError(f"The invitation to {invitation.email} was already used or withdrawn.")
    invitation.refresh_from_db()
    return invitation


def membership_remove(*, merchant: Merchant, membership_id: int, by: User) -> Membership:
    """Take someone off the team (an owner may leave too, if another owner stays)."""
    with transaction.atomic():
        locked = _lock_merchant(merchant.pk)
        membership = Membership.objects.select_related("user").filter(merchant=locked, pk=membership_id).first()
        if membership is None:
            raise TeamError("That person is not on the team.")
        if membership.is_owner and _owners_left(locked.pk, without=membership.pk) == 0:
            raise TeamError(LAST_OWNER.format(merchant=locked.name))
        membership.delete()
    logger.info("%s removed %s from merchant %s", by.email, membership.user.email, locked.pk)
    return membership


def membership_change_role(*, merchant: Merchant, membership_id: int, role: str, by: User) -> Membership:
    if role not in Membership.Role.values:
        raise TeamError("Choose Owner or Member.")
    with transaction.atomic():
        locked = _lock_merchant(merchant.pk)
        membership = Membership.objects.select_related("user").filter(merchant=locked, pk=membership_id).first()
        if membership is None:
            raise TeamError("That person is not on the team.")
        if membership.role == role:
            return membership
        if membership.is_owner and _owners_left(locked.pk, without=membership.pk) == 0:
            raise TeamError(LAST_OWNER.format(merchant=locked.name))
        membership.role = role
        membership.save(update_fields=["role"])
    logger.info("%s made %s %s of merchant %s", by.email, membership.user.email, role, locked.pk)
    return membership
