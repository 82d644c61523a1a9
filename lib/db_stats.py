"""How big the database is: its size and rows per table, cheap enough to read on every dashboard view or scrape."""

from dataclasses import dataclass
from pathlib import Path

from django.apps import apps
from django.db import connection

# The tables worth watching: ours and the queue's.
APP_LABELS = ("projects", "config", "issues", "activity", "agile", "syncing", "audit", "django_q")


@dataclass(frozen=True)
class TableRows:
    table: str
    rows: int
    estimated: bool  # PostgreSQL's planner statistics rather than a count
    bytes: int | None = None


def watched_tables() -> list[str]:
    return sorted(
        model._meta.db_table
        for label in APP_LABELS
        for model in apps.get_app_config(label).get_models()
        if not model._meta.proxy and model._meta.managed
    )


def database_size_bytes() -> int:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_database_size(current_database())")
            return int(cursor.fetchone()[0])
        name = connection.settings_dict["NAME"]
        path = Path(str(name))
        return sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())


def table_rows() -> list[TableRows]:
    """Rows per watched table: PostgreSQL's estimates (no scan), exact counts on SQLite."""
    tables = watched_tables()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                """SELECT c.relname, GREATEST(c.reltuples, 0)::bigint, pg_total_relation_size(c.oid)
                   FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                   WHERE n.nspname = current_schema() AND c.relkind = 'r' AND c.relname = ANY(%s)""",
                [tables],
            )
            found = {name: (rows, size) for name, rows, size in cursor.fetchall()}
            return [TableRows(t, int(found.get(t, (0, 0))[0]), True, found.get(t, (0, None))[1]) for t in tables]
        result = []
        for table in tables:
            cursor.execute(f'SELECT COUNT(*) FROM "{table}"')
            result.append(TableRows(table, int(cursor.fetchone()[0]), False))
        return result
