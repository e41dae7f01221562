"""The staff actions log: every staff action is written here (who, what,
when), and staff read it in the console, read-only."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.http import HttpRequest
from django.utils.html import format_html

from .permissions import ViewOnlyAdminMixin


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


@admin.register(LogEntry)
class LogEntryAdmin(ViewOnlyAdminMixin, admin.ModelAdmin):
    """Who did what, when: every staff action, read-only."""

    list_display = ["action_time", "user", "action", "object_link", "message"]
    list_display_links = ["action_time"]
    list_filter = ["action_flag", "content_type"]
    search_fields = ["object_repr", "change_message", "user__email"]
    search_help_text = "Search by object, message or staff email."
    list_select_related = ["user", "content_type"]
    date_hierarchy = "action_time"
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    fields = ["action_time", "user", "action", "object_link", "message"]
    readonly_fields = fields

    @admin.display(description="action", ordering="action_flag")
    def action(self, entry):
        return {1: "Added", 2: "Changed / action", 3: "Deleted"}.get(entry.action_flag, str(entry.action_flag))

    @admin.display(description="object")
    def object_link(self, entry):
        label = f"{entry.content_type.name if entry.content_type else ''}: {entry.object_repr}"
        url = entry.get_admin_url() if entry.object_id else None
        if url and entry.action_flag != 3:
            return format_html('<a href="{}">{}</a>', url, label)
        return label

    @admin.display(description="what")
    def message(self, entry):
        return entry.get_change_message()
