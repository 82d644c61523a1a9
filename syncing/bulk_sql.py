"""Multi-row writes through the connection's cursor: the hot paths where the ORM costs too much.

PERFORMANCE.md: ORM bulk_create of whole issues runs ~870 issues/s on PostgreSQL against ~3,000 for
executemany; status-history rows ~24,000/s through the ORM against ~53,000. The SQL here is the
portable subset SQLite (3.24+) and PostgreSQL share: INSERT … ON CONFLICT … DO UPDATE / DO NOTHING.
"""

from collections.abc import Iterable, Sequence
from typing import Any

from django.db import NotSupportedError, connection, models
from django.db.models import Model


def _datetime_positions(model: type[Model], columns: Sequence[str]) -> list[int]:
    """Where the date-time columns are: SQLite stores them as text that Django must format."""
    if connection.vendor != "sqlite":
        return []  # psycopg sends aware datetimes as they are
    by_column = {field.column: field for field in model._meta.concrete_fields}
    return [i for i, name in enumerate(columns) if isinstance(by_column.get(name), models.DateTimeField)]


def _table(model: type[Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _columns(names: Sequence[str]) -> str:
    return ", ".join(connection.ops.quote_name(name) for name in names)


def rows_upsert(
    model: type[Model],
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    conflict: Sequence[str],
    update: Sequence[str],
) -> int:
    """INSERT the rows; where `conflict` columns clash, overwrite the `update` columns. Returns rows written."""
    return _insert(model, columns, rows, _on_conflict_update(conflict, update))


def rows_upsert_returning(
    model: type[Model],
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    conflict: Sequence[str],
    update: Sequence[str],
    returning: Sequence[str],
) -> list[tuple]:
    """rows_upsert that returns the `returning` columns of every row it wrote, inserted or updated (in no set order).

    PostgreSQL only: SQLite's driver returns no rows from executemany, so a caller there reads them back.
    """
    if connection.vendor != "postgresql":
        raise NotSupportedError("rows_upsert_returning needs PostgreSQL")
    batch = list(rows)
    if not batch:
        return []
    with connection.cursor() as cursor:
        _insert_from_staging(cursor, model, columns, batch, _on_conflict_update(conflict, update), returning)
        return cursor.fetchall()


def _on_conflict_update(conflict: Sequence[str], update: Sequence[str]) -> str:
    assignments = ", ".join(f"{connection.ops.quote_name(c)} = excluded.{connection.ops.quote_name(c)}" for c in update)
    return f"ON CONFLICT ({_columns(conflict)}) DO UPDATE SET {assignments}"


def rows_insert_new(model: type[Model], columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """INSERT the rows, skipping those that clash with a unique constraint; return how many were new."""
    return _insert(model, columns, rows, "ON CONFLICT DO NOTHING")


def rows_insert(model: type[Model], columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """INSERT rows that cannot clash (e.g. children of issues created in this transaction); return the count.

    PostgreSQL: COPY straight into the table, the fastest way in (PERFORMANCE.md: ~140,000 rows/s).
    """
    if connection.vendor != "postgresql":
        sql = f"INSERT INTO {_table(model)} ({_columns(columns)}) VALUES ({', '.join(['%s'] * len(columns))})"
        return _executemany(sql, rows, _datetime_positions(model, columns))
    with connection.cursor() as cursor:
        return _copy(cursor, f"COPY {_table(model)} ({_columns(columns)}) FROM STDIN", rows)


def _copy(cursor, sql: str, rows: Iterable[Sequence[Any]]) -> int:
    """Run a COPY … FROM STDIN of the rows through the raw driver; return how many were sent.

    It goes through the connection's execute wrappers like any statement (so connection.execute_wrapper()
    sees and counts it), and through Django's error translation: a value a column refuses is a DatabaseError
    like any other (one bad row is then isolated by the caller's row-by-row retry).
    """

    def send(sql: str, params: None, many: bool, context: dict) -> int:
        count = 0
        with connection.wrap_database_errors, cursor.cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row(row)
                count += 1
        return count

    return cursor._execute_with_wrappers(sql, None, many=False, executor=send)


def _insert(model: type[Model], columns: Sequence[str], rows: Iterable[Sequence[Any]], on_conflict: str) -> int:
    if connection.vendor == "postgresql":
        return _copy_then_insert(model, columns, rows, on_conflict)
    sql = f"INSERT INTO {_table(model)} ({_columns(columns)}) VALUES ({', '.join(['%s'] * len(columns))}) {on_conflict}"
    return _executemany(sql, rows, _datetime_positions(model, columns))


def _copy_then_insert(
    model: type[Model], columns: Sequence[str], rows: Iterable[Sequence[Any]], on_conflict: str
) -> int:
    """PostgreSQL: COPY into a temporary staging table, then one INSERT … SELECT (PERFORMANCE.md: ~3x executemany)."""
    with connection.cursor() as cursor:
        return _insert_from_staging(cursor, model, columns, list(rows), on_conflict)


def _insert_from_staging(
    cursor, model: type[Model], columns: Sequence[str], batch: list, on_conflict: str, returning: Sequence[str] = ()
) -> int:
    """PostgreSQL: COPY the batch into staging, then INSERT it from there; return the rows written (0: none sent)."""
    if not batch:
        return 0
    staging = _copy_to_staging(cursor, model, columns, batch, "insert")
    names = _columns(columns)
    cursor.execute(
        f"WITH staged AS (DELETE FROM {staging} RETURNING {names}) "
        f"INSERT INTO {_table(model)} ({names}) SELECT {names} FROM staged {on_conflict}"
        + (f" RETURNING {_columns(returning)}" if returning else "")
    )
    return max(cursor.rowcount, 0)


def _copy_to_staging(cursor, model: type[Model], columns: Sequence[str], batch: list, purpose: str) -> str:
    """COPY the rows into a temporary table shaped like the target's columns (no constraints); return its name.

    One staging table per (table, purpose, column set), created once per connection. It is empty whenever a
    COPY begins: the statement that reads it deletes what it reads (`WITH staged AS (DELETE … RETURNING …)`),
    a statement that fails takes its COPY back with it (the caller's savepoint or transaction), and ON COMMIT
    DELETE ROWS is the backstop. So a second COPY in one transaction (the row-by-row retry of a batch that
    failed, a second batch) never sees the first one's rows, without a TRUNCATE per use (a new file each time).
    Must run inside a transaction: outside one, each statement commits and the COPY would be emptied at once.
    """
    staging = connection.ops.quote_name(f"staging_{purpose}_{model._meta.db_table}_{len(columns)}")
    cursor.execute(
        f"CREATE TEMP TABLE IF NOT EXISTS {staging} ON COMMIT DELETE ROWS AS "
        f"SELECT {_columns(columns)} FROM {_table(model)} WITH NO DATA"
    )
    _copy(cursor, f"COPY {staging} ({_columns(columns)}) FROM STDIN", batch)
    return staging


def _executemany(sql: str, rows: Iterable[Sequence[Any]], datetimes: list[int]) -> int:
    """Run sql for every row; return the rows affected (both drivers sum them over executemany)."""
    batch = [list(row) for row in rows] if datetimes else list(rows)
    adapt = connection.ops.adapt_datetimefield_value
    for row in batch if datetimes else ():
        for position in datetimes:
            if row[position] is not None:
                row[position] = adapt(row[position])
    if not batch:
        return 0
    with connection.cursor() as cursor:
        cursor.executemany(sql, batch)
        return max(cursor.rowcount, 0)


def rows_update(model: type[Model], columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """UPDATE existing rows by primary key: each row is (pk, *values for columns). Returns rows updated."""
    batch = list(rows)
    if not batch:
        return 0
    pk = model._meta.pk.column
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            staging = _copy_to_staging(cursor, model, [pk, *columns], batch, "update")
            assignments = ", ".join(
                f"{connection.ops.quote_name(c)} = s.{connection.ops.quote_name(c)}" for c in columns
            )
            names = _columns([pk, *columns])
            cursor.execute(
                f"WITH s AS (DELETE FROM {staging} RETURNING {names}) "
                f"UPDATE {_table(model)} AS t SET {assignments} FROM s "
                f"WHERE t.{connection.ops.quote_name(pk)} = s.{connection.ops.quote_name(pk)}"
            )
            return max(cursor.rowcount, 0)
    assignments = ", ".join(f"{connection.ops.quote_name(c)} = %s" for c in columns)
    sql = f"UPDATE {_table(model)} SET {assignments} WHERE {connection.ops.quote_name(pk)} = %s"
    reordered = [(*row[1:], row[0]) for row in batch]
    return _executemany(sql, reordered, [p - 1 for p in _datetime_positions(model, [pk, *columns]) if p > 0])
