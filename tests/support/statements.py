"""The SQL statements a piece of code sends, and each in short (its verb and table), to pin a path's statements."""

import re
from contextlib import contextmanager

from django.db import connection


@contextmanager
def statements():
    """Every statement the connection sends meanwhile, as (sql, params) (COPY included: bulk_sql sends it
    through the execute wrappers)."""
    sent: list[tuple[str, object]] = []

    def record(execute, sql, params, many, context):
        sent.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        yield sent


def label(statement: tuple[str, object]) -> str:
    """A statement in short: its verb and the table it is about (`SELECT issues_issue`, `COPY staging…`)."""
    text = " ".join(statement[0].split())
    if text.startswith("WITH "):  # WITH staged AS (DELETE FROM staging … RETURNING …) INSERT INTO …
        text = re.search(r"\)\s+((?:INSERT|UPDATE).*)", text).group(1)
    verb = text.split(" ", 1)[0].upper()
    if verb in ("SAVEPOINT", "RELEASE", "BEGIN"):
        return verb
    if "pg_advisory_xact_lock" in text:
        return f"{verb} pg_advisory_xact_lock"
    table = re.search(r"\b((?:issues|activity|config|audit|syncing|projects|staging|agile)_\w+)", text)
    return f"{verb} {table.group(1) if table else '?'}"


def labels(sent: list[tuple[str, object]]) -> list[str]:
    return [label(statement) for statement in sent]
