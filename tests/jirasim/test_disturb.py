"""Results that change while a client pages through them: disturbances, and Cloud's live page tokens."""

import pytest
import requests

from jirasim.faults import FaultPlan, FaultRule
from jirasim.testing import running_sim

DC_SEARCH = "POST /rest/api/2/search"
CLOUD_SEARCH = "POST /rest/api/3/search/jql"
BY_UPDATED = "project = OPS ORDER BY updated ASC, key ASC"


def dc_keys_by_offset(session, server, jql=BY_UPDATED, page=10):
    """Page a DC search the naive way: startAt += maxResults until past total."""
    keys, start = [], 0
    while True:
        body = session.post(
            f"{server.url}/rest/api/2/search",
            json={"jql": jql, "startAt": start, "maxResults": page, "fields": ["updated"]},
        ).json()
        keys += [issue["key"] for issue in body["issues"]]
        start += page
        if start >= body["total"]:
            return keys


def cloud_keys(session, server, jql=BY_UPDATED, page=10, on_page=None):
    keys, token, pages = [], None, 0
    while True:
        body = {"jql": jql, "maxResults": page, "fields": ["updated"]}
        if token:
            body["nextPageToken"] = token
        answer = session.post(f"{server.url}/rest/api/3/search/jql", json=body).json()
        keys += [issue["key"] for issue in answer["issues"]]
        pages += 1
        if on_page:
            on_page(pages)
        token = answer.get("nextPageToken")
        if answer["isLast"]:
            return keys


def truth(session, server, project="OPS"):
    rows = session.get(f"{server.url}/_sim/truth").json()["issues"]
    return {row["key"]: row for row in rows if project in (None, row["project"])}


def fault_report(session, server):
    return session.get(f"{server.url}/_sim/faults").json()


def test_an_edit_in_the_served_part_makes_a_data_center_client_paging_by_offset_skip_issues(jira_session):
    rule = FaultRule("disturb", endpoint=DC_SEARCH, after_page=1, edit=2, times=1)
    with running_sim(flavour="datacenter", projects=1, issues=30, seed=5, faults=FaultPlan([rule])) as server:
        before = truth(jira_session, server)
        seen = dc_keys_by_offset(jira_session, server)
        after = truth(jira_session, server)
        report = fault_report(jira_session, server)
    (done,) = report["disturbances"]
    assert len(done["updated"]) == 2 and done["page"] == 1 and done["served"] == 10
    assert set(after) == set(before)  # nothing came or went: the client still missed two
    assert len(done["skipped"]) == 2
    assert set(after) - set(seen) == set(done["skipped"])
    for key in done["updated"]:
        assert after[key]["updated"] == done["now"] == after[key]["updated"]
        assert after[key]["changelog_total"] == before[key]["changelog_total"] + 1
        assert seen.count(key) == 2  # read before the edit, and again at the end of the result
    assert report["inflicted"] == {"disturb": {DC_SEARCH: 1}}
    assert sorted(report["issues"]["disturb"]) == sorted(done["updated"])


def test_repeated_disturbances_delete_move_and_create_and_the_truth_shows_them(jira_session):
    rule = FaultRule("disturb", endpoint=DC_SEARCH, after_page=2, repeat=True, delete=1, move=1, create=1)
    with running_sim(flavour="datacenter", projects=2, issues=40, seed=9, faults=FaultPlan([rule])) as server:
        seen = dc_keys_by_offset(jira_session, server)
        everywhere = truth(jira_session, server, project=None)
        report = fault_report(jira_session, server)
    disturbances = report["disturbances"]
    assert [d["page"] for d in disturbances] == [2, 3]  # none after the last page: the read is over
    deleted = {key for d in disturbances for key in d["deleted"]}
    moved = [m for d in disturbances for m in d["moved"]]
    created = {key for d in disturbances for key in d["created"]}
    assert len(deleted) == len(moved) == len(created) == len(disturbances)
    assert not deleted & set(everywhere)
    for move in moved:
        assert everywhere[move["to"]]["project"] == "SHOOT" and everywhere[move["to"]]["id"] == move["id"]
    assert created <= {key for key, row in everywhere.items() if row["project"] == "OPS"}
    ops_now = {key for key, row in everywhere.items() if row["project"] == "OPS"}
    skipped = {key for d in disturbances for key in d["skipped"]}
    assert skipped, "a deletion or move in the served part shifts unread issues before the next offset"
    assert ops_now - set(seen) <= skipped | created
    assert report["inflicted"]["disturb"] == {DC_SEARCH: len(disturbances)}


def test_cloud_snapshot_tokens_read_on_undisturbed(jira_session):
    rule = FaultRule("disturb", endpoint=CLOUD_SEARCH, after_page=1, edit=3)
    with running_sim(flavour="cloud", projects=1, issues=30, seed=5, faults=FaultPlan([rule])) as server:
        before = truth(jira_session, server)
        seen = cloud_keys(jira_session, server)
        (done,) = fault_report(jira_session, server)["disturbances"]
    assert sorted(seen) == sorted(before) and done["skipped"] == []
    assert len(done["updated"]) == 3


