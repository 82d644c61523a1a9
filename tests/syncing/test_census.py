"""The census: deleted, moved and re-appearing issues, and the guard against a lost permission."""

import io
from datetime import UTC, datetime

import pytest
import requests
from django.core.management import call_command

from audit.models import AuditLog
from issues.models import FieldChange, Issue
from jirasim.testing import running_sim
from projects.models import Project
from syncing.models import SyncRun
from syncing.runs.runner import RunOptions, sync_instance
from tests.support.sites import register
from tests.support.truth import assert_database_equals_truth

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("flavour", ["cloud", "datacenter"])
def test_after_a_census_deleted_are_soft_deleted_moved_updated_in_place_and_restored_live(flavour, reference_mappings):
    with running_sim(flavour=flavour, projects=2, issues=40, seed=21) as server:
        instance = register(server, "instance_1" if flavour == "cloud" else "instance_2")
        sync_instance(instance.pk, RunOptions(full=True))
        data = server.sim.data
        done = data.advance(minutes=10, delete=4, move=3)
        restored_id = int(next(iter(data.by_key[key].id for key in done["deleted"])))
        data.restore(restored_id)
        census = sync_instance(instance.pk, RunOptions(census=True))
        assert census.status == SyncRun.Status.SUCCEEDED, census.error
        assert census.deleted == 3 and census.kind == SyncRun.Kind.CENSUS
        gone = Issue.objects.filter(deleted_at__isnull=False)
        assert sorted(gone.values_list("key", flat=True)) == sorted(
            k for k in done["deleted"] if data.by_key[k].id != restored_id
        )
        for move in done["moved"]:
            issue = Issue.objects.get(jira_id=int(move["id"]))  # one row, followed by id
            assert issue.key == move["to"] and issue.project.key == move["to"].split("-")[0]
            assert issue.status_changes.exists()  # history kept
        assert Issue.objects.get(jira_id=restored_id).deleted_at is None
        assert AuditLog.objects.filter(action="soft_delete").count() == 3
        sync_instance(instance.pk, RunOptions())  # the moves also changed the issues: pick up their new state
        assert_database_equals_truth(server, instance)


@pytest.mark.parametrize("flavour", ["cloud", "datacenter"])
def test_an_issue_moved_behind_the_watermarks_is_read_again_with_the_history_of_its_move(flavour, reference_mappings):
    """A move can land behind the target project's watermark (its run passed the moved issue's new `updated`
    before the issue showed up in its listing): an incremental sync would never read it, and the history
    holding the move (project, Key items) would never be stored. The census flags what it moves for a re-read."""
    with running_sim(flavour=flavour, projects=2, issues=30, seed=24) as server:
        instance = register(server, "instance_1" if flavour == "cloud" else "instance_2")
        sync_instance(instance.pk, RunOptions(full=True))
        moved = server.sim.data.advance(minutes=10, move=3)["moved"]
        assert moved
        Project.objects.filter(instance=instance).update(sync_watermark=datetime(2100, 1, 1, tzinfo=UTC))
        census = sync_instance(instance.pk, RunOptions(census=True))
        assert census.status == SyncRun.Status.SUCCEEDED, census.error
        ids = [int(move["id"]) for move in moved]
        assert not Issue.objects.filter(jira_id__in=ids, changelog_complete=True).exists()  # flagged, not whole
        run = sync_instance(instance.pk, RunOptions())
        assert run.status == SyncRun.Status.SUCCEEDED, run.error
        for jira_id in ids:
            items = set(FieldChange.objects.filter(issue__jira_id=jira_id).values_list("field_name", flat=True))
            assert {"project", "Key"} <= items, (jira_id, items)
        assert_database_equals_truth(server, instance)


def test_a_re_appearing_soft_deleted_issue_is_restored(reference_mappings):
    with running_sim(flavour="cloud", projects=1, issues=20, seed=22) as server:
        instance = register(server, "instance_1")
        sync_instance(instance.pk, RunOptions(full=True))
        gone = server.sim.data.advance(minutes=1, delete=1)["deleted"][0]
        sync_instance(instance.pk, RunOptions(census=True))
        assert Issue.objects.get(key=gone).deleted_at is not None
        server.sim.data.restore(server.sim.data.by_key[gone].id)
        sync_instance(instance.pk, RunOptions(census=True))
        assert Issue.objects.get(key=gone).deleted_at is None
        assert AuditLog.objects.filter(action="restore", object_repr=gone).exists()


def test_the_guard_stops_a_census_when_the_account_loses_access_to_a_projects_issues(reference_mappings):
    with running_sim(flavour="cloud", projects=2, issues=30, seed=23) as server:
        instance = register(server, "instance_1")
        sync_instance(instance.pk, RunOptions(full=True))
        # An issue security level now hides every OPS issue from the account.
        requests.post(f"{server.url}/_sim/access", json={"project": "OPS", "issues_visible": False}, timeout=60)
        census = sync_instance(instance.pk, RunOptions(census=True))
        assert census.status == SyncRun.Status.PARTIAL
        refused = census.children.get(project__key="OPS")
        assert refused.status == SyncRun.Status.FAILED
        assert "30 of 30 stored issues are gone" in refused.error and "nothing was deleted" in refused.error
        assert not Issue.objects.filter(deleted_at__isnull=False).exists()
        assert census.children.get(project__key="SHOOT").status == SyncRun.Status.SUCCEEDED


