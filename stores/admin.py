"""Staff console for stores: the fleet, its checks and status changes, and the
staff actions (check now, pause, resume, disconnect, replace credentials).

Credentials appear only as fingerprints ("token ending in …x1y2"): no admin
page, form, history entry or export ever holds a decrypted value, and no admin
queryset loads an encrypted column (`Credential.objects.fingerprints_only()`).
Every action goes through `stores.services` (or `connect.onboarding` for new
credentials, exactly as the merchant wizard) and is written to the admin log.

Staff roles (groups created by migration `stores.0002_staff_groups`):
"Support" views everything and changes nothing; "Operations" may also use the
actions, gated by these permissions on Store: `stores.check_store`,
`stores.pause_store` (pause and resume), `stores.disconnect_store`,
`stores.replace_credentials`.
"""

from __future__ import annotations

import csv
import json
from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.models import LogEntry
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.functional import cached_property
from django.utils.html import format_html, format_html_join
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables

from config.client_address import client_ip
from connect import onboarding
from connect.forms import CredentialsForm
from stores.bigcommerce.doctor import FIELD_LABELS
from stores.bigcommerce.scopes import REQUIRED_SCOPES, scope_label

from . import selectors, services
from .console import (
    ViewOnlyAdminMixin,
    ViewOnlyInline,
    ago,
    log_model_action,
    log_staff_action,
    outcome_badge,
    scope_badge,
    short_timesince,
    status_badge,
)
from .models import Check, StatusChange, Store
from .status import UNCHECKED_STATUSES, StoreStatus
from .tasks import queue_check_now

# Custom permissions on Store (created with the staff groups by migration
# 0002_staff_groups, not in Store.Meta, so the stores models stay untouched).
STORE_PERMISSIONS = {
    "check": "stores.check_store",
    "pause": "stores.pause_store",
    "disconnect": "stores.disconnect_store",
    "replace_credentials": "stores.replace_credentials",
}
SECRET_POST_FIELDS = (
    "client_id",
    "client_secret",
    "access_token",
    "credentials_text",
    "credentials_file",
)
RECENT_CHECKS = 10
RECENT_STATUS_CHANGES = 10


def _perm(request: HttpRequest, action: str) -> bool:
    return request.user.is_active and request.user.has_perm(STORE_PERMISSIONS[action])


# --- list filters -------------------------------------------------------------------


class PlanFilter(admin.SimpleListFilter):
    """BigCommerce plan. Its choices come from one bounded, cached query, never
    a DISTINCT over the whole table on every page view."""

    title = "plan"
    parameter_name = "plan"
    NONE = "-"

    def lookups(self, request, model_admin):
        return [(name, name) for name in selectors.plan_names()] + [(self.NONE, "No plan known yet")]

    def queryset(self, request, queryset):
        value = self.value()
        if value is None:
            return queryset
        return queryset.filter(plan_name="" if value == self.NONE else value)


class BrokenFilter(admin.SimpleListFilter):
    title = "broken"
    parameter_name = "broken"

    def lookups(self, request, model_admin):
        return [
            ("now", "Broken now (any broken status)"),
            ("recent", "Broke in the last 24 hours"),
            ("day", "Broken for more than a day"),
        ]

    def queryset(self, request, queryset):
        if self.value() == "now":
            return queryset.filter(status__in=selectors.broken_values())
        if self.value() == "recent":
            return selectors.stores_broken_recently(queryset)
        if self.value() == "day":
            return selectors.stores_broken_for_long(queryset)
        return queryset


class LastCheckFilter(admin.SimpleListFilter):
    title = "last check"
    parameter_name = "checked"

    def lookups(self, request, model_admin):
        return [
            ("hour", "Within the last hour"),
            ("day", "Within the last 24 hours"),
            ("stale", "More than 24 hours ago"),
            ("never", "Never checked"),
        ]

    def queryset(self, request, queryset):
        now = timezone.now()
        value = self.value()
        if value == "hour":
            return queryset.filter(last_checked_at__gte=now - timedelta(hours=1))
        if value == "day":
            return queryset.filter(last_checked_at__gte=now - timedelta(hours=24))
        if value == "stale":
            return queryset.filter(last_checked_at__lt=now - timedelta(hours=24))
        if value == "never":
            return queryset.filter(last_checked_at__isnull=True)
        return queryset


# --- the list: a bounded number of queries whatever the fleet size -------------------


