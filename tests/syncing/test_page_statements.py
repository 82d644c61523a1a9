"""What one page costs the database (issue #15): its statements counted, so a regression to per-row or extra
queries fails here; its lookups planned on the unique (instance, jira_id) index whatever the statistics say;
the planner's statistics refreshed by the sync itself — on SQLite and PostgreSQL, against jirasim over HTTP."""

import json
import math
import re

import pytest
from django.db import IntegrityError, connection, transaction

from issues.models import Issue, IssueRaw
from issues.selectors import issue_rows
from jirasim.testing import running_sim
from lib.bulk_sql import rows_update, rows_upsert_returning
from projects.models import JiraInstance, Project
from syncing.engine import pipeline, table_statistics
from syncing.engine.store import stored_issues
from syncing.models import SyncRun
from syncing.runs.runner import RunOptions, project_plan, sync_project
from syncing.site.clients import client_for, instance_discover_projects
from tests.support.sites import register
from tests.support.statements import label, labels, statements
from tests.support.truth import assert_database_equals_truth

# Pages commit as in production (their own transactions): the statements counted are the real ones.
committed = pytest.mark.django_db(transaction=True)
postgres_only = pytest.mark.skipif(
    "connection.vendor != 'postgresql'", reason="planner statistics and EXPLAIN are PostgreSQL's"
)


