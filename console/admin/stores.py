"""Staff console for stores: the fleet, its checks and status changes, and the
staff actions (check now, pause, resume, disconnect, replace credentials,
move to another merchant).

Credentials appear only as fingerprints ("token ending in …x1y2"): no admin
page, form, history entry or export ever holds a decrypted value, and no admin
queryset loads an encrypted column (`Credential.objects.fingerprints_only()`).
Every action goes through `stores.services` (or `connect.onboarding` for new
credentials, exactly as the merchant wizard) and is written to the admin log.

This module is the store list and the store page; the actions are in
`store_actions` (the move to another merchant in `store_move`), the
credential replacement in `credentials`, the CSV export in `exports`, the
checks and status changes in `history`, the permissions (groups created by
migration `stores.0002_staff_groups`) in `permissions`.
"""

from __future__ import annotations

import json

from django.contrib import admin
from django.contrib.admin.utils import flatten_fieldsets, unquote
from django.contrib.admin.views.main import PAGE_VAR, SEARCH_VAR, ChangeList
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from api.releases import recent_releases
from console import selectors
from console.display import ago, outcome_badge, scope_badge, short_timesince, status_badge
from merchants import timezones
from storehooks.selectors import client_secret_state, hooks_state
from stores.bigcommerce.scopes import REQUIRED_SCOPES, scope_label
from stores.models import Store
from stores.selectors import check_in_flight, latest_check, recent_traffic_signals
from stores.status import UNCHECKED_STATUSES, StoreStatus

from .checkbox import DirectActionCheckboxMixin
from .credentials import ReplaceCredentialsMixin
from .exports import StoreCsvExportMixin
from .filters import BrokenFilter, LastCheckFilter, PlanFilter
from .history import RecentChecksInline, RecentStatusChangesInline
from .imports import import_urls
from .pagination import EstimatedCountPaginator
from .permissions import ViewOnlyAdminMixin
from .store_actions import StoreActionsMixin
from .store_move import StoreMoveMixin
from .store_search import search_stores

# --- the list: a bounded number of queries whatever the fleet size -------------------


class StoreChangeList(ChangeList):
    def get_queryset(self, request, exclude_parameters=None):
        # Only the list's columns and the merchant: no profile JSON, no credential.
        return selectors.stores_for_list(super().get_queryset(request, exclude_parameters))


