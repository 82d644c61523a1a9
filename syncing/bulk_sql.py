"""Multi-row writes through the connection's cursor: the hot paths where the ORM costs too much.

PERFORMANCE.md: ORM bulk_create of whole issues runs ~870 issues/s on PostgreSQL against ~3,000 for
executemany; status-history rows ~24,000/s through the ORM against ~53,000. The SQL here is the
portable subset SQLite (3.24+) and PostgreSQL share: INSERT … ON CONFLICT … DO UPDATE / DO NOTHING.
"""

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import Model


def _adapt(value: Any) -> Any:
    if isinstance(value, datetime):
        return connection.ops.adapt_datetimefield_value(value)
    return value


def _table(model: type[Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _columns(names: Sequence[str]) -> str:
    return ", ".join(connection.ops.quote_name(name) for name in names)


def rows_upsert(model: type[Model], columns: Sequence[str], rows: Iterable[Sequence[Any]],
                conflict: Sequence[str], update: Sequence[str]) -> None:
    """INSERT the rows; where `conflict` columns clash, overwrite the `update` columns."""
    assignments = ", ".join(f"{connection.ops.quote_name(c)} = excluded.{connection.ops.quote_name(c)}"
                            for c in update)
    sql = (f"INSERT INTO {_table(model)} ({_columns(columns)}) VALUES ({', '.join(['%s'] * len(columns))}) "
           f"ON CONFLICT ({_columns(conflict)}) DO UPDATE SET {assignments}")
    _executemany(sql, rows)


def rows_insert_new(model: type[Model], columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """INSERT the rows, skipping those that clash with a unique constraint; return how many were new."""
    sql = (f"INSERT INTO {_table(model)} ({_columns(columns)}) VALUES ({', '.join(['%s'] * len(columns))}) "
           "ON CONFLICT DO NOTHING")
    return _executemany(sql, rows)


def _executemany(sql: str, rows: Iterable[Sequence[Any]]) -> int:
    """Run sql for every row; return the rows affected (both drivers sum them over executemany)."""
    batch = [tuple(_adapt(value) for value in row) for row in rows]
    if not batch:
        return 0
    with connection.cursor() as cursor:
        cursor.executemany(sql, batch)
        return max(cursor.rowcount, 0)