# The statements of one page, in order; the same for a page of 5 issues and of 25 — with no field history kept
# (JiraInstance.field_history empty). FIELD_HISTORY_STATEMENTS follow them when it is kept (the default).
PAGE_STATEMENTS = {
    "postgresql": {
        "new": [
            "SELECT issues_issue",  # stored_issues: the light lookup before the transaction
            "SELECT pg_advisory_xact_lock",  # the new ids, so a concurrent inserter of one waits
            "SELECT issues_issue",  # FOR UPDATE: pk, updated and mapped values, in one read
            "SAVEPOINT",
            "CREATE staging_insert_issues_issue_28",
            "COPY staging_insert_issues_issue_28",
            "INSERT issues_issue",  # … RETURNING jira_id, id: no read-back of the new ids
            "RELEASE",
            "CREATE staging_insert_issues_issueraw_2",
            "COPY staging_insert_issues_issueraw_2",
            "INSERT issues_issueraw",
            "COPY issues_statuschange",  # fresh issues: COPY straight in
            "COPY issues_issuemilestone",
            "COPY issues_timeinstatus",
            # Issue #14: the relations and sprint stays, COPY straight in; the sprints upserted through staging.
            "COPY issues_issuelink",
            "COPY issues_issueversion",
            "COPY issues_issuecomponent",
            "CREATE staging_insert_agile_sprint_10",
            "COPY staging_insert_agile_sprint_10",
            "INSERT agile_sprint",
            "COPY agile_issuesprint",
            # comments and worklogs (issue #14): one upsert each through staging, one read of the page's live
            # rows each
            "CREATE staging_insert_activity_comment_14",
            "COPY staging_insert_activity_comment_14",
            "INSERT activity_comment",
            "SELECT activity_comment",
            "CREATE staging_insert_activity_worklog_13",
            "COPY staging_insert_activity_worklog_13",
            "INSERT activity_worklog",
            "SELECT activity_worklog",
        ],
        "changed": [
            "SELECT issues_issue",
            "SELECT issues_issue",
            "SAVEPOINT",
            "CREATE staging_insert_issues_issue_28",
            "COPY staging_insert_issues_issue_28",
            "INSERT issues_issue",
            "RELEASE",
            "CREATE staging_insert_issues_issueraw_2",
            "COPY staging_insert_issues_issueraw_2",
            "INSERT issues_issueraw",
            "SELECT issues_statuschange",  # the stored histories
            "CREATE staging_insert_issues_statuschange_9",
            "COPY staging_insert_issues_statuschange_9",
            "INSERT issues_statuschange",
            "SELECT issues_issuemilestone",
            "DELETE issues_issuemilestone",
            "CREATE staging_insert_issues_issuemilestone_5",
            "COPY staging_insert_issues_issuemilestone_5",
            "INSERT issues_issuemilestone",
            "DELETE issues_timeinstatus",
            "CREATE staging_insert_issues_timeinstatus_9",
            "COPY staging_insert_issues_timeinstatus_9",
            "INSERT issues_timeinstatus",
            # Issue #14: each relation table's rows of the page's issues replaced, the sprints upserted, the
            # sprint stays replaced.
            "DELETE issues_issuelink",
            "DELETE issues_issueversion",
            "DELETE issues_issuecomponent",
            "COPY issues_issuelink",
            "COPY issues_issueversion",
            "COPY issues_issuecomponent",
            "CREATE staging_insert_agile_sprint_10",
            "COPY staging_insert_agile_sprint_10",
            "INSERT agile_sprint",
            "DELETE agile_issuesprint",
            "COPY agile_issuesprint",
            # comments and worklogs (issue #14): one upsert each through staging, one read of the page's live
            # rows each
            "CREATE staging_insert_activity_comment_14",
            "COPY staging_insert_activity_comment_14",
            "INSERT activity_comment",
            "SELECT activity_comment",
            "CREATE staging_insert_activity_worklog_13",
            "COPY staging_insert_activity_worklog_13",
            "INSERT activity_worklog",
            "SELECT activity_worklog",
            "INSERT audit_auditlog",  # the mapped values that changed
        ],
        "unchanged": ["SELECT issues_issue"],
    },
    "sqlite": {
        "new": [
            "SELECT issues_issue",
            "BEGIN",  # IMMEDIATE: the write lock, held to the commit
            "SELECT issues_issue",
            "SAVEPOINT",
            "INSERT issues_issue",  # executemany: one statement
            "RELEASE",
            "SELECT issues_issue",  # the new rows' ids (SQLite's executemany returns none)
            "INSERT issues_issueraw",
            "INSERT issues_statuschange",
            "INSERT issues_issuemilestone",
            "INSERT issues_timeinstatus",
            # Issue #14: the relations and sprint stays read from the issues' JSON, one insert per table that has
            # rows (this page has some in each); the sprints their Sprint fields describe, upserted.
            "INSERT issues_issuelink",
            "INSERT issues_issueversion",
            "INSERT issues_issuecomponent",
            "INSERT agile_sprint",
            "INSERT agile_issuesprint",
            # comments and worklogs (issue #14): one upsert each, one read of the page's live rows each
            "INSERT activity_comment",
            "SELECT activity_comment",
            "INSERT activity_worklog",
            "SELECT activity_worklog",
        ],
        "changed": [
            "SELECT issues_issue",
            "BEGIN",
            "SELECT issues_issue",
            "SAVEPOINT",
            "INSERT issues_issue",
            "RELEASE",
            "INSERT issues_issueraw",
            "SELECT issues_statuschange",
            "INSERT issues_statuschange",
            "SELECT issues_issuemilestone",
            "DELETE issues_issuemilestone",
            "INSERT issues_issuemilestone",
            "DELETE issues_timeinstatus",
            "INSERT issues_timeinstatus",
            # Issue #14: each relation table's rows of the page's issues replaced (a DELETE … IN and an insert),
            # the sprints upserted, the sprint stays replaced.
            "DELETE issues_issuelink",
            "DELETE issues_issueversion",
            "DELETE issues_issuecomponent",
            "INSERT issues_issuelink",
            "INSERT issues_issueversion",
            "INSERT issues_issuecomponent",
            "INSERT agile_sprint",
            "DELETE agile_issuesprint",
            "INSERT agile_issuesprint",
            # comments and worklogs (issue #14): one upsert each, one read of the page's live rows each
            "INSERT activity_comment",
            "SELECT activity_comment",
            "INSERT activity_worklog",
            "SELECT activity_worklog",
            "INSERT audit_auditlog",
        ],
        "unchanged": ["SELECT issues_issue"],
    },
}
# Issue #14's field history, written after time in status, deliberately: new issues one bulk insert more; changed
# ones the stored items' keys read (one query), then the items not stored yet inserted in bulk (a DELETE more
# only when a whole history no longer holds a stored item: a field no longer kept).
FIELD_HISTORY_STATEMENTS = {
    "postgresql": {
        "new": ["COPY issues_fieldchange"],
        "changed": [
            "SELECT issues_fieldchange",
            "CREATE staging_insert_issues_fieldchange_13",
            "COPY staging_insert_issues_fieldchange_13",
            "INSERT issues_fieldchange",
        ],
        "unchanged": [],
    },
    "sqlite": {
        "new": ["INSERT issues_fieldchange"],
        "changed": ["SELECT issues_fieldchange", "INSERT issues_fieldchange"],
        "unchanged": [],
    },
}


