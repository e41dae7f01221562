"""What the wizard remembers between attempts: never in the session, never in clear."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

from config.crypto import EncryptedTextField
from merchants.models import Merchant

DRAFT_LIFETIME = timedelta(minutes=30)


class CredentialDraftQuerySet(models.QuerySet):
    def live(self):
        return self.filter(expires_at__gt=timezone.now())

    def fingerprints_only(self):
        return self.defer(*CredentialDraft.SECRET_FIELDS)


class CredentialDraft(models.Model):
    """Secrets from a failed attempt that were fine, kept so the merchant need
    not paste them again. Encrypted, short-lived, one per person and target;
    shown back only as "ending in …x1y2"."""

    SECRET_FIELDS = ("client_id", "client_secret", "access_token")
    tenant_path = "merchant"

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    # "" for a new connection, else the store hash whose credentials are replaced.
    target = models.CharField(max_length=20, blank=True)
    # The store the kept values were typed for (its hash; "" when no store was
    # named): they are offered for that store only, and the page names it.
    store_hash = models.CharField(max_length=20, blank=True)
    # The last attempt's problems ([{"field", "code", "message"}], never a secret),
    # shown again when "Replace the kept …" brings the page back.
    last_problems = models.JSONField(default=list, blank=True)
    client_id = EncryptedTextField(blank=True)
    client_secret = EncryptedTextField(blank=True)
    access_token = EncryptedTextField(blank=True)
    client_id_last4 = models.CharField(max_length=4, blank=True)
    client_secret_last4 = models.CharField(max_length=4, blank=True)
    access_token_last4 = models.CharField(max_length=4, blank=True)
    expires_at = models.DateTimeField()

    objects = CredentialDraftQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["merchant", "user", "target"], name="draft_once_per_target")]

    def __str__(self) -> str:
        return f"Kept credentials for {self.target or 'a new store'}"

    def __repr__(self) -> str:
        return f"<CredentialDraft {self.pk} merchant={self.merchant_id} target={self.target!r}>"

    def kept(self) -> dict[str, str]:
        """{field: last 4 characters} of what this draft holds."""
        return {name: getattr(self, f"{name}_last4") for name in self.SECRET_FIELDS if getattr(self, f"{name}_last4")}

    def applies_to(self, store_hash: str) -> bool:
        """Whether these values may complete an attempt for `store_hash`."""
        return not self.store_hash or self.store_hash == store_hash

    @classmethod
    def new_expiry(cls):
        return timezone.now() + DRAFT_LIFETIME
