"""What the simulator holds, read through its Python API, to compare the database with."""

import json
from collections import defaultdict
from datetime import UTC, datetime

import requests

from agile.models import IssueSprint, Sprint
from issues.models import FieldChange, Issue, IssueComponent, IssueLink, IssueMilestone, IssueVersion, StatusChange
from jirafields.adf import adf_to_text, is_adf
from jirasim import catalog
from jirasim.server import SimServer
from projects.models import JiraInstance

MILESTONE_STATUSES = {
    "scheduled": {"Scheduled"},
    "acknowledged": {"Acknowledged"},
    "at_listing": {"At Listing"},
    "shoot_complete": {"Shoot Complete"},
    "uploaded": {"Uploaded"},
    "edit_start": {"Edit Start"},
    "final_review": {"Final Review"},
    "escalated_editing": {"Escalated Editing"},
    "closed": {"Closed", "Done"},
}


def text(value) -> str:
    return adf_to_text(value) if is_adf(value) else (value or "")


def moment(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def expected_instructions(fields: dict, *ids: str) -> str | None:
    parts = [text(fields.get(field_id)) for field_id in ids]
    joined = " ".join(part for part in parts if part)
    return joined or None


FIELD_CHANGE_COMPARED = (
    "history_id",
    "position",
    "changed_at",
    "field_id",
    "field_name",
    "field_type",
    "from_id",
    "from_string",
    "to_id",
    "to_string",
)


def _value(value) -> str | None:
    return value if value is None or isinstance(value, str) else json.dumps(value, separators=(",", ":"))


def truth_field_changes(server: SimServer, kept: set[str] | None = None) -> dict[int, set[tuple]]:
    """{jira id: {FIELD_CHANGE_COMPARED values}} of every live issue's changelog items, read from the simulator's
    /_sim/truth over HTTP (Jira's own rendering); kept: the case-folded field ids or names kept (None: all)."""
    answer = requests.get(f"{server.url}/_sim/truth", params={"changelog": "1"}, timeout=60)
    answer.raise_for_status()
    found: dict[int, set[tuple]] = {}
    for row in answer.json()["issues"]:
        items = found[int(row["id"])] = set()
        for history in row["changelog"]:
            at = datetime.strptime(history["created"], "%Y-%m-%dT%H:%M:%S.%f%z").astimezone(UTC)
            for position, item in enumerate(history["items"]):
                field_id, name = item.get("fieldId") or "", item["field"]
                if kept is not None and field_id.casefold() not in kept and name.casefold() not in kept:
                    continue
                values = (_value(item.get(key)) for key in ("from", "fromString", "to", "toString"))
                items.add((int(history["id"]), position, at, field_id, name, item["fieldtype"], *values))
    return found


def stored_field_changes(instance: JiraInstance) -> dict[int, set[tuple]]:
    """{jira id: {FIELD_CHANGE_COMPARED values}} of the instance's live issues, as stored."""
    found: dict[int, set[tuple]] = defaultdict(set)
    rows = FieldChange.objects.filter(issue__instance=instance, issue__deleted_at__isnull=True)
    for jira_id, *values in rows.values_list("issue__jira_id", *FIELD_CHANGE_COMPARED):
        found[jira_id].add(tuple(values))
    return found


def assert_field_history_equals_truth(server: SimServer, instance: JiraInstance) -> int:
    """The live issues' field history equals the truth's changelog items of the fields the instance keeps."""
    setting = {part.strip().casefold() for part in instance.field_history.split(",") if part.strip()}
    truth = truth_field_changes(server, None if "*" in setting else setting)
    stored = stored_field_changes(instance)
    for jira_id, items in truth.items():
        assert stored.get(jira_id, set()) == items, (
            f"issue {jira_id}: missing {sorted(items - stored.get(jira_id, set()))[:3]}, "
            f"extra {sorted(stored.get(jira_id, set()) - items)[:3]}"
        )
    assert not set(stored) - set(truth), f"field changes of issues Jira does not have: {set(stored) - set(truth)}"
    return sum(len(items) for items in truth.values())


def assert_database_equals_truth(server: SimServer, instance: JiraInstance) -> int:
    """Every live issue stored once with its key, status, mapped fields, status changes, milestones and field
    history (the changelog items of the fields the instance keeps)."""
    data = server.sim.data
    render = server.sim.r
    truth = {int(row["id"]): row for row in data.truth()}
    stored = {issue.jira_id: issue for issue in Issue.objects.filter(instance=instance, deleted_at__isnull=True)}
    assert set(stored) == set(truth), f"missing {set(truth) - set(stored)}, extra {set(stored) - set(truth)}"
    ids = list(Issue.objects.filter(instance=instance).values_list("jira_id", flat=True))
    assert len(ids) == len(set(ids))  # nothing doubled (soft-deleted rows included)
    changes = defaultdict(set)
    for row in StatusChange.objects.filter(issue__instance=instance).values_list(
        "issue__jira_id", "history_id", "from_status_id", "to_status_id"
    ):
        changes[row[0]].add(row[1:])
    reached = defaultdict(dict)
    for jira_id, name, first, last, times in IssueMilestone.objects.filter(issue__instance=instance).values_list(
        "issue__jira_id", "milestone__name", "first_reached", "last_reached", "times_reached"
    ):
        reached[jira_id][name] = (first, last, times)
    access, special = (
        (("customfield_10700",), ("customfield_11100",))
        if data.config.profile == "instance_1"
        else (("customfield_12594", "customfield_12611"), ("customfield_12595", "customfield_12612"))
    )
    version = "3" if data.config.cloud else "2"
    for jira_id, row in truth.items():
        issue = stored[jira_id]
        assert (issue.key, issue.status) == (row["key"], row["status"]), jira_id
        record = data.by_id[jira_id]
        fields = render.issue_fields(record, version, None)
        assert issue.fields["order_number"] == fields["customfield_10501"]
        assert issue.fields["access_instructions"] == expected_instructions(fields, *access)
        assert issue.fields["special_instructions"] == expected_instructions(fields, *special)
        assert issue.fields["rooms"] == int(fields["customfield_10040"])
        events = data.history(record)
        status_events = [(e.history_id, item[3], item[5]) for e in events for item in e.items if item[2] == "status"]
        stored_changes = {c for c in changes[jira_id] if c[0] != 0}
        assert stored_changes == set(status_events), f"{row['key']}: status history differs"
        initial = status_events[0][1] if status_events else data.state(record)["status"]
        assert {c for c in changes[jira_id] if c[0] == 0} == {(0, "", initial)}
        expected: dict[str, list[datetime]] = defaultdict(list)
        entered = [(moment(record.created_ms), initial)] + [
            (moment(e.at_ms), item[5]) for e in events for item in e.items if item[2] == "status"
        ]
        for at, status_id in entered:
            for name, statuses in MILESTONE_STATUSES.items():
                if catalog.STATUS_BY_ID[status_id].name in statuses:
                    expected[name].append(at)
        assert {name: (times[0], times[-1], len(times)) for name, times in expected.items()} == reached[jira_id], row[
            "key"
        ]
    assert_field_history_equals_truth(server, instance)
    return len(truth)


SPRINT_FIELD = "customfield_10020"


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
        # And its sprints just before and at every change of its Sprint field: the stays' ends are exact.
        changes = sorted({e.at_ms for e in events for item in e.items if item[2] == SPRINT_FIELD})
        for at_ms in [moment_ms for change in changes for moment_ms in (change - 1, change)]:
            at = moment(at_ms)
            held = {s for s, added, removed in stays[jira_id] if added <= at and (removed is None or removed > at)}
            assert held == sprints_at(events, record.created_ms, ids, at_ms), (row["key"], at)
    held = {sprint_id for found in stays.values() for sprint_id, _, _ in found}
    stored_sprints = {s.jira_id: s for s in Sprint.objects.filter(instance=instance)}
    expected_ids = set(board) if sprints_listed else held
    assert expected_ids <= set(stored_sprints)
    for sprint_id in expected_ids:
        spec, row = board[sprint_id], stored_sprints[sprint_id]
        assert (row.name, row.state, row.board_jira_id) == (spec.name, spec.state.lower(), 7), sprint_id
        assert row.start_date == (moment(spec.start_ms) if spec.start_ms else None), sprint_id
        assert row.complete_date == (moment(spec.complete_ms) if spec.complete_ms else None), sprint_id


def assert_activity_equals_truth(server: SimServer, instance: JiraInstance) -> tuple[int, int]:
    """The live comments and worklogs of every live issue stored once each, as Jira has them (ids, authors'
    times, text, seconds, start), the rest soft-deleted; each issue's worklog seconds add up to its timespent.
    Returns (live comments, live worklogs) compared."""
    from activity.models import Comment, Worklog

    data = server.sim.data
    truth = {int(row["id"]): row for row in data.truth()}
    comments: dict[int, dict[int, Comment]] = defaultdict(dict)
    for comment in Comment.objects.filter(instance=instance, deleted_at__isnull=True).select_related("issue"):
        if comment.issue.deleted_at is None:
            comments[comment.issue.jira_id][comment.jira_id] = comment
    worklogs: dict[int, dict[int, Worklog]] = defaultdict(dict)
    for worklog in Worklog.objects.filter(instance=instance, deleted_at__isnull=True).select_related("issue"):
        if worklog.issue.deleted_at is None:
            worklogs[worklog.issue.jira_id][worklog.jira_id] = worklog
    rich = data.config.cloud  # Cloud v3 sends every fifth comment and sixth worklog as a rich ADF document
    counted = [0, 0]
    for jira_id, row in truth.items():
        activity = data.activity(data.by_id[jira_id])
        live_comments = {c.id: c for c in activity.live_comments(data.now_ms)}
        assert set(comments[jira_id]) == {int(i) for i in row["comments"]} == set(live_comments), row["key"]
        for note_id, note in live_comments.items():
            stored = comments[jira_id][note_id]
            assert (stored.created, stored.updated) == (moment(note.created_ms), moment(note.updated_ms)), note_id
            assert stored.body == note.text or (rich and note_id % 5 == 0 and stored.body), note_id
        live_worklogs = {w.id: w for w in activity.live_worklogs(data.now_ms)}
        assert set(worklogs[jira_id]) == {int(i) for i in row["worklogs"]} == set(live_worklogs), row["key"]
        for note_id, note in live_worklogs.items():
            stored = worklogs[jira_id][note_id]
            assert (stored.seconds, stored.started) == (note.seconds, moment(note.started_ms)), note_id
            assert stored.updated == moment(note.updated_ms), note_id
            assert stored.comment == note.text or (rich and note_id % 6 == 0 and stored.comment), note_id
        assert sum(w.seconds for w in worklogs[jira_id].values()) == row["time_spent"], row["key"]
        counted[0] += len(live_comments)
        counted[1] += len(live_worklogs)
    return counted[0], counted[1]