def page_statements(kind: str, *, field_history: bool) -> list[str]:
    """The pinned statements of a page of this kind (new, changed, unchanged) on this database."""
    vendor = connection.vendor
    statements = list(PAGE_STATEMENTS[vendor][kind])
    if not field_history:
        return statements
    # Field history goes right after time in status, before the audit entry of a changed page.
    after = [i for i, text in enumerate(statements) if "timeinstatus" in text]
    at = after[-1] + 1 if after else len(statements)
    return statements[:at] + FIELD_HISTORY_STATEMENTS[vendor][kind] + statements[at:]


def page_of(client, plan, jira_ids: list[int]) -> list[dict]:
    """These issues as a sync's search page brings them (fields, changelog)."""
    ids = ", ".join(str(jira_id) for jira_id in jira_ids)
    pages = list(client.search_pages(f"id in ({ids})", plan.fields(), changelog=True, page_size=100))
    assert len(pages) == 1 and len(pages[0]) == len(jira_ids)
    return pages[0]


def synced_page(client, plan, jira_ids: list[int]) -> tuple[pipeline.PageResult, list[tuple[str, object]]]:
    page = page_of(client, plan, jira_ids)
    with statements() as sent:
        result = pipeline.page_sync(client, plan, page, run_id=None, defer_histories=True)
    assert result.failed == []
    return result, sent


@committed
@pytest.mark.parametrize(("size", "field_history"), [(5, "*"), (25, "*"), (5, "")])
def test_a_page_costs_the_same_few_statements_whatever_its_size_new_changed_or_unchanged(
    size, field_history, reference_mappings
):
    # No long histories: an issue whose history is incomplete is never "unchanged" (it is read again until whole).
    with running_sim(flavour="cloud", projects=1, issues=30, seed=61, long_history_share=0) as server:
        instance = register(server, "instance_1", field_history=field_history)
        client = client_for(instance)
        instance_discover_projects(instance, client)
        plan = project_plan(Project.objects.get(instance=instance), RunOptions(), flavour="cloud")
        data = server.sim.data
        records = sorted(data.live(), key=lambda record: record.id)[:size]
        jira_ids = [record.id for record in records]
        expected = {
            kind: page_statements(kind, field_history=bool(field_history)) for kind in PAGE_STATEMENTS["sqlite"]
        }
        # A Cloud issue holding more worklogs than a search sends inline (20) is marked pending for the worklog
        # feed: one upsert more for the page (through staging on PostgreSQL), whatever how many such issues it holds.
        if any(len(data.activity(record).live_worklogs(data.now_ms)) > 20 for record in records):
            pending = ["INSERT activity_worklogpending"]
            if connection.vendor == "postgresql":
                staging = "staging_insert_activity_worklogpending_4"
                pending = [f"CREATE {staging}", f"COPY {staging}", *pending]
            for kind in ("new", "changed"):
                at = expected[kind].index("INSERT activity_worklog") + 1
                expected[kind] = [*expected[kind][:at], *pending, *expected[kind][at:]]

        result, sent = synced_page(client, plan, jira_ids)
        assert (result.inserted, result.updated, result.unchanged) == (size, 0, 0)
        assert labels(sent) == expected["new"], "\n".join(labels(sent))

        for record in records:  # a status move and a mapped value for every issue of the page
            data.set_status(str(record.id), "Closed" if data.status_name(record) != "Closed" else "Open")
            data.edit_fields(record, {"customfield_10040": ("Rooms", 7.0)})
        result, sent = synced_page(client, plan, jira_ids)
        assert (result.inserted, result.updated, result.unchanged) == (0, size, 0)
        assert labels(sent) == expected["changed"], "\n".join(labels(sent))

        result, sent = synced_page(client, plan, jira_ids)
        assert (result.inserted, result.updated, result.unchanged) == (0, 0, size)
        assert labels(sent) == expected["unchanged"], "\n".join(labels(sent))

        # The whole project read as a run reads it: what was stored page by page is what Jira holds.
        assert sync_project(plan.project.pk, RunOptions()).status == SyncRun.Status.SUCCEEDED
        assert_database_equals_truth(server, instance)


