"""Field history (issue #14): every changelog item of the kept fields stored, equal to jirasim's truth after full,
incremental and no-change syncs while fields change; the per-instance choice of fields; the value of a field
at a moment; the reporting view's assignee at resolution — on SQLite and PostgreSQL, over HTTP."""

import io
from datetime import UTC, datetime, timedelta

import pytest
import requests
from django.core.management import call_command
from django.db import connection

from audit.services import COMMAND
from config.report_view import VIEW
from issues.models import FieldChange, Issue
from issues.selectors import FieldValue, field_value_at
from jirasim.testing import running_sim
from projects.models import JiraInstance
from syncing.instance_settings import instance_save
from syncing.models import SyncRun
from syncing.runs.runner import RunOptions, sync_instance
from tests.support.sites import register
from tests.support.truth import assert_database_equals_truth, assert_field_history_equals_truth, truth_field_changes

pytestmark = pytest.mark.django_db(transaction=True)


def advance(server, **body) -> dict:
    """Change the site over HTTP: statuses and the Rooms field edited, sprints moved, issues created and deleted."""
    answer = requests.post(f"{server.url}/_sim/advance", json=body, timeout=60)
    answer.raise_for_status()
    return answer.json()


def synced(instance: JiraInstance, *, full: bool = False) -> SyncRun:
    run = sync_instance(instance.pk, RunOptions(full=full))
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    return run


@pytest.mark.parametrize("flavour", ["cloud", "datacenter"])
def test_the_field_history_equals_the_truth_after_full_incremental_and_no_change_syncs(flavour, reference_mappings):
    with running_sim(flavour=flavour, projects=2, issues=25, seed=14, long_history_share=0.08) as server:
        instance = register(server, "instance_1" if flavour == "cloud" else "instance_2")  # the site's mappings
        synced(instance, full=True)
        kept = assert_field_history_equals_truth(server, instance)
        assert kept == FieldChange.objects.count() > 100
        assert {"assignee", "priority", "Sprint", "status", "Fix Version"} <= set(
            FieldChange.objects.values_list("field_name", flat=True)
        )

        done = advance(server, minutes=30, update=0.4, create=2, sprints={"close": True, "move": 4})
        assert done["updated"] and done["sprints"]["moved"]
        synced(instance)
        assert_database_equals_truth(server, instance)
        assert FieldChange.objects.filter(field_name="Rooms").exists()  # a custom field edited by the advance

        stored = set(FieldChange.objects.values_list("pk", "history_id", "position"))
        synced(instance)  # nothing changed: nothing written
        assert set(FieldChange.objects.values_list("pk", "history_id", "position")) == stored
        assert_field_history_equals_truth(server, instance)


def test_only_the_kept_fields_are_stored_narrowing_is_applied_by_remap_and_widening_rereads(reference_mappings):
    with running_sim(flavour="cloud", projects=1, issues=30, seed=15) as server:
        instance = register(server, "instance_1", field_history="assignee, Sprint")
        synced(instance, full=True)
        assert set(FieldChange.objects.values_list("field_name", flat=True)) == {"assignee", "Sprint"}
        assert_database_equals_truth(server, instance)  # status history kept whatever the field history keeps

        instance.field_history = "Assignee"  # by id or name, case-insensitively
        instance_save(instance=instance, actor=COMMAND)
        assert Issue.objects.filter(changelog_complete=False).count() == 0  # narrower: nothing to read again
        assert FieldChange.objects.filter(field_name="Sprint").exists()  # until a remap
        out = io.StringIO()
        server.sim.stats.reset()
        call_command("remap_issues", "instance_1", stdout=out)
        assert server.sim.stats.snapshot() == {}  # not a single request to Jira
        assert set(FieldChange.objects.values_list("field_name", flat=True)) == {"assignee"}
        assert "field changes of fields no longer kept deleted" in out.getvalue()
        instance.refresh_from_db()
        assert_field_history_equals_truth(server, instance)

        instance.field_history = "*"  # wider: the stored changelogs lack the new fields' items
        instance_save(instance=instance, actor=COMMAND)
        assert Issue.objects.filter(changelog_complete=True).count() == 0
        synced(instance)  # incremental: the flagged issues are read again
        assert Issue.objects.filter(changelog_complete=False).count() == 0
        instance.refresh_from_db()
        assert_database_equals_truth(server, instance)
        assert FieldChange.objects.filter(field_name="priority").exists()


def test_an_instance_that_keeps_no_field_history_stores_none_and_its_status_history_all_the_same(reference_mappings):
    with running_sim(flavour="datacenter", projects=1, issues=20, seed=16, long_history_share=0.1) as server:
        instance = register(server, "instance_2", field_history="")
        synced(instance, full=True)
        assert not FieldChange.objects.exists()
        assert_database_equals_truth(server, instance)


