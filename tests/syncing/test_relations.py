"""Issue #14, items 4 and 5, against jirasim over HTTP: links, parent and sub-tasks, versions, components, boards,
sprints and sprint membership equal what the simulator holds after full, incremental and quiet syncs, while it
edits issues, moves them between sprints and starts and closes sprints."""

import logging
import re
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.db import connection
from django.urls import reverse

from agile.models import Board, IssueSprint, Sprint
from audit.models import AuditLog
from audit.services import COMMAND
from issues.models import Component, Issue, IssueComponent, IssueLink, IssueVersion, Version
from jirasim import catalog
from jirasim.faults import FaultRule
from jirasim.testing import running_sim
from syncing.models import IssueRetry, RunLogLine, SyncRun
from syncing.runs.remap import issues_remap
from syncing.runs.runner import RunOptions, sync_instance
from tests.support.sites import faults, register, search_requests
from tests.support.truth import assert_relations_equal_truth

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("flavour", ["cloud", "datacenter"])
def test_relations_and_sprints_equal_the_truth_after_full_incremental_and_quiet_syncs(flavour, reference_mappings):
    with running_sim(flavour=flavour, projects=2, issues=30, seed=14, sprints=True, long_history_share=0.0) as server:
        instance = register(server, "instance_1" if flavour == "cloud" else "instance_2")
        run = sync_instance(instance.pk, RunOptions(full=True))
        assert run.status == SyncRun.Status.SUCCEEDED, run.error
        boards = server.sim.board_list()
        assert {(b.jira_id, b.name, b.type) for b in Board.objects.filter(instance=instance)} == {
            (b["id"], b["name"], b["type"]) for b in boards
        }
        data = server.sim.data
        versions = {data.version_ref(p.index, i) for p in data.projects for i in range(len(catalog.VERSIONS))}
        assert {(str(v.jira_id), v.name) for v in Version.objects.filter(instance=instance)} == versions
        components = {data.component_ref(p.index, i) for p in data.projects for i in range(len(catalog.COMPONENTS))}
        assert {(str(c.jira_id), c.name) for c in Component.objects.filter(instance=instance)} == components
        assert IssueLink.objects.filter(issue__instance=instance, kind=IssueLink.Kind.LINK).exists()
        assert IssueLink.objects.filter(issue__instance=instance, kind=IssueLink.Kind.SUBTASK).exists()
        assert_relations_equal_truth(server, instance, sprints_listed=True)

        for round_ in range(2):
            server.sim.data.advance(
                minutes=60,
                update=0.2,
                create=3,
                move=1,
                activity={"sprints": {"close": round_ == 0, "move": 5}},
            )
            run = sync_instance(instance.pk, RunOptions())
            assert run.status == SyncRun.Status.SUCCEEDED, run.error
            assert_relations_equal_truth(server, instance, sprints_listed=False)

        server.sim.stats.reset()
        quiet = sync_instance(instance.pk, RunOptions())
        assert quiet.status == SyncRun.Status.SUCCEEDED and quiet.inserted == quiet.updated == 0
        assert search_requests(server) == 2  # a search per project
        assert not [name for name in server.sim.stats.snapshot() if "/rest/agile/" in name]  # full syncs only
        server.sim.data.advance(
            minutes=30, delete=2, activity={"sprints": {"close": True}}
        )  # the census sees deletions
        run = sync_instance(instance.pk, RunOptions(full=True))
        assert run.status == SyncRun.Status.SUCCEEDED, run.error
        assert_relations_equal_truth(server, instance, sprints_listed=True)