# --- the lookups' plans -------------------------------------------------------------------------------------


def lookup_statements(instance: JiraInstance, jira_ids: list[int]) -> list[tuple[str, object]]:
    """The page's two lookups as sent: the one before its transaction, and the locking one inside it."""
    with statements() as before:
        stored_issues(instance, jira_ids)
    with statements() as inside, transaction.atomic():
        issue_rows(instance, jira_ids, ["id", "updated", "fields"], lock=True)
    sent = [*before, *(statement for statement in inside if label(statement) not in ("SAVEPOINT", "RELEASE"))]
    assert labels(sent) == ["SELECT issues_issue", "SELECT issues_issue"], labels(sent)
    return sent


def load_issues(instance: JiraInstance, project: Project, first_id: int, count: int) -> None:
    """count issues of the instance in one INSERT … SELECT (as a first full sync leaves them, unanalysed)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO issues_issue (instance_id, project_id, jira_id, key, summary, issue_type, status, "
            "status_id, status_category, priority, assignee, assignee_id, reporter, reporter_id, resolution, "
            "labels, fields, field_errors, has_field_errors, changelog_total, changelog_complete, raw_hash, "
            "milestones_digest) "
            "SELECT %s, %s, g, 'K-' || g, repeat('summary ', 20), 'Task', 'Open', '1', 'new', '', '', '', '', '', "
            "'', '[]', %s, '[]', false, 3, true, md5(g::text), '' FROM generate_series(%s, %s) AS g",
            [instance.pk, project.pk, json.dumps({"notes": "x" * 300}), first_id, first_id + count - 1],
        )


def issue_scans(statement: tuple[str, object]) -> list[str]:
    """How EXPLAIN says the statement reads issues_issue: one entry per scan of it, e.g. 'Index Scan on
    (instance_id, jira_id) unique: ((instance_id = 2) AND (jira_id = wanted.jira_id))'."""
    sql, params = statement
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        (plan,) = cursor.fetchone()
        cursor.execute(
            "SELECT c.relname, array_agg(a.attname ORDER BY k.ord), i.indisunique FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indexrelid "
            "JOIN unnest(i.indkey) WITH ORDINALITY AS k (attnum, ord) ON true "
            "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
            "WHERE i.indrelid = 'issues_issue'::regclass GROUP BY c.relname, i.indisunique"
        )
        indexes = {name: (tuple(columns), unique) for name, columns, unique in cursor.fetchall()}
    plan = json.loads(plan) if isinstance(plan, str) else plan
    scans = []

    def walk(node: dict) -> None:
        if node.get("Relation Name") == "issues_issue":
            columns, unique = indexes.get(node.get("Index Name"), ((), False))
            scans.append(
                f"{node['Node Type']} on ({', '.join(columns)}){' unique' if unique else ''}: "
                f"{node.get('Index Cond', '')} {node.get('Filter', '')}".strip()
            )
        for child in node.get("Plans", []):
            walk(child)

    walk(plan[0]["Plan"])
    return scans


def assert_on_the_unique_key(scans: list[str]) -> None:
    """Each read of issues_issue is a probe of the unique index by both key columns, never a scan of the
    instance's rows (by an index on instance_id, filtered) or of the table."""
    assert scans, "issues_issue is not read?"
    for scan in scans:
        assert scan.startswith(
            tuple(f"{kind} on (instance_id, jira_id) unique:" for kind in ("Index Scan", "Index Only Scan"))
        ), scans
        assert "(instance_id = " in scan and "(jira_id = " in scan and "Filter" not in scan, scans


