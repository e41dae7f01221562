"""Shared pieces of the staff console (the Django admin), used by every app's
admin: view-only permissions, badges, relative times, fingerprints, staff
action logging, and the page that shows a new secret exactly once.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from django.contrib import admin
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.timesince import timesince, timeuntil

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
}
OUTCOME_TONE = {
    "connected": "ok",
    "missing_scopes": "bad",
    "invalid_token": "bad",
    "store_not_found": "bad",
    "store_unavailable": "warn",
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


class ViewOnlyAdminMixin:
    """Staff see these rows; nobody adds, edits or deletes them here (they
    change only through services: onboarding, checks, the actions)."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ViewOnlyInline(ViewOnlyAdminMixin, admin.TabularInline):
    """Rows shown on their parent's page, read-only; at most `row_limit` of them
    (in the inline's `ordering`), so a store with 100,000 checks still renders."""

    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True
    row_limit: int | None = None

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        limit = self.row_limit
        if limit is None:
            return formset

        class Limited(formset):
            def get_queryset(self):
                if not hasattr(self, "_limited"):
                    self._limited = super().get_queryset()[:limit]
                return self._limited

        return Limited


def short_timesince(moment: datetime, now: datetime) -> str:
    """ "3 hours" rather than "3 hours, 12 minutes": lists want one unit."""
    return timesince(moment, now, depth=1)


def ago(moment: datetime | None, *, now: datetime | None = None, never: str = "never") -> str:
    """ "12 minutes ago" / "in 3 hours", with the exact time on hover."""
    if moment is None:
        return format_html('<span class="vc-muted">{}</span>', never)
    now = now or timezone.now()
    exact = timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S %Z")
    if moment <= now:
        if now - moment < timedelta(minutes=1):
            text = "just now"
        else:
            text = f"{short_timesince(moment, now)} ago"
    else:
        text = f"in {timeuntil(moment, now, depth=1)}"
    return format_html('<time datetime="{}" title="{}">{}</time>', moment.isoformat(), exact, text)


def fingerprint(secret: str) -> str:
    """A short SHA-256 fingerprint: tells secrets apart, reveals none of it."""
    return "SHA-256 " + hashlib.sha256(secret.encode()).hexdigest()[:12]


def log_staff_action(request: HttpRequest, obj, message: str) -> None:
    """Record a staff action on an object (who, what, when) in the admin log.

    `message` is written for people and must never hold a secret: fingerprints
    ("token ending in …x1y2") at most.
    """
    LogEntry.objects.log_actions(
        user_id=request.user.pk,
        queryset=[obj],
        action_flag=CHANGE,
        change_message=message,
        single_object=True,
    )


def log_model_action(request: HttpRequest, model, what: str, message: str) -> LogEntry:
    """Record a staff action about a whole list (an export), not one object."""
    return LogEntry.objects.create(
        user_id=request.user.pk,
        content_type=ContentType.objects.get_for_model(model),
        object_id=None,
        object_repr=what[:200],
        action_flag=CHANGE,
        change_message=message,
    )


def secret_once_response(
    request: HttpRequest,
    *,
    model_admin,
    obj,
    title: str,
    label: str,
    secret: str,
    explanation: str,
    continue_url: str,
) -> TemplateResponse:
    """The one page that ever shows a new secret. It is rendered straight into
    the response (never put in a message cookie or the session), and marked
    not to be cached."""
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "original": obj,
        "title": title,
        "label": label,
        "secret": secret,
        "explanation": explanation,
        "continue_url": continue_url,
    }
    response = TemplateResponse(request, "admin/secret_once.html", context)
    response["Cache-Control"] = "no-store, private"
    response["Pragma"] = "no-cache"
    return response
