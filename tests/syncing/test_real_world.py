"""Real-world Jira: each fault's whole kind, done to us by jirasim over HTTP, with the right stored values.

Kinds (issue #11): paging over a result that changes while it is read; pagination that does not advance;
less data overwriting more; histories believed complete when they are not; derived facts that disagree
with the issue. (The census's second direction is in test_census.py; status look-alike fields, sprint
strings and rich text in test_processor_real_world.py and test_sim_rich_data.py.)
"""

import itertools
import threading
from datetime import timedelta

import pytest
import requests

from audit.models import AuditLog
from issues.models import Issue, IssueMilestone, StatusChange, TimeInStatus
from jirasim.testing import running_sim
from projects.models import Project
from syncing.engine import pipeline
from syncing.engine.history import INFERRED_HISTORY_ID
from syncing.engine.store import stored_issues
from syncing.models import SyncRun
from syncing.monitoring.metrics import DatabaseCollector
from syncing.runs.runner import RunOptions, project_plan, sync_instance, sync_project
from syncing.site.clients import client_for, instance_discover_projects
from tests.support.sites import faults, register
from tests.support.truth import assert_database_equals_truth, moment

pytestmark = pytest.mark.django_db(transaction=True)

SLUG = {"cloud": "instance_1", "datacenter": "instance_2"}
SEARCH = {"cloud": "POST /rest/api/3/search/jql", "datacenter": "POST /rest/api/2/search"}


def inflicted(server) -> dict:
    return requests.get(f"{server.url}/_sim/faults", timeout=30).json()["inflicted"]


def stored_state(instance) -> dict[int, tuple]:
    """What is stored of every issue: the row's core and mapped values, its history, milestones, time in status."""
    state = {}
    for issue in Issue.objects.filter(instance=instance):
        state[issue.jira_id] = (
            issue.key,
            issue.summary,
            issue.status,
            issue.updated,
            issue.fields,
            sorted(StatusChange.objects.filter(issue=issue).values_list("history_id", "changed_at", "to_status")),
            sorted(IssueMilestone.objects.filter(issue=issue).values_list("milestone__name", "first_reached")),
            sorted(TimeInStatus.objects.filter(issue=issue).values_list("status", "visits", "current")),
        )
    return state


def metric(name: str, **labels: str) -> float:
    total = 0.0
    for family in DatabaseCollector().collect():
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total


# --- 1. paging over a result that changes while it is read ------------------------------------------------


@pytest.mark.parametrize("flavour", ["cloud", "datacenter"])
@pytest.mark.parametrize("kind", ["full", "incremental"])
def test_a_sync_reads_every_issue_although_others_are_edited_deleted_moved_and_created_between_pages(
    flavour, kind, reference_mappings, settings
):
    settings.JIRASYNC_PAGE_SIZE = 5
    settings.JIRASYNC_CENSUS_MAX_DELETE_SHARE = 0.9  # the disturbances delete many: they are real here
    with running_sim(
        flavour=flavour, projects=2, issues=60, seed=41, cloud_tokens="live", long_history_share=0.05
    ) as server:
        instance = register(server, SLUG[flavour])
        if kind == "incremental":
            sync_instance(instance.pk, RunOptions(full=True))
            server.sim.data.advance(minutes=30, update=0.5)  # half the issues change: a long incremental
        at_start = {int(row["id"]): row["key"].split("-")[0] for row in server.sim.data.truth()}
        # After every page: edit two issues already served, delete one, move one to the other project,
        # create one — an offset reader skips issues on every page.
        faults(
            server,
            {
                "kind": "disturb",
                "endpoint": SEARCH[flavour],
                "listing": "full",
                "after_page": 1,
                "repeat": True,
                "edit": 2,
                "delete": 1,
                "move": 1,
                "create": 1,
            },
        )
        run = sync_instance(instance.pk, RunOptions(full=kind == "full"))
        assert run.status == SyncRun.Status.SUCCEEDED, run.error
        report = requests.get(f"{server.url}/_sim/faults", timeout=30).json()
        disturbances = report["disturbances"]
        assert disturbances, "the disturbance must have happened"
        # An offset-paging reader would have skipped these (the fault bites); a seek reader skips none.
        assert sum(len(d["skipped"]) for d in disturbances) > 0
        moved = {int(m["id"]) for d in disturbances for m in d.get("moved", [])}
        faults(server)
        truth = {int(row["id"]): row for row in server.sim.data.truth()}
        stored = {issue.jira_id: issue for issue in Issue.objects.filter(instance=instance)}
        # Every issue that matched at the start and stayed in its project was read, in its latest state
        # (moved ones are the other project's, and the census's, to follow).
        stayed = [jira_id for jira_id in at_start if jira_id in truth and jira_id not in moved]
        missing = [truth[jira_id]["key"] for jira_id in stayed if jira_id not in stored]
        assert not missing, f"skipped while others changed: {missing}"
        stale = [
            truth[jira_id]["key"]
            for jira_id in stayed
            if (stored[jira_id].key, stored[jira_id].status) != (truth[jira_id]["key"], truth[jira_id]["status"])
        ]
        assert not stale, f"read, but not as Jira has them now: {stale}"
        census = sync_instance(instance.pk, RunOptions(census=True))  # deletions and moves are the census's
        assert census.status == SyncRun.Status.SUCCEEDED, census.error
        sync_instance(instance.pk, RunOptions())
        assert_database_equals_truth(server, instance)


