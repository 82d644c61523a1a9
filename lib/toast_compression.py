"""PostgreSQL's compression of large column values (TOAST), for the columns that hold whole Jira documents.

PostgreSQL compresses a value over ~2 KB before storing it, with pglz unless a column says otherwise. A
Cloud issue's raw JSON is ~17 KB: measured here, pglz cost the server 0.34 ms of CPU per issue written,
lz4 0.07–0.08, and lz4's values took no more room (5.1 MB against 5.3 for 1,000 raw issues). lz4 is there
when the server was built with it (PostgreSQL's Debian, Ubuntu, Red Hat and Docker builds are); one built
without it keeps pglz. Only values written afterwards are stored the new way.
"""

from django.db.backends.base.schema import BaseDatabaseSchemaEditor


def column_compression_set(
    schema_editor: BaseDatabaseSchemaEditor, columns: list[tuple[str, str]], method: str = "lz4"
) -> None:
    """Set the compression method of these (table, column)s, on PostgreSQL when the server offers the method;
    "default" sets the server's default again. Does nothing on another database."""
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    if method != "default":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND %s = ANY(enumvals)", [method]
            )
            if cursor.fetchone() is None:
                return
    quote = connection.ops.quote_name
    for table, column in columns:
        schema_editor.execute(f"ALTER TABLE {quote(table)} ALTER COLUMN {quote(column)} SET COMPRESSION {method}")


def session_compression_set(sender: object, connection, **kwargs: object) -> None:
    """connection_created receiver: a new PostgreSQL session compresses with lz4 when the server offers it.

    The columns the migrations set already do; this covers the staging tables that bulk upserts COPY into
    (lib/bulk_sql.py) — a value compressed there reaches its table as it is, so with pglz there the
    column's own lz4 was never used."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('default_toast_compression', 'lz4', false) FROM pg_settings "
            "WHERE name = 'default_toast_compression' AND 'lz4' = ANY(enumvals)"
        )