def test_cloud_live_tokens_are_offsets_into_the_changing_result_so_the_disturb_control_makes_it_skip(jira_session):
    with running_sim(flavour="cloud", projects=1, issues=30, seed=5) as server:
        url = server.url
        assert jira_session.get(f"{url}/_sim/paging").json() == {"cloud_tokens": "snapshot"}
        assert jira_session.post(f"{url}/_sim/paging", json={"cloud_tokens": "live"}).json() == {"cloud_tokens": "live"}
        answers = []

        def disturb_after_first(page):
            if page == 1:
                answers.append(jira_session.post(f"{url}/_sim/disturb", json={"edit": 3, "minutes": 5}).json())

        before = truth(jira_session, server)
        seen = cloud_keys(jira_session, server, on_page=disturb_after_first)
        after = truth(jira_session, server)
        report = fault_report(jira_session, server)
    (done,) = answers
    assert done["jql"] == BY_UPDATED and done["served"] == 10 and len(done["updated"]) == 3
    assert done["now"].startswith("2026-01-01T00:05")
    assert len(done["skipped"]) == 3 and set(before) - set(seen) == set(done["skipped"])
    assert all(after[key]["updated"] == done["now"] for key in done["updated"])
    assert report["inflicted"] == {"disturb": {"POST /_sim/disturb": 1}}


def test_the_disturb_control_edits_named_issues_and_arms_rules(jira_session):
    with running_sim(flavour="datacenter", projects=1, issues=10, seed=2) as server:
        url = server.url
        assert jira_session.post(f"{url}/_sim/disturb", json={"edit": 1}).status_code == 400  # nothing paged yet
        done = jira_session.post(f"{url}/_sim/disturb", json={"keys": ["OPS-3"], "minutes": 0}).json()
        assert done["updated"] == ["OPS-3"] and done["skipped"] == []
        assert truth(jira_session, server)["OPS-3"]["updated"] == done["now"]
        armed = jira_session.post(f"{url}/_sim/disturb", json={"after_page": 1, "delete": 1, "times": 1}).json()
        assert armed == {"armed": {"kind": "disturb", "times": 1, "delete": 1}}
        dc_keys_by_offset(jira_session, server, page=5)
        report = fault_report(jira_session, server)
    assert report["rules"] == [armed["armed"]]
    assert len(report["disturbances"][-1]["deleted"]) == 1
    assert report["inflicted"]["disturb"] == {"POST /_sim/disturb": 1, DC_SEARCH: 1}


@pytest.mark.parametrize("flavour", ["cloud", "datacenter"])
def test_disturbances_are_reproducible_from_the_seeds(flavour, jira_session):
    endpoint = CLOUD_SEARCH if flavour == "cloud" else DC_SEARCH
    rule = {"kind": "disturb", "endpoint": endpoint, "repeat": True, "edit": 1, "delete": 1}
    runs = []
    for _ in range(2):
        with running_sim(flavour=flavour, projects=1, issues=25, seed=4, cloud_tokens="live") as server:
            requests.post(f"{server.url}/_sim/faults", json={"rules": [rule]}, timeout=60).raise_for_status()
            pager = cloud_keys if flavour == "cloud" else dc_keys_by_offset
            runs.append((pager(jira_session, server), fault_report(jira_session, server)["disturbances"]))
    assert runs[0] == runs[1] and runs[0][1]


def test_a_bulk_change_gives_issues_one_instant_and_key_comparisons_go_by_project_then_number(jira_session):
    with running_sim(flavour="datacenter", projects=2, issues=24, seed=3) as server:
        data = server.sim.data
        ops = [record for record in data.live() if data.projects[record.project].key == "OPS"]
        done = data.change(edit=ops, minutes=60)  # a bulk change: every edited issue at the new now
        rows = {row["key"]: row for row in data.truth()}  # `updated` in epoch ms
        assert {rows[key]["updated"] for key in done["updated"]} == {done["now"]} and len(done["updated"]) == len(ops)
        numbers = sorted(int(key.split("-")[1]) for key in done["updated"])
        middle = f"OPS-{numbers[len(numbers) // 2]}"

        def keys(jql):
            body = {"jql": jql, "maxResults": 100, "fields": ["updated"]}
            return [i["key"] for i in jira_session.post(f"{server.url}/rest/api/2/search", json=body).json()["issues"]]

        after_middle = keys(f'updated >= {done["now"]} AND key > "{middle}" ORDER BY updated ASC, key ASC')
        assert after_middle == [f"OPS-{n}" for n in numbers if n > numbers[len(numbers) // 2]]
        everything = keys("project in (OPS, SHOOT) ORDER BY key ASC")
        # Project first, then number (OPS-10 after OPS-9; every SHOOT key after every OPS key).
        assert (
            keys(f'project in (OPS, SHOOT) AND issuekey >= "{middle}" ORDER BY key ASC')
            == everything[everything.index(middle) :]
        )
        assert (
            keys(f'project in (OPS, SHOOT) AND key < "{middle}" ORDER BY key ASC')
            == everything[: everything.index(middle)]
        )
        assert keys(f'project in (OPS, SHOOT) AND key <= "{middle}" ORDER BY key ASC')[-1] == middle
        bad = {"jql": 'key > "not a key"', "maxResults": 1}
        assert jira_session.post(f"{server.url}/rest/api/2/search", json=bad).status_code == 400
