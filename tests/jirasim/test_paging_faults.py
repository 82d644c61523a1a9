"""Pagination that does not advance: tokens that repeat, startAt ignored, pages repeated, empty pages."""

import pytest

from jirasim.faults import FaultPlan, FaultRule
from jirasim.testing import running_sim

SEARCH_JQL = "POST /rest/api/3/search/jql"
DC_SEARCH = "POST /rest/api/2/search"
BULKFETCH = "POST /rest/api/3/changelog/bulkfetch"
CHANGELOG = "GET /rest/api/3/issue/{issueIdOrKey}/changelog"
JQL = "project = OPS ORDER BY key ASC"


@pytest.fixture
def sim_with(jira_session):
    """A simulator of the flavour with these fault rules, set through POST /_sim/faults."""

    def start(flavour, *rules, **options):
        server = stack.enter_context(
            running_sim(flavour=flavour, projects=2, issues=25, seed=3, long_history_share=0.2, **options)
        )
        answer = jira_session.post(f"{server.url}/_sim/faults", json={"rules": list(rules)})
        assert answer.json() == {"rules": len(rules)}
        return server

    from contextlib import ExitStack

    with ExitStack() as stack:
        yield start


def inflicted(session, server):
    return session.get(f"{server.url}/_sim/faults").json()["inflicted"]


def cloud_page(session, server, token=None, size=10, fields=("key",)):
    body = {"jql": JQL, "maxResults": size, "fields": list(fields)}
    if token:
        body["nextPageToken"] = token
    return session.post(f"{server.url}/rest/api/3/search/jql", json=body).json()


def keys(answer):
    return [issue["key"] for issue in answer["issues"]]


def dc_page(session, server, start, size=10, fields=("summary",)):
    body = {"jql": JQL, "startAt": start, "maxResults": size, "fields": list(fields)}
    return session.post(f"{server.url}/rest/api/2/search", json=body).json()


def busy_issue(session, server):
    rows = session.get(f"{server.url}/_sim/truth").json()["issues"]
    return max(rows, key=lambda row: row["changelog_total"])


def test_search_jql_answers_every_request_with_its_first_page_and_token(sim_with, jira_session):
    server = sim_with("cloud", {"kind": "repeat-token", "endpoint": SEARCH_JQL})
    first = cloud_page(jira_session, server)
    token = first["nextPageToken"]
    for _ in range(3):
        again = cloud_page(jira_session, server, token)
        assert keys(again) == keys(first) and again["nextPageToken"] == token and again["isLast"] is False
    # A new query (as a client that seeks sends for each page) gets the very same answer.
    other = jira_session.post(
        f"{server.url}/rest/api/3/search/jql",
        json={"jql": "project = OPS AND updated >= -1d ORDER BY updated ASC", "fields": ["key"], "maxResults": 10},
    ).json()
    assert keys(other) == keys(first) and other["nextPageToken"] == token
    assert inflicted(jira_session, server) == {"repeat-token": {SEARCH_JQL: 5}}


def test_bulkfetch_repeats_its_token_and_first_page(sim_with, jira_session):
    server = sim_with("cloud", {"kind": "repeat-token", "endpoint": BULKFETCH, "times": 2})
    busy = busy_issue(jira_session, server)
    url = f"{server.url}/rest/api/3/changelog/bulkfetch"
    body = {"issueIdsOrKeys": [busy["id"]], "maxResults": 5}
    first = jira_session.post(url, json=body).json()
    token = first["nextPageToken"]
    assert jira_session.post(url, json={**body, "nextPageToken": token}).json() == first
    onward = jira_session.post(url, json={**body, "nextPageToken": token}).json()
    assert onward["issueChangeLogs"] != first["issueChangeLogs"] and onward["nextPageToken"] != token
    assert inflicted(jira_session, server) == {"repeat-token": {BULKFETCH: 2}}


def test_data_center_search_ignores_start_at_and_answers_page_zero(sim_with, jira_session):
    server = sim_with("datacenter", {"kind": "ignore-start-at", "endpoint": DC_SEARCH})
    first, second = dc_page(jira_session, server, 0), dc_page(jira_session, server, 10)
    assert second["startAt"] == 0 and keys(second) == keys(first) and second["total"] == first["total"] == 25
    assert inflicted(jira_session, server) == {"ignore-start-at": {DC_SEARCH: 1}}  # startAt 0 was not ignored