def assert_nothing_unread_behind_the_watermark(server, instance) -> None:
    """Every live issue of a project changed before the project's watermark is stored as Jira has it now."""
    stored = {issue.jira_id: issue for issue in Issue.objects.filter(instance=instance, deleted_at__isnull=True)}
    truth_rows = server.sim.data.truth()
    for project in Project.objects.filter(instance=instance, sync_watermark__isnull=False):
        mark = int(project.sync_watermark.timestamp() * 1000)
        behind = [row for row in truth_rows if row["project"] == project.key and row["updated"] < mark]
        wrong = [
            row["key"]
            for row in behind
            if int(row["id"]) not in stored
            or (stored[int(row["id"])].key, stored[int(row["id"])].updated) != (row["key"], moment(row["updated"]))
        ]
        assert not wrong, f"{project.key}: behind the watermark but unread or stale: {wrong}"


@pytest.mark.parametrize("flavour", ["cloud", "datacenter"])
@pytest.mark.parametrize("kind", ["full", "incremental"])
def test_issues_sharing_one_updated_instant_are_all_read_although_others_change_while_it_is_paged(
    flavour, kind, reference_mappings, settings
):
    """A bulk change gives all of a project's issues one millisecond; pages of 2 read inside that instant
    while the first issue read is edited (it leaves for a later instant), and others are edited, deleted,
    moved and created: an offset or token inside the instant skips one; the key bound skips none."""
    settings.JIRASYNC_PAGE_SIZE = 2
    settings.JIRASYNC_CENSUS_MAX_DELETE_SHARE = 0.9
    with running_sim(
        flavour=flavour, projects=2, issues=28, seed=47, cloud_tokens="live", long_history_share=0.05
    ) as server:
        instance = register(server, SLUG[flavour])
        data = server.sim.data
        if kind == "incremental":
            assert sync_instance(instance.pk, RunOptions(full=True)).status == SyncRun.Status.SUCCEEDED
        else:
            instance_discover_projects(instance, client_for(instance))
        ops = sorted((r for r in data.live() if data.projects[r.project].key == "OPS"), key=lambda r: r.number)
        bulk = data.change(edit=ops, minutes=60)  # a bulk change: every OPS issue at one millisecond
        assert len(ops) >= 8 and {r.updated_ms for r in ops} == {bulk["now"]}
        at_start = {int(row["id"]) for row in data.truth() if row["project"] == "OPS"}
        first = bulk["updated"][0]  # the lowest key: read first inside the instant
        rule = {"kind": "disturb", "endpoint": SEARCH[flavour], "listing": "full"}
        faults(
            server,
            {**rule, "keys": [first], "nth": [2]},  # after page 2 (inside the instant): the first read is edited
            {**rule, "nth": [3, 4], "edit": 1, "delete": 1, "create": 1},
            {**rule, "nth": [5], "move": 1, "create": 1},
        )
        project = Project.objects.get(instance=instance, key="OPS")
        run = sync_project(project.pk, RunOptions(full=kind == "full"))
        assert run.status == SyncRun.Status.SUCCEEDED, run.error
        disturbances = requests.get(f"{server.url}/_sim/faults", timeout=30).json()["disturbances"]
        faults(server)
        truth = {int(row["id"]): row for row in data.truth()}
        gone = {int(m["id"]) for d in disturbances for m in d["moved"]}
        stayed = [jira_id for jira_id in at_start if jira_id in truth and jira_id not in gone]
        stored = {issue.jira_id: issue for issue in Issue.objects.filter(instance=instance)}
        wrong = [
            truth[jira_id]["key"]
            for jira_id in stayed
            if jira_id not in stored
            or (stored[jira_id].key, stored[jira_id].status, stored[jira_id].updated)
            != (truth[jira_id]["key"], truth[jira_id]["status"], moment(truth[jira_id]["updated"]))
        ]
        assert not wrong, f"skipped or stale after the instant was paged: {wrong}"
        # Read by the sync itself: not left for the census that follows a full sync to find.
        assert not SyncRun.objects.filter(project=project, kind=SyncRun.Kind.CENSUS, recovered__gt=0).exists()
        # The disturbances hit the instant's pages, and an offset reader would have skipped issues there.
        assert first in disturbances[0]["updated"] and len(disturbances) == 4
        assert all("key >" in d["jql"] for d in disturbances[1:]), [d["jql"] for d in disturbances]
        assert any(d["moved"] for d in disturbances) and all(d["skipped"] for d in disturbances)
        assert_nothing_unread_behind_the_watermark(server, instance)
        assert sync_instance(instance.pk, RunOptions(census=True)).status == SyncRun.Status.SUCCEEDED
        assert sync_instance(instance.pk, RunOptions()).status == SyncRun.Status.SUCCEEDED
        assert_database_equals_truth(server, instance)


