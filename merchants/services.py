"""Writes for people and tenants: sign-up, invitations, joining."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core import signing
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from config import throttle

from . import timezones
from .identity import canonical_email
from .models import Invitation, Membership, Merchant, User
from .two_factor import services as two_factor

INVITATION_SALT = "merchants.invitation"
EMAIL_VERIFICATION_SALT = "merchants.email-verification"
# The confirmation link works once, for this long (issue 28, item 2). A person
# who is late logs in with their password and asks for a new one.
EMAIL_VERIFICATION_MINUTES = 60


class InvitationError(Exception):
    """An invitation link that cannot be used, with a message for the visitor."""


SENDER_GONE = "This invitation was withdrawn: whoever sent it can no longer invite people. Ask for a new one."


@transaction.atomic
def merchant_create(*, name: str, owner: User) -> Merchant:
    merchant = Merchant.objects.create(name=name, slug=Merchant.unique_slug_for(name))
    Membership.objects.create(merchant=merchant, user=owner, role=Membership.Role.OWNER)
    return merchant


class InvitationRefused(Exception):
    """An invitation that may not be sent now, with a message for the inviter."""


class AccountMail:
    """What an account mail is for: each has its own budgets."""

    SIGN_UP = "signup"
    PASSWORD_RESET = "password-reset"


def account_mail_allowed(kind: str, *, email: str, client_address: str) -> bool:
    """Whether a sign-up or password-reset request may go ahead (and send its mail):
    at most ACCOUNT_MAIL_THROTTLE_PER_ADDRESS requests from one client address and
    ACCOUNT_MAIL_THROTTLE_PER_EMAIL for one e-mail address (in any spelling) in
    the sliding window, counted apart for each kind (issue 28, item 8).

    Every request counts, whether or not the address has an account, so being
    refused says nothing about one; and the caller answers a refused request
    exactly as an accepted one, with no mail. The client address is asked first:
    a request it refuses does not use up the e-mail address's budget. The e-mail
    address is keyed by a digest (no address in the cache's keys)."""
    window = settings.ACCOUNT_MAIL_THROTTLE_WINDOW_SECONDS
    digest = salted_hmac("merchants.account-mail", canonical_email(email), algorithm="sha256").hexdigest()[:32]
    limits = [
        (f"account-mail:{kind}:client:{client_address}", settings.ACCOUNT_MAIL_THROTTLE_PER_ADDRESS),
        (f"account-mail:{kind}:email:{digest}", settings.ACCOUNT_MAIL_THROTTLE_PER_EMAIL),
    ]
    return all(throttle.allow(key, limit=limit, window_seconds=window) for key, limit in limits)


def user_sign_up(
    *, email: str, password: str, merchant_name: str, client_address: str, time_zone: str = timezones.DEFAULT
) -> tuple[User, Merchant] | None:
    """Self-service sign-up: a new person and the merchant they own, and a link
    mailed to confirm the address.

    An address that already has an account gets a mail saying so instead, and
    the caller shows the same "check your e-mail" page either way (None here):
    sign-up, like login and password reset, never tells a visitor whether an
    address has an account. Over `account_mail_allowed`'s limits nothing is
    created and nothing sent, and the caller shows that same page (None).
    """
    email = canonical_email(email)
    if not account_mail_allowed(AccountMail.SIGN_UP, email=email, client_address=client_address):
        make_password(password)  # the same work as a real sign-up, so timing tells nothing
        return None
    if User.objects.filter(email__iexact=email).exists():
        make_password(password)  # the same work as a real sign-up, so timing tells nothing
        send_mail(
            subject="Your Violet Connect account",
            message=render_to_string(
                "merchants/email/signup_existing.txt",
                {"login_url": _absolute(reverse("login")), "reset_url": _absolute(reverse("password_reset"))},
            ),
            from_email=None,
            recipient_list=[email],
        )
        return None
    with transaction.atomic():
        user = User.objects.create_user(email=email, password=password, time_zone=timezones.zone_or_default(time_zone))
        merchant = merchant_create(name=merchant_name, owner=user)
    email_verification_send(user)
    return user, merchant


def zone_for_email(email: str) -> str:
    """The time zone of the person with this address (UTC for an address with no account)."""
    zone = User.objects.filter(email__iexact=canonical_email(email)).values_list("time_zone", flat=True).first()
    return timezones.zone_or_default(zone)


def user_set_time_zone(user: User, zone: str) -> None:
    """Change a person's time zone (a zone we know: the form checked it)."""
    timezones.validate_time_zone(zone)
    User.objects.filter(pk=user.pk).update(time_zone=zone)
    user.time_zone = zone


def _absolute(path: str) -> str:
    """Every link in every e-mail starts here: PUBLIC_BASE_URL, never the request's Host."""
    return f"{settings.PUBLIC_BASE_URL}{path}"


def public_link_context(context: dict) -> dict:
    """Django's password-reset mail context with the address taken from
    PUBLIC_BASE_URL instead of the request's Host header (which, with a
    permissive ALLOWED_HOSTS, the requester chooses)."""
    base = urlsplit(settings.PUBLIC_BASE_URL)
    return {
        **context,
        "base_url": settings.PUBLIC_BASE_URL,
        "protocol": base.scheme,
        "domain": base.netloc,
        "site_name": "Violet Connect",
    }


def _email_verification_state(user: User) -> str:
    """A digest of what the link depends on: the address it confirms, the password
    and whether the address is confirmed yet. Using the link, changing the
    address or resetting the password changes it, so every earlier link stops
    working. (A digest: the token is signed, not encrypted.)"""
    value = f"{user.pk}|{canonical_email(user.email)}|{user.password}|{user.email_verified_at}"
    return salted_hmac(EMAIL_VERIFICATION_SALT, value, algorithm="sha256").hexdigest()[:32]


def email_verification_token(user: User) -> str:
    return signing.dumps(
        {"id": user.pk, "email": canonical_email(user.email), "state": _email_verification_state(user)},
        salt=EMAIL_VERIFICATION_SALT,
    )


def email_verification_send(user: User) -> None:
    url = _absolute(reverse("email_verify", kwargs={"token": email_verification_token(user)}))
    send_mail(
        subject="Confirm your e-mail address for Violet Connect",
        message=render_to_string(
            "merchants/email/verify_email.txt", {"url": url, "max_age_minutes": EMAIL_VERIFICATION_MINUTES}
        ),
        from_email=None,
        recipient_list=[user.email],
    )


def email_verification_user(token: str) -> User | None:
    """The person a confirmation link would confirm now, or None. Changes nothing:
    the link's page (a GET, which mail scanners also open) only shows a button."""
    try:
        data = signing.loads(token, salt=EMAIL_VERIFICATION_SALT, max_age=EMAIL_VERIFICATION_MINUTES * 60)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict):
        return None
    user = User.objects.filter(pk=data.get("id"), is_active=True, email_verified_at=None).first()
    if user is None or canonical_email(user.email) != data.get("email"):
        return None
    if not constant_time_compare(_email_verification_state(user), str(data.get("state", ""))):
        return None
    return user


