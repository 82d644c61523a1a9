"""What prepare_issue refuses (#11 kinds 4 and 5): a core field there but hollow costs the row, and a changelog
that does not say (rightly) how long it is leaves the total unknown instead of being taken as whole."""

import copy

import pytest

from jirafields import compile_mapping
from syncing.engine.prepare import UnstorableIssue, prepare_issue

MAPPING = compile_mapping([])
WHOLE = {
    "id": "10001",
    "key": "OPS-1",
    "fields": {
        "summary": "Shoot the harbour at dawn",
        "status": {"self": "https://j/rest/api/3/status/3", "id": "3", "name": "In Progress"},
        "issuetype": {"self": "https://j/rest/api/3/issuetype/1", "id": "1", "name": "Task"},
        "project": {"self": "https://j/rest/api/3/project/10000", "id": "10000", "key": "OPS"},
        "created": "2026-01-05T09:00:00.000+0100",
        "updated": "2026-01-06T10:30:00.000+01:00",
    },
}


def issue_with(**fields) -> dict:
    issue = copy.deepcopy(WHOLE)
    issue["fields"].update(fields)
    return issue


def test_a_whole_issue_prepares():
    prepared = prepare_issue(copy.deepcopy(WHOLE), MAPPING)
    assert (prepared.columns["status"], prepared.columns["issue_type"], prepared.project_jira_id) == (
        "In Progress",
        "Task",
        "10000",
    )


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("status", {"self": "https://j/rest/api/3/status/3"}, 'status {"self"'),
        ("status", "In Progress", 'status "In Progress" (no name)'),
        ("status", {"id": "3", "name": ""}, "status"),
        ("status", {"id": "3", "name": 7}, "status"),
        ("issuetype", {"self": "https://j/rest/api/3/issuetype/1"}, "issuetype"),
        ("issuetype", ["Task"], "issuetype"),
        ("project", {"self": "https://j/rest/api/3/project/10000"}, "project"),
        ("project", {"id": "", "key": "OPS"}, "project"),
        ("project", "OPS", "project"),
        ("summary", "", 'summary "" (not a text)'),
        ("summary", 12345, "summary 12345"),
        ("summary", {"text": "x"}, "summary"),
        ("created", "", "created '' is not a date-time"),
        ("created", "yesterday", "created"),
        ("created", "2026-01-05T09:00:00", "created"),  # no offset: which instant?
        ("updated", 12345, "updated 12345 is not a date-time"),
        ("updated", 1767600000000, "updated"),
        ("updated", {"iso": "2026-01-06"}, "updated"),
    ],
)
def test_a_hollow_core_field_makes_the_issue_unstorable_naming_it(field, value, reason):
    with pytest.raises(UnstorableIssue, match="Jira answered with a hollow") as raised:
        prepare_issue(issue_with(**{field: value}), MAPPING)
    assert str(raised.value).startswith("OPS-1: ")
    assert reason in str(raised.value)


@pytest.mark.parametrize("key", [None, "", "  ", 17])
def test_an_answer_without_a_usable_key_is_unstorable(key):
    issue = copy.deepcopy(WHOLE)
    issue["key"] = key
    with pytest.raises(UnstorableIssue, match="key"):
        prepare_issue(issue, MAPPING)


def test_optional_fields_may_be_empty():
    prepared = prepare_issue(issue_with(resolutiondate=None, priority=None, assignee=None, labels=None), MAPPING)
    assert prepared.columns["resolved"] is None and prepared.columns["priority"] == ""


def changelog(**shape) -> dict:
    issue = copy.deepcopy(WHOLE)
    issue["changelog"] = {"histories": [{"id": str(n), "items": []} for n in range(40)], **shape}
    return issue


@pytest.mark.parametrize(
    ("shape", "total"),
    [
        ({"startAt": 0, "maxResults": 40, "total": 45}, 45),
        ({"startAt": 0, "maxResults": 40, "total": 40}, 40),
        ({}, None),  # no total: unknown, never "40 of 40"
        ({"maxResults": 40}, None),
        ({"maxResults": 40, "total": None}, None),
        ({"maxResults": 40, "total": "45"}, None),
        ({"maxResults": 40, "total": True}, None),
        ({"maxResults": 40, "total": 12}, None),  # fewer than it holds: it does not know its length
        ({"maxResults": 20, "total": 45}, None),  # more than a page of maxResults: the numbers disagree
    ],
)
def test_a_changelog_that_does_not_say_its_total_rightly_leaves_it_unknown(shape, total):
    prepared = prepare_issue(changelog(**shape), MAPPING)
    assert len(prepared.histories) == 40
    assert prepared.changelog_total == total
    assert prepared.changelog_truncated == (total != 40)
