"""Answers that hold less than was asked for: no fields, no core fields, no changelog, bulkfetch gaps."""

from jirasim.faults import CORE_FIELDS, FaultPlan, FaultRule
from jirasim.testing import running_sim

DC_SEARCH = "POST /rest/api/2/search"
SEARCH_JQL = "POST /rest/api/3/search/jql"
BULKFETCH = "POST /rest/api/3/changelog/bulkfetch"


def faults_report(session, server):
    return session.get(f"{server.url}/_sim/faults").json()


def dc_search(session, server, jql="project = OPS ORDER BY key ASC", **extra):
    body = {"jql": jql, "maxResults": 50, "expand": ["changelog"], **extra}
    return session.post(f"{server.url}/rest/api/2/search", json=body).json()["issues"]


def test_named_issues_come_with_fields_null_in_searches_and_from_get_issue(jira_session):
    plan = FaultPlan([FaultRule("fields-null", keys=["OPS-2"], ids=["10004"])])
    with running_sim(flavour="datacenter", projects=1, issues=6, faults=plan) as server:
        issues = {issue["key"]: issue for issue in dc_search(jira_session, server)}
        single = jira_session.get(f"{server.url}/rest/api/2/issue/OPS-2").json()
        other = jira_session.get(f"{server.url}/rest/api/2/issue/OPS-1").json()
        report = faults_report(jira_session, server)
    assert issues["OPS-2"]["fields"] is None and issues["OPS-5"]["fields"] is None
    assert issues["OPS-2"]["id"] == "10001" and issues["OPS-2"]["changelog"]  # only the fields went
    assert all(issues[k]["fields"]["summary"] for k in ("OPS-1", "OPS-3", "OPS-4", "OPS-6"))
    assert single["fields"] is None and other["fields"]["summary"]
    assert report["inflicted"] == {"fields-null": {DC_SEARCH: 1, "GET /rest/api/2/issue/{issueIdOrKey}": 1}}
    assert report["issues"] == {"fields-null": ["OPS-2", "OPS-5"]}


def test_issues_without_the_fields_key_and_without_their_core_fields(jira_session):
    rules = [
        {"kind": "fields-missing", "endpoint": SEARCH_JQL, "keys": ["OPS-1"]},
        {"kind": "core-fields-missing", "endpoint": SEARCH_JQL, "keys": ["OPS-2"]},
        {"kind": "core-fields-missing", "endpoint": SEARCH_JQL, "keys": ["OPS-3"], "drop": ["status"]},
    ]
    with running_sim(flavour="cloud", projects=1, issues=5) as server:
        jira_session.post(f"{server.url}/_sim/faults", json={"rules": rules})
        answer = jira_session.post(
            f"{server.url}/rest/api/3/search/jql",
            json={"jql": "project = OPS ORDER BY key ASC", "fields": ["*all"]},
        ).json()
        report = faults_report(jira_session, server)
    issues = {issue["key"]: issue for issue in answer["issues"]}
    assert "fields" not in issues["OPS-1"] and issues["OPS-1"]["id"]
    assert not set(CORE_FIELDS) & set(issues["OPS-2"]["fields"]) and issues["OPS-2"]["fields"]["customfield_10501"]
    assert "status" not in issues["OPS-3"]["fields"] and issues["OPS-3"]["fields"]["summary"]
    assert set(CORE_FIELDS) <= set(issues["OPS-4"]["fields"])
    assert report["inflicted"] == {"fields-missing": {SEARCH_JQL: 1}, "core-fields-missing": {SEARCH_JQL: 2}}