def test_changelog_and_project_search_ignore_start_at(sim_with, jira_session):
    server = sim_with("cloud", {"kind": "ignore-start-at"})
    busy = busy_issue(jira_session, server)
    url = f"{server.url}/rest/api/3/issue/{busy['key']}/changelog"
    first = jira_session.get(url, params={"maxResults": 5}).json()
    later = jira_session.get(url, params={"startAt": 5, "maxResults": 5}).json()
    assert later["startAt"] == 0 and later["values"] == first["values"] and later["isLast"] is False
    projects = f"{server.url}/rest/api/3/project/search"
    again = jira_session.get(projects, params={"startAt": 1, "maxResults": 1}).json()
    assert again["startAt"] == 0 and [p["key"] for p in again["values"]] == ["OPS"] and not again["isLast"]
    assert inflicted(jira_session, server) == {
        "ignore-start-at": {"GET /rest/api/3/issue/{issueIdOrKey}/changelog": 1, "GET /rest/api/3/project/search": 1}
    }


def test_a_repeated_page_serves_the_previous_page_again_on_every_paging_flavour(sim_with, jira_session):
    server = sim_with("cloud", {"kind": "repeat-page", "nth": [1]})
    first = cloud_page(jira_session, server)
    second = cloud_page(jira_session, server, first["nextPageToken"])
    assert keys(second) == keys(first) and second["nextPageToken"] != first["nextPageToken"]
    third = cloud_page(jira_session, server, second["nextPageToken"])
    assert keys(third)[0] == "OPS-21"  # the real second page (OPS-11…OPS-20) was never served
    busy = busy_issue(jira_session, server)
    url = f"{server.url}/rest/api/3/issue/{busy['id']}/changelog"
    for endpoint in (CHANGELOG, BULKFETCH):
        jira_session.post(f"{server.url}/_sim/faults", json={"rules": [{"kind": "repeat-page", "endpoint": endpoint}]})
        if endpoint == CHANGELOG:
            pages = [jira_session.get(url, params={"startAt": s, "maxResults": 5}).json() for s in (0, 5)]
            assert pages[1]["values"] == pages[0]["values"] and pages[1]["startAt"] == 5
        else:
            bulk = f"{server.url}/rest/api/3/changelog/bulkfetch"
            body = {"issueIdsOrKeys": [busy["id"]], "maxResults": 5}
            page_one = jira_session.post(bulk, json=body).json()
            page_two = jira_session.post(bulk, json={**body, "nextPageToken": page_one["nextPageToken"]}).json()
            assert page_two["issueChangeLogs"] == page_one["issueChangeLogs"]
    assert inflicted(jira_session, server)["repeat-page"] == {
        SEARCH_JQL: 1,
        CHANGELOG: 1,
        BULKFETCH: 1,
    }


def test_data_center_repeats_the_previous_page_under_the_start_at_asked_for(sim_with, jira_session):
    server = sim_with("datacenter", {"kind": "repeat-page", "endpoint": DC_SEARCH})
    first, second = dc_page(jira_session, server, 0), dc_page(jira_session, server, 10)
    assert keys(second) == keys(first) and second["startAt"] == 10


def test_empty_pages_claim_more_to_come_and_point_where_they_should_have_started(sim_with, jira_session):
    server = sim_with("cloud", {"kind": "empty-page", "endpoint": SEARCH_JQL, "nth": [2]})
    first = cloud_page(jira_session, server)
    empty = cloud_page(jira_session, server, first["nextPageToken"])
    assert empty["issues"] == [] and empty["isLast"] is False
    assert empty["nextPageToken"] != first["nextPageToken"]  # a new token: only the ids seen tell it stalled
    second = cloud_page(jira_session, server, empty["nextPageToken"])
    assert keys(second)[0] == "OPS-11"