@dataclass(frozen=True)
class EmailVerified:
    user: User
    # Whether the link may also log the person in: never for staff nor for
    # anyone with a second factor (they log in with their password and code).
    may_log_in: bool


def email_verify(token: str) -> EmailVerified | None:
    """Confirm the address a link proves, once: None when the link is not valid,
    has expired, was used already, or the address or password changed since."""
    user = email_verification_user(token)
    if user is None:
        return None
    now = timezone.now()
    # The claim: of two requests with one link, one confirms, the other gets None.
    claimed = User.objects.filter(
        pk=user.pk, email_verified_at=None, email=user.email, password=user.password, is_active=True
    ).update(email_verified_at=now)
    if claimed != 1:
        return None
    user.email_verified_at = now
    return EmailVerified(user=user, may_log_in=not user.is_staff and not two_factor.has_second_factor(user))


def invitation_token(invitation: Invitation) -> str:
    return signing.dumps({"id": invitation.pk, "email": invitation.email}, salt=INVITATION_SALT)


def invitation_url(invitation: Invitation) -> str:
    path = reverse("invitation_accept", kwargs={"token": invitation_token(invitation)})
    return f"{settings.PUBLIC_BASE_URL}{path}"


def _invitation_allowed(merchant: Merchant, invited_by: User | None) -> None:
    """InvitationRefused unless the inviter may send one more invitation now.

    Invitations are Violet-branded mail to any address, so: only from a
    verified address (staff are trusted), and at most so many per merchant and
    per inviter in a sliding window.
    """
    if invited_by is not None and not invited_by.is_staff and invited_by.email_verified_at is None:
        raise InvitationRefused(
            "Confirm your e-mail address first: open the link we sent you when you signed up "
            "(\"Send a new link\" at the top of this page sends another). Then you can invite people."
        )
    window = settings.INVITATION_THROTTLE_WINDOW_SECONDS
    limits = [(f"invite:merchant:{merchant.pk}", settings.INVITATION_THROTTLE_PER_MERCHANT)]
    if invited_by is not None:
        limits.append((f"invite:user:{invited_by.pk}", settings.INVITATION_THROTTLE_PER_USER))
    for key, limit in limits:
        if not throttle.allow(key, limit=limit, window_seconds=window):
            wait = throttle.retry_after(key, limit=limit, window_seconds=window)
            raise InvitationRefused(
                f"Too many invitations in a short time. Try again in about {max(1, round(wait / 60))} minutes."
            )