@postgres_only
@pytest.mark.django_db
def test_the_page_lookups_use_the_unique_index_on_a_table_never_analysed_or_analysed_before_the_instance_grew():
    """A fresh issues_issue in this test's transaction (rolled back at its end; the suite's own table has
    statistics from earlier syncs, and autovacuum may analyse it any moment): created like the real one with
    its indexes, loaded as a first full sync loads it, never analysed. Then analysed with one instance's
    issues only, and a second instance loaded after: the statistics say the second has next to no rows.
    Both times the page's lookups probe the unique index by both columns; both times the sync would refresh
    the statistics (tables_needing_statistics), and not right after they were taken."""
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE issues_issue RENAME TO issues_issue_kept")
        cursor.execute("CREATE TABLE issues_issue (LIKE issues_issue_kept INCLUDING ALL)")
        cursor.execute("SELECT count(*) FROM pg_stats WHERE tablename = 'issues_issue'")
        assert cursor.fetchone() == (0,)  # no statistics
    first = JiraInstance.objects.create(name="One", slug="one", base_url="https://one.example.net")
    second = JiraInstance.objects.create(name="Two", slug="two", base_url="https://two.example.net")
    project = Project.objects.create(instance=first, jira_id=1, key="ONE", name="One")
    other = Project.objects.create(instance=second, jira_id=2, key="TWO", name="Two")
    load_issues(first, project, 10_001, 20_000)
    with connection.cursor() as cursor:  # an index built after the load records the table's size, as VACUUM does
        cursor.execute("CREATE INDEX issue_probe_key ON issues_issue (key)")
    assert "issues_issue" in table_statistics.tables_needing_statistics()  # sized, never analysed
    page = list(range(15_001, 15_101))  # a page of 100 stored ids
    for statement in lookup_statements(first, page):
        assert_on_the_unique_key(issue_scans(statement))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE issues_issue")
    assert "issues_issue" not in table_statistics.tables_needing_statistics()
    load_issues(second, other, 10_001, 20_000)
    assert "issues_issue" in table_statistics.tables_needing_statistics()  # twice the size it was analysed at
    for statement in lookup_statements(second, page):
        assert_on_the_unique_key(issue_scans(statement))
    # And they find what is there, and nothing of the other instance.
    assert sorted(stored_issues(second, [*page, 99_999_999])) == page
    assert sorted(jira_id for jira_id, *_ in issue_rows(first, [10_000, 10_001, 30_000, 30_001], ["id"])) == [
        10_001,
        30_000,
    ]


@pytest.mark.skipif("connection.vendor != 'sqlite'", reason="SQLite's plan")
@pytest.mark.django_db
def test_sqlite_finds_the_page_by_the_unique_index():
    instance = JiraInstance.objects.create(name="One", slug="one", base_url="https://one.example.net")
    project = Project.objects.create(instance=instance, jira_id=1, key="ONE", name="One")
    Issue.objects.bulk_create(
        Issue(instance=instance, project=project, jira_id=jira_id, key=f"ONE-{jira_id}") for jira_id in range(1, 2001)
    )
    for sql, params in lookup_statements(instance, list(range(500, 600))):
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
            plan = [row[-1] for row in cursor.fetchall()]
        # The unique constraint's index (SQLite names it sqlite_autoindex_…), searched by both columns.
        assert any(
            re.fullmatch(r"SEARCH issues_issue USING (COVERING )?INDEX \w+ \(instance_id=\? AND jira_id=\?\)", step)
            for step in plan
        ), plan
        assert not any(step.startswith("SCAN") or "TEMP B-TREE" in step for step in plan), plan


# --- statistics -----------------------------------------------------------------------------------------------


