"""Lists of big tables (stores, checks, status changes) with a bounded number
of queries whatever the fleet size."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.utils.functional import cached_property

from console import selectors


class EstimatedCountPaginator(Paginator):
    """On PostgreSQL, an unfiltered list of a big table counts with the
    planner's estimate (pg_class.reltuples) instead of COUNT(*) over every row.

    Given a `count_limit`, a filtered or searched list counts no further than
    one row past it (`SELECT COUNT(*) FROM (… LIMIT count_limit + 1)`, which
    PostgreSQL stops reading as soon as it has them): `count_is_bounded` then
    says there are more than `count_limit`, and the list shows "1000+"."""

    def __init__(self, *args, count_limit: int | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.count_limit = count_limit

    @cached_property
    def count(self):
        queryset = self.object_list
        if not isinstance(queryset, QuerySet):
            return len(queryset)
        if not queryset.query.where:
            estimate = selectors.estimated_row_count(queryset.model)
            if estimate is not None and estimate >= selectors.ESTIMATE_COUNT_ABOVE:
                return estimate
        if self.count_limit is not None:
            return queryset.order_by().values("pk")[: self.count_limit + 1].count()
        return queryset.count()

    @property
    def count_is_bounded(self) -> bool:
        """Whether there are more rows than `count_limit` (and `count` stopped)."""
        return self.count_limit is not None and self.count > self.count_limit
