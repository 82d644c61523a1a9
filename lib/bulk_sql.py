"""Multi-row writes through the connection's cursor: the hot paths where the ORM costs too much.

PERFORMANCE.md: ORM bulk_create of whole issues runs ~870 issues/s on PostgreSQL against ~3,000 for
executemany; status-history rows ~24,000/s through the ORM against ~53,000. The SQL here is the
portable subset SQLite (3.24+) and PostgreSQL share: INSERT … ON CONFLICT … DO UPDATE / DO NOTHING.

Lock order: on PostgreSQL an INSERT … ON CONFLICT locks each clashing row (or waits on another transaction's
uncommitted insert of its key) in the order it reads its rows, so two transactions writing overlapping rows
in opposite orders can deadlock (parallel project runs' pages upserting the same sprints did). Every insert
here reads its staged rows ORDER BY the conflict columns (or a unique key of the table), so every caller
takes row locks in one stable order whatever order it passes them in. SQLite has no row locks: a writer holds
the whole database.
"""

import re
from collections.abc import Iterable, Sequence
from datetime import UTC
from functools import cache
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
    where: str = "",
) -> int:
    """INSERT the rows; where `conflict` columns clash, overwrite the `update` columns (only where the SQL
    condition `where` holds, when given: `excluded.x` is the new row, `<table>.x` the stored one). Returns rows
    written."""
    on_conflict = _on_conflict_update(conflict, update) + (f" WHERE {where}" if where else "")
    return _insert(model, columns, rows, on_conflict, conflict)


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
        _insert_from_staging(cursor, model, columns, batch, _on_conflict_update(conflict, update), conflict, returning)
        return cursor.fetchall()


def _on_conflict_update(conflict: Sequence[str], update: Sequence[str]) -> str:
    assignments = ", ".join(f"{connection.ops.quote_name(c)} = excluded.{connection.ops.quote_name(c)}" for c in update)
    return f"ON CONFLICT ({_columns(conflict)}) DO UPDATE SET {assignments}"


