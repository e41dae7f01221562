"""Writes for people and tenants: sign-up, invitations, joining."""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from .models import Invitation, Membership, Merchant, User

INVITATION_SALT = "merchants.invitation"


class InvitationError(Exception):
    """An invitation link that cannot be used, with a message for the visitor."""


@transaction.atomic
def merchant_create(*, name: str, owner: User) -> Merchant:
    merchant = Merchant.objects.create(name=name, slug=Merchant.unique_slug_for(name))
    Membership.objects.create(merchant=merchant, user=owner, role=Membership.Role.OWNER)
    return merchant


@transaction.atomic
def user_sign_up(*, email: str, password: str, merchant_name: str) -> tuple[User, Merchant]:
    """Self-service sign-up: a new person and the merchant they own."""
    user = User.objects.create_user(email=email, password=password)
    merchant = merchant_create(name=merchant_name, owner=user)
    return user, merchant


def invitation_token(invitation: Invitation) -> str:
    return signing.dumps({"id": invitation.pk, "email": invitation.email}, salt=INVITATION_SALT)


def invitation_url(invitation: Invitation) -> str:
    path = reverse("invitation_accept", kwargs={"token": invitation_token(invitation)})
    return f"{settings.PUBLIC_BASE_URL}{path}"


def invitation_create(*, merchant: Merchant, email: str, role: str, invited_by: User | None) -> Invitation:
    """Invite someone by email. Any earlier open invitation for them is revoked."""
    email = email.strip().lower()
    with transaction.atomic():
        Invitation.objects.filter(merchant=merchant, email=email, accepted_at=None, revoked_at=None).update(
            revoked_at=timezone.now()
        )
        invitation = Invitation.objects.create(merchant=merchant, email=email, role=role, invited_by=invited_by)
    context = {"invitation": invitation, "url": invitation_url(invitation)}
    send_mail(
        subject=f"You're invited to {merchant.name} on Violet Connect",
        message=render_to_string("merchants/email/invitation.txt", context),
        from_email=None,
        recipient_list=[email],
    )
    return invitation


def merchant_create_invited(*, name: str, slug: str, owner_email: str, invited_by: User | None) -> Merchant:
    """A merchant whose owner has no say yet (the bulk import of existing
    stores): created with this slug, and its owner invited by email once the
    surrounding transaction commits (a rolled-back import sends nothing)."""
    merchant = Merchant.objects.create(name=name, slug=slug)
    transaction.on_commit(
        lambda: invitation_create(
            merchant=merchant, email=owner_email, role=Membership.Role.OWNER, invited_by=invited_by
        ),
        robust=True,
    )
    return merchant


def invitation_from_token(token: str) -> Invitation:
    """The open invitation a link points at, or InvitationError saying why not."""
    max_age = settings.INVITATION_MAX_AGE.total_seconds()
    try:
        data = signing.loads(token, salt=INVITATION_SALT, max_age=max_age)
    except signing.SignatureExpired as exc:
        raise InvitationError("This invitation has expired. Ask for a new one.") from exc
    except signing.BadSignature as exc:
        raise InvitationError("This invitation link is not valid.") from exc
    invitation = Invitation.objects.select_related("merchant").filter(pk=data.get("id")).first()
    if invitation is None or invitation.email != data.get("email"):
        raise InvitationError("This invitation link is not valid.")
    if invitation.accepted_at is not None:
        raise InvitationError("This invitation has already been used.")
    if invitation.revoked_at is not None:
        raise InvitationError("This invitation was withdrawn. Ask for a new one.")
    if not invitation.is_open:
        raise InvitationError("This invitation has expired. Ask for a new one.")
    return invitation


def invitation_accept(*, token: str, user: User | None, password: str | None = None) -> Membership:
    """Join the merchant. A newcomer sets a password; a signed-in person just joins.

    Single use: the invitation is claimed by a conditional update, so two
    clicks on the same link cannot both succeed.
    """
    invitation = invitation_from_token(token)
    if user is not None and user.email.lower() != invitation.email:
        raise InvitationError(
            f"This invitation was sent to another email address. Log out and open the link again, "
            f"or ask for an invitation to {user.email}."
        )
    with transaction.atomic():
        claimed = Invitation.objects.filter(pk=invitation.pk, accepted_at=None).update(accepted_at=timezone.now())
        if claimed != 1:
            raise InvitationError("This invitation has already been used.")
        if user is None:
            user = User.objects.filter(email__iexact=invitation.email).first()
            if user is not None:
                raise InvitationError("You already have an account: log in first, then open the link again.")
            user = User.objects.create_user(email=invitation.email, password=password)
        membership, created = Membership.objects.get_or_create(
            merchant=invitation.merchant, user=user, defaults={"role": invitation.role}
        )
        if not created and invitation.role == Membership.Role.OWNER and not membership.is_owner:
            membership.role = Membership.Role.OWNER
            membership.save(update_fields=["role"])
        Invitation.objects.filter(pk=invitation.pk).update(accepted_by=user)
    return membership