def test_the_value_of_a_field_at_a_moment_before_between_and_after_its_changes(reference_mappings):
    with running_sim(flavour="cloud", projects=1, issues=30, seed=17) as server:
        instance = register(server, "instance_1")
        synced(instance, full=True)
        truth = truth_field_changes(server)
        assignees = {
            jira_id: sorted(item for item in items if item[3] == "assignee") for jira_id, items in truth.items()
        }
        jira_id, changes = max(assignees.items(), key=lambda pair: len(pair[1]))
        assert len(changes) >= 2
        issue = Issue.objects.get(jira_id=jira_id)
        first, second = changes[0], changes[1]
        second_ms = timedelta(milliseconds=1)
        # Before the first change: the first change's `from` (here: unassigned, Jira's null).
        assert field_value_at(issue, "assignee", first[2] - second_ms) == FieldValue(first[6], first[7], None)
        assert field_value_at(issue, "assignee", first[2]) == FieldValue(first[8], first[9], first[2])
        between = first[2] + (second[2] - first[2]) / 2
        assert field_value_at(issue.pk, "assignee", between) == FieldValue(first[8], first[9], first[2])
        last = changes[-1]
        later = datetime.now(UTC) + timedelta(days=3650)
        assert field_value_at(issue, "assignee", later) == FieldValue(last[8], last[9], last[2])
        priorities = sorted(item for item in truth[jira_id] if item[3] == "priority")
        if priorities:  # another field of the same issue is told apart
            assert field_value_at(issue, "priority", later).string == priorities[-1][9]
        assert field_value_at(issue, "customfield_99999", later) is None  # never changed: no answer from history


def test_the_reporting_view_gives_the_assignee_at_resolution(reference_mappings):
    with running_sim(flavour="datacenter", projects=1, issues=40, seed=18) as server:
        instance = register(server, "instance_2")
        synced(instance, full=True)
        truth = truth_field_changes(server)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT jira_id, resolved, assignee, assignee_at_resolution FROM {VIEW}")
            rows = cursor.fetchall()
        resolved = [row for row in rows if row[1] is not None]
        assert resolved and any(row[2] != row[3] for row in resolved), "no issue changed hands after resolution"
        for jira_id, at, now, at_resolution in rows:
            if at is None:
                assert at_resolution is None
                continue
            at = at if isinstance(at, datetime) else datetime.fromisoformat(at)
            at = at if at.tzinfo else at.replace(tzinfo=UTC)  # SQLite's cursor: naive UTC
            changes = sorted(item for item in truth[jira_id] if item[4] == "assignee")
            before = [item for item in changes if item[2] <= at]
            expected = before[-1][9] if before else changes[0][7] if changes else now
            assert at_resolution == expected, (jira_id, at, changes)


def _at_resolution() -> dict[int, tuple]:
    """{jira id: (resolved, assignee, assignee_at_resolution)} of the reporting view's resolved rows."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT jira_id, resolved, assignee, assignee_at_resolution FROM {VIEW} WHERE resolved IS NOT NULL"
        )
        return {row[0]: row[1:] for row in cursor.fetchall()}


def test_the_assignee_at_resolution_is_null_when_the_history_cannot_say_who_held_the_issue(reference_mappings):
    with running_sim(flavour="cloud", projects=1, issues=40, seed=18) as server:
        # The assignee not kept: no assignee change stored says nothing of who held an issue.
        instance = register(server, "instance_1", field_history="priority")
        synced(instance, full=True)
        rows = _at_resolution()
        assert rows and any(row[1] for row in rows.values())  # resolved issues that have an assignee now
        assert {row[2] for row in rows.values()} == {None}
        # Kept from now on: until their changelogs are read again with it, still not known.
        instance.field_history = "priority, assignee"
        instance_save(instance=instance, actor=COMMAND)
        assert {row[2] for row in _at_resolution().values()} == {None}
        synced(instance)
        truth = truth_field_changes(server)
        for jira_id, (_, now, at_resolution) in _at_resolution().items():
            changes = [item for item in truth[jira_id] if item[3] == "assignee"]
            if not changes:  # read whole with the assignee kept and never changed: the current one is known
                assert at_resolution == now, jira_id
        assert any(value[2] for value in _at_resolution().values())


def test_the_readmes_field_history_queries_run_and_metrics_count_the_table(client, settings, reference_mappings):
    with running_sim(flavour="cloud", projects=1, issues=20, seed=19) as server:
        instance = register(server, "instance_1")
        synced(instance, full=True)
    readme = (settings.BASE_DIR / "README.md").read_text()
    section = readme[readme.index("The field history answers questions") : readme.index("The relation tables join")]
    queries = [query for block in section.split("```sql")[1:] for query in block.split("```")[0].split(";")]
    with connection.cursor() as cursor:
        for query in filter(str.strip, queries):
            cursor.execute(query)
            assert cursor.fetchall(), query
    settings.METRICS_TOKEN, settings.METRICS_ALLOWED_IPS = "", ["127.0.0.1"]
    metrics = client.get("/metrics").content.decode()
    assert 'jirasync_table_rows{table="issues_fieldchange"}' in metrics
    if connection.vendor == "sqlite":  # exact counts there; PostgreSQL's are the planner's estimates
        assert f'jirasync_table_rows{{table="issues_fieldchange"}} {float(FieldChange.objects.count())}' in metrics
