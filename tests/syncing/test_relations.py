"""Issue #14, items 4 and 5, against jirasim over HTTP: links, parent and sub-tasks, versions, components, boards,
sprints and sprint membership equal what the simulator holds after full, incremental and quiet syncs, while it
edits issues, moves them between sprints and starts and closes sprints."""

from collections import defaultdict
from datetime import UTC, datetime

import pytest

from agile.models import Board, IssueSprint, Sprint
from audit.services import COMMAND
from issues.models import Issue, IssueComponent, IssueLink, IssueVersion
from jirasim.testing import running_sim
from syncing.models import SyncRun
from syncing.remap import issues_remap
from syncing.runner import RunOptions, sync_instance
from tests.syncing.conftest import register
from tests.syncing.test_sync_engine import search_requests
from tests.syncing.truth import assert_database_equals_truth

pytestmark = pytest.mark.django_db(transaction=True)

SPRINT_FIELD = "customfield_10020"


def moment(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def issue_pairs(instance, truth: dict[int, dict]) -> tuple[set, set]:
    """(stored, true) relations between live issues as unordered link pairs and (parent, child) pairs.

    A relation is stored from each side whose JSON shows it. Jira changes the other side's JSON without moving
    its `updated` (a link added from the other issue, a sub-task created), so that side catches up when it is
    next read; a relation must be stored from at least one side, and none that is not true.
    """
    live = set(truth)
    by_key = {row["key"]: jira_id for jira_id, row in truth.items()}
    stored_links, stored_family = set(), set()
    for issue, kind, other in IssueLink.objects.filter(issue__instance=instance).values_list(
        "issue__jira_id", "kind", "other_jira_id"
    ):
        if issue not in live or other not in live:
            continue  # a relation of an issue deleted since: kept on the other side until it is read again
        if kind == IssueLink.Kind.LINK:
            stored_links.add(frozenset((issue, other)))
        else:
            stored_family.add((other, issue) if kind == IssueLink.Kind.PARENT else (issue, other))
    true_links, true_family = set(), set()
    for jira_id, row in truth.items():
        true_links |= {frozenset((jira_id, by_key[key])) for key in row["links"]}
        if row["parent"]:
            true_family.add((by_key[row["parent"]], jira_id))
        true_family |= {(jira_id, by_key[key]) for key in row["subtasks"]}
    return (stored_links, stored_family), (true_links, true_family)


def sprints_at(events, created_ms: int, current: list[int], at_ms: int) -> set[int]:
    """The sprint ids an issue of jirasim was in at at_ms, from its history's Sprint items (jirasim's own data)."""
    if at_ms < created_ms:
        return set()
    items = [(e.at_ms, e.history_id, item) for e in events for item in e.items if item[2] == SPRINT_FIELD]
    if not items:
        return set(current)
    items.sort(key=lambda entry: (entry[0], entry[1]))
    ids = lambda text: {int(part) for part in (text or "").split(",") if part.strip()}  # noqa: E731
    held = ids(items[0][2][3])
    for when, _, item in items:
        if when <= at_ms:
            held = ids(item[5])
    return held


def assert_relations_equal_truth(server, instance, *, sprints_listed: bool) -> None:
    data, render = server.sim.data, server.sim.r
    assert_database_equals_truth(server, instance)
    truth = {int(row["id"]): row for row in data.truth()}
    stored, true = issue_pairs(instance, truth)
    assert stored == true
    version = "3" if data.config.cloud else "2"
    versions, components, current = defaultdict(set), defaultdict(set), defaultdict(set)
    for jira_id, kind, name in IssueVersion.objects.filter(issue__instance=instance).values_list(
        "issue__jira_id", "kind", "name"
    ):
        versions[jira_id].add((kind, name))
    for jira_id, name in IssueComponent.objects.filter(issue__instance=instance).values_list("issue__jira_id", "name"):
        components[jira_id].add(name)
    stays = defaultdict(list)
    for jira_id, sprint_id, name, added, removed in IssueSprint.objects.filter(issue__instance=instance).values_list(
        "issue__jira_id", "sprint_jira_id", "sprint_name", "added_at", "removed_at"
    ):
        stays[jira_id].append((sprint_id, added, removed))
        if removed is None:
            current[jira_id].add(name)
    board = {sprint.id: sprint for sprint in data.sprint_board}
    for jira_id, row in truth.items():
        expected = {("fix", name) for name in row["fix_versions"]} | {("affects", n) for n in row["affects_versions"]}
        assert versions[jira_id] == expected, row["key"]
        fields = render.issue_fields(data.by_id[jira_id], version, None)
        assert components[jira_id] == {c["name"] for c in fields["components"]}, row["key"]
        assert current[jira_id] == set(row["sprints"]), row["key"]
        record = data.by_id[jira_id]
        events = data.history(record)
        ids = [sprint.id for sprint in data.sprints_of(record)]
        # "Was in sprint S when it started / when it closed", as a SQL user would ask it of the stays.
        for sprint in board.values():
            for at_ms in (sprint.start_ms, sprint.complete_ms):
                if at_ms is None:
                    continue
                at = moment(at_ms)
                was_in = any(
                    s == sprint.id and added <= at and (removed is None or removed > at)
                    for s, added, removed in stays[jira_id]
                )
                assert was_in == (sprint.id in sprints_at(events, record.created_ms, ids, at_ms)), (
                    row["key"],
                    sprint.id,
                )
    held = {sprint_id for found in stays.values() for sprint_id, _, _ in found}
    stored_sprints = {s.jira_id: s for s in Sprint.objects.filter(instance=instance)}
    expected_ids = set(board) if sprints_listed else held
    assert expected_ids <= set(stored_sprints)
    for sprint_id in expected_ids:
        spec, row = board[sprint_id], stored_sprints[sprint_id]
        assert (row.name, row.state, row.board_jira_id) == (spec.name, spec.state.lower(), 7), sprint_id
        assert row.start_date == (moment(spec.start_ms) if spec.start_ms else None), sprint_id
        assert row.complete_date == (moment(spec.complete_ms) if spec.complete_ms else None), sprint_id


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


def test_remapping_rebuilds_the_relations_from_the_raw_json_without_jira(cloud_site, reference_mappings):
    instance = register(cloud_site, "instance_1")
    assert sync_instance(instance.pk, RunOptions(full=True)).status == SyncRun.Status.SUCCEEDED
    before = relation_rows(instance)
    assert all(before.values())
    IssueLink.objects.filter(issue__instance=instance, kind=IssueLink.Kind.LINK).delete()
    IssueVersion.objects.filter(issue__instance=instance).update(name="stale")
    cloud_site.sim.stats.reset()
    result = issues_remap(actor=COMMAND, instance_slug=instance.slug)
    assert result.changed == 0  # the relations' field errors (none here) are re-derived alike
    assert relation_rows(instance) == before
    assert not IssueVersion.objects.filter(name="stale").exists()
    assert cloud_site.sim.stats.snapshot() == {}