@pytest.mark.parametrize("flavour", ["cloud", "datacenter"])
def test_a_sync_under_steady_changes_ends_partial_and_the_watermark_passes_nothing_unread(
    flavour, reference_mappings, settings
):
    """Two issues edited and two created after every page of three: the result grows faster than it is
    read. The run stops after reading four times as many issues as matched at its start, partial, saying why."""
    settings.JIRASYNC_PAGE_SIZE = 3
    with running_sim(flavour=flavour, projects=1, issues=60, seed=53, long_history_share=0.05) as server:
        instance = register(server, SLUG[flavour])
        assert sync_instance(instance.pk, RunOptions(full=True)).status == SyncRun.Status.SUCCEEDED
        server.sim.data.advance(minutes=30, update=0.5)
        faults(
            server,
            {
                "kind": "disturb",
                "endpoint": SEARCH[flavour],
                "listing": "full",
                "after_page": 1,
                "repeat": True,
                "edit": 2,
                "create": 2,
            },
        )
        project = Project.objects.get(instance=instance)
        watermark_before = project.sync_watermark
        since = (watermark_before - timedelta(minutes=settings.JIRASYNC_SYNC_OVERLAP_MINUTES)).timestamp() * 1000
        matched_at_start = sum(1 for row in server.sim.data.truth() if row["updated"] >= since)
        stop = threading.Event()
        deadline = threading.Timer(300, stop.set)  # a run that does not end is cancelled, and fails the test
        deadline.start()
        try:
            run = sync_project(project.pk, RunOptions(stop=stop))
        finally:
            deadline.cancel()
        assert run.status == SyncRun.Status.PARTIAL, (run.status, run.error)
        assert "kept changing faster than they could be read" in run.error, run.error
        assert "the next run continues from the watermark" in run.error
        # Four times what matched at its start, plus a page. Data Center's total comes with the first page; Cloud's
        # count is asked beside the second, and answered after as many pages as a busy machine lets pass (each adding
        # two created issues): the limit is what the run was told, which it records.
        counted = run.expected_issues
        assert counted is not None and matched_at_start <= counted, (counted, matched_at_start)
        if flavour == "datacenter":
            assert counted == matched_at_start
        limit = 4 * counted + 3
        assert limit <= run.fetched < limit + 3, (run.fetched, counted, matched_at_start)
        project.refresh_from_db()
        assert project.sync_watermark > watermark_before
        assert_nothing_unread_behind_the_watermark(server, instance)
        faults(server)
        follow_up = sync_instance(instance.pk, RunOptions())
        assert follow_up.status == SyncRun.Status.SUCCEEDED, follow_up.error
        assert_database_equals_truth(server, instance)


