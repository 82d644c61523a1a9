"""Sprint membership read from an issue's changelog and its Sprint field: pure functions, on shapes Jira sends."""

from datetime import UTC, datetime

from agile.membership import SprintMove, sprint_moves, sprint_stays, sprints_read
from jirafields.sprint import Sprint

# The Sprint field's value as Data Center sends it: a greenhopper string, its name holding a comma.
DC_SPRINT = (
    "com.atlassian.greenhopper.service.sprint.Sprint@1a2b[id=266,rapidViewId=7,state=ACTIVE,name=Sprint 7, Team Blue,"
    "startDate=2026-01-05T09:00:00.000Z,endDate=2026-01-19T09:00:00.000Z,completeDate=<null>,sequence=266,goal=<null>]"
)


def at(day: int) -> datetime:
    return datetime(2026, 1, day, tzinfo=UTC)


def test_sprint_stays_follow_the_changelog_and_end_where_the_field_is_now():
    history = {
        "id": "501",
        "created": "2026-01-03T10:00:00.000+0000",
        "items": [{"field": "Sprint", "fieldtype": "custom", "from": "260", "to": "260, 266", "toString": "x, y"}],
    }
    moves = sprint_moves(history, frozenset({"customfield_10020"}))  # Data Center: no fieldId, the field's name
    assert moves == [SprintMove(501, datetime(2026, 1, 3, 10, tzinfo=UTC), (260,), (260, 266), ())]
    later = SprintMove(502, at(10), (260, 266), (266,), ((266, "Sprint 7"),))
    current, errors = sprints_read([DC_SPRINT], "customfield_10020")
    assert errors == [] and [sprint.id for sprint in current] == [266]
    stays = sprint_stays(current, [later, *moves], created=at(1), updated=at(12))
    assert [(s.sprint_jira_id, s.added_at, s.removed_at) for s in stays] == [
        (260, at(1), at(10)),  # in it from creation (the first item's `from`), removed on the 10th
        (266, datetime(2026, 1, 3, 10, tzinfo=UTC), None),
    ]
    # The field holds a sprint no held item added (a history cut short): added at the last update.
    stays = sprint_stays([*current, Sprint(270, "Sprint 9")], [later, *moves], created=at(1), updated=at(12))
    assert (270, at(12), None) in [(s.sprint_jira_id, s.added_at, s.removed_at) for s in stays]
    # No Sprint item at all: the field's sprints since creation.
    assert [(s.sprint_jira_id, s.added_at) for s in sprint_stays(current, [], created=at(1), updated=at(5))] == [
        (266, at(1))
    ]
