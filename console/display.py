"""How the staff console shows things: status, outcome and scope badges,
relative times, secret fingerprints. Used by every console page and by the
admin index's template tags."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from django.utils import timezone
from django.utils.html import format_html
from django.utils.timesince import timesince, timeuntil
from django.views.decorators.debug import sensitive_variables

from merchants import timezones
from stores.status import StoreStatus

# The badge colour family of each store status (see static/css/admin.css).
STATUS_TONE = {
    StoreStatus.CONNECTED: "ok",
    StoreStatus.PENDING: "idle",
    StoreStatus.PAUSED: "idle",
    StoreStatus.DISCONNECTED: "off",
    StoreStatus.STORE_UNAVAILABLE: "warn",
    StoreStatus.UNREACHABLE: "warn",
    StoreStatus.MISSING_SCOPES: "bad",
    StoreStatus.REVOKED: "bad",
    StoreStatus.REFUSED: "bad",
}
OUTCOME_TONE = {
    "connected": "ok",
    "missing_scopes": "bad",
    "invalid_token": "bad",
    "forbidden": "bad",
    "credentials_rejected": "bad",
    "store_not_found": "bad",
    "store_unavailable": "warn",
    "plan_limit": "bad",
    "rate_limited": "warn",
    "unreachable": "warn",
    "malformed_input": "bad",
}
SCOPE_TONE = {"granted": "ok", "missing": "bad", "unknown": "idle"}


def badge(text: str, tone: str, *, title: str = "") -> str:
    return format_html('<span class="vc-badge vc-{}" title="{}">{}</span>', tone, title or text, text)


def status_badge(status: str) -> str:
    try:
        member = StoreStatus(status)
    except ValueError:
        return badge(status or "—", "idle")
    return badge(member.label, STATUS_TONE.get(member, "idle"), title=f"status: {member.value}")


def outcome_badge(outcome: str) -> str:
    return badge(outcome.replace("_", " ").capitalize(), OUTCOME_TONE.get(outcome, "idle"), title=outcome)


def scope_badge(state: str) -> str:
    return badge(state.capitalize(), SCOPE_TONE.get(state, "idle"))


def short_timesince(moment: datetime, now: datetime) -> str:
    """ "3 hours" rather than "3 hours, 12 minutes": lists want one unit."""
    return timesince(moment, now, depth=1)


def ago(moment: datetime | None, *, now: datetime | None = None, never: str = "never") -> str:
    """ "12 minutes ago" / "in 3 hours", with the exact time on hover."""
    if moment is None:
        return format_html('<span class="vc-muted">{}</span>', never)
    now = now or timezone.now()
    exact = timezones.written(moment)
    if moment <= now:
        if now - moment < timedelta(minutes=1):
            text = "just now"
        else:
            text = f"{short_timesince(moment, now)} ago"
    else:
        text = f"in {timeuntil(moment, now, depth=1)}"
    return format_html('<time datetime="{}" title="{}">{}</time>', moment.isoformat(), exact, text)


@sensitive_variables("secret")
def fingerprint(secret: str) -> str:
    """A short SHA-256 fingerprint: tells secrets apart, reveals none of it."""
    return "SHA-256 " + hashlib.sha256(secret.encode()).hexdigest()[:12]