@pytest.mark.parametrize("flavour", ["cloud", "datacenter"])
def test_an_issue_another_project_stored_after_the_page_looked_it_up_is_updated_not_inserted_twice(
    flavour, reference_mappings, monkeypatch
):
    """Both projects of a move read the moved issue; their pages look stored state up before their
    transactions, so one may see "new" what the other stores meanwhile. The page must then update it,
    history included, not fail on its unique keys."""
    with running_sim(flavour=flavour, projects=2, issues=30, seed=43, long_history_share=0.05) as server:
        instance = register(server, SLUG[flavour])
        assert sync_instance(instance.pk, RunOptions(full=True)).status == SyncRun.Status.SUCCEEDED
        issue = Issue.objects.filter(instance=instance).exclude(project__key="OPS").order_by("jira_id").first()
        data = server.sim.data
        data.change(move=[data.by_id[issue.jira_id]], minutes=5)  # to OPS, the other project
        # The lookup ran before the other project's commit: it found nothing stored.
        monkeypatch.setattr(pipeline, "stored_issues", lambda instance, jira_ids: {})
        plan = project_plan(Project.objects.get(instance=instance, key="OPS"), RunOptions())
        client = client_for(instance)
        (page,) = client.search_pages(f"id = {issue.jira_id}", plan.fields(), changelog=True, page_size=5)
        result = pipeline.page_sync(client, plan, page, run_id=None)
        assert (result.failed, result.inserted, result.updated) == ([], 0, 1)
        monkeypatch.undo()
        assert_database_equals_truth(server, instance)


@pytest.mark.parametrize("flavour", ["cloud", "datacenter"])
def test_an_older_read_of_an_issue_never_replaces_a_newer_version_stored_meanwhile(
    flavour, reference_mappings, monkeypatch
):
    """Two projects' runs read a moved issue at different moments; the slower one's page commits last. Its
    older answer must not overwrite the newer one (nothing would ever read the issue again to repair it)."""
    with running_sim(flavour=flavour, projects=2, issues=30, seed=44, long_history_share=0.05) as server:
        instance = register(server, SLUG[flavour])
        assert sync_instance(instance.pk, RunOptions(full=True)).status == SyncRun.Status.SUCCEEDED
        issue = Issue.objects.filter(instance=instance, project__key="SHOOT").order_by("jira_id").first()
        data = server.sim.data
        plan = project_plan(Project.objects.get(instance=instance, key="SHOOT"), RunOptions())
        client = client_for(instance)
        (old_page,) = client.search_pages(f"id = {issue.jira_id}", plan.fields(), changelog=True, page_size=5)
        looked_up = stored_issues(instance, [issue.jira_id])  # the slow page's lookup, before the other run
        data.change(edit=[data.by_id[issue.jira_id]], minutes=5)  # edited in Jira after that read
        data.change(move=[data.by_id[issue.jira_id]], minutes=5)  # and moved to OPS
        assert sync_instance(instance.pk, RunOptions()).status == SyncRun.Status.SUCCEEDED  # stores the new one
        newer = Issue.objects.get(pk=issue.pk)
        monkeypatch.setattr(pipeline, "stored_issues", lambda instance, jira_ids: looked_up)
        result = pipeline.page_sync(client, plan, old_page, run_id=None)  # the slow run's page commits now
        monkeypatch.undo()
        assert (result.failed, result.inserted, result.updated, result.unchanged) == ([], 0, 0, 1)
        kept = Issue.objects.get(pk=issue.pk)
        assert (kept.updated, kept.project_id, kept.key, kept.fields) == (
            newer.updated,
            newer.project_id,
            newer.key,
            newer.fields,
        )
        assert_database_equals_truth(server, instance)


# --- 3. pagination that does not advance --------------------------------------------------------------------