def table_sizes() -> dict[str, tuple[int, int, bool]]:
    """Per table: (pages now, pages when its statistics were taken, analysed at all)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, pg_relation_size(c.oid) / current_setting('block_size')::int, c.relpages, "
            "coalesce(pg_stat_get_last_analyze_time(c.oid), pg_stat_get_last_autoanalyze_time(c.oid)) IS NOT NULL "
            "FROM pg_class c WHERE c.oid = ANY(%s::regclass[])",
            [[model._meta.db_table for model in table_statistics.TABLES]],
        )
        return {name: (now, then, analysed) for name, now, then, analysed in cursor.fetchall()}


def analyses(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_get_analyze_count(%s::regclass)", [table])
        return cursor.fetchone()[0]


@postgres_only
@committed
def test_a_full_sync_analyses_its_tables_early_and_again_each_time_they_double(reference_mappings, settings):
    """After every page (the run's progress hook sees what the next page's lookups are planned with): no table
    past its first few pages is without statistics, and none is twice the size its statistics were taken at;
    and ANALYZE runs a handful of times, not once a page. The tables start empty, as pytest-django's flush
    leaves them (TRUNCATE: no size recorded), with autovacuum off for them as it may be on a server."""
    settings.JIRASYNC_PAGE_SIZE = 20
    tables = [model._meta.db_table for model in table_statistics.TABLES]
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"ALTER TABLE {table} SET (autovacuum_enabled = false)")
    try:
        assert all(then == 0 for now, then, _ in table_sizes().values()), table_sizes()
        before = analyses("issues_statuschange")
        with running_sim(flavour="cloud", projects=1, issues=400, seed=62, long_history_share=0.05) as server:
            instance = register(server, "instance_1")
            instance_discover_projects(instance, client_for(instance))
            project = Project.objects.get(instance=instance)
            seen: list[dict] = []
            options = RunOptions(full=True, progress=lambda run, page: seen.append(table_sizes()))
            run = sync_project(project.pk, options)
            assert run.status == SyncRun.Status.SUCCEEDED, run.error
            assert_database_equals_truth(server, instance)
        # Its long histories, completed after the pages, refreshed them again where they needed it.
        assert table_statistics.tables_needing_statistics() == []
        assert len(seen) == 20
        for after_page, sizes in enumerate(seen, start=1):
            for name, (now, then, analysed) in sizes.items():
                if now >= table_statistics.STATISTICS_FIRST_PAGES:
                    assert analysed and now < table_statistics.STATISTICS_GROWTH * then, (after_page, name, sizes)
        # Early: analysed after the very page that took it past its first few pages.
        sized = next(
            page
            for page, sizes in enumerate(seen, start=1)
            if sizes["issues_statuschange"][0] >= table_statistics.STATISTICS_FIRST_PAGES
        )
        analysed = next(page for page, sizes in enumerate(seen, start=1) if sizes["issues_statuschange"][1])
        assert analysed == sized <= 5, seen
        final = seen[-1]["issues_statuschange"][0]
        done = analyses("issues_statuschange") - before
        assert 2 <= done <= math.log2(final / table_statistics.STATISTICS_FIRST_PAGES) + 2, (done, final)
    finally:
        with connection.cursor() as cursor:
            for table in tables:
                cursor.execute(f"ALTER TABLE {table} RESET (autovacuum_enabled)")


# --- staging tables without TRUNCATE -------------------------------------------------------------------------


@postgres_only
@pytest.mark.django_db
def test_two_copies_into_one_staging_table_in_one_transaction_see_only_their_own_rows():
    """Staging tables are not truncated before each use: the statement that reads one deletes what it read,
    and a statement that fails takes its COPY back with its savepoint."""
    instance = JiraInstance.objects.create(name="One", slug="one", base_url="https://one.example.net")
    project = Project.objects.create(instance=instance, jira_id=1, key="ONE", name="One")
    issues = Issue.objects.bulk_create(
        Issue(instance=instance, project=project, jira_id=jira_id, key=f"ONE-{jira_id}") for jira_id in range(1, 9)
    )
    pk = {issue.jira_id: issue.pk for issue in issues}

    def raw(jira_ids: list[int], body: bytes | None = b"{}") -> list[int]:
        rows = [(pk[jira_id], body) for jira_id in jira_ids]
        return sorted(
            issue_id
            for (issue_id,) in rows_upsert_returning(
                IssueRaw, ["issue_id", "body"], rows, ["issue_id"], ["body"], ["issue_id"]
            )
        )

    with transaction.atomic():
        assert raw([1, 2, 3]) == [pk[1], pk[2], pk[3]]
        assert raw([4]) == [pk[4]]
        with pytest.raises(IntegrityError), transaction.atomic():
            raw([5, 6], body=None)  # the body may not be null: the INSERT fails after its COPY
        assert raw([7]) == [pk[7]]
        assert rows_update(Issue, ["key"], [(pk[1], "A")]) == 1
        assert rows_update(Issue, ["key"], [(pk[2], "B")]) == 1
    assert sorted(IssueRaw.objects.values_list("issue_id", flat=True)) == [pk[1], pk[2], pk[3], pk[4], pk[7]]
    assert sorted(Issue.objects.filter(key__in=["A", "B"]).values_list("jira_id", "key")) == [(1, "A"), (2, "B")]
