"""jirasim answers in the shapes real Jira does: compared with recorded responses and Atlassian's OpenAPI schemas."""

import pytest

from tests.support.reference import recorded
from tests.support.shapes import shape_differences, validate

# Keys real Jira sends only for some data or some sites.
OPTIONAL = frozenset(
    {
        "untranslatedName",
        "scope",
        "avatarId",
        "entityId",
        "hierarchyLevel",
        "serverTimeZone",
        "projectCategory",
        "historyMetadata",
        "emailAddress",
        "timeZone",
        "accountType",
        "locale",
        "groups",
        "applicationRoles",
        "expand",
        "key",
        "name",
        "items",
        "system",
        "custom",
        "customId",
        "description",
        "simplified",
        "fieldId",
        "tmpFromAccountId",
        "tmpToAccountId",
        "archived",
        "isPrivate",
        "properties",
        "insight",
        "uuid",
        "style",
        "projectTypeKey",
        # In the 2022 recording, but not in today's ServerInformation schema (additionalProperties: false).
        "defaultLocale",
        # Time tracking, progress and rich text have them only for some data (estimates, work logged, ADF nodes).
        "percent",
        "originalEstimate",
        "remainingEstimate",
        "timeSpent",
        "originalEstimateSeconds",
        "remainingEstimateSeconds",
        "timeSpentSeconds",
        "attrs",
        "marks",
        "content",
        "text",
        "visibility",
        "thumbnail",
    }
)


def system_fields(fields: dict) -> dict:
    return {k: v for k, v in fields.items() if not k.startswith("customfield_")}


def test_cloud_server_info_myself_and_fields_have_the_recorded_shapes(cloud_sim, jira_session):
    api = f"{cloud_sim.url}/rest/api/3"
    assert (
        shape_differences(
            recorded("cloud-serverinfo.json"), jira_session.get(f"{api}/serverInfo").json(), optional=OPTIONAL
        )
        == []
    )
    assert (
        shape_differences(recorded("cloud-v3-myself.json"), jira_session.get(f"{api}/myself").json(), optional=OPTIONAL)
        == []
    )
    real_fields = {f["id"]: f for f in recorded("cloud-v3-field-list.json")}
    served = jira_session.get(f"{api}/field").json()
    assert len(served) > 20 and real_fields  # an empty list would pass the loop below
    for field in served:
        twin = real_fields.get(field["id"]) or next(f for f in real_fields.values() if f["custom"] == field["custom"])
        assert shape_differences(twin, field, optional=OPTIONAL) == [], field["id"]


def test_data_center_project_list_has_the_recorded_shape(dc_sim, jira_session):
    projects = jira_session.get(f"{dc_sim.url}/rest/api/2/project").json()
    assert isinstance(projects, list) and projects
    real = recorded("dc-project-list-issues-apache-org.json")
    assert shape_differences(real, projects, optional=OPTIONAL) == []


def test_a_cloud_v3_issue_has_the_recorded_shape(cloud_sim, jira_session):
    sim = jira_session.get(f"{cloud_sim.url}/rest/api/3/issue/OPS-1").json()
    real = recorded("cloud-v3-issue-KP-19-adf.json")
    assert set(real) == set(sim)
    common = set(system_fields(real["fields"])) & set(sim["fields"])
    assert {
        "summary",
        "status",
        "issuetype",
        "priority",
        "reporter",
        "created",
        "updated",
        "project",
        "description",
        "labels",
        "components",
        "comment",
        "worklog",
    } <= common
    differences = shape_differences(
        {k: real["fields"][k] for k in common}, {k: sim["fields"][k] for k in common}, optional=OPTIONAL
    )
    assert differences == [], differences
    assert sim["fields"]["description"]["type"] == "doc"  # ADF on v3