@admin.register(Store)
class StoreAdmin(
    StoreCsvExportMixin,
    StoreActionsMixin,
    StoreMoveMixin,
    ReplaceCredentialsMixin,
    DirectActionCheckboxMixin,
    ViewOnlyAdminMixin,
    admin.ModelAdmin,
):
    # Seven columns fit 1280 px beside the filters (tests/browser/test_console_layout.py):
    # the store's hash and domain sit under its name.
    list_display = [
        "store",
        "merchant_link",
        "plan",
        "status_badge",
        "in_status_for",
        "last_check",
        "next_check",
    ]
    list_display_links = ["store"]
    list_filter = ["status", BrokenFilter, PlanFilter, LastCheckFilter, "is_reference"]
    list_select_related = ["merchant"]
    # What the search reads; `get_search_results` (store_search) does the reading.
    search_fields = ["store_hash", "name", "domain", "merchant__name", "merchant__slug"]
    search_help_text = (
        "Search by store hash, store name, domain, merchant name or slug, or store id. "
        "Every word must match; a word of one or two characters matches the start of a word "
        "(12 finds Store 12 and Store 120, not Store 312); put words in quotes to find them as a phrase."
    )
    # A search counts up to this many stores (and sorts them: pagination.sorted_not_walked).
    SEARCH_COUNT_LIMIT = 20_000
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
                    "merchant_since",
                    "store_hash",
                    "status_badge",
                    "status_since",
                    "problem",
                    "missing_scopes_list",
                    "streak",
                    "last_check",
                    "scopes_verified",
                    "next_check",
                    "in_flight",
                    "incident_hold",
                ]
            },
        ),
        ("Latest check", {"fields": ["latest_check_scopes"]}),
        ("Credentials", {"fields": ["credential_fingerprint", "client_secret_status"]}),
        ("BigCommerce webhooks", {"fields": ["webhooks_status"]}),
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
    def lookup_allowed(self, lookup, value, request=None):
        # The incident page links to the stores it holds.
        return lookup == "held_by__id__exact" or super().lookup_allowed(lookup, value, request)

    @admin.display(description="fleet-wide incident")
    def incident_hold(self, store: Store) -> str:
        parts = []
        if store.is_reference:
            parts.append("A reference store: checked every minute; its failures can open a fleet-wide incident.")
        if store.held_by_id:
            url = reverse("admin:stores_incident_change", args=[store.held_by_id])
            parts.append(
                format_html(
                    'Its latest failure is held by <a href="{}">incident #{}</a>: its status does not flip '
                    "until the incident closes; then it is checked again at once.",
                    url,
                    store.held_by_id,
                )
            )
        return format_html_join(" ", "{}", ((part,) for part in parts)) if parts else "—"

    # Every field on the store page is shown, none edited: the list is the fieldsets' own.
    readonly_fields = flatten_fieldsets(fieldsets)

    def get_changelist(self, request, **kwargs):
        return StoreChangeList

    # -- list columns (no query per row: everything comes from the store and its merchant)

    @admin.display(description="store", ordering="name")
    def store(self, store):
        return format_html(
            '{}<span class="vc-store-meta"><code>{}</code>{}</span>',
            store.display_name,
            store.store_hash,
            format_html(" · {}", store.domain) if store.domain else "",
        )

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
            timezones.written(store.status_changed_at),
            short_timesince(store.status_changed_at, timezone.now()),
        )

    def get_search_results(self, request, queryset, search_term):
        """`search_fields` as the admin reads them (every word must match, in
        any of the fields), with two changes that keep a search on one trigram
        index at 100,000 stores: a word of one or two characters matches where
        a word begins, and a number also matches the store's id. The rule is in
        `store_search`; the list's help text says it to staff."""
        if not search_term:
            return queryset, False
        return search_stores(queryset, search_term), False

    def get_paginator(self, request, queryset, per_page, orphans=0, allow_empty_first_page=True):
        """A searched list counts no further than SEARCH_COUNT_LIMIT stores (or
        the page asked for) and then says "20000+": a search as broad as
        "store" would otherwise count the whole fleet on every page. (Never
        below list_max_show_all: "Show all" is offered only for a whole count.)"""
        count_limit = None
        if request.GET.get(SEARCH_VAR):
            raw = str(request.GET.get(PAGE_VAR, "1"))
            # ASCII digits, bounded: int() also reads "١٢", and a huge page would overflow LIMIT.
            page = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 9 else 1
            count_limit = max(self.SEARCH_COUNT_LIMIT, self.list_max_show_all, page * per_page)
        return self.paginator(queryset, per_page, orphans, allow_empty_first_page, count_limit=count_limit)

    @admin.display(description="scopes last fully verified", ordering="scopes_verified_at")
    def scopes_verified(self, store):
        return ago(store.scopes_verified_at)

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
        if store.storefront_link:
            items.append((store.storefront_link, "Storefront"))
        if store.control_panel_link:
            items.append((store.control_panel_link, "Control panel"))
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
            timezones.written(store.status_changed_at),
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
        if check_in_flight(store):
            return format_html("yes (its lease ends {})", ago(store.claimed_until))
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
        return render_to_string("storehooks/client_secret.html", {"secret": client_secret_state(store)})

    @admin.display(description="hooks")
    def webhooks_status(self, store):
        return render_to_string("storehooks/hooks_state.html", {"hooks": hooks_state(store)})

    @admin.display(description="scopes")
    def latest_check_scopes(self, store):
        check = latest_check(store)
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
            extra_context.update(self.action_buttons(request, store))
            extra_context["store_actions"] += self.move_button(request, store)
            extra_context["credential_releases"] = recent_releases(store)
            extra_context["traffic_signals"] = recent_traffic_signals(store)
            if check_in_flight(store):  # the page polls, and reloads itself when the check ends
                extra_context["check_status_url"] = reverse("admin:stores_store_status", args=[store.pk])
        return super().change_view(request, object_id, form_url, extra_context)

    # -- URLs for the CSV export, the actions and the credential replacement

    def get_urls(self):
        return (
            self.export_urls()
            + self.action_urls()
            + self.move_urls()
            + self.credentials_urls()
            + import_urls(self)
            + super().get_urls()
        )