def test_data_center_changelog_project_search_and_bulkfetch_answer_empty_pages(sim_with, jira_session):
    server = sim_with("datacenter", {"kind": "empty-page"})
    page = dc_page(jira_session, server, 10)
    assert page["issues"] == [] and page["total"] == 25 and page["startAt"] == 10
    busy = busy_issue(jira_session, server)
    log = jira_session.get(f"{server.url}/rest/api/2/issue/{busy['key']}/changelog").json()
    assert log["values"] == [] and log["isLast"] is False and log["total"] == busy["changelog_total"]
    assert log["nextPage"].endswith("startAt=0")
    cloud = sim_with("cloud", {"kind": "empty-page"})
    projects = jira_session.get(f"{cloud.url}/rest/api/3/project/search").json()
    assert projects["values"] == [] and projects["isLast"] is False and projects["total"] == 2
    bulk = jira_session.post(
        f"{cloud.url}/rest/api/3/changelog/bulkfetch", json={"issueIdsOrKeys": [busy["id"]], "maxResults": 5}
    ).json()
    assert bulk["issueChangeLogs"] == [] and bulk["nextPageToken"]
    again = jira_session.post(
        f"{cloud.url}/rest/api/3/changelog/bulkfetch",
        json={"issueIdsOrKeys": [busy["id"]], "maxResults": 5, "nextPageToken": bulk["nextPageToken"]},
    ).json()
    assert again["issueChangeLogs"] == [] and again["nextPageToken"] != bulk["nextPageToken"]


def test_a_rule_can_aim_at_the_ids_only_census_listing_alone(sim_with, jira_session):
    rule = {"kind": "empty-page", "endpoint": DC_SEARCH, "listing": "ids"}
    server = sim_with("datacenter", rule)
    assert dc_page(jira_session, server, 0, fields=["updated"])["issues"] == []
    assert dc_page(jira_session, server, 0, fields=[])["issues"] == []
    assert len(dc_page(jira_session, server, 0)["issues"]) == 10  # summary asked: a full search
    cloud = sim_with("cloud", {**rule, "endpoint": SEARCH_JQL})
    ids_only = jira_session.post(f"{cloud.url}/rest/api/3/search/jql", json={"jql": JQL}).json()
    assert ids_only["issues"] == [] and ids_only["isLast"] is False
    assert len(cloud_page(jira_session, cloud, fields=["summary", "status"])["issues"]) == 10


def test_paging_faults_come_from_the_cli_and_from_fault_plans(jira_session):
    from jirasim.__main__ import build, parse_args

    rule = '{"kind": "repeat-token", "endpoint": "POST /rest/api/3/search/jql", "times": 2}'
    server = build(parse_args(["--port", "0", "--projects", "1", "--issues", "25", "--fault", rule])).start()
    try:
        first = cloud_page(jira_session, server)
        assert cloud_page(jira_session, server, first["nextPageToken"])["nextPageToken"] == first["nextPageToken"]
        assert keys(cloud_page(jira_session, server, first["nextPageToken"]))[0] == "OPS-11"
    finally:
        server.stop()
    plan = FaultPlan([FaultRule("ignore-start-at", endpoint=DC_SEARCH, nth=[2])])
    with running_sim(flavour="datacenter", projects=1, issues=25, faults=plan) as server:
        starts = [dc_page(jira_session, server, start)["startAt"] for start in (10, 10, 10)]
    assert starts == [10, 0, 10]


def test_a_client_that_seeks_gets_the_page_it_was_served_before_again(sim_with, jira_session):
    server = sim_with("datacenter", {"kind": "repeat-page", "endpoint": DC_SEARCH, "times": 1})

    def seek(cursor):
        jql = f"project = OPS AND updated >= {cursor} ORDER BY updated ASC, key ASC"
        body = {"jql": jql, "maxResults": 5, "fields": ["updated"]}
        return jira_session.post(f"{server.url}/rest/api/2/search", json=body).json()["issues"]

    first = seek(1_000_000_000_000)
    newest = server.sim.data.by_id[int(first[-1]["id"])].updated_ms
    assert seek(newest) == first  # a new query with a new cursor, and the page before it again
    assert seek(newest)[0]["id"] == first[-1]["id"]  # the fault done once: the right page
