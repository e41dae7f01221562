"""Lists of big tables (stores, checks, status changes) with a bounded number
of queries whatever the fleet size."""

from __future__ import annotations

from django.core.exceptions import FieldDoesNotExist
from django.core.paginator import Paginator
from django.db.models import F, OrderBy, QuerySet
from django.db.models.constants import LOOKUP_SEP
from django.db.models.functions import Coalesce
from django.utils.functional import cached_property

from console import selectors


class EstimatedCountPaginator(Paginator):
    """On PostgreSQL, an unfiltered list of a big table counts with the
    planner's estimate (pg_class.reltuples) instead of COUNT(*) over every row.

    Given a `count_limit`, a filtered or searched list counts no further than
    one row past it (`SELECT COUNT(*) FROM (… LIMIT count_limit + 1)`, which
    PostgreSQL stops reading as soon as it has them): `count_is_bounded` then
    says there are more than `count_limit`, and the list shows "20000+".
    When it counted them all, its pages are cut from those rows sorted
    (`sorted_not_walked`): `count` runs before any page is cut."""

    def __init__(self, *args, count_limit: int | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.count_limit = count_limit
        self.counted_all = False  # whether `count` counted every row, no more than `count_limit`

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
            count = queryset.order_by().values("pk")[: self.count_limit + 1].count()
            self.counted_all = count <= self.count_limit
            if count and self.counted_all:
                # Few enough to sort: the pages are cut from the sorted list.
                self.object_list = sorted_not_walked(queryset)
            return count
        return queryset.count()

    @property
    def count_is_bounded(self) -> bool:
        """Whether there are more rows than `count_limit` (and `count` stopped)."""
        return self.count_limit is not None and self.count > self.count_limit


def sorted_not_walked(queryset: QuerySet) -> QuerySet:
    """`queryset` in the same order, but each ORDER BY key x written
    COALESCE(x, x), which no index gives: PostgreSQL then sorts the rows that
    match instead of walking an index in the list's order until it has a page
    of them. The walk is quick when matches are spread through that order and
    reads most of the table when they sit together far along it: searching
    "Store 9" among 100,000 stores named "Store N" walked past 88,889 names to
    reach "Store 9…" (100+ ms); sorting its 11,111 matches takes ~10 ms. Only
    for a counted (bounded) number of rows. An ordering it cannot rewrite
    (a relation, a random order, an expression) is left as it is."""
    query = queryset.query
    ordering = query.order_by or (queryset.model._meta.ordering if query.default_ordering else ())
    keys = []
    for key in ordering:
        if isinstance(key, str) and _is_column(queryset.model, key.removeprefix("-")):
            column = F(key.removeprefix("-"))
            keys.append(OrderBy(Coalesce(column, column), descending=key.startswith("-")))
        elif isinstance(key, OrderBy) and isinstance(key.expression, F):
            column = key.expression
            if not _is_column(queryset.model, column.name):
                return queryset
            keys.append(
                OrderBy(
                    Coalesce(column, column),
                    descending=key.descending,
                    nulls_first=key.nulls_first,
                    nulls_last=key.nulls_last,
                )
            )
        else:
            return queryset
    return queryset.order_by(*keys) if keys else queryset


def _is_column(model, path: str) -> bool:
    """Whether `path` ("name", "pk", "merchant__name") names a column, not a
    relation (which Django orders by the related model's own ordering)."""
    *relations, name = path.split(LOOKUP_SEP)
    try:
        for relation in relations:
            model = model._meta.get_field(relation).related_model
            if model is None:
                return False
        field = model._meta.pk if name == "pk" else model._meta.get_field(name)
    except FieldDoesNotExist:
        return False
    return field.concrete and not field.is_relation