PAGING_FAULTS = [
    # Search never follows a token (each page is a new seek): a repeated token reaches it as the same page again.
    ("cloud", {"kind": "repeat-token", "endpoint": "POST /rest/api/3/search/jql"}, "the same page again"),
    ("cloud", {"kind": "repeat-page", "endpoint": "POST /rest/api/3/search/jql"}, "search/jql"),
    ("cloud", {"kind": "empty-page", "endpoint": "POST /rest/api/3/search/jql"}, "empty but says more"),
    ("datacenter", {"kind": "repeat-page", "endpoint": "POST /rest/api/2/search"}, "/rest/api/2/search"),
    ("datacenter", {"kind": "empty-page", "endpoint": "POST /rest/api/2/search"}, "empty but says more"),
    ("cloud", {"kind": "repeat-token", "endpoint": "POST /rest/api/3/changelog/bulkfetch"}, "bulkfetch"),
    ("cloud", {"kind": "empty-page", "endpoint": "POST /rest/api/3/changelog/bulkfetch"}, "bulkfetch"),
    (
        "datacenter",
        {"kind": "ignore-start-at", "endpoint": "GET /rest/api/2/issue/{issueIdOrKey}/changelog"},
        "changelog",
    ),
    ("cloud", {"kind": "ignore-start-at", "endpoint": "GET /rest/api/3/project/search"}, "project/search"),
    ("cloud", {"kind": "repeat-page", "endpoint": "GET /rest/api/3/project/search"}, "project/search"),
]


@pytest.mark.parametrize(
    ("flavour", "rule", "said"),
    PAGING_FAULTS,
    ids=[f"{f}-{r['kind']}-{r['endpoint'].split('/')[-1]}" for f, r, _ in PAGING_FAULTS],
)
def test_paging_that_does_not_advance_fails_the_run_naming_the_endpoint_and_rewrites_nothing(
    flavour, rule, said, reference_mappings, settings
):
    settings.JIRASYNC_PAGE_SIZE = 10
    projects = 120 if "project/search" in rule["endpoint"] else 2
    with running_sim(
        flavour=flavour,
        projects=projects,
        issues=3 * 40 if projects == 2 else 240,
        seed=42,
        long_history_share=0.3,
        cloud_tokens="live",
    ) as server:
        instance = register(server, SLUG[flavour])
        if "project/search" not in rule["endpoint"]:
            first = sync_instance(instance.pk, RunOptions(full=True))
            assert first.status == SyncRun.Status.SUCCEEDED, first.error
            server.sim.data.advance(minutes=10, update=0.3)
        before = stored_state(instance)
        updates_before = AuditLog.objects.filter(action="sync_update").count()
        requests.post(f"{server.url}/_sim/reset-stats", timeout=30)
        rules = [rule]
        if rule["endpoint"].endswith("/changelog"):
            # Data Center sends whole histories inline: answer one long history without it, so it is read
            # from the changelog endpoint, over several pages.
            busy = max(server.sim.data.truth(), key=lambda row: row["changelog_total"])["key"]
            requests.post(f"{server.url}/_sim/history", json={"issue": busy, "entries": 250}, timeout=30)
            rules.append({"kind": "changelog-missing", "keys": [busy]})
        faults(server, *rules)
        run = sync_instance(instance.pk, RunOptions(full=True))
        assert run.status in (SyncRun.Status.FAILED, SyncRun.Status.PARTIAL), run.error
        assert said in run.error and "stopped" in run.error, run.error
        failed = [child for child in run.children.all() if child.status == SyncRun.Status.FAILED] or [run]
        assert all("stopped" in child.error for child in failed)
        total = sum(
            requests.get(f"{server.url}/_sim/stats", timeout=30).json()["requests"].get(rule["endpoint"], {}).values()
        )
        assert total <= 12, f"{total} requests to {rule['endpoint']}: it looped"
        # Nothing written twice: every issue updated at most once, none of what was stored made less.
        after = stored_state(instance)
        assert set(before) <= set(after)
        updated = AuditLog.objects.filter(action="sync_update").count() - updates_before
        assert updated <= len(after)
        assert not Project.objects.exclude(claimed_by="").exists()


def test_a_startat_that_data_center_ignores_on_search_is_harmless_to_seek_paging(reference_mappings, settings):
    settings.JIRASYNC_PAGE_SIZE = 10
    with running_sim(flavour="datacenter", projects=2, issues=60, seed=43) as server:
        instance = register(server, "instance_2")
        faults(server, {"kind": "ignore-start-at", "endpoint": "POST /rest/api/2/search"})
        run = sync_instance(instance.pk, RunOptions(full=True))
        assert run.status == SyncRun.Status.SUCCEEDED, run.error
        assert_database_equals_truth(server, instance)


