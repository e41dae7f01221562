"""Issuing, checking and revoking API tokens. The raw token exists only in the
response that shows it once; the database keeps its SHA-256 digest."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import Permission
from django.db.models import Q
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from .models import ApiToken, ServiceClient

TOKEN_PREFIX = "vc_"
# "vc_" and four random characters: enough to tell tokens apart, useless to guess
# (and shorter than any 8-character slice the no-secret tests look for).
DISPLAY_CHARS = 7
# last_used_at is written at most this often per token.
TOUCH_EVERY = timedelta(minutes=1)


# Who may create tokens may hold working ones: a token works only while its
# creator is active, staff, and still has this permission (the Operations
# group, or a superuser). Checked on every use.
TOKEN_PERMISSION = "api.add_apitoken"


def owner_has_rights(user, permission: str = TOKEN_PERMISSION) -> bool:
    """Does the token's creator still have the rights the token acts with
    (`permission`)? (One query at most: the permission directly or through a group.)"""
    if user is None or not user.is_active or not user.is_staff:
        return False
    if user.is_superuser:
        return True
    app_label, codename = permission.split(".")
    return (
        Permission.objects.filter(content_type__app_label=app_label, codename=codename)
        .filter(Q(user=user) | Q(group__user=user))
        .exists()
    )


@sensitive_variables("raw")
def digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@sensitive_variables("raw")
def api_token_issue(*, name: str, created_by, token: ApiToken | None = None) -> tuple[ApiToken, str]:
    """Save a new token (or the unsaved `token` given, e.g. by an admin form);
    it and its raw value, to show once and never to store."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = token or ApiToken()
    token.name = name
    token.prefix = raw[:DISPLAY_CHARS]
    token.token_hash = digest(raw)
    token.created_by = created_by
    token.expires_at = timezone.now() + timedelta(days=settings.API_TOKEN_LIFETIME_DAYS)
    token.save()
    return token, raw


def api_token_revoke(*, token: ApiToken, user) -> bool:
    """Revoke a token; False if it already was."""
    now = timezone.now()
    revoked = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=now, revoked_by=user)
    if revoked:
        token.revoked_at, token.revoked_by = now, user
    return bool(revoked)


@sensitive_variables("raw")
def api_token_authenticate(raw: str) -> ApiToken | None:
    """The active token whose digest matches and whose creator still has the
    rights to hold it (`owner_has_rights`), or None."""
    if not raw or not raw.startswith(TOKEN_PREFIX) or len(raw) > 200:
        return None
    wanted = digest(raw)
    token = ApiToken.objects.active().select_related("created_by").filter(token_hash=wanted).first()
    if token is None or not hmac.compare_digest(token.token_hash, wanted):
        return None
    if not owner_has_rights(token.created_by):
        return None
    last_used_touch(token, now=timezone.now())
    return token


def last_used_touch(row: ApiToken | ServiceClient, *, now) -> None:
    """Note that an API token or a service client was just used: `last_used_at`
    written at most once every TOUCH_EVERY, by a conditional update, so busy
    clients do not write a row a request and concurrent requests write once."""
    if row.last_used_at is None or row.last_used_at < now - TOUCH_EVERY:
        type(row).objects.filter(pk=row.pk).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - TOUCH_EVERY)
        ).update(last_used_at=now)
        row.last_used_at = now