class EstimatedCountPaginator(Paginator):
    """On PostgreSQL, an unfiltered list of a big table counts with the
    planner's estimate (pg_class.reltuples) instead of COUNT(*) over every row."""

    @cached_property
    def count(self):
        queryset = self.object_list
        if isinstance(queryset, QuerySet) and not queryset.query.where:
            estimate = selectors.estimated_row_count(queryset.model)
            if estimate is not None and estimate >= selectors.ESTIMATE_COUNT_ABOVE:
                return estimate
        return queryset.count() if isinstance(queryset, QuerySet) else len(queryset)


class StoreChangeList(ChangeList):
    def get_queryset(self, request, exclude_parameters=None):
        # Only the list's columns and the merchant: no profile JSON, no credential.
        return selectors.stores_for_list(super().get_queryset(request, exclude_parameters))


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
    fields = ["created_at", "change", "reason", "evidence_link", "processed_at"]
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


# --- the replace-credentials form -------------------------------------------------


class SecretTextarea(forms.Textarea):
    """The pasted .txt holds every secret: never put it back in the page."""

    def format_value(self, value):
        return None


class StaffCredentialsForm(CredentialsForm):
    """The merchant wizard's form, with no field ever echoing a secret."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["credentials_text"].widget = SecretTextarea(
            attrs={"rows": 6, "spellcheck": "false", "autocomplete": "off"}
        )


# --- the store admin --------------------------------------------------------------


@admin.register(Store)
class StoreAdmin(ViewOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "store",
        "merchant_link",
        "store_hash",
        "domain",
        "plan",
        "status_badge",
        "in_status_for",
        "last_check",
        "next_check",
    ]
    list_display_links = ["store"]
    list_filter = ["status", BrokenFilter, PlanFilter, LastCheckFilter]
    list_select_related = ["merchant"]
    search_fields = ["store_hash", "name", "domain", "merchant__name", "merchant__slug"]
    search_help_text = "Search by store hash, store name, domain or merchant."
    list_per_page = 50
    list_max_show_all = 200
    show_full_result_count = False
    # Facet counts run one COUNT per filter choice: too dear on a big fleet.
    show_facets = admin.ShowFacets.NEVER
    paginator = EstimatedCountPaginator
    actions = ["check_now_action", "pause_action", "resume_action", "disconnect_action"]
    inlines = [RecentChecksInline, RecentStatusChangesInline]
    change_list_template = "admin/stores/store/change_list.html"
    change_form_template = "admin/stores/store/change_form.html"
    fieldsets = [
        (
            "Status",
            {
                "fields": [
                    "merchant_link",
                    "store_hash",
                    "status_badge",
                    "status_since",
                    "problem",
                    "missing_scopes_list",
                    "streak",
                    "last_check",
                    "next_check",
                    "in_flight",
                ]
            },
        ),
        ("Latest check", {"fields": ["latest_check_scopes"]}),
        ("Credentials", {"fields": ["credential_fingerprint", "client_secret_status"]}),
        (
            "Store profile",
            {
                "fields": [
                    "name",
                    "domain",
                    "links",
                    "plan_summary",
                    "locale",
                    "connected_at",
                    "created_at",
                ]
            },
        ),
        (
            "Raw profile from BigCommerce",
            {"classes": ["collapse"], "fields": ["profile_updated_at", "profile_json"]},
        ),
    ]
    readonly_fields = [
        "merchant_link",
        "store_hash",
        "name",
        "domain",
        "links",
        "plan_summary",
        "locale",
        "status_badge",
        "status_since",
        "problem",
        "missing_scopes_list",
        "streak",
        "last_check",
        "next_check",
        "in_flight",
        "connected_at",
        "created_at",
        "credential_fingerprint",
        "client_secret_status",
        "latest_check_scopes",
        "profile_updated_at",
        "profile_json",
    ]

    # -- permissions: stores are created by onboarding and changed only by the actions

    def has_check_permission(self, request, obj=None):
        return _perm(request, "check")

    def has_pause_permission(self, request, obj=None):
        return _perm(request, "pause")

    def has_disconnect_permission(self, request, obj=None):
        return _perm(request, "disconnect")

    def has_replace_credentials_permission(self, request, obj=None):
        return _perm(request, "replace_credentials")

    def get_changelist(self, request, **kwargs):
        return StoreChangeList

    # -- list columns (no query per row: everything comes from the store and its merchant)

    @admin.display(description="store", ordering="name")
    def store(self, store):
        return store.display_name

    @admin.display(description="merchant", ordering="merchant__name")
    def merchant_link(self, store):
        url = reverse("admin:merchants_merchant_change", args=[store.merchant_id])
        return format_html('<a href="{}">{}</a>', url, store.merchant.name)

    @admin.display(description="plan", ordering="plan_name")
    def plan(self, store):
        return store.plan_name or format_html('<span class="vc-muted">{}</span>', "unknown")

    @admin.display(description="status", ordering="status")
    def status_badge(self, store):
        return status_badge(store.status)

    @admin.display(description="in this status for", ordering="status_changed_at")
    def in_status_for(self, store):
        return format_html(
            '<span title="since {}">{}</span>',
            timezone.localtime(store.status_changed_at).strftime("%Y-%m-%d %H:%M %Z"),
            short_timesince(store.status_changed_at, timezone.now()),
        )

    @admin.display(description="last check", ordering="last_checked_at")
    def last_check(self, store):
        return ago(store.last_checked_at)

    @admin.display(description="next check", ordering="next_check_at")
    def next_check(self, store):
        if store.status in UNCHECKED_STATUSES:
            return format_html('<span class="vc-muted">{}</span>', "not checked")
        if store.next_check_at and store.next_check_at < timezone.now():
            return format_html('<span class="vc-overdue">due {}</span>', ago(store.next_check_at))
        return ago(store.next_check_at, never="not scheduled")

    # -- change page fields

    @admin.display(description="links")
    def links(self, store):
        items = []
        if store.secure_url:
            items.append((store.secure_url, "Storefront"))
        if store.control_panel_url:
            items.append((store.control_panel_url, "Control panel"))
        if not items:
            return "—"
        return format_html_join(" · ", '<a href="{}" rel="noopener noreferrer" target="_blank">{}</a>', items)

    @admin.display(description="plan")
    def plan_summary(self, store):
        if not store.plan_name:
            return "unknown (no profile yet)"
        trial = " (trial)" if store.plan_is_trial else ""
        level = f", level {store.plan_level}" if store.plan_level and store.plan_level != store.plan_name else ""
        return f"{store.plan_name}{level}{trial}"

    @admin.display(description="currency, country, units")
    def locale(self, store):
        parts = [store.currency, store.country_code, store.weight_units, store.dimension_units]
        return " · ".join(p for p in parts if p) or "—"

    @admin.display(description="status since")
    def status_since(self, store):
        return format_html(
            "{} ({} ago)",
            timezone.localtime(store.status_changed_at).strftime("%Y-%m-%d %H:%M %Z"),
            short_timesince(store.status_changed_at, timezone.now()),
        )

    @admin.display(description="missing scopes")
    def missing_scopes_list(self, store):
        if not store.missing_scopes:
            return "—"
        return ", ".join(scope_label(param) for param in store.missing_scopes)

    @admin.display(description="failing streak")
    def streak(self, store):
        if not store.failure_count and not store.suspected_status:
            return "—"
        parts = [f"{store.failure_count} failed check{'s' if store.failure_count != 1 else ''} in a row"]
        if store.failing_since:
            parts.append(f"failing since {ago(store.failing_since)}")
        if store.suspected_status:
            parts.append(f"suspected {StoreStatus(store.suspected_status).label.lower()}, awaiting confirmation")
        return format_html_join("; ", "{}", ((part,) for part in parts))

    @admin.display(description="check in flight")
    def in_flight(self, store):
        if store.claimed_until and store.claimed_until > timezone.now():
            return format_html("yes, until {}", ago(store.claimed_until))
        return "no"

    @admin.display(description="API account")
    def credential_fingerprint(self, store):
        credential = selectors.credential_fingerprint(store)
        if credential is None:
            return format_html(
                '<span class="vc-muted">{}</span>',
                "No credentials stored (disconnected, or never connected).",
            )
        parts = [f"token ending in …{credential.access_token_last4}"]
        if credential.client_id_last4:
            parts.append(f"client ID ending in …{credential.client_id_last4}")
        if credential.client_secret_last4:
            parts.append(f"client secret ending in …{credential.client_secret_last4}")
        who = f" by {credential.created_by.email}" if credential.created_by else ""
        return format_html(
            '{}<br><span class="vc-muted">Added {}{}</span>',
            ", ".join(parts),
            ago(credential.created_at),
            who,
        )

    @admin.display(description="Client secret")
    def client_secret_status(self, store):
        from storehooks.selectors import client_secret_state

        return render_to_string("storehooks/client_secret.html", {"secret": client_secret_state(store)})

    @admin.display(description="scopes")
    def latest_check_scopes(self, store):
        check = selectors.latest_check(store)
        if check is None:
            return format_html('<span class="vc-muted">{}</span>', "Never checked.")
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td><code>{}</code></td><td>{}</td></tr>",
            (
                (scope.label, scope.param, scope_badge(check.scopes.get(scope.param, "unknown")))
                for scope in REQUIRED_SCOPES
            ),
        )
        url = reverse("admin:stores_check_change", args=[check.pk])
        return format_html(
            '<p>{} {} — {} (<a href="{}">check #{}</a>, {})</p>'
            '<table class="vc-scopes"><thead>'
            "<tr><th>Scope</th><th>Parameter</th><th>Result</th></tr></thead>"
            "<tbody>{}</tbody></table>",
            outcome_badge(check.outcome),
            ago(check.started_at),
            check.get_trigger_display(),
            url,
            check.pk,
            f"{check.duration_ms} ms",
            rows,
        )

    @admin.display(description="profile (GET /v2/store)")
    def profile_json(self, store):
        if not store.profile:
            return "—"
        return format_html('<pre class="vc-json">{}</pre>', json.dumps(store.profile, indent=2, sort_keys=True))

    # -- the change page: action buttons, links to the full history

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = dict(extra_context or {})
        store = self.get_object(request, unquote(object_id))
        if store is not None:
            extra_context.update(self._action_buttons(request, store))
        return super().change_view(request, object_id, form_url, extra_context)

    def _action_buttons(self, request, store: Store) -> dict:
        buttons = []
        if store.status not in UNCHECKED_STATUSES and self.has_check_permission(request, store):
            buttons.append(("check", "Check now", "post"))
        if store.status == StoreStatus.PAUSED and self.has_pause_permission(request, store):
            buttons.append(("resume", "Resume checks", "post"))
        elif store.status not in UNCHECKED_STATUSES and self.has_pause_permission(request, store):
            buttons.append(("pause", "Pause checks", "get"))
        if self.has_replace_credentials_permission(request, store):
            label = (
                "Reconnect with new credentials" if store.status == StoreStatus.DISCONNECTED else "Replace credentials"
            )
            buttons.append(("replace_credentials", label, "get"))
        if store.status != StoreStatus.DISCONNECTED and self.has_disconnect_permission(request, store):
            buttons.append(("disconnect", "Disconnect…", "get"))
        return {
            "store_actions": [
                {
                    "url": reverse(f"admin:stores_store_{name}", args=[store.pk]),
                    "label": label,
                    "method": method,
                    "name": name,
                }
                for name, label, method in buttons
            ],
            "checks_url": reverse("admin:stores_check_changelist") + f"?store__id__exact={store.pk}",
            "status_changes_url": reverse("admin:stores_statuschange_changelist") + f"?store__id__exact={store.pk}",
        }

    # -- URLs for the actions, the credential replacement and the CSV export

    def get_urls(self):
        wrap = self.admin_site.admin_view
        custom = [
            path("export.csv", wrap(self.export_csv_view), name="stores_store_export"),
            path(
                "<path:object_id>/check-now/",
                wrap(self.action_view),
                {"action": "check"},
                name="stores_store_check",
            ),
            path(
                "<path:object_id>/pause/",
                wrap(self.action_view),
                {"action": "pause"},
                name="stores_store_pause",
            ),
            path(
                "<path:object_id>/resume/",
                wrap(self.action_view),
                {"action": "resume"},
                name="stores_store_resume",
            ),
            path(
                "<path:object_id>/disconnect/",
                wrap(self.action_view),
                {"action": "disconnect"},
                name="stores_store_disconnect",
            ),
            path(
                "<path:object_id>/replace-credentials/",
                wrap(self.replace_credentials_view),
                name="stores_store_replace_credentials",
            ),
        ]
        return custom + super().get_urls()

    # -- the actions, one store at a time; each returns (message level, message)

    ACTIONS = {
        "check": {
            "permission": "check",
            "title": "Check now",
            "button": "Queue a check now",
            "explanation": "Violet checks this store's credentials with BigCommerce right away "
            "(every scope), "
            "then records the result and applies the status rules as for a scheduled check.",
        },
        "pause": {
            "permission": "pause",
            "title": "Pause checks",
            "button": "Pause checks",
            "explanation": "Violet stops checking this store until someone resumes the checks. "
            "Its status "
            "becomes Paused; no notification is sent. The credentials are kept.",
            "reason": True,
        },
        "resume": {
            "permission": "pause",
            "title": "Resume checks",
            "button": "Resume checks",
            "explanation": "The store goes back to the status it had before the pause "
            "and is checked at once; "
            "that check decides its status.",
        },
        "disconnect": {
            "permission": "disconnect",
            "title": "Disconnect",
            "button": "Yes, disconnect and delete the credentials",
            "explanation": "The store's credentials are deleted at once and Violet stops "
            "checking it. Its "
            "history stays. The merchant (or staff) must connect it again with a new API account. "
            "This cannot be undone.",
            "danger": True,
        },
    }

    def _do_check(self, request, store: Store, **kwargs):
        if store.status in UNCHECKED_STATUSES:
            return (
                messages.WARNING,
                f"{store.display_name} is {store.get_status_display().lower()}: it is not checked.",
            )
        if queue_check_now(store.pk, trigger=Check.Trigger.STAFF):
            log_staff_action(request, store, "Queued a check (check now).")
            return (
                messages.SUCCESS,
                f"Check of {store.display_name} queued. Reload its page in a few seconds.",
            )
        return messages.INFO, f"A check of {store.display_name} is already in flight."

    def _do_pause(self, request, store: Store, reason: str = "", **kwargs):
        reason = reason.strip()[:500]
        change = services.store_pause(store=store, user=request.user, reason=reason or "Checks paused by Violet staff.")
        if change is None:
            return (
                messages.WARNING,
                f"{store.display_name} is {store.get_status_display().lower()}: nothing to pause.",
            )
        log_staff_action(
            request,
            store,
            f"Paused checks (was {StoreStatus(change.old_status).label})." + (f" Reason: {reason}" if reason else ""),
        )
        return messages.SUCCESS, f"Checks of {store.display_name} are paused."

    def _do_resume(self, request, store: Store, **kwargs):
        change = services.store_resume(store=store, user=request.user)
        if change is None:
            return messages.WARNING, f"{store.display_name} is not paused: nothing to resume."
        log_staff_action(
            request,
            store,
            f"Resumed checks (status back to {StoreStatus(change.new_status).label}; a check is due now).",
        )
        return (
            messages.SUCCESS,
            f"Checks of {store.display_name} resumed; it is due for a check now.",
        )

    def _do_disconnect(self, request, store: Store, **kwargs):
        if store.status == StoreStatus.DISCONNECTED:
            return messages.WARNING, f"{store.display_name} is already disconnected."
        credential = selectors.credential_fingerprint(store)
        services.store_disconnect(store=store, user=request.user, reason="Disconnected by Violet staff.")
        deleted = (
            f"deleted the credentials (token ending in …{credential.access_token_last4})"
            if credential
            else "no credentials were stored"
        )
        log_staff_action(request, store, f"Disconnected the store; {deleted}.")
        return (
            messages.SUCCESS,
            f"{store.display_name} is disconnected and its credentials are deleted.",
        )

    def _perform(self, request, action: str, store: Store, **kwargs):
        return getattr(self, f"_do_{action}")(request, store, **kwargs)

    def _allowed(self, request, action: str, store: Store | None = None) -> bool:
        return getattr(self, f"has_{self.ACTIONS[action]['permission']}_permission")(request, store)

    def action_view(self, request, object_id, action):
        store = self.get_object(request, unquote(object_id))
        if store is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self._allowed(request, action, store):
            raise PermissionDenied
        if request.method == "POST":
            level, message = self._perform(request, action, store, reason=request.POST.get("reason", ""))
            self.message_user(request, message, level)
            return redirect("admin:stores_store_change", store.pk)
        return self._confirmation(request, action, [store])

    def _confirmation(self, request, action: str, stores, *, bulk: bool = False):
        spec = self.ACTIONS[action]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"{spec['title']}: {stores[0].display_name}"
            if len(stores) == 1
            else f"{spec['title']}: {len(stores)} stores",
            "spec": spec,
            "action": action,
            "stores": stores,
            "bulk": bulk,
            "action_name": f"{action}_action" if action != "check" else "check_now_action",
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "cancel_url": reverse("admin:stores_store_changelist")
            if bulk
            else reverse("admin:stores_store_change", args=[stores[0].pk]),
        }
        return TemplateResponse(request, "admin/stores/store/action_confirmation.html", context)

    def _bulk(self, request, action: str, queryset):
        done, notes = 0, []
        for store in queryset:
            level, message = self._perform(request, action, store, reason=request.POST.get("reason", ""))
            if level == messages.SUCCESS:
                done += 1
            else:
                notes.append(message)
        verb = {
            "check": "Queued checks for",
            "pause": "Paused checks of",
            "resume": "Resumed checks of",
            "disconnect": "Disconnected",
        }[action]
        self.message_user(
            request,
            f"{verb} {done} store{'s' if done != 1 else ''}.",
            messages.SUCCESS if done else messages.WARNING,
        )
        for note in notes[:10]:
            self.message_user(request, note, messages.INFO)
        if len(notes) > 10:
            self.message_user(request, f"…and {len(notes) - 10} more stores skipped.", messages.INFO)

    @admin.action(description="Check now", permissions=["check"])
    def check_now_action(self, request, queryset):
        self._bulk(request, "check", queryset)

    @admin.action(description="Pause checks", permissions=["pause"])
    def pause_action(self, request, queryset):
        self._bulk(request, "pause", queryset)

    @admin.action(description="Resume checks", permissions=["pause"])
    def resume_action(self, request, queryset):
        self._bulk(request, "resume", queryset)

    @admin.action(description="Disconnect (asks for confirmation)…", permissions=["disconnect"])
    def disconnect_action(self, request, queryset):
        if request.POST.get("post") == "yes":
            self._bulk(request, "disconnect", queryset)
            return None
        return self._confirmation(request, "disconnect", list(queryset), bulk=True)

    # -- replacing credentials: the merchant wizard's validation, from the admin

    @method_decorator(sensitive_post_parameters(*SECRET_POST_FIELDS))
    @method_decorator(sensitive_variables("form", "attempt"))
    def replace_credentials_view(self, request, object_id):
        store = self.get_object(request, unquote(object_id))
        if store is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_replace_credentials_permission(request, store):
            raise PermissionDenied
        if request.method == "POST" and request.POST.get("start_over"):
            onboarding.draft_discard(store.merchant, request.user, store.store_hash)
            self.message_user(request, "Forgot the values kept from your last attempt.", messages.INFO)
            return redirect("admin:stores_store_replace_credentials", store.pk)
        form = StaffCredentialsForm(request.POST or None, request.FILES or None)
        attempt, status = None, 200
        if request.method == "POST":
            if form.is_valid():
                attempt = onboarding.connect_attempt(
                    merchant=store.merchant,
                    user=request.user,
                    typed=form.typed(),
                    file_text=form.file_text(),
                    client_address=client_ip(request),
                    store=store,
                )
                if attempt.ok:
                    return self._credentials_replaced(request, attempt)
                status = 429 if attempt.throttled_for else 422
                codes = sorted({problem.code for problem in attempt.problems}) or (
                    ["throttled"] if attempt.throttled_for else []
                )
                log_staff_action(
                    request,
                    store,
                    "Tried to replace the credentials; refused: " + (", ".join(codes) or "unknown") + ".",
                )
            else:
                status = 400
        kept = (
            attempt.kept if attempt is not None else onboarding.kept_for(store.merchant, request.user, store.store_hash)
        )
        problems = attempt.problems if attempt else []
        by_field = {name: [p for p in problems if p.field == name] for name in CredentialsForm.TYPED_FIELDS}
        by_field["api_path"] += [p for p in problems if p.field == "store_hash"]
        general = [p for p in problems if p.field not in by_field or p.field == "file"]
        fields = [
            {
                "field": form[name],
                "problems": by_field[name],
                "kept": kept.get(name, ""),
                # Only the API path is ever shown back, and only when nothing is wrong with it.
                "value": form[name].value()
                if name == "api_path" and not by_field[name] and not form[name].errors
                else "",
            }
            for name in CredentialsForm.TYPED_FIELDS
        ]
        current = selectors.credential_fingerprint(store)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": store,
            "store": store,
            "title": f"Replace credentials: {store.display_name}",
            "form": form,
            "fields": fields,
            "kept": [{"label": FIELD_LABELS[name], "last4": last4} for name, last4 in kept.items()],
            "general_problems": general,
            "missing_scopes": [scope_label(p) for p in attempt.report.missing_scopes]
            if attempt and attempt.report
            else [],
            "throttled_for": attempt.throttled_for if attempt else 0,
            "outcome": str(attempt.report.outcome) if attempt and attempt.report else "",
            "current": current,
        }
        return TemplateResponse(request, "admin/stores/store/replace_credentials.html", context, status=status)

    def _credentials_replaced(self, request, attempt) -> HttpResponseRedirect:
        store = attempt.store
        credential = selectors.credential_fingerprint(store)
        token = f"token ending in …{credential.access_token_last4}" if credential else "new credentials"
        if attempt.replaced:
            log_staff_action(request, store, f"Replaced the credentials after a full live check; now {token}.")
            message = f"New credentials saved for {store.display_name} ({token}). Every scope Violet needs is granted."
        else:
            log_staff_action(
                request,
                store,
                f"Reconnected the store with new credentials after a full live check; now {token}.",
            )
            message = f"{store.display_name} is connected again ({token}). Every scope Violet needs is granted."
        self.message_user(request, message, messages.SUCCESS)
        return redirect("admin:stores_store_change", store.pk)

    # -- CSV export of the list, with its current filters

    CSV_COLUMNS = [
        "merchant",
        "merchant_slug",
        "store_hash",
        "name",
        "domain",
        "plan",
        "status",
        "status_label",
        "status_changed_at",
        "in_status_seconds",
        "last_checked_at",
        "next_check_at",
        "connected_at",
        "problem",
    ]

    def export_csv_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            changelist = self.get_changelist_instance(request)
        except IncorrectLookupParameters:
            return redirect(reverse("admin:stores_store_changelist") + "?e=1")
        queryset = changelist.queryset
        filters = {k: v for k, v in request.GET.items() if k not in {"p", "o"}}
        described = ", ".join(f"{k}={v}" for k, v in sorted(filters.items())) or "none"
        log_model_action(
            request,
            Store,
            "Store list (CSV export)",
            f"Exported the store list as CSV (filters: {described}).",
        )
        now = timezone.now()

        labels = dict(StoreStatus.choices)
        columns = queryset.values_list(
            "merchant__name",
            "merchant__slug",
            "store_hash",
            "name",
            "domain",
            "plan_name",
            "status",
            "status_changed_at",
            "last_checked_at",
            "next_check_at",
            "connected_at",
            "problem",
        )

        def rows():
            writer = csv.writer(_Echo())
            yield writer.writerow(self.CSV_COLUMNS)
            for (
                merchant,
                slug,
                store_hash,
                name,
                domain,
                plan,
                status,
                changed,
                checked,
                due,
                connected,
                problem,
            ) in columns.iterator(chunk_size=5000):
                yield writer.writerow(
                    [
                        _csv_cell(value)
                        for value in (
                            merchant,
                            slug,
                            store_hash,
                            name,
                            domain,
                            plan,
                            status,
                            labels.get(status, status),
                            _iso(changed),
                            int((now - changed).total_seconds()),
                            _iso(checked),
                            _iso(due),
                            _iso(connected),
                            problem,
                        )
                    ]
                )

        response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="stores-{now:%Y%m%d-%H%M}.csv"'
        return response


class _Echo:
    def write(self, value):
        return value


def _iso(value) -> str:
    return value.isoformat() if value else ""


def _csv_cell(value):
    """Spreadsheets run cells starting with = + - @ as formulas: neutralise them."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


# --- checks and status changes: read-only history --------------------------------------


@admin.register(Check)
class CheckAdmin(ViewOnlyAdminMixin, admin.ModelAdmin):
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
    search_fields = ["store__store_hash", "store__name"]
    search_help_text = "Search by store hash or store name."
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
class StatusChangeAdmin(ViewOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "store_link", "change", "reason", "evidence_link", "processed_at"]
    list_display_links = ["created_at"]
    list_filter = ["new_status", "old_status", ("created_at", admin.DateFieldListFilter)]
    search_fields = ["store__store_hash", "store__name", "reason"]
    search_help_text = "Search by store hash, store name or reason."
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    paginator = EstimatedCountPaginator
    list_per_page = 50
    fields = ["store_link", "change", "reason", "evidence_link", "created_at", "processed_at"]
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


# --- the staff actions log -----------------------------------------------------------


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