def test_a_data_center_issue_with_its_changelog_has_the_recorded_shape(dc_sim, jira_session):
    real = recorded("server-agile-issue-DZFNK0168-20-inline-changelog.json")
    key = next(
        row["key"]
        for row in jira_session.get(f"{dc_sim.url}/_sim/truth").json()["issues"]
        if row["changelog_total"] > 2
    )
    sim = jira_session.get(f"{dc_sim.url}/rest/api/2/issue/{key}", params={"expand": "changelog"}).json()
    common = set(system_fields(real["fields"])) & set(sim["fields"])
    assert (
        shape_differences(
            {k: real["fields"][k] for k in common}, {k: sim["fields"][k] for k in common}, optional=OPTIONAL
        )
        == []
    )
    assert shape_differences(real["changelog"], sim["changelog"], optional=OPTIONAL) == []
    assert all("fieldId" not in item for h in sim["changelog"]["histories"] for item in h["items"])
    assert isinstance(sim["fields"]["description"], str)
    assert "accountId" not in sim["fields"]["reporter"] and sim["fields"]["reporter"]["key"].startswith("JIRAUSER")


def test_cloud_changelog_values_have_the_recorded_shape(cloud_sim, jira_session):
    real = recorded("cloud-v3-issue-changelog-page1-values-13383.json")
    key = next(
        row["key"]
        for row in jira_session.get(f"{cloud_sim.url}/_sim/truth").json()["issues"]
        if row["changelog_total"] > 3
    )
    page = jira_session.get(f"{cloud_sim.url}/rest/api/3/issue/{key}/changelog").json()
    status_real = next(v for v in real if any(i.get("fieldId") == "status" for i in v["items"]))
    status_sim = next(v for v in page["values"] if any(i.get("fieldId") == "status" for i in v["items"]))
    assert shape_differences(status_real, status_sim, optional=OPTIONAL) == []


def test_error_bodies_have_jiras_shape(cloud_sim, jira_session):
    real = recorded("dc-error-404-role-not-found.json")
    missing = jira_session.get(f"{cloud_sim.url}/rest/api/3/issue/NOPE-1")
    assert missing.status_code == 404
    assert shape_differences(real, missing.json()) == []
    bad_jql = jira_session.get(f"{cloud_sim.url}/rest/api/3/search/jql", params={"jql": "project = OPS jql"})
    assert bad_jql.status_code == 400
    assert bad_jql.json()["errorMessages"][0].startswith("Error in the JQL Query: Expecting either 'OR' or 'AND'")


@pytest.mark.parametrize(
    ("method", "path", "params", "schema"),
    [
        ("GET", "serverInfo", {}, "ServerInformation"),
        ("GET", "myself", {}, "User"),
        (
            "GET",
            "search/jql",
            {"jql": "project = OPS ORDER BY updated", "fields": "*all", "expand": "changelog"},
            "SearchAndReconcileResults",
        ),
        ("POST", "search/approximate-count", {"jql": "project = OPS"}, "JQLCountResultsBean"),
        ("GET", "issue/OPS-2", {"expand": "changelog,names,schema,transitions"}, "IssueBean"),
        ("GET", "issue/OPS-2/changelog", {}, "PageBeanChangelog"),
        (
            "POST",
            "changelog/bulkfetch",
            {"issueIdsOrKeys": ["OPS-1", "OPS-2"], "fieldIds": ["status"]},
            "BulkChangelogResponseBean",
        ),
        ("GET", "project/search", {"maxResults": 1}, "PageBeanProject"),
    ],
)
def test_cloud_responses_validate_against_the_openapi_schemas(cloud_sim, jira_session, method, path, params, schema):
    url = f"{cloud_sim.url}/rest/api/3/{path}"
    response = jira_session.get(url, params=params) if method == "GET" else jira_session.post(url, json=params)
    assert response.status_code == 200, response.text
    validate(response.json(), schema)


def test_field_list_validates_against_the_openapi_schema(cloud_sim, jira_session):
    served = jira_session.get(f"{cloud_sim.url}/rest/api/3/field").json()
    assert len(served) > 20  # an empty list would validate
    for field in served:
        validate(field, "FieldDetails")
