"""Deleting what a retention setting says is old: the one loop every prune uses."""

from __future__ import annotations

from django.db.models import QuerySet


def delete_in_batches(rows: QuerySet, batch_size: int = 5000) -> int:
    """Delete `rows` `batch_size` at a time (short statements: no long lock on
    a busy table); how many went."""
    deleted = 0
    while True:
        ids = list(rows.values_list("pk", flat=True)[:batch_size])
        if not ids:
            return deleted
        deleted += rows.model._default_manager.filter(pk__in=ids).delete()[0]
