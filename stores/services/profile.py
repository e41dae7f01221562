"""The store profile: copy BigCommerce's `GET /v2/store` onto the store.

Connecting, replacing credentials and every check carry a fresh profile
(`apply_profile`, inside their own transaction); a `store/information/updated`
webhook brings one alone (`store_refresh_profile`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from ..links import safe_profile_urls
from ..models import PROFILE_COLUMNS, Store


def apply_profile(store: Store, profile: dict[str, Any] | None, now: datetime) -> list[str]:
    """Copy the fields of GET /v2/store onto the store; the names of those that changed."""
    if not profile:
        return []
    # Links from BigCommerce are outside data: only web addresses are kept.
    profile = safe_profile_urls(profile)
    if profile == store.profile:
        return []
    changed = []
    for key, column in PROFILE_COLUMNS.items():
        if key not in profile:
            continue
        value = profile[key]
        if column != "plan_is_trial":
            value = "" if value is None else str(value)[: Store._meta.get_field(column).max_length]
        if getattr(store, column) != value:
            setattr(store, column, value)
            changed.append(column)
    store.profile = profile
    store.profile_updated_at = now
    return changed


@dataclass(frozen=True)
class ProfileChange:
    """What a profile refresh changed: old and new values of the profile's
    columns, and only the names of its other fields (they may hold addresses)."""

    columns: dict[str, list]
    other_fields: list[str]


def store_refresh_profile(*, store: Store, profile: dict[str, Any]) -> ProfileChange:
    """Apply a fresh `GET /v2/store` (e.g. after `store/information/updated`)."""
    now = timezone.now()
    with transaction.atomic():
        locked = Store.objects.select_for_update().get(pk=store.pk)
        old_profile = dict(locked.profile or {})
        old_columns = {column: getattr(locked, column) for column in PROFILE_COLUMNS.values()}
        changed = apply_profile(locked, profile, now)
        if profile != old_profile:
            locked.save(update_fields=[*changed, "profile", "profile_updated_at"])
    other = sorted(
        key
        for key in set(old_profile) | set(profile)
        if key not in PROFILE_COLUMNS and old_profile.get(key) != profile.get(key)
    )
    return ProfileChange(
        columns={column: [old_columns[column], getattr(locked, column)] for column in changed}, other_fields=other
    )
