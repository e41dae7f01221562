"""Hand-written SQL for the few hot paths where compiling an ORM query costs
more than running it (docs/benchmarks.md, "What a release costs").

The text is made once per process from the models' metadata (table and column
names quoted by the database's own rules); values are always parameters; each
value read back goes through its field's own converters, as the ORM's would,
so a row means the same on PostgreSQL and SQLite. Tests hold each statement
to the ORM query it replaces.
"""

from __future__ import annotations

from functools import cache

from django.db import connection
from django.db.models import Model


def table(model: type[Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def column(model: type[Model], name: str) -> str:
    return connection.ops.quote_name(model._meta.get_field(name).column)


@cache
def _converters(model: type[Model], name: str) -> tuple:
    field = model._meta.get_field(name)
    expression = field.get_col(model._meta.db_table)
    return expression, (*connection.ops.get_db_converters(expression), *field.get_db_converters(connection))


def converted(model: type[Model], name: str, value):
    """`value`, read from `model.name`'s column, as the ORM would hand it over."""
    if value is None:
        return None
    expression, converters = _converters(model, name)
    for converter in converters:
        value = converter(value, expression, connection)
    return value
