"""The test suite's PostgreSQL backend: the settings' own (django-prometheus's), with a cheaper flush between
transactional tests.

Django empties every table after each transactional test with one TRUNCATE of all of them. PostgreSQL gives
each truncated table (and each of its indexes) new files, so that costs ~0.9 s for our ~50 tables whether
they hold rows or not — a third of the suite's time on PostgreSQL. Here only the tables whose files matter
are truncated: the tables the sync keeps planner statistics for (syncing.engine.table_statistics reads their file
sizes and analyse times, so a test must find them as new) and every table referencing them (CASCADE).
The others are emptied afterwards by DELETE, which costs nothing for an empty table; foreign keys are deferred to the
commit, when every table is empty. Rows, sequences and behaviour are otherwise as after Django's flush.
"""

from django.db.backends.postgresql import operations
from django_prometheus.db.backends.postgresql import base


class DatabaseOperations(operations.DatabaseOperations):
    def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):
        if not tables or reset_sequences:
            return super().sql_flush(style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade)
        from syncing.engine.table_statistics import TABLES

        truncated = [model._meta.db_table for model in TABLES if model._meta.db_table in tables]
        statements = []
        if truncated:  # first: PostgreSQL refuses to truncate a table with deferred checks pending
            # CASCADE: a table referencing these may be emptied by TRUNCATE only with them.
            statements.append(f"TRUNCATE {', '.join(self.quote_name(table) for table in truncated)} CASCADE;")
        return statements + [f"DELETE FROM {self.quote_name(table)};" for table in tables if table not in truncated]


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations
