"""Replay: recorded real issues served through every endpoint, as recorded."""

import requests

from jirasim.testing import TOKEN, USER, running_sim
from tests.support.reference import recorded, reference_dir


def session() -> requests.Session:
    s = requests.Session()
    s.auth = (USER, TOKEN)
    return s


def test_recorded_cloud_issues_are_served_through_search_issue_changelog_and_bulkfetch():
    folder = reference_dir() / "recorded"
    files = [
        str(folder / "cloud-v3-search-legacy-page-adf-customfields.json"),
        str(folder / "cloud-agile-issue-EE-17-inline-changelog-jsonb-reordered.json"),
    ]
    with running_sim(flavour="cloud", projects=0, issues=0, replay=files) as server:
        http = session()
        page = recorded("cloud-v3-search-legacy-page-adf-customfields.json")
        found = http.post(
            f"{server.url}/rest/api/3/search/jql",
            json={"jql": "project = KP ORDER BY key", "fields": ["*all"], "maxResults": 100},
        ).json()
        assert sorted(i["key"] for i in found["issues"]) == sorted(i["key"] for i in page["issues"])
        original = next(i for i in page["issues"] if i["key"] == "KP-19")
        served = http.get(f"{server.url}/rest/api/3/issue/KP-19").json()
        assert served["fields"] == original["fields"]
        ee17 = recorded("cloud-agile-issue-EE-17-inline-changelog-jsonb-reordered.json")
        total = len(ee17["changelog"]["histories"])
        values = http.get(f"{server.url}/rest/api/3/issue/EE-17/changelog").json()["values"]
        assert len(values) == total
        created = [v["created"] for v in values]
        assert sorted(created) == sorted(h["created"] for h in ee17["changelog"]["histories"])
        bulk = http.post(
            f"{server.url}/rest/api/3/changelog/bulkfetch", json={"issueIdsOrKeys": ["EE-17"], "fieldIds": ["status"]}
        ).json()
        statuses = [i for h in bulk["issueChangeLogs"][0]["changeHistories"] for i in h["items"]]
        assert statuses and all(i["field"] == "status" for i in statuses)


def test_a_recorded_data_center_issue_is_served_with_its_whole_changelog():
    path = str(reference_dir() / "recorded" / "server-agile-issue-DZFNK0168-20-inline-changelog.json")
    original = recorded("server-agile-issue-DZFNK0168-20-inline-changelog.json")
    with running_sim(flavour="datacenter", projects=1, issues=5, replay=[path]) as server:
        body = (
            session()
            .get(f"{server.url}/rest/api/2/search", params={"jql": f"key = {original['key']}", "expand": "changelog"})
            .json()
        )
        assert body["total"] == 1
        issue = body["issues"][0]
        assert issue["fields"]["summary"] == original["fields"]["summary"]
        assert issue["changelog"]["total"] == len(original["changelog"]["histories"])
        truth = session().get(f"{server.url}/_sim/truth").json()["issues"]
        assert any(row["key"] == original["key"] for row in truth)


def test_a_file_without_issues_is_refused_with_its_name(tmp_path):
    import pytest

    bad = tmp_path / "not-an-issue.json"
    bad.write_text('{"hello": 1}')
    with (
        pytest.raises(ValueError, match=r"not-an-issue\.json: no Jira issue in it"),
        running_sim(flavour="cloud", projects=1, issues=1, replay=[str(bad)]),
    ):
        pass
