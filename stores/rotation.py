"""Re-encrypt every stored credential under the first of FERNET_KEYS.

Rotation: put the new key first in FERNET_KEYS (keep the old one after it),
deploy, run `manage.py rotate_credentials`, then remove the old key.

Each row is moved in its own transaction by a compare-and-swap update (the
row changes only if it still holds the ciphertext we read), so the command
can be killed at any point and run again: rows already under the first key
are skipped, and a credential replaced meanwhile is left alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db import connection, transaction

from .crypto import needs_rotation, rotate_ciphertext
from .models import Credential


@dataclass
class RotationResult:
    moved: int = 0
    already_current: int = 0
    changed_meanwhile: int = 0


def _columns() -> list[str]:
    return [Credential._meta.get_field(name).column for name in Credential.SECRET_FIELDS]


def rotate_credentials(
    *, batch_size: int = 500, progress: Callable[[RotationResult], None] | None = None
) -> RotationResult:
    table = connection.ops.quote_name(Credential._meta.db_table)
    columns = _columns()
    quoted = [connection.ops.quote_name(column) for column in columns]
    select_sql = f"SELECT id, {', '.join(quoted)} FROM {table} WHERE id > %s ORDER BY id LIMIT %s"  # noqa: S608
    result = RotationResult()
    last_id = 0
    while True:
        with connection.cursor() as cursor:
            cursor.execute(select_sql, [last_id, batch_size])
            rows = cursor.fetchall()
        if not rows:
            break
        for row_id, *values in rows:
            last_id = row_id
            _rotate_row(table, quoted, row_id, [bytes(v) if v is not None else None for v in values], result)
        if progress:
            progress(result)
    return result


def _rotate_row(table: str, quoted: list[str], row_id: int, values: list[bytes | None], result: RotationResult) -> None:
    stale = [(column, value) for column, value in zip(quoted, values, strict=True) if value and needs_rotation(value)]
    if not stale:
        result.already_current += 1
        return
    assignments = ", ".join(f"{column} = %s" for column, _ in stale)
    guards = " AND ".join(f"{column} = %s" for column, _ in stale)
    params = [rotate_ciphertext(value) for _, value in stale]
    params += [row_id] + [value for _, value in stale]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET {assignments} WHERE id = %s AND {guards}", params)  # noqa: S608
        updated = cursor.rowcount
    if updated == 1:
        result.moved += 1
    else:
        result.changed_meanwhile += 1
