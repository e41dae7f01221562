"""Re-encrypt every encrypted value (credentials, kept wizard secrets, webhook
signing secrets, second-factor seeds) under the first of FERNET_KEYS.

Rotation: put the new key first in FERNET_KEYS (keep the old one after it),
deploy, run `manage.py rotate_credentials`, then remove the old key.

Each row is moved by a compare-and-swap update (the row changes only if it
still holds the ciphertext we read), `ROWS_PER_TRANSACTION` rows to a
transaction (one executemany per set of columns), so the command can be
killed at any point and run again: a transaction is all or nothing, rows
already under the first key are skipped, and a credential replaced
meanwhile is left alone.

On PostgreSQL the command rotates with one process per core (`processes`):
Fernet is CPU work and one process uses one core. Each process takes the ids
of one remainder modulo `processes`, on its own connection, with the same
compare-and-swap transactions; each stops within one transaction once the
command's process is gone, so killing the command stops the rotation.

A row holding a value no key decrypts is left as it is and reported (by
table and id, never a value); every other row is still rotated. The command
exits non-zero while any such row remains: fix it (e.g. replace the store's
credentials) or delete it, and run again.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from dataclasses import dataclass, field, fields

from django.apps import apps
from django.db import connection, connections, models, transaction

from config.crypto import EncryptedTextField, UndecryptableCredential, rotated

from .models import Credential


@dataclass
class RotationResult:
    moved: int = 0
    already_current: int = 0
    changed_meanwhile: int = 0
    # (table, id) of rows holding a value no key in FERNET_KEYS decrypts: left as they are.
    undecryptable: list[tuple[str, int]] = field(default_factory=list)

    def add(self, other: RotationResult) -> None:
        for name in (f.name for f in fields(self)):
            setattr(self, name, getattr(self, name) + getattr(other, name))


def encrypted_tables() -> list[tuple[type[models.Model], list[str]]]:
    """Every model with encrypted fields, and those fields' columns: credentials,
    the wizard's kept secrets, webhook signing secrets, second-factor seeds
    (found by their field, `config.crypto.EncryptedTextField`)."""
    tables: dict[type[models.Model], list[str]] = {}
    for model in apps.get_models():
        columns = [field.column for field in model._meta.concrete_fields if isinstance(field, EncryptedTextField)]
        if columns:
            tables[model] = columns
    # Credentials first: they are what a stuck rotation would hurt most.
    return sorted(tables.items(), key=lambda item: item[0] is not Credential)


def rotate_credentials(
    *,
    batch_size: int = 500,
    processes: int = 1,
    progress: Callable[[RotationResult], None] | None = None,
) -> RotationResult:
    """Rotate every encrypted table; with `processes` > 1 (PostgreSQL only:
    the others open their own connections) each table is split among that
    many processes. `progress` (one process only) is called after each batch."""
    result = RotationResult()
    # Not inside a caller's transaction: other processes would not see its
    # rows, and closing the connection before forking would end it.
    parallel = processes > 1 and connection.vendor == "postgresql" and not connection.in_atomic_block
    for model, columns in encrypted_tables():
        if parallel:
            _rotate_table_in_processes(model, columns, batch_size=batch_size, processes=processes, result=result)
        else:
            _rotate_table(model, columns, batch_size=batch_size, result=result, progress=progress)
    return result


def _rotate_table_in_processes(model, columns: list[str], *, batch_size: int, processes: int, result) -> None:
    connections.close_all()  # forked children must open their own
    shares = [(model._meta.label, columns, batch_size, (share, processes), os.getpid()) for share in range(processes)]
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        for share_result in pool.starmap(_rotate_share, shares):
            result.add(share_result)


def _rotate_share(label: str, columns: list[str], batch_size: int, share: tuple[int, int], parent: int):
    """One process's share of a table: the ids whose remainder is `share`."""
    share_result = RotationResult()
    try:
        _rotate_table(apps.get_model(label), columns, batch_size=batch_size, result=share_result, share=share,
                      parent=parent)  # fmt: skip
    finally:
        connections.close_all()
    return share_result


def _rotate_table(
    model,
    columns: list[str],
    *,
    batch_size: int,
    result: RotationResult,
    progress=None,
    share: tuple[int, int] | None = None,
    parent: int | None = None,
) -> None:
    table = connection.ops.quote_name(model._meta.db_table)
    pk = connection.ops.quote_name(model._meta.pk.column)
    quoted = [connection.ops.quote_name(column) for column in columns]
    mine = f"AND {pk} %% {share[1]:d} = {share[0]:d} " if share else ""
    select_sql = f"SELECT {pk}, {', '.join(quoted)} FROM {table} WHERE {pk} > %s {mine}ORDER BY {pk} LIMIT %s"  # noqa: S608
    last_id = 0
    while True:
        if parent is not None and os.getppid() != parent:
            os._exit(1)  # the command is gone (killed): stop after the last committed transaction
        with connection.cursor() as cursor:
            cursor.execute(select_sql, [last_id, batch_size])
            rows = cursor.fetchall()
        if not rows:
            return
        for start in range(0, len(rows), ROWS_PER_TRANSACTION):
            chunk = [
                (row_id, [bytes(v) if v is not None else None for v in values])
                for row_id, *values in rows[start : start + ROWS_PER_TRANSACTION]
            ]
            _rotate_rows(table, quoted, chunk, result, pk=pk, label=model._meta.db_table)
        last_id = rows[-1][0]
        if progress:
            progress(result)


# One transaction per this many rows: a commit per row capped rotation at
# ~1,000 rows/s; larger transactions hold their row locks longer.
ROWS_PER_TRANSACTION = 100


def _rotate_rows(
    table: str,
    quoted: list[str],
    rows: list[tuple[int, list[bytes | None]]],
    result: RotationResult,
    *,
    pk: str,
    label: str = "",
) -> None:
    """Compare-and-swap these rows in one transaction, one executemany per set
    of stale columns; counts how many moved and how many changed meanwhile."""
    groups: dict[tuple[str, ...], list[list]] = {}
    for row_id, values in rows:
        try:
            moves = [(column, value, rotated(value)) for column, value in zip(quoted, values, strict=True) if value]
        except UndecryptableCredential:
            # Not fatal: the rest of the table still rotates. Named, never quoted.
            result.undecryptable.append((label or table.strip('"`'), row_id))
            continue
        stale = [(column, value, new) for column, value, new in moves if new is not None]
        if not stale:
            result.already_current += 1
            continue
        params = [new for _, _, new in stale]
        params += [row_id] + [value for _, value, _ in stale]
        groups.setdefault(tuple(column for column, _, _ in stale), []).append(params)
    if not groups:
        return
    with transaction.atomic(), connection.cursor() as cursor:
        for columns, batch in groups.items():
            assignments = ", ".join(f"{column} = %s" for column in columns)
            guards = " AND ".join(f"{column} = %s" for column in columns)
            cursor.executemany(f"UPDATE {table} SET {assignments} WHERE {pk} = %s AND {guards}", batch)  # noqa: S608
            moved = cursor.rowcount
            result.moved += moved
            result.changed_meanwhile += len(batch) - moved
