"""Each person's time zone: an IANA name ("Europe/Paris"), checked against the
zones this Python knows, UTC when unset or unknown. The middleware activates
the signed-in person's zone for the request, so every time on their pages is
written in it and names it; `override` does the same for a mail."""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

from django.core.exceptions import ValidationError
from django.utils import timezone

DEFAULT = "UTC"
MAX_LENGTH = 64  # the longest IANA name is 32 characters


@lru_cache(maxsize=1)
def known_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def time_zone_choices() -> list[tuple[str, str]]:
    """Every zone, by name, with "/" read as a place: ("America/New_York", "America / New York")."""
    return [(name, name.replace("/", " / ").replace("_", " ")) for name in sorted(known_zones())]


def is_time_zone(name: object) -> bool:
    return isinstance(name, str) and name in known_zones()


def zone_or_default(name: object) -> str:
    """`name` when it is a zone we know, else UTC (a browser's guess is only a guess)."""
    return name if is_time_zone(name) else DEFAULT


def written(moment) -> str:
    """The one way a time is written in full, in the active zone (the reader's),
    named by its abbreviation, or by its name where the zone has none ("+04"
    says less than "Asia/Dubai"): "2026-12-01 15:05 CET"."""
    local = timezone.localtime(moment)
    zone = local.strftime("%Z")
    if not zone or zone[0] in "+-":
        zone = str(timezone.get_current_timezone())
    return f"{local:%Y-%m-%d %H:%M} {zone}"


def validate_time_zone(value: str) -> None:
    if not is_time_zone(value):
        raise ValidationError("Choose a time zone from the list, such as Europe/Paris or America/New_York.")


class UserTimeZoneMiddleware:
    """Times on the signed-in person's pages are in their zone; anyone else's in UTC."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        zone = getattr(user, "time_zone", "") if user is not None and user.is_authenticated else ""
        if is_time_zone(zone) and zone != DEFAULT:
            timezone.activate(zoneinfo.ZoneInfo(zone))
        else:
            timezone.deactivate()
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


@contextmanager
def override(zone: str) -> Iterator[None]:
    """Render something (a mail) in `zone`, or UTC when it is not one we know."""
    with timezone.override(zoneinfo.ZoneInfo(zone_or_default(zone))):
        yield