def _sent_as(invited_by: User | None) -> str:
    if invited_by is None:
        return Invitation.Sender.IMPORT
    return Invitation.Sender.STAFF if invited_by.is_staff else Invitation.Sender.OWNER


def invitation_sender_may_send(invitation: Invitation, *, owner_ids: set[int] | None = None) -> bool:
    """Whether whoever sent the invitation may still send it; if not, the
    invitation is void (issue 28, item 10). Asked when the link is opened and
    again, under the merchant's row lock, when it is accepted.

    The right to invite is an active account's, as an owner of this merchant or
    as Violet staff; a person who holds neither any more cannot vouch for a link
    they sent while they did:

    - Sent by an owner (`sent_as` owner): void once they are removed from the
      team, made a member (members invite no one), deactivated or deleted,
      whatever role it offers.
    - Sent by Violet staff (the console's "Invite someone", the console's
      import): staff act for Violet, not for a merchant, and need no membership;
      the invitation keeps working as long as they are active staff, and is void
      once they are not (the staff flag taken away, deactivated, deleted), as an
      owner's is once they leave: a colleague who left no longer vouches for it.
      (Either right will do: staff who own this merchant, or an owner who is
      now staff, may send it now, so theirs stays.)
    - Sent by the command-line import (`sent_as` import, no sender): keeps
      working as before. No person's right can lapse; the link goes to the owner
      address Violet was given for the store, and it is how the merchant gets its
      first owner. Withdrawing it stops it.

    `sent_as` is kept apart from `invited_by` because deleting an account
    empties `invited_by`: an owner's invitation must not then pass for the
    import's. `owner_ids` (the merchant's owners' user ids) saves a query per
    invitation when a page lists several.
    """
    if invitation.sent_as == Invitation.Sender.IMPORT:
        return True
    sender = invitation.invited_by
    if sender is None or not sender.is_active:
        return False
    if sender.is_staff:
        return True
    if owner_ids is not None:
        return sender.pk in owner_ids
    return Membership.objects.filter(
        merchant_id=invitation.merchant_id, user_id=sender.pk, role=Membership.Role.OWNER
    ).exists()