def test_a_full_sync_ends_with_a_census_whose_counts_are_kept_per_project_and_cost_one_page(reference_mappings):
    with running_sim(flavour="cloud", projects=1, issues=300, seed=24) as server:
        instance = register(server, "instance_1")
        server.sim.data.advance(minutes=1, delete=0)
        run = sync_instance(instance.pk, RunOptions(full=True))
        census = run.children.get(kind=SyncRun.Kind.CENSUS)
        assert census.status == SyncRun.Status.SUCCEEDED and census.fetched == 300
        assert census.requests == 1  # 300 ids fit in one page (Cloud: up to 5,000)
        project = Project.objects.get(instance=instance)
        assert (project.census_count, project.stored_count) == (300, 300)
        assert project.last_census_at is not None


def test_sync_jira_census_runs_from_the_command_line(reference_mappings):
    with running_sim(flavour="datacenter", projects=1, issues=15, seed=25) as server:
        instance = register(server, "instance_2")
        sync_instance(instance.pk, RunOptions(full=True))
        server.sim.data.advance(minutes=1, delete=2)
        out = io.StringIO()
        call_command("sync_jira", instance.slug, "--census", stdout=out)
        assert "census" in out.getvalue()
        assert Issue.objects.filter(deleted_at__isnull=False).count() == 2


@pytest.mark.parametrize("flavour", ["cloud", "datacenter"])
def test_a_census_fetches_and_stores_the_issues_jira_lists_and_the_database_lacks(flavour, reference_mappings):
    with running_sim(flavour=flavour, projects=2, issues=40, seed=26, long_history_share=0.1) as server:
        instance = register(server, "instance_1" if flavour == "cloud" else "instance_2")
        sync_instance(instance.pk, RunOptions(full=True))
        # Issues a sync missed, whatever the reason: here removed from the database behind its back.
        missed = list(Issue.objects.filter(instance=instance).order_by("?").values_list("jira_id", "key")[:7])
        Issue.objects.filter(instance=instance, jira_id__in=[jira_id for jira_id, _ in missed]).delete()
        census = sync_instance(instance.pk, RunOptions(census=True))
        assert census.status == SyncRun.Status.SUCCEEDED, census.error
        assert census.recovered == 7 and census.deleted == 0
        assert sum(census.children.values_list("recovered", flat=True)) == 7
        assert_database_equals_truth(server, instance)  # fields, whole histories and milestones included
        recovered = set(AuditLog.objects.filter(action="census_recover").values_list("object_repr", flat=True))
        assert recovered == {key for _, key in missed}
        for project in Project.objects.filter(instance=instance):
            assert project.census_count == project.stored_count == project.issues.filter(deleted_at=None).count()
        again = sync_instance(instance.pk, RunOptions(census=True))
        assert again.recovered == 0 and again.status == SyncRun.Status.SUCCEEDED


@pytest.mark.parametrize("flavour", ["cloud", "datacenter"])
def test_a_census_recovers_only_what_the_instances_jql_filter_lets_the_sync_read(flavour, reference_mappings):
    with running_sim(flavour=flavour, projects=1, issues=30, seed=24) as server:
        created = {
            int(row["id"]): datetime.fromtimestamp(server.sim.data.by_id[int(row["id"])].created_ms / 1000, UTC)
            for row in server.sim.data.truth()
        }
        since = sorted(created.values())[len(created) // 2].strftime("%Y-%m-%d")  # about half are on or after it
        in_scope = {jira_id for jira_id, moment in created.items() if moment.strftime("%Y-%m-%d") >= since}
        assert 0 < len(in_scope) < len(created)
        instance = register(
            server, "instance_1" if flavour == "cloud" else "instance_2", jql_filter=f'created >= "{since}"'
        )
        run = sync_instance(instance.pk, RunOptions(full=True))  # ends with its census
        assert run.status == SyncRun.Status.SUCCEEDED, run.error
        assert set(Issue.objects.values_list("jira_id", flat=True)) == in_scope
        assert not AuditLog.objects.filter(action="census_recover").exists()
        project = Project.objects.get(instance=instance)
        assert project.census_count == project.stored_count == len(in_scope)
        # One deleted in Jira is still followed (the whole project is listed for deletions).
        gone = next(iter(in_scope))
        server.sim.data.change(delete=[server.sim.data.by_id[gone]])
        census = sync_instance(instance.pk, RunOptions(census=True))
        assert census.status == SyncRun.Status.SUCCEEDED and census.deleted == 1
        assert Issue.objects.get(jira_id=gone).deleted_at is not None
