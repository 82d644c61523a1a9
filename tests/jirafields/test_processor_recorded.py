"""The field processor on every recorded real Jira issue: each custom field converts or yields a precise error."""

from typing import Any

import pytest

from jirafields import FieldSpec, compile_mapping, process_issue
from jirafields.adf import is_adf
from jirafields.core import core_columns
from jirafields.schema import suggested_field_type
from jirafields.timestamps import parse_jira_datetime
from tests.support.reference import recorded

SEARCH_PAGES = [
    "cloud-v3-search-legacy-page-adf-customfields.json",
    "cloud-agile-board-issues-expand-changelog.json",
    "cloud-agile-sprint-issues.json",
]
SINGLE_ISSUES = [
    "cloud-v3-issue-KP-19-adf.json",
    "cloud-agile-issue-EE-17-inline-changelog-jsonb-reordered.json",
    "server-agile-issue-DZFNK0168-20-inline-changelog.json",
]
WEBHOOKS = [
    "cloud-webhook-issue-created-custom-fields-2026.json",
    "cloud-webhook-issue-created-many-fields-2019.json",
    "cloud-webhook-issue-deleted-2019.json",
    "server-webhook-issue-updated-status-transition.json",
    "server-webhook-issue-updated-resolved.json",
]


def recorded_issues() -> list[tuple[str, dict]]:
    issues = []
    for name in SEARCH_PAGES:
        issues += [(f"{name}:{issue['key']}", issue) for issue in recorded(name)["issues"]]
    issues += [(name, recorded(name)) for name in SINGLE_ISSUES]
    issues += [(name, recorded(name)["issue"]) for name in WEBHOOKS]
    return issues


def field_schemas() -> dict[str, dict]:
    return {field["id"]: field.get("schema") for field in recorded("cloud-v3-field-list.json")}


def inferred_type(value: Any) -> str:
    """A plausible target type for a value whose field has no schema at hand."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "decimal"
    if isinstance(value, str):
        try:
            parse_jira_datetime(value)
            return "datetime"
        except ValueError:
            return "string"
    if is_adf(value):
        return "text"
    if isinstance(value, dict):
        return "option" if "value" in value else "user" if "displayName" in value else "json"
    if isinstance(value, list):
        return "string_list" if all(isinstance(v, (str, dict)) for v in value) else "json"
    return "json"


def custom_specs(issue: dict, schemas: dict[str, dict]) -> list[FieldSpec]:
    specs = []
    for field_id, value in issue["fields"].items():
        if not field_id.startswith("customfield_") or value is None:
            continue
        schema = schemas.get(field_id)
        field_type = suggested_field_type(schema) if schema else inferred_type(value)
        specs.append(FieldSpec(name=field_id, field_type=field_type, paths=(field_id,)))
    return specs


def test_every_recorded_custom_field_converts_or_yields_a_precise_error():
    schemas = field_schemas()
    checked = 0
    for label, issue in recorded_issues():
        specs = custom_specs(issue, schemas)
        result = process_issue(issue, compile_mapping(specs))
        errors = {error.field: error for error in result.errors}
        for spec in specs:
            checked += 1
            if spec.name in errors:
                error = errors[spec.name]
                assert error.source == spec.name and error.reason, label
                assert result.values[spec.name] is None
            else:
                assert spec.name in result.values, f"{label}: {spec.name} neither converted nor failed"
    assert checked > 100


def test_every_recorded_custom_field_forced_to_integer_fails_with_field_source_and_reason():
    for label, issue in recorded_issues():
        specs = [FieldSpec(name=s.name, field_type="integer", paths=s.paths) for s in custom_specs(issue, {})]
        result = process_issue(issue, compile_mapping(specs))
        for error in result.errors:
            assert error.field == error.source
            assert error.reason.startswith("expected an integer, got "), (label, error)


@pytest.mark.parametrize(("label", "issue"), recorded_issues(), ids=lambda v: v if isinstance(v, str) else "")
def test_core_columns_read_every_recorded_issue(label, issue):
    columns = core_columns(issue)
    assert columns["jira_id"] == int(issue["id"])
    assert columns["key"] == issue["key"]
    if issue["fields"].get("updated"):
        assert columns["updated"].utcoffset().total_seconds() == 0


def test_kp19_values_match_what_jira_shows():
    issue = recorded("cloud-v3-issue-KP-19-adf.json")
    specs = [
        FieldSpec("application", "option", ("customfield_10038",)),
        FieldSpec("description", "text", ("description",)),
        FieldSpec("reporter", "user", ("reporter",)),
        FieldSpec("created", "datetime", ("created",)),
        FieldSpec("rank", "string", ("customfield_10019",)),
        FieldSpec("epic", "string", ("customfield_10014",)),
    ]
    result = process_issue(issue, compile_mapping(specs))
    assert result.errors == []
    assert result.values["application"] == "App 3"
    assert result.values["description"].startswith("Lorem Ipsum")
    assert result.values["reporter"]["id"] == "5b86be50b8e3cb5895860d6d"
    assert result.values["created"] == "2021-05-08T06:04:25.376Z"  # +0100 in Jira, stored as UTC
    assert result.values["rank"] == "0|i00073:"
    assert result.values["epic"] == "KP-16"


def test_data_center_users_are_identified_by_key():
    issue = recorded("server-agile-issue-DZFNK0168-20-inline-changelog.json")
    columns = core_columns(issue)
    reporter = issue["fields"]["reporter"]
    assert columns["reporter_id"] == reporter["key"]
    assert "accountId" not in reporter


def test_sprint_strings_of_old_payloads_give_the_sprint_name():
    issue = recorded("cloud-webhook-issue-created-many-fields-2019.json")["issue"]
    result = process_issue(issue, compile_mapping([FieldSpec("sprints", "string_list", ("customfield_10021",))]))
    assert result.values["sprints"] == ["SCRUM1 Sprint 1"]