# --- 4. less data overwriting more -----------------------------------------------------------------------


@pytest.mark.parametrize("flavour", ["cloud", "datacenter"])
@pytest.mark.parametrize("kind", ["fields-null", "fields-missing", "core-fields-missing"])
def test_an_answer_without_its_fields_costs_its_row_and_keeps_what_is_stored(flavour, kind, reference_mappings):
    with running_sim(flavour=flavour, projects=1, issues=30, seed=44, long_history_share=0.1) as server:
        instance = register(server, SLUG[flavour])
        sync_instance(instance.pk, RunOptions(full=True))
        victims = [row["key"] for row in server.sim.data.truth()[:3]]
        before = stored_state(instance)
        failed_before = metric("jirasync_rows_failed_total")
        faults(server, {"kind": kind, "keys": victims})
        for full in (True, False):
            run = sync_instance(instance.pk, RunOptions(full=full))
            assert run.status == SyncRun.Status.PARTIAL, run.error
            assert all(key in run.error for key in victims), run.error
        after = stored_state(instance)
        for jira_id, state in before.items():
            if state[0] in victims:
                assert after[jira_id] == state, f"{state[0]} was overwritten by an answer without its fields"
        explained = AuditLog.objects.filter(action="sync_row_failed", object_repr__in=victims)
        assert {entry.object_repr for entry in explained} == set(victims)
        assert all("Jira answered with" in e.summary or "Jira answered without" in e.summary for e in explained)
        assert metric("jirasync_rows_failed_total") >= failed_before + len(victims)
        faults(server)
        healed = sync_instance(instance.pk, RunOptions(full=True))
        assert healed.status == SyncRun.Status.SUCCEEDED, healed.error


@pytest.mark.parametrize("flavour", ["cloud", "datacenter"])
def test_an_answer_without_its_changelog_keeps_the_stored_history_flagged_and_completes_it_later(
    flavour, reference_mappings
):
    with running_sim(flavour=flavour, projects=1, issues=30, seed=45) as server:
        instance = register(server, SLUG[flavour])
        sync_instance(instance.pk, RunOptions(full=True))
        moved = server.sim.data.advance(minutes=20, update=0.3)["updated"]
        victim = moved[0]
        before = stored_state(instance)
        victim_id = next(jira_id for jira_id, state in before.items() if state[0] == victim)
        # The changelog is left out of every answer, and the endpoints that could complete it fail too.
        history_endpoint = (
            "POST /rest/api/3/changelog/bulkfetch"
            if flavour == "cloud"
            else "GET /rest/api/2/issue/{issueIdOrKey}/changelog"
        )
        rules = [{"kind": "changelog-missing", "keys": [victim]}, {"kind": "500", "endpoint": history_endpoint}]
        if flavour == "cloud":
            rules.append({"kind": "500", "endpoint": "GET /rest/api/3/issue/{issueIdOrKey}/changelog"})
        faults(server, *rules)
        run = sync_instance(instance.pk, RunOptions())
        assert run.status == SyncRun.Status.SUCCEEDED, run.error
        assert run.incomplete_histories >= 1
        issue = Issue.objects.get(instance=instance, jira_id=victim_id)
        assert not issue.changelog_complete
        kept = stored_state(instance)[victim_id]
        # The row took the new fields; the history, milestones and time in status stayed as whole as they were.
        assert {h for h in before[victim_id][5] if h[0] > 0} <= {h for h in kept[5] if h[0] > 0}
        assert {m for m, _ in before[victim_id][6]} <= {m for m, _ in kept[6]}
        assert AuditLog.objects.filter(action="history_incomplete", object_repr=victim).exists()
        assert metric("jirasync_issues_changelog_incomplete") >= 1
        faults(server)
        sync_instance(instance.pk, RunOptions())
        issue.refresh_from_db()
        assert issue.changelog_complete
        assert_database_equals_truth(server, instance)


