"""The store list's filters: plan, broken, last check."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import admin
from django.utils import timezone

from console import selectors


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
