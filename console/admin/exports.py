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
            # Every cell quoted: a separator inside a value never starts a new cell.
            writer = csv.writer(_Echo(), quoting=csv.QUOTE_ALL)
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
                        csv_cell(value)
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


# OWASP's CSV injection rule: a spreadsheet runs a cell starting with one of
# these as a formula (the full-width forms too, which some normalise).
_FORMULA_STARTS = frozenset("=+-@\t\r\uff1d\uff0b\uff0d\uff20")
# What a spreadsheet may skip or split on before a cell's first character:
# whitespace (any), quotes, and the separators of other locales (, ; | tab).
_SKIPPED_BEFORE = ",;|\"'"


def csv_cell(value):
    """Neutralise a cell a spreadsheet would run as a formula: prefix it with `'`.

    Every cell from outside (store names and domains from BigCommerce, merchant
    names from sign-up, problems) goes through here. A formula start counts
    after any leading whitespace, quote, invisible character or separator too
    (` =1+1`, `;=1+1`). Numbers and empty cells are left as they are.
    """
    if not isinstance(value, str) or not value:
        return value
    if value[0] in _FORMULA_STARTS:
        return "'" + value
    rest = value
    while rest and (rest[0].isspace() or rest[0] in _SKIPPED_BEFORE or not rest[0].isprintable()):
        rest = rest[1:]
    if rest[:1] in _FORMULA_STARTS:
        return "'" + value
    return value