@pytest.mark.parametrize("flavour", ["cloud", "datacenter"])
@pytest.mark.parametrize(
    ("drop", "hollow"),
    [(["status"], "empty"), (["status"], "wrong-type"), (["created", "updated"], "empty"), (["updated"], "wrong-type")],
    ids=["status-self-only", "status-a-string", "dates-empty", "updated-a-number"],
)
def test_an_answer_with_a_hollow_core_field_costs_its_row_and_keeps_what_is_stored(
    flavour, drop, hollow, reference_mappings
):
    """A status {"self": …} or a plain string, a created "", an updated 12345: the row fails with the reason,
    the stored status and dates stay, and a first read of such an issue fails only its row, not the project."""
    with running_sim(flavour=flavour, projects=1, issues=30, seed=47) as server:
        instance = register(server, SLUG[flavour])
        truth = server.sim.data.truth()
        newcomer, victims = truth[-1]["key"], [row["key"] for row in truth[:3]]
        faults(server, {"kind": "core-fields-hollow", "drop": drop, "hollow": hollow, "keys": [newcomer]})
        first = sync_instance(instance.pk, RunOptions(full=True))
        assert first.status == SyncRun.Status.PARTIAL, first.error
        assert newcomer in first.error and "hollow" in first.error, first.error
        assert not Issue.objects.filter(instance=instance, key=newcomer).exists()
        assert Issue.objects.filter(instance=instance).count() == len(truth) - 1
        faults(server)
        assert sync_instance(instance.pk, RunOptions(full=True)).status == SyncRun.Status.SUCCEEDED
        before = stored_state(instance)
        faults(server, {"kind": "core-fields-hollow", "drop": drop, "hollow": hollow, "keys": victims})
        for full in (True, False):
            run = sync_instance(instance.pk, RunOptions(full=full))
            assert run.status == SyncRun.Status.PARTIAL, run.error
            assert all(key in run.error for key in victims), run.error
        assert stored_state(instance) == before
        explained = AuditLog.objects.filter(action="sync_row_failed", object_repr__in=victims)
        assert {entry.object_repr for entry in explained} == set(victims)
        assert all(f"Jira answered with a hollow {drop[0]}" in entry.summary for entry in explained)
        faults(server)
        healed = sync_instance(instance.pk, RunOptions(full=True))
        assert healed.status == SyncRun.Status.SUCCEEDED, healed.error
        assert_database_equals_truth(server, instance)


# --- 5. histories believed complete when they are not ----------------------------------------------------


@pytest.mark.parametrize("flavour", ["cloud", "datacenter"])
def test_an_inline_changelog_without_its_total_is_never_taken_as_whole(flavour, reference_mappings):
    """Cloud's search sends at most 40 histories inline; without `total` an issue with 45 is not "40 of 40":
    its history is completed from the changelog endpoint (which says its total), or, when that fails, flagged."""
    with running_sim(flavour=flavour, projects=1, issues=40, seed=48, long_history_share=0.25) as server:
        instance = register(server, SLUG[flavour])
        long = [row["key"] for row in server.sim.data.truth() if row["changelog_total"] > 40]
        assert len(long) >= 3
        per_issue = "GET /rest/api/3/issue/{issueIdOrKey}/changelog"
        if flavour == "datacenter":
            per_issue = "GET /rest/api/2/issue/{issueIdOrKey}/changelog"
        faults(server, {"kind": "changelog-untotalled", "keys": long}, {"kind": "500", "endpoint": per_issue})
        run = sync_instance(instance.pk, RunOptions(full=True))
        assert inflicted(server).get("changelog-untotalled"), inflicted(server)
        flagged = set(Issue.objects.filter(instance=instance, changelog_complete=False).values_list("key", flat=True))
        assert flagged == set(long), run.error
        assert set(
            AuditLog.objects.filter(action="history_incomplete", object_repr__in=long).values_list(
                "object_repr", flat=True
            )
        ) == set(long)
        # The changelog endpoint answers again: the totals it reports complete every history.
        faults(server, {"kind": "changelog-untotalled"})
        again = sync_instance(instance.pk, RunOptions(full=True))
        assert again.status == SyncRun.Status.SUCCEEDED, again.error
        assert not Issue.objects.filter(instance=instance, changelog_complete=False).exists()
        assert_database_equals_truth(server, instance)


