"""PostgreSQL planner statistics of the tables a sync fills, refreshed by the sync itself.

The page's own lookups of issues need none (issues.selectors.issue_rows), but the lookups of derived rows by issue
(status history, milestones, time in status, in the page's transaction) and the admin's queries do: a table
never analysed is planned with default selectivities, and `issue_id IN (100 ids)` of a status-change table
is then taken for two fifths of it — every page of the next incremental sync reads it whole (300,000 rows:
140 ms a page instead of well under one). Autovacuum analyses a table once a tenth of it changed, but it may
be off, or behind a first full sync. So the sync analyses these tables itself, between pages (never inside a
page's transaction): a table with no statistics once it holds STATISTICS_FIRST_PAGES, and a table twice the
size it was when its statistics were taken. Over a first full sync that is early, and then a handful of times
(log₂ of the growth), each ANALYZE reading a bounded sample.
"""

import logging

from django.db import DatabaseError, connection

from issues.models import Issue, IssueMilestone, StatusChange, TimeInStatus

log = logging.getLogger(__name__)

TABLES = [Issue, StatusChange, IssueMilestone, TimeInStatus]
STATISTICS_FIRST_PAGES = 8  # 64 KB: below it any plan reads little
STATISTICS_GROWTH = 2  # re-analysed when this many times the size its statistics were taken at


def tables_needing_statistics() -> list[str]:
    """The tables (of TABLES) whose planner statistics are missing or were taken at under half their size.

    One catalog query: the table's size now (its files, always current) against pg_class.relpages as the
    last ANALYZE (or VACUUM) left it, and whether it was ever analysed (by hand or by autovacuum). [] on SQLite.
    """
    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        if connection.in_atomic_block:  # statistics read in a transaction are cached until its end: read afresh
            cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT c.relname, c.relpages, pg_relation_size(c.oid) / current_setting('block_size')::int, "
            "coalesce(pg_stat_get_last_analyze_time(c.oid), pg_stat_get_last_autoanalyze_time(c.oid)) IS NOT NULL "
            "FROM pg_class c WHERE c.oid = ANY(%s::regclass[])",
            [[model._meta.db_table for model in TABLES]],
        )
        rows = cursor.fetchall()
    return sorted(
        name
        for name, pages_then, pages_now, analysed in rows
        if pages_now >= STATISTICS_FIRST_PAGES and (not analysed or pages_now >= STATISTICS_GROWTH * pages_then)
    )


def table_statistics_refresh() -> list[str]:
    """ANALYZE the tables that need it (tables_needing_statistics); return their names.

    Call it outside any transaction. SKIP_LOCKED: a table another session is analysing (a parallel project's
    run, autovacuum) is left to it. A refresh that fails is logged, never the sync's failure.
    """
    try:
        tables = tables_needing_statistics()
        if tables:
            with connection.cursor() as cursor:
                cursor.execute(f"ANALYZE (SKIP_LOCKED) {', '.join(connection.ops.quote_name(t) for t in tables)}")
            log.info("planner statistics refreshed: %s", ", ".join(tables))
        return tables
    except DatabaseError:
        log.warning("planner statistics could not be refreshed", exc_info=True)
        return []