def rows_insert_new(model: type[Model], columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """INSERT the rows, skipping those that clash with a unique constraint; return how many were new."""
    return _insert(model, columns, rows, "ON CONFLICT DO NOTHING", _unique_key(model, columns))


def rows_insert(model: type[Model], columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """INSERT rows that cannot clash (e.g. children of issues created in this transaction); return the count.

    PostgreSQL: COPY straight into the table, the fastest way in (PERFORMANCE.md: ~140,000 rows/s).
    """
    if connection.vendor != "postgresql":
        sql = f"INSERT INTO {_table(model)} ({_columns(columns)}) VALUES ({', '.join(['%s'] * len(columns))})"
        return _executemany(sql, rows, _datetime_positions(model, columns))
    with connection.cursor() as cursor:
        return _copy_rows(cursor, _table(model), model, columns, rows)


def _unique_key(model: type[Model], columns: Sequence[str]) -> tuple[str, ...]:
    """The columns of the model's first unique key that the rows carry whole (the lock order of an insert
    that names no conflict columns); all the columns when none is."""
    meta = model._meta
    column_of = {field.name: str(field.column) for field in meta.concrete_fields}
    keys: list[list[str]] = [
        *([column_of[field.name]] for field in meta.concrete_fields if field.unique),
        *([column_of[name] for name in constraint.fields] for constraint in meta.total_unique_constraints),
        *([column_of[name] for name in together] for together in meta.unique_together),
    ]
    return next((tuple(key) for key in keys if key and set(key) <= set(columns)), tuple(columns))


def _insert(
    model: type[Model], columns: Sequence[str], rows: Iterable[Sequence[Any]], on_conflict: str, order: Sequence[str]
) -> int:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            return _insert_from_staging(cursor, model, columns, list(rows), on_conflict, order)
    sql = f"INSERT INTO {_table(model)} ({_columns(columns)}) VALUES ({', '.join(['%s'] * len(columns))}) {on_conflict}"
    return _executemany(sql, rows, _datetime_positions(model, columns))


def _insert_from_staging(
    cursor,
    model: type[Model],
    columns: Sequence[str],
    batch: list,
    on_conflict: str,
    order: Sequence[str],
    returning: Sequence[str] = (),
) -> int:
    """PostgreSQL: COPY the batch into a temporary staging table, then one INSERT … SELECT from there, ORDER BY
    `order` (row locks in a stable order: the module docstring); return the rows written (0: none sent).
    PERFORMANCE.md: ~3x executemany."""
    if not batch:
        return 0
    staging = _copy_to_staging(cursor, model, columns, batch, "insert")
    names = _columns(columns)
    cursor.execute(
        f"WITH staged AS (DELETE FROM {staging} RETURNING {names}) "
        f"INSERT INTO {_table(model)} ({names}) SELECT {names} FROM staged ORDER BY {_columns(order)} {on_conflict}"
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
    _copy_rows(cursor, staging, model, columns, batch)
    return staging


def _copy_rows(cursor, table: str, model: type[Model], columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """COPY the rows into table (shaped like model's columns); return how many were sent.

    In binary where every column has a plain type: ~5x less of this process's CPU than text COPY for
    date-times and bytes (measured: 6,000 status changes 12 → 2.5 ms, 1,000 raw issues 20 → 3 ms), and
    the server parses no text. A JSON column's value is its JSON text, as the caller encoded it (orjson),
    sent as it is.
    """
    types = _binary_types(model, tuple(columns))
    if types and "jsonb" in types:
        from psycopg.types.json import set_json_dumps  # PostgreSQL only

        set_json_dumps(_json_text, cursor.cursor)  # for this cursor only
    sql = f"COPY {table} ({_columns(columns)}) FROM STDIN{' (FORMAT BINARY)' if types else ''}"

    def send(sql: str, params: None, many: bool, context: dict) -> int:
        count = 0
        # The raw driver's COPY is outside Django's error translation: wrap it, so a value a column refuses
        # is a DatabaseError like any other (one bad row is then isolated by the caller's row-by-row retry).
        with connection.wrap_database_errors, cursor.cursor.copy(sql) as copy:
            if types:
                copy.set_types(types)
            for row in rows:
                copy.write_row(row)
                count += 1
        return count

    # Through the connection's execute wrappers like any statement, so connection.execute_wrapper() sees it.
    return cursor._execute_with_wrappers(sql, None, many=False, executor=send)


@cache
def _binary_types(model: type[Model], columns: tuple[str, ...]) -> list[str] | None:
    """The PostgreSQL type of each column, for a binary COPY; None when one has no plain binary form."""
    by_column = {field.column: field for field in model._meta.concrete_fields}
    types = [re.sub(r"\(.*\)$", "", by_column[name].db_type(connection) or "") for name in columns]
    return None if any(name not in _BINARY_COPY_TYPES for name in types) else types


# Column types whose binary form psycopg writes from the Python values the sync holds (JSON as its text).
_BINARY_COPY_TYPES = frozenset(
    {
        "bigint",
        "integer",
        "smallint",
        "boolean",
        "double precision",
        "varchar",
        "text",
        "bytea",
        "timestamp with time zone",
        "jsonb",
    }
)


def _json_text(value: str) -> str:
    """A JSON column's value for COPY: the caller's rows hold JSON text, already encoded."""
    return value


def _executemany(sql: str, rows: Iterable[Sequence[Any]], datetimes: list[int]) -> int:
    """Run sql for every row; return the rows affected (both drivers sum them over executemany)."""
    batch = _with_datetime_text(rows, datetimes) if datetimes else list(rows)
    if not batch:
        return 0
    with connection.cursor() as cursor:
        cursor.executemany(sql, batch)
        return max(cursor.rowcount, 0)


def _with_datetime_text(rows: Iterable[Sequence[Any]], datetimes: list[int]) -> list[list[Any]]:
    """The rows with their date-times as the text Django keeps in SQLite (adapt_datetimefield_value's).

    Django's adapter costs ~3 µs a value (checks, make_naive, str) and a sync writes ~30 date-times an
    issue (issue #15: 1.6 M calls, 9 % of a sync); an aware UTC datetime made naive prints the same text.
    Many values repeat (the time-in-status rows' as_of, an entry's moment in its milestone and time in
    status rows): each distinct one is printed once a call.
    """
    adapt = connection.ops.adapt_datetimefield_value
    utc = connection.timezone is UTC  # the database's zone, UTC unless DATABASES sets TIME_ZONE
    printed: dict[Any, str] = {}
    batch = []
    for row in rows:
        row = list(row)
        for position in datetimes:
            value = row[position]
            if value is None:
                continue
            if utc and value.tzinfo is UTC:
                text = printed.get(value)
                if text is None:
                    text = printed[value] = value.replace(tzinfo=None).isoformat(" ")
                row[position] = text
            else:
                row[position] = adapt(value)
        batch.append(row)
    return batch


def rows_update(model: type[Model], columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """UPDATE existing rows by primary key: each row is (pk, *values for columns). Returns rows updated."""
    batch = list(rows)
    if not batch:
        return 0
    pk = model._meta.pk.column if model._meta.pk is not None else None
    if pk is None:
        raise ValueError(f"{model.__name__} has no primary key column to update by")
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
