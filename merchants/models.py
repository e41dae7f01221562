"""People and tenants: users log in by email; a Merchant is the tenant.

A person belongs to merchants through memberships (owner or member) and may
belong to several. Invitations bring new people in by a signed, expiring,
single-use link.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.text import slugify

from . import timezones
from .identity import canonical_email


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra) -> User:
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=canonical_email(email), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra) -> User:
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra) -> User:
        extra["is_staff"] = True
        extra["is_superuser"] = True
        return self._create_user(email, password, **extra)

    def get_by_natural_key(self, email: str) -> User:
        return self.get(email__iexact=canonical_email(email))


class User(AbstractUser):
    """A person. The email address is the login."""

    username = None
    email = models.EmailField("email address", unique=True)
    # When the person proved they read this mailbox (sign-up's link, or an
    # invitation accepted from its e-mail). Unverified accounts cannot invite.
    email_verified_at = models.DateTimeField(null=True, blank=True)
    # The zone their pages and mails write times in (an IANA name; guessed by the
    # browser at sign-up, changed on their account page).
    time_zone = models.CharField(
        max_length=timezones.MAX_LENGTH, default=timezones.DEFAULT, validators=[timezones.validate_time_zone]
    )

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    objects = UserManager()

    class Meta:
        constraints = [models.UniqueConstraint(Lower("email"), name="user_email_ci_unique")]

    def __str__(self) -> str:
        return self.email

    def save(self, *args, **kwargs):
        # One spelling of the address, whichever form or command set it.
        self.email = canonical_email(self.email)
        super().save(*args, **kwargs)


class Merchant(models.Model):
    """The tenant: a business whose stores Violet sells through its channels."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, through="Membership", related_name="merchants")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @staticmethod
    def unique_slug_for(name: str) -> str:
        base = slugify(name)[:60] or "merchant"
        slug, n = base, 1
        while Merchant.objects.filter(slug=slug).exists():
            n += 1
            slug = f"{base}-{n}"
        return slug


class Membership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner", "Owner"
        MEMBER = "member", "Member"

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["merchant", "user"], name="membership_unique")]
        ordering = ["merchant__name"]

    def __str__(self) -> str:
        return f"{self.user} · {self.merchant} ({self.role})"

    @property
    def is_owner(self) -> bool:
        return self.role == self.Role.OWNER


class Invitation(models.Model):
    """An invitation to join a merchant. The link is signed and expires; it works once."""

    class Sender(models.TextChoices):
        OWNER = "owner", "an owner of the merchant"
        STAFF = "staff", "Violet staff"
        IMPORT = "import", "the store import (command line)"

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=10, choices=Membership.Role.choices, default=Membership.Role.MEMBER)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # In which right `invited_by` sent it, fixed when it is sent: the link works
    # only while that right lasts (merchants.services.invitation_sender_may_send).
    # Kept apart from `invited_by`, which a deleted account empties.
    sent_as = models.CharField(max_length=10, choices=Sender.choices, default=Sender.OWNER)
    created_at = models.DateTimeField(default=timezone.now)
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.email} → {self.merchant}"

    @property
    def expires_at(self):
        return self.created_at + settings.INVITATION_MAX_AGE

    @property
    def is_open(self) -> bool:
        return self.accepted_at is None and self.revoked_at is None and timezone.now() < self.expires_at


from django_otp.plugins.otp_totp.models import TOTPDevice  # noqa: E402 - the second factor's console page


class SecondFactor(TOTPDevice):
    """A person's authenticator app (django-otp's TOTPDevice), as the staff
    console lists it: who has one, never its key. See merchants/two_factor/."""

    class Meta:
        proxy = True
        verbose_name = "second factor"
        verbose_name_plural = "second factors"


class EnrolmentLink(models.Model):
    """A one-time link a colleague in Operations hands a staff member whose
    second factor they reset: only through it can that person enrol a new
    device (issue 28, item 16), never with their password alone. Short-lived
    (SECOND_FACTOR_ENROLMENT_LINK_MINUTES), single use (claimed by a
    conditional update of `used_at`), for `user` only. Only a digest of the
    link's token is kept. See merchants/two_factor/services.py."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    token_digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "second-factor enrolment link"

    def __str__(self) -> str:
        return f"enrolment link for user {self.user_id}"
