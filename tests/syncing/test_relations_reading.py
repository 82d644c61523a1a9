"""Reading relations and sprints from an issue's JSON: pure functions, on shapes Jira sends and others."""

from datetime import datetime

import pytest

from jirafields.convert import ConversionError, to_component_list, to_sprint, to_sprint_list
from syncing.engine.relations import issue_relations

DC_SPRINT = (
    "com.atlassian.greenhopper.service.sprint.Sprint@1a2b[id=266,rapidViewId=7,state=ACTIVE,name=Sprint 7, Team Blue,"
    "startDate=2026-01-05T09:00:00.000Z,endDate=2026-01-19T09:00:00.000Z,completeDate=<null>,sequence=266,goal=<null>]"
)


def test_links_parent_subtasks_versions_and_components_become_rows_with_the_other_issue_by_id():
    found = issue_relations(
        {
            "issuelinks": [
                {
                    "id": "30001",
                    "type": {"name": "Blocks", "inward": "is blocked by", "outward": "blocks"},
                    "inwardIssue": {"id": "10007", "key": "OPS-7"},
                },
                {"id": "30002", "type": {"name": "Relates"}, "outwardIssue": {"id": "20001", "key": "ELSE-1"}},
            ],
            "parent": {"id": "10001", "key": "OPS-1"},
            "subtasks": [{"id": "10011", "key": "OPS-11"}],
            "fixVersions": [{"id": "10500", "name": "1.0", "released": True, "releaseDate": "2025-08-01"}],
            "versions": [{"id": "10501", "name": "1.1"}],
            "components": [{"id": "10100", "name": "Photography"}, {"id": "10100", "name": "Photography"}],
        }
    )
    assert found.links == [
        ("link", 30001, 10007, "Blocks", "inward", "is blocked by", "OPS-7"),
        ("link", 30002, 20001, "Relates", "outward", "", "ELSE-1"),
        ("parent", 0, 10001, "", "", "", "OPS-1"),
        ("subtask", 0, 10011, "", "", "", "OPS-11"),
    ]
    assert found.versions == [
        ("fix", 10500, "1.0", True, datetime(2025, 8, 1).date()),
        ("affects", 10501, "1.1", None, None),
    ]
    assert found.components == [(10100, "Photography")]  # the same component twice: one row
    assert found.errors == []


def test_an_item_that_cannot_be_read_is_a_field_error_and_the_rest_is_kept():
    found = issue_relations(
        {
            "issuelinks": [{"id": "x1", "outwardIssue": {"id": "1"}}, {"id": "5", "type": {}}],
            "components": [{"id": "10100", "name": "Video"}, "Editing"],
            "fixVersions": {"id": "1"},
        }
    )
    assert found.links == [] and found.components == [(10100, "Video")]
    reasons = {(error.field, error.reason) for error in found.errors}
    assert ("issuelinks", "link id 'x1' is not a numeric id; left out") in reasons
    assert ("issuelinks", "link 5 names no outwardIssue or inwardIssue; left out") in reasons
    assert ("components", "Jira sent 'Editing', not an object; left out") in reasons
    assert any(field == "fixVersions" and "not a list" in reason for field, reason in reasons)


def test_sprint_types_read_objects_and_greenhopper_strings():
    closed = {"id": 260, "name": "Sprint 6", "state": "closed"}
    future = {"id": 262, "name": "Sprint 8", "state": "future"}
    assert to_sprint_list([closed, DC_SPRINT]) == ["Sprint 6", "Sprint 7, Team Blue"]
    assert to_sprint([closed, future, DC_SPRINT]) == "Sprint 7, Team Blue"  # the active one
    assert to_sprint([closed, future]) == "Sprint 8"
    assert to_sprint([closed]) is None  # in no sprint now
    assert to_component_list([{"id": "1", "name": "Video"}]) == ["Video"]
    with pytest.raises(ConversionError):
        to_component_list(["Video"])
    with pytest.raises(ConversionError):
        to_sprint_list(["com.atlassian.greenhopper.service.sprint.Sprint@1[nothing]"])