def test_the_changelog_asked_for_is_left_out_and_only_when_it_was_asked_for(jira_session):
    plan = FaultPlan([FaultRule("changelog-missing", keys=["OPS-1"], times=2)])
    with running_sim(flavour="datacenter", projects=1, issues=3, faults=plan) as server:
        plain = dc_search(jira_session, server, expand=[])  # no changelog asked: the rule does not count it
        first = {issue["key"]: issue for issue in dc_search(jira_session, server)}
        single = jira_session.get(f"{server.url}/rest/api/2/issue/OPS-1", params={"expand": "changelog"}).json()
        third = {issue["key"]: issue for issue in dc_search(jira_session, server)}
        report = faults_report(jira_session, server)
    assert all("changelog" not in issue for issue in plain)
    assert "changelog" not in first["OPS-1"] and "changelog" in first["OPS-2"] and first["OPS-1"]["fields"]
    assert "changelog" not in single and single["fields"]["status"]
    assert "changelog" in third["OPS-1"]  # times: 2 — the first two answers only
    assert sum(report["inflicted"]["changelog-missing"].values()) == 2


def test_a_share_of_issues_chosen_stably_from_the_seed(jira_session):
    rule = {"kind": "fields-null", "endpoint": DC_SEARCH, "share": 0.3}
    blanked = []
    for _ in range(2):
        with running_sim(flavour="datacenter", projects=1, issues=60, seed=8) as server:
            jira_session.post(f"{server.url}/_sim/faults", json={"rules": [rule]})
            forward = dc_search(jira_session, server, jql="project = OPS ORDER BY key ASC", maxResults=100)
            backward = dc_search(jira_session, server, jql="project = OPS ORDER BY key DESC", maxResults=100)
            nulls = [{issue["key"] for issue in issues if issue["fields"] is None} for issues in (forward, backward)]
            assert nulls[0] == nulls[1]  # the same issues, whatever order they come in
            blanked.append(nulls[0])
    assert blanked[0] == blanked[1] and 6 <= len(blanked[0]) <= 30


def test_bulkfetch_leaves_out_the_named_issues_or_every_issue(jira_session):
    with running_sim(flavour="cloud", projects=1, issues=8, seed=2, long_history_share=0.0) as server:
        truth = jira_session.get(f"{server.url}/_sim/truth").json()["issues"]
        with_history = [row for row in truth if row["changelog_total"]][:4]
        asked = {"issueIdsOrKeys": [row["key"] for row in with_history]}
        url = f"{server.url}/rest/api/3/changelog/bulkfetch"
        gap = with_history[0]
        jira_session.post(
            f"{server.url}/_sim/faults", json={"rules": [{"kind": "bulkfetch-omit", "keys": [gap["key"]]}]}
        )
        answer = jira_session.post(url, json=asked)
        assert answer.status_code == 200
        returned = {log["issueId"] for log in answer.json()["issueChangeLogs"]}
        assert returned == {row["id"] for row in with_history[1:]}
        jira_session.post(f"{server.url}/_sim/faults", json={"rules": [{"kind": "bulkfetch-omit", "times": 1}]})
        assert jira_session.post(url, json=asked).json() == {"issueChangeLogs": []}
        assert len(jira_session.post(url, json=asked).json()["issueChangeLogs"]) == 4
        report = faults_report(jira_session, server)
    assert report["inflicted"] == {"bulkfetch-omit": {BULKFETCH: 2}}
    assert set(report["issues"]["bulkfetch-omit"]) == {row["key"] for row in with_history}


def test_faults_inflicted_are_counted_in_stats_and_reset_with_them(jira_session):
    plan = FaultPlan([FaultRule("fields-null", endpoint=DC_SEARCH, keys=["OPS-1"]), FaultRule("503", nth=[1])])
    with running_sim(flavour="datacenter", projects=1, issues=3, faults=plan) as server:
        assert jira_session.get(f"{server.url}/rest/api/2/serverInfo").status_code == 503
        dc_search(jira_session, server)
        stats = jira_session.get(f"{server.url}/_sim/stats").json()
        assert stats["faults"] == {"503": {"GET /rest/api/2/serverInfo": 1}, "fields-null": {DC_SEARCH: 1}}
        jira_session.post(f"{server.url}/_sim/reset-stats")
        assert jira_session.get(f"{server.url}/_sim/faults").json()["inflicted"] == {}
        bad = jira_session.post(f"{server.url}/_sim/faults", json={"rules": [{"kind": "fields-gone"}]})
        assert bad.status_code == 400 and "unknown fault kind" in bad.json()["errorMessages"][0]
