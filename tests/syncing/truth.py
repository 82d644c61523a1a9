"""What the simulator holds, read through its Python API, to compare the database with."""

from collections import defaultdict
from datetime import UTC, datetime

from issues.models import Issue, IssueMilestone, StatusChange
from jirasim import catalog
from jirasim.server import SimServer
from projects.models import JiraInstance
from syncing.fields.adf import adf_to_text, is_adf

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


def assert_database_equals_truth(server: SimServer, instance: JiraInstance) -> int:
    """Every live issue stored once with its key, status, mapped fields, status changes and milestones."""
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
    return len(truth)


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
