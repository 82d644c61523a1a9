"""A real third-party client (the `jira` package from PyPI) cannot tell jirasim from Jira."""

import pytest
from jira import JIRA

from jirasim.testing import TOKEN, USER


@pytest.fixture(scope="module")
def dc_client(dc_sim):
    return JIRA(server=dc_sim.url, basic_auth=(USER, TOKEN), get_server_info=True, max_retries=0)


def test_it_connects_with_basic_auth_and_with_a_bearer_token(dc_sim, cloud_sim):
    assert JIRA(server=dc_sim.url, basic_auth=(USER, TOKEN), max_retries=0).server_info()["deploymentType"] == "Server"
    assert JIRA(server=dc_sim.url, token_auth=TOKEN, max_retries=0).myself()["displayName"]
    cloud = JIRA(server=cloud_sim.url, basic_auth=(USER, TOKEN), max_retries=0)
    assert cloud._is_cloud


def test_it_lists_projects_and_fields(dc_client):
    assert [p.key for p in dc_client.projects()] == ["OPS", "SHOOT"]
    fields = {f["id"]: f for f in dc_client.fields()}
    assert fields["customfield_12594"]["name"] == "Access Instructions"


def test_it_searches_with_changelog_across_pages(dc_client, dc_sim):
    issues = dc_client.search_issues(
        "project = OPS ORDER BY key", maxResults=False, expand="changelog", json_result=False
    )
    assert len(issues) == 120 and len({i.id for i in issues}) == 120
    assert all(len(i.changelog.histories) == i.changelog.total for i in issues)


def test_it_searches_cloud_with_the_enhanced_search(cloud_sim):
    cloud = JIRA(server=cloud_sim.url, basic_auth=(USER, TOKEN), max_retries=0)
    issues = cloud.enhanced_search_issues(
        "project = SHOOT ORDER BY updated", maxResults=0, fields="summary,status", expand="changelog"
    )
    assert len(issues) == 120
    assert all(i.fields.status.name for i in issues)


def test_it_reads_an_issue_by_id_and_by_an_old_key(cloud_sim):
    import requests

    moved = requests.post(f"{cloud_sim.url}/_sim/advance", json={"minutes": 5, "move": 1}, timeout=60).json()["moved"][
        0
    ]
    cloud = JIRA(server=cloud_sim.url, basic_auth=(USER, TOKEN), max_retries=0)
    assert cloud.issue(moved["id"]).key == moved["to"]
    assert cloud.issue(moved["from"]).key == moved["to"]


def test_it_pages_a_changelog(dc_client, dc_sim):
    import requests

    busy = next(
        row
        for row in requests.get(f"{dc_sim.url}/_sim/truth", timeout=60).json()["issues"]
        if row["changelog_total"] > 100
    )

    def history(options, session, raw):
        return raw

    pages = dc_client._fetch_pages(history, "values", f"issue/{busy['id']}/changelog", maxResults=False)
    assert len(pages) == busy["changelog_total"]
    assert [p["created"] for p in pages] == sorted(p["created"] for p in pages)
