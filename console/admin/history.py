"""A store's history, read-only: its checks and status changes, as lists of
their own and as the recent ones on the store's page."""

from __future__ import annotations

import json

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from console.display import outcome_badge, scope_badge, status_badge
from stores.bigcommerce.scopes import REQUIRED_SCOPES
from stores.models import Check, StatusChange

from .pagination import EstimatedCountPaginator
from .permissions import ViewOnlyAdminMixin, ViewOnlyInline
from .store_search import SearchByStoreMixin

RECENT_CHECKS = 10
RECENT_STATUS_CHANGES = 10


# --- inlines on the store page: read-only, recent only -------------------------------


class RecentChecksInline(ViewOnlyInline):
    model = Check
    verbose_name = "recent check"
    verbose_name_plural = f"Recent checks (latest {RECENT_CHECKS}; all of them under Checks)"
    row_limit = RECENT_CHECKS
    fields = ["started_at", "trigger", "outcome_badge", "duration", "problems_summary"]
    readonly_fields = fields
    ordering = ["-started_at", "-id"]

    def get_queryset(self, request):
        return super().get_queryset(request).defer("evidence")

    @admin.display(description="outcome")
    def outcome_badge(self, check):
        return outcome_badge(check.outcome)

    @admin.display(description="took")
    def duration(self, check):
        return f"{check.duration_ms} ms"

    @admin.display(description="problems")
    def problems_summary(self, check):
        return _problems_summary(check.problems)


class RecentStatusChangesInline(ViewOnlyInline):
    model = StatusChange
    fk_name = "store"
    verbose_name = "recent status change"
    verbose_name_plural = f"Recent status changes (latest {RECENT_STATUS_CHANGES})"
    row_limit = RECENT_STATUS_CHANGES
    fields = ["created_at", "change", "reason", "public_reason", "evidence_link", "processed_at"]
    readonly_fields = fields
    ordering = ["-created_at", "-id"]

    @admin.display(description="change")
    def change(self, status_change):
        return format_html(
            "{} → {}",
            status_badge(status_change.old_status),
            status_badge(status_change.new_status),
        )

    @admin.display(description="check")
    def evidence_link(self, status_change):
        return _check_link(status_change)


def _check_link(status_change: StatusChange) -> str:
    if not status_change.check_run_id:
        return "—"
    url = reverse("admin:stores_check_change", args=[status_change.check_run_id])
    return format_html('<a href="{}">check #{}</a>', url, status_change.check_run_id)


def _problems_summary(problems) -> str:
    if not problems:
        return "—"
    return format_html_join(
        " ",
        '<span title="{}">{}</span>',
        ((p.get("message", ""), p.get("code", "")) for p in problems),
    )


# --- checks and status changes: their own lists ------------------------------------------


@admin.register(Check)
class CheckAdmin(SearchByStoreMixin, ViewOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "started_at",
        "store_link",
        "merchant",
        "trigger",
        "outcome_badge",
        "duration",
        "problems_summary",
    ]
    list_display_links = ["started_at"]
    list_filter = ["outcome", "trigger", ("started_at", admin.DateFieldListFilter)]
    search_fields = ["store__store_hash"]  # turns the search on; SearchByStoreMixin searches
    search_help_text = "Search by store (hash, name, domain, merchant or id; as in the store list)."
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    paginator = EstimatedCountPaginator
    list_per_page = 50
    fields = [
        "store_link",
        "trigger",
        "started_at",
        "duration",
        "outcome_badge",
        "scope_table",
        "problems_list",
        "evidence_table",
    ]
    readonly_fields = fields

    def get_queryset(self, request):
        queryset = (
            super()
            .get_queryset(request)
            .select_related("store__merchant")
            .only(
                "id",
                "store_id",
                "trigger",
                "started_at",
                "duration_ms",
                "outcome",
                "scopes",
                "problems",
                "evidence",
                "store__id",
                "store__store_hash",
                "store__name",
                "store__merchant__id",
                "store__merchant__name",
            )
        )
        if request.resolver_match and request.resolver_match.url_name == "stores_check_changelist":
            queryset = queryset.defer("evidence")
        return queryset

    @admin.display(description="store", ordering="store__name")
    def store_link(self, check):
        url = reverse("admin:stores_store_change", args=[check.store_id])
        return format_html(
            '<a href="{}">{}</a> <code>{}</code>',
            url,
            check.store.display_name,
            check.store.store_hash,
        )

    @admin.display(description="merchant")
    def merchant(self, check):
        return check.store.merchant.name

    @admin.display(description="outcome", ordering="outcome")
    def outcome_badge(self, check):
        return outcome_badge(check.outcome)

    @admin.display(description="took", ordering="duration_ms")
    def duration(self, check):
        return f"{check.duration_ms} ms"

    @admin.display(description="problems")
    def problems_summary(self, check):
        return _problems_summary(check.problems)

    @admin.display(description="scopes")
    def scope_table(self, check):
        return format_html(
            '<table class="vc-scopes"><tbody>{}</tbody></table>',
            format_html_join(
                "",
                "<tr><td>{}</td><td><code>{}</code></td><td>{}</td></tr>",
                ((s.label, s.param, scope_badge(check.scopes.get(s.param, "unknown"))) for s in REQUIRED_SCOPES),
            ),
        )

    @admin.display(description="problems")
    def problems_list(self, check):
        if not check.problems:
            return "—"
        return format_html(
            "<ul>{}</ul>",
            format_html_join(
                "",
                "<li><code>{}</code> {}</li>",
                ((p.get("code", ""), p.get("message", "")) for p in check.problems),
            ),
        )

    @admin.display(description="HTTP exchanges")
    def evidence_table(self, check):
        if not check.evidence:
            return "—"
        return format_html('<pre class="vc-json">{}</pre>', json.dumps(check.evidence, indent=2, sort_keys=True))


@admin.register(StatusChange)
class StatusChangeAdmin(SearchByStoreMixin, ViewOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "store_link", "change", "reason", "evidence_link", "processed_at"]
    list_display_links = ["created_at"]
    list_filter = ["new_status", "old_status", ("created_at", admin.DateFieldListFilter)]
    search_fields = ["store__store_hash"]  # turns the search on; SearchByStoreMixin searches
    search_also = ("reason",)
    search_help_text = "Search by store (hash, name, domain, merchant or id; as in the store list), or by reason."
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    paginator = EstimatedCountPaginator
    list_per_page = 50
    fields = ["store_link", "change", "reason", "public_reason", "evidence_link", "created_at", "processed_at"]
    readonly_fields = fields

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("store")
            .only(
                "id",
                "store_id",
                "old_status",
                "new_status",
                "reason",
                "public_reason",
                "check_run_id",
                "created_at",
                "processed_at",
                "store__id",
                "store__store_hash",
                "store__name",
            )
        )

    @admin.display(description="store", ordering="store__name")
    def store_link(self, change):
        url = reverse("admin:stores_store_change", args=[change.store_id])
        return format_html(
            '<a href="{}">{}</a> <code>{}</code>',
            url,
            change.store.display_name,
            change.store.store_hash,
        )

    @admin.display(description="change", ordering="new_status")
    def change(self, change):
        return format_html("{} → {}", status_badge(change.old_status), status_badge(change.new_status))

    @admin.display(description="check")
    def evidence_link(self, change):
        return _check_link(change)