def test_a_link_to_an_issue_not_synced_is_kept_by_its_jira_id(reference_mappings):
    with running_sim(flavour="datacenter", projects=1, issues=40, seed=14) as server:
        even = sorted(server.sim.data.by_id)[::2]  # half the project: sub-task 11 of issue 10 is left out
        instance = register(server, "instance_2", jql_filter=f"id in ({', '.join(map(str, even))})")
        run = sync_instance(instance.pk, RunOptions(full=True))
        assert run.status == SyncRun.Status.SUCCEEDED, run.error
        stored = set(Issue.objects.filter(instance=instance).values_list("jira_id", flat=True))
        assert len(stored) == 20
        outside = IssueLink.objects.filter(issue__instance=instance).exclude(other_jira_id__in=stored)
        assert outside.exists()  # relations to issues outside the filter: stored by id and key, not dropped
        truth = {row["key"]: int(row["id"]) for row in server.sim.data.truth()}
        assert all(truth[link.other_key] == link.other_jira_id for link in outside)


def relation_rows(instance) -> dict[str, set]:
    scope = {"issue__instance": instance}
    return {
        "links": set(IssueLink.objects.filter(**scope).values_list("issue_id", "kind", "link_id", "other_jira_id")),
        "versions": set(IssueVersion.objects.filter(**scope).values_list("issue_id", "kind", "version_jira_id")),
        "components": set(IssueComponent.objects.filter(**scope).values_list("issue_id", "component_jira_id")),
        "stays": set(IssueSprint.objects.filter(**scope).values_list("issue_id", "sprint_jira_id", "added_at")),
    }


@pytest.mark.parametrize("flavour", ["cloud", "datacenter"])
def test_remapping_rebuilds_the_relations_from_the_raw_json_without_jira(
    flavour, cloud_site, dc_site, reference_mappings
):
    site = cloud_site if flavour == "cloud" else dc_site
    instance = register(site, "instance_1" if flavour == "cloud" else "instance_2")
    assert sync_instance(instance.pk, RunOptions(full=True)).status == SyncRun.Status.SUCCEEDED
    before = relation_rows(instance)
    assert all(before.values())
    data = site.sim.data
    epics = {data.key_of(data.parent(r)) for r in data.by_id.values() if data.role(r) == "epic-child"}
    parents = set(IssueLink.objects.filter(kind=IssueLink.Kind.PARENT).values_list("other_key", flat=True))
    assert epics and epics <= parents  # Data Center: read from the Epic Link, into the rows Cloud's parent fills
    links = IssueLink.objects.filter(issue__instance=instance, kind__in=[IssueLink.Kind.LINK, IssueLink.Kind.PARENT])
    touched = set(links.values_list("issue_id", flat=True))
    touched |= set(IssueVersion.objects.filter(issue__instance=instance).values_list("issue_id", flat=True))
    links.delete()
    IssueVersion.objects.filter(issue__instance=instance).update(name="stale")
    site.sim.stats.reset()
    dry = issues_remap(actor=COMMAND, instance_slug=instance.slug, dry_run=True)
    assert dry.relations_changed == len(touched) > 0
    result = issues_remap(actor=COMMAND, instance_slug=instance.slug)
    assert result.changed == 0  # the relations' field errors (none here) are re-derived alike
    assert result.relations_changed == len(touched)  # counted: not "0 changed" when rows were rewritten
    assert (
        f"{len(touched)} with their links, versions or components changed"
        in AuditLog.objects.get(action="remap").summary
    )
    assert relation_rows(instance) == before
    assert not IssueVersion.objects.filter(name="stale").exists()
    assert site.sim.stats.snapshot() == {}


def test_sprint_stays_of_long_histories_come_from_the_whole_history_once_it_is_completed(reference_mappings):
    # Cloud's search sends 40 histories at most: the Sprint items before them arrive with the history's completion.
    with running_sim(flavour="cloud", projects=1, issues=40, seed=15, sprints=True, long_history_share=0.3) as server:
        instance = register(server, "instance_1")
        run = sync_instance(instance.pk, RunOptions(full=True))
        assert run.status == SyncRun.Status.SUCCEEDED, run.error
        assert Issue.objects.filter(instance=instance, changelog_total__gt=40).count() >= 5
        assert not Issue.objects.filter(instance=instance, changelog_complete=False).exists()
        assert_relations_equal_truth(server, instance, sprints_listed=True)


