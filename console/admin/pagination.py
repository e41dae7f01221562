"""Lists of big tables (stores, checks, status changes) with a bounded number
of queries whatever the fleet size."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.utils.functional import cached_property

from console import selectors


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
