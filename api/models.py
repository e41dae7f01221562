"""Tokens for the read-only JSON API, created by staff in the admin.

A token is a long random string shown once, when it is created. Only its
SHA-256 digest is stored (the token is random, so a plain digest is as good as
a slow hash) and the first characters, so people can tell tokens apart.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class ApiTokenQuerySet(models.QuerySet):
    def active(self) -> ApiTokenQuerySet:
        """Not revoked and not expired."""
        return self.filter(revoked_at__isnull=True, expires_at__gt=timezone.now())


class ApiToken(models.Model):
    name = models.CharField(max_length=100, help_text="Who or what uses this token, e.g. “Ops dashboard”.")
    prefix = models.CharField(max_length=12, editable=False)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    # A token stops working at this time (API_TOKEN_LIFETIME_DAYS after it was issued):
    # a forgotten token does not stay a key for ever.
    expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.name} ({self.display_prefix})"

    def __repr__(self) -> str:
        return f"<ApiToken {self.pk} {self.display_prefix}>"

    @property
    def display_prefix(self) -> str:
        return f"{self.prefix}…"

    @property
    def is_expired(self) -> bool:
        return self.expires_at is None or self.expires_at <= timezone.now()

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and not self.is_expired


class ServiceClientQuerySet(models.QuerySet):
    def active(self) -> ServiceClientQuerySet:
        return self.filter(revoked_at__isnull=True)


class ServiceClient(models.Model):
    """A machine identity: one of Violet's services (order sync, checkout…).

    Unlike a staff API token it is nobody's key: it keeps working when the
    person who issued its secret leaves Operations (it is then flagged for
    rotation, `secret_issuer_has_rights`), and its scopes say what it may do.
    Secrets are stored as SHA-256 digests; after `rotate` the previous secret
    keeps working until `previous_secret_expires_at`, so a service rolls over
    without downtime. api/service_clients.py is the only writer.
    """

    name = models.CharField(max_length=100, unique=True, help_text="The service, e.g. “order-sync”.")
    scopes = models.JSONField(default=list)
    # CIDRs the client may call from (matched against config.client_address); empty: anywhere.
    networks = models.JSONField(default=list, blank=True)
    secret_prefix = models.CharField(max_length=12, editable=False)
    secret_hash = models.CharField(max_length=64, unique=True, editable=False)
    secret_issued_at = models.DateTimeField(default=timezone.now, editable=False)
    # Who issued the current secret (created or rotated it); empty from the command line.
    secret_issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    # Whether a person issued it (a deleted person leaves secret_issued_by empty: still flagged).
    secret_issued_by_person = models.BooleanField(default=False, editable=False)
    previous_secret_hash = models.CharField(max_length=64, unique=True, null=True, blank=True, editable=False)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    rotated_at = models.DateTimeField(null=True, blank=True, editable=False)
    rotated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    # When staff were last told this client read far more stores than usual (one alert a day).
    alerted_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = ServiceClientQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name = "service client"

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"<ServiceClient {self.pk} {self.name}>"

    @property
    def display_prefix(self) -> str:
        return f"{self.secret_prefix}…"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class CredentialRelease(models.Model):
    """One store's access token handed to one service client: the audit trail
    of "who read this store's token" and "what did this client read"."""

    client = models.ForeignKey(ServiceClient, on_delete=models.PROTECT, related_name="releases")
    store = models.ForeignKey("stores.Store", on_delete=models.CASCADE, related_name="credential_releases")
    version = models.CharField(max_length=64)
    client_address = models.GenericIPAddressField(null=True, blank=True)
    released_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-released_at"]
        indexes = [
            models.Index(fields=["store", "-released_at"], name="release_store_time_idx"),
            models.Index(fields=["client", "-released_at"], name="release_client_time_idx"),
            # The daily prune (CREDENTIAL_RELEASE_RETENTION_DAYS) reads the oldest rows only.
            models.Index(fields=["released_at"], name="release_time_idx"),
        ]

    def __str__(self) -> str:
        return f"Credential release {self.pk} ({self.released_at:%Y-%m-%d %H:%M} UTC)"