def test_the_readmes_relation_queries_run_as_written_and_return_rows_for_each_instance(
    cloud_site, dc_site, reference_mappings
):
    readme = Path(settings.BASE_DIR, "README.md").read_text()
    block = re.search(r"The relation tables join the same way.*?```sql\n(.*?)```", readme, re.S).group(1)
    blocking, in_sprint = [part.strip() for part in block.split(";") if part.strip()]
    instances = [register(cloud_site, "instance_1"), register(dc_site, "instance_2")]
    for instance in instances:
        assert sync_instance(instance.pk, RunOptions(full=True)).status == SyncRun.Status.SUCCEEDED
    with connection.cursor() as cursor:
        cursor.execute(blocking)
        rows = cursor.fetchall()
        cursor.execute(in_sprint)
        members = cursor.fetchall()
    inward = IssueLink.objects.filter(kind="link", link_type="Blocks", direction="inward", issue__deleted_at=None)
    assert sorted((slug, key) for slug, key, _, _, _ in rows) == sorted(
        inward.values_list("issue__instance__slug", "issue__key")
    )
    assert all(text == "is blocked by" for _, _, text, _, _ in rows)
    assert {slug for slug, *_ in rows} == {"instance_1", "instance_2"}  # two sites' keys told apart
    for instance in instances:
        sprint = Sprint.objects.filter(instance=instance, state="closed").latest("complete_date")
        stays = IssueSprint.objects.filter(sprint_jira_id=sprint.jira_id, issue__instance=instance)
        mine = [row for row in members if row[0] == instance.slug]
        assert len(mine) == stays.count() > 0 and {row[1] for row in mine} == {sprint.name}
        assert {key for _, _, key, _, closing in mine if closing} == {
            stay.issue.key
            for stay in stays
            if stay.added_at <= sprint.complete_date
            and (stay.removed_at is None or stay.removed_at > sprint.complete_date)
        }


@pytest.mark.parametrize(
    ("endpoint", "what"),
    [
        ("GET /rest/agile/1.0/board", "boards and sprints"),
        ("GET /rest/api/3/project/{projectIdOrKey}/versions", "versions and components"),
    ],
)
def test_a_full_sync_whose_boards_or_catalogues_cannot_be_read_ends_partial_saying_why(
    endpoint, what, quick_retries, reference_mappings
):
    """Nothing read less is a success: the issues are stored all the same, the run says what was not read."""
    with running_sim(flavour="cloud", projects=1, issues=20, seed=5) as server:
        faults(server, {"kind": "503", "endpoint": endpoint})
        instance = register(server, "instance_1")
        run = sync_instance(instance.pk, RunOptions(full=True))
        assert run.status == SyncRun.Status.PARTIAL, (run.status, run.error)
        assert f"{what} were not read" in run.error and "503" in run.error, run.error
        assert Issue.objects.filter(instance=instance, deleted_at=None).count() == 20
        faults(server)  # Jira well again: the next full sync reads them and succeeds
        again = sync_instance(instance.pk, RunOptions(full=True))
        assert again.status == SyncRun.Status.SUCCEEDED, again.error
        assert again.error == ""


def test_an_agile_api_that_now_answers_404_keeps_the_stored_boards_and_warns_in_the_runs_log(
    reference_mappings, admin_client
):
    """Nothing is lost (the boards and sprints stay as they were), so the run succeeds, but a change worth a look
    is not an INFO line: a warning in the run's log, counted on the run's page."""
    with running_sim(flavour="cloud", projects=1, issues=20, seed=5) as server:
        instance = register(server, "instance_1")
        assert sync_instance(instance.pk, RunOptions(full=True)).status == SyncRun.Status.SUCCEEDED
        boards = sorted(Board.objects.filter(instance=instance, deleted_at=None).values_list("jira_id", flat=True))
        sprints = Sprint.objects.filter(instance=instance).count()
        assert boards and sprints
        gone = {"errorMessages": ["No Jira Software here"], "errors": {}}
        override = {"endpoint": "GET /rest/agile/1.0/board", "status": 404, "body": gone}
        assert requests.post(f"{server.url}/_sim/override", json=override, timeout=30).status_code == 200
        run = sync_instance(instance.pk, RunOptions(full=True))
        assert run.status == SyncRun.Status.SUCCEEDED, run.error
        assert sorted(Board.objects.filter(instance=instance, deleted_at=None).values_list("jira_id", flat=True)) == (
            boards
        )
        assert Sprint.objects.filter(instance=instance).count() == sprints
        warned = RunLogLine.objects.filter(run=run, level=logging.WARNING, message__contains="now answers 404")
        assert warned.count() == 1 and f"{len(boards)} boards read from it are stored" in warned.get().message
        page = admin_client.get(reverse("admin:syncing_syncrun_change", args=[run.pk])).content.decode()
        assert 'id="run-log-warnings"' in page and "1 warning or error" in page