def invitation_create(*, merchant: Merchant, email: str, role: str, invited_by: User | None) -> Invitation:
    """Invite someone by email. Any earlier open invitation for them is revoked.

    InvitationRefused (nothing sent, nothing saved) when the inviter's address
    is not verified or the throttle says no.
    """
    email = canonical_email(email)
    _invitation_allowed(merchant, invited_by)
    with transaction.atomic():
        Invitation.objects.filter(merchant=merchant, email=email, accepted_at=None, revoked_at=None).update(
            revoked_at=timezone.now()
        )
        invitation = Invitation.objects.create(
            merchant=merchant, email=email, role=role, invited_by=invited_by, sent_as=_sent_as(invited_by)
        )
    context = {"invitation": invitation, "url": invitation_url(invitation)}
    with timezones.override(zone_for_email(email)):  # its expiry in the reader's zone
        message = render_to_string("merchants/email/invitation.txt", context)
    send_mail(
        # Nothing the inviter chose goes in the subject: it is Violet speaking.
        # The body names the merchant, quoted, as the inviter's words.
        subject="You're invited to join a team on Violet Connect",
        message=message,
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
    invitation = Invitation.objects.select_related("merchant", "invited_by").filter(pk=data.get("id")).first()
    if invitation is None or invitation.email != data.get("email"):
        raise InvitationError("This invitation link is not valid.")
    if invitation.accepted_at is not None:
        raise InvitationError("This invitation has already been used.")
    if invitation.revoked_at is not None:
        raise InvitationError("This invitation was withdrawn. Ask for a new one.")
    if not invitation.is_open:
        raise InvitationError("This invitation has expired. Ask for a new one.")
    if not invitation_sender_may_send(invitation):
        raise InvitationError(SENDER_GONE)
    return invitation


def invitation_accept(*, token: str, user: User | None, password: str | None = None) -> Membership:
    """Join the merchant. A newcomer sets a password; a signed-in person just joins.

    Single use: the invitation is claimed by a conditional update, so two
    clicks on the same link cannot both succeed.
    """
    invitation = invitation_from_token(token)
    if user is not None and canonical_email(user.email) != canonical_email(invitation.email):
        raise InvitationError(
            f"This invitation was sent to another email address. Log out and open the link again, "
            f"or ask for an invitation to {user.email}."
        )
    with transaction.atomic():
        # The merchant's row lock orders this with a removal or demotion of the
        # sender (merchants.team locks it too): either they are still an owner
        # when the invitation is claimed, or it is refused.
        Merchant.objects.select_for_update().filter(pk=invitation.merchant_id).first()
        current = Invitation.objects.select_related("invited_by").get(pk=invitation.pk)
        if not invitation_sender_may_send(current):
            raise InvitationError(SENDER_GONE)
        claimed = Invitation.objects.filter(pk=invitation.pk, accepted_at=None).update(accepted_at=timezone.now())
        if claimed != 1:
            raise InvitationError("This invitation has already been used.")
        if user is None:
            user = User.objects.filter(email__iexact=canonical_email(invitation.email)).first()
            if user is not None:
                raise InvitationError("You already have an account: log in first, then open the link again.")
            # The link came by e-mail to this address: that proves it.
            user = User.objects.create_user(email=invitation.email, password=password, email_verified_at=timezone.now())
        elif user.email_verified_at is None:
            user.email_verified_at = timezone.now()
            user.save(update_fields=["email_verified_at"])
        membership, created = Membership.objects.get_or_create(
            merchant=invitation.merchant, user=user, defaults={"role": invitation.role}
        )
        if not created and invitation.role == Membership.Role.OWNER and not membership.is_owner:
            membership.role = Membership.Role.OWNER
            membership.save(update_fields=["role"])
        Invitation.objects.filter(pk=invitation.pk).update(accepted_by=user)
    if current.sent_as == Invitation.Sender.STAFF:
        staff_addition_tell_owners(invitation=current, joined=user)
    return membership


def staff_addition_tell_owners(*, invitation: Invitation, joined: User) -> int:
    """Someone joined a merchant's team on an invitation from Violet's staff:
    each of the merchant's other active owners gets an e-mail saying who, in
    what role, invited by which staff member, and what to do if they did not
    expect it (issue 28, item 16). Staff can invite anyone, themselves
    included, to any merchant; this way it never happens without the
    merchant's owners hearing of it. Returns how many owners were told."""
    owners = (
        User.objects.filter(
            memberships__merchant_id=invitation.merchant_id,
            memberships__role=Membership.Role.OWNER,
            is_active=True,
        )
        .exclude(pk=joined.pk)
        .order_by("pk")
    )
    context = {
        "invitation": invitation,
        "joined": joined,
        "people_url": _absolute(reverse("connect:people", args=[invitation.merchant.slug])),
    }
    message = render_to_string("merchants/email/staff_addition.txt", context)
    told = 0
    for owner in owners:
        send_mail(
            subject="Violet's staff added someone to your team on Violet Connect",
            message=message,
            from_email=None,
            recipient_list=[owner.email],
        )
        told += 1
    return told
