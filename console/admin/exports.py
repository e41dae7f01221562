"""The store list as CSV, with the list's current filters and search,
streamed row by row; the export is written to the staff actions log."""

from __future__ import annotations

import csv

from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import PermissionDenied
from django.http import StreamingHttpResponse
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils import timezone

from stores.models import Store
from stores.status import StoreStatus

from .audit import log_model_action


class StoreCsvExportMixin:
    """StoreAdmin's CSV export (mixed into `console.admin.stores.StoreAdmin`)."""

    def export_urls(self) -> list:
        wrap = self.admin_site.admin_view
        return [
            path("export.csv", wrap(self.export_csv_view), name="stores_store_export"),
        ]

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