def test_a_site_that_never_had_the_agile_api_is_told_in_the_log_without_a_warning(reference_mappings):
    with running_sim(flavour="cloud", projects=1, issues=10, seed=5) as server:
        gone = {"endpoint": "GET /rest/agile/1.0/board", "status": 404, "body": {"errorMessages": ["no"]}}
        assert requests.post(f"{server.url}/_sim/override", json=gone, timeout=30).status_code == 200
        instance = register(server, "instance_1")
        run = sync_instance(instance.pk, RunOptions(full=True))
        assert run.status == SyncRun.Status.SUCCEEDED, run.error
        assert not Board.objects.filter(instance=instance).exists()
        assert RunLogLine.objects.filter(run=run, level=logging.INFO, message__contains="no Agile API").exists()
        assert not RunLogLine.objects.filter(run=run, level__gte=logging.WARNING).exists()


@pytest.mark.parametrize("kind", ["503", "reset", "malformed"])
def test_an_epic_jira_cannot_be_asked_about_fails_its_childrens_rows_and_never_drops_a_stored_epic_row(
    kind, reference_mappings
):
    # Data Center names an epic by key; epics outside the JQL filter are looked up one by one (GET issue/{key}).
    lookup = "GET /rest/api/2/issue/{issueIdOrKey}"
    with running_sim(flavour="datacenter", projects=1, issues=40, seed=14, long_history_share=0.0) as server:
        data = server.sim.data
        children = sorted(r.id for r in data.by_id.values() if data.role(r) == "epic-child")
        epic_of = {data.key_of(r): data.key_of(data.parent(r)) for r in map(data.by_id.get, children)}
        assert len(children) >= 3
        instance = register(server, "instance_2", jql_filter=f"id in ({', '.join(map(str, children))})")
        server.sim.faults.replace([FaultRule(kind, endpoint=lookup)])
        run = sync_instance(instance.pk, RunOptions(full=True))
        assert run.status == SyncRun.Status.PARTIAL and run.failed_rows == len(children), (run.status, run.error)
        assert "(Epic Link) could not be looked up" in run.error
        assert not Issue.objects.filter(instance=instance).exists()  # not stored without the epic Jira has
        assert AuditLog.objects.filter(action="sync_row_failed", object_repr__in=epic_of).count() == len(children)
        assert IssueRetry.objects.filter(jira_id__in=children).count() == len(children)

        server.sim.faults.replace([])
        again = sync_instance(instance.pk, RunOptions())
        assert again.status == SyncRun.Status.SUCCEEDED, again.error
        parents = IssueLink.objects.filter(issue__instance=instance, kind=IssueLink.Kind.PARENT)
        stored = dict(parents.values_list("issue__key", "other_key"))
        assert stored == epic_of

        data.advance(minutes=30, update=1.0)  # every child edited: each read again, its epic looked up again
        server.sim.faults.replace([FaultRule(kind, endpoint=lookup)])
        later = sync_instance(instance.pk, RunOptions())
        assert later.status == SyncRun.Status.PARTIAL and later.failed_rows == len(children), later.error
        assert dict(parents.values_list("issue__key", "other_key")) == epic_of  # kept, not rewritten without it