def test_issues_bulkfetch_leaves_out_stay_incomplete_counted_and_are_completed_next_run(reference_mappings):
    with running_sim(flavour="cloud", projects=1, issues=60, seed=46, long_history_share=0.25) as server:
        instance = register(server, "instance_1")
        long = [row["key"] for row in server.sim.data.truth() if row["changelog_total"] > 40]
        assert len(long) >= 4
        left_out = long[: len(long) // 2]
        faults(server, {"kind": "bulkfetch-omit", "keys": left_out})
        run = sync_instance(instance.pk, RunOptions(full=True))
        sync = run.children.get(kind=SyncRun.Kind.FULL)
        assert sync.incomplete_histories == len(left_out)
        flagged = set(Issue.objects.filter(changelog_complete=False).values_list("key", flat=True))
        assert flagged == set(left_out)
        assert metric("jirasync_issues_changelog_incomplete") == len(left_out)
        assert set(AuditLog.objects.filter(action="history_incomplete").values_list("object_repr", flat=True)) == set(
            left_out
        )
        faults(server)
        again = sync_instance(instance.pk, RunOptions())
        assert again.status == SyncRun.Status.SUCCEEDED, again.error
        assert not Issue.objects.filter(changelog_complete=False).exists()
        assert_database_equals_truth(server, instance)


# --- 7. derived facts that disagree with the issue -------------------------------------------------------


@pytest.mark.parametrize("flavour", ["cloud", "datacenter"])
def test_a_status_the_changelog_does_not_explain_is_recorded_as_inferred_and_derived_facts_agree(
    flavour, reference_mappings
):
    with running_sim(flavour=flavour, projects=1, issues=20, seed=47) as server:
        instance = register(server, SLUG[flavour])
        sync_instance(instance.pk, RunOptions(full=True))
        key = server.sim.data.truth()[3]["key"]
        # The issue is moved to another status without a changelog entry (history imported, a status set
        # outside the workflow).
        answer = requests.post(
            f"{server.url}/_sim/status", json={"issue": key, "status": "Closed", "record": False}, timeout=30
        )
        assert answer.status_code == 200, answer.text
        run = sync_instance(instance.pk, RunOptions())
        assert run.status == SyncRun.Status.SUCCEEDED, run.error
        issue = Issue.objects.get(instance=instance, key=key)
        assert issue.status == "Closed"
        last = StatusChange.objects.filter(issue=issue).order_by("changed_at", "history_id").last()
        assert last.to_status == "Closed" and last.history_id == INFERRED_HISTORY_ID and last.is_inferred
        assert last.changed_at == issue.updated
        current = list(TimeInStatus.objects.filter(issue=issue, current=True).values_list("status", flat=True))
        assert current == ["Closed"]
        assert IssueMilestone.objects.filter(issue=issue, milestone__name="closed").exists()
        # The issue page says so.
        from django.contrib.auth.models import User
        from django.test import Client

        admin = User.objects.create_superuser("root", "root@example.com", "pw")
        browser = Client()
        browser.force_login(admin)
        page = browser.get(f"/admin/issues/issue/{issue.pk}/change/")
        assert "inferred — not in Jira" in page.content.decode()
        inferred_at = last.changed_at
        # When Jira later records a move out of it, the recorded chain has a gap (it leaves Closed, which no
        # entry entered): the inferred entry stays, with its date, and so do the milestone and the time spent.
        answer = requests.post(
            f"{server.url}/_sim/status", json={"issue": key, "status": "Escalated Editing", "record": True}, timeout=30
        )
        assert answer.status_code == 200, answer.text
        assert sync_instance(instance.pk, RunOptions()).status == SyncRun.Status.SUCCEEDED
        issue.refresh_from_db()
        history = list(StatusChange.objects.filter(issue=issue).order_by("changed_at", "history_id"))
        assert history[-1].to_status == issue.status == "Escalated Editing" and history[-1].history_id > 0
        inferred = [change for change in history if change.history_id == INFERRED_HISTORY_ID]
        assert [(c.to_status, c.changed_at) for c in inferred] == [("Closed", inferred_at)]
        for before, after in itertools.pairwise(history):  # one chain, no gap
            assert before.to_status == after.from_status, (before, after)
        assert IssueMilestone.objects.filter(issue=issue, milestone__name="closed").exists()
        closed = TimeInStatus.objects.get(issue=issue, status="Closed")
        assert closed.seconds > 0 and not closed.current
