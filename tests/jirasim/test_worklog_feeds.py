"""The site's changed and deleted worklogs (/worklog/updated, /worklog/deleted) and POST /worklog/list:
following nextPage from any `since` lists every change /_sim/truth has, once a minute old; the list
serves each live, visible worklog once and nothing of a deleted or hidden issue."""

from datetime import datetime

import pytest
import requests

from jirasim.testing import TOKEN, USER, running_sim

AUTH = (USER, TOKEN)
PAGE = 1000  # Jira's page of worklog changes
SETTLE_MS = 60_000  # the last minute's changes are not listed yet
API = {"cloud": "/rest/api/3", "datacenter": "/rest/api/2"}


def epoch_ms(timestamp: str) -> int:
    return int(datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%S.%f%z").timestamp() * 1000)


def advance(site, body: dict) -> dict:
    response = requests.post(f"{site.url}/_sim/advance", json=body, timeout=120)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture(scope="module", params=["cloud", "datacenter"])
def busy_site(request):
    """1,200 issues with their seeded worklogs, then: 600 changes (added, edited, deleted) in one
    millisecond, 800 over three minutes, 1,100 worklogs added in one millisecond (more than a page), 100
    over a minute, and 40 in the last half minute (not listed yet)."""
    with running_sim(flavour=request.param, projects=2, issues=600, seed=11) as site:
        done = [
            advance(site, {"minutes": 0, "worklogs": {"add": 300, "edit": 150, "delete": 150}}),
            advance(site, {"minutes": 3, "worklogs": {"add": 500, "edit": 150, "delete": 150}}),
            advance(site, {"minutes": 0, "worklogs": {"add": 1100}}),
            advance(site, {"minutes": 1, "worklogs": {"add": 100}}),
            advance(site, {"minutes": 1.5}),
            advance(site, {"minutes": 0.5, "worklogs": {"add": 40}}),
        ]
        yield site, request.param, done


def follow(site, flavour: str, kind: str, since) -> list[dict]:
    """Every page from `since` on, following nextPage until lastPage; checks each page's own promises."""
    url = f"{site.url}{API[flavour]}/worklog/{kind}?since={since}"
    pages, cursor = [], None
    while True:
        body = requests.get(url, auth=AUTH, timeout=60).json()
        pages.append(body)
        values = body["values"]
        times = [value["updatedTime"] for value in values]
        assert times == sorted(times) and all(body["since"] <= at <= body["until"] for at in times)
        assert not values or body["until"] == times[-1]
        assert len(values) <= PAGE or len(set(times)) == 1  # only one crowded millisecond may overflow a page
        crowded = len(values) >= PAGE and len(set(times)) == 1 and not body["lastPage"]
        assert body["nextPage"].endswith(f"?since={body['until'] + 1 if crowded else body['until']}")
        if body["lastPage"]:
            return pages
        assert cursor is None or body["since"] > cursor, "nextPage made no progress"
        assert len(pages) < 50
        cursor, url = body["since"], body["nextPage"]


def test_following_next_page_from_any_since_lists_every_change_as_truth_has_it(busy_site):
    site, flavour, done = busy_site
    truth = requests.get(f"{site.url}/_sim/truth", timeout=120).json()
    changes = truth["worklog_changes"]
    cutoff = epoch_ms(truth["now"]) - SETTLE_MS
    # truth agrees with itself and with what the advances did: live worklogs are "updated", deleted ones "deleted"
    live = {worklog for row in truth["issues"] for worklog in row["worklogs"]}
    assert {change["id"] for change in changes["updated"]} == live
    live_keys = {row["key"] for row in truth["issues"]}
    gone = {d["id"] for step in done for d in step.get("worklogs", {}).get("deleted", []) if d["issue"] in live_keys}
    assert gone and gone <= {change["id"] for change in changes["deleted"]}
    for kind in ("updated", "deleted"):
        expected = [(change["at"], int(change["id"])) for change in changes[kind]]
        times = sorted({at for at, _ in expected})
        crowded = max(times, key=lambda t: sum(at == t for at, _ in expected))
        if kind == "updated":
            assert sum(at == crowded for at, _ in expected) > PAGE  # the test has a crowded millisecond
        unsettled = [at for at in times if at > cutoff]
        assert kind == "deleted" or unsettled  # and changes too young to list
        # any since: the start, page boundaries, the crowded millisecond and its neighbours, every
        # 50th change's time, the cutoff and later, and a time before everything
        sinces = {0, crowded - 1, crowded, crowded + 1, cutoff - 1, cutoff, cutoff + 1, cutoff + SETTLE_MS}
        sinces |= {times[k] for k in range(0, len(times), 50)} | {at + 1 for at in times[::97]}
        for since in sorted(sinces):
            pages = follow(site, flavour, kind, since)
            listed = [(value["updatedTime"], value["worklogId"]) for page in pages for value in page["values"]]
            wanted = {(at, note_id) for at, note_id in expected if since <= at <= cutoff}
            assert set(listed) == wanted, f"{kind} since {since}: {len(wanted - set(listed))} missing"
            ids = [note_id for _, note_id in listed]
            assert len(set(ids)) == len({note_id for _, note_id in wanted})  # an id has one time
            assert all(not page["lastPage"] for page in pages[:-1]) and pages[-1]["lastPage"]


def test_a_page_that_ends_in_a_millisecond_repeats_it_on_the_next_and_since_is_inclusive(busy_site):
    site, flavour, _ = busy_site
    first = requests.get(f"{site.url}{API[flavour]}/worklog/updated", params={"since": 0}, auth=AUTH).json()
    assert len(first["values"]) == PAGE and first["lastPage"] is False
    assert first["nextPage"].endswith(f"?since={first['until']}")
    following = requests.get(first["nextPage"], auth=AUTH).json()
    at_until = [v["worklogId"] for v in first["values"] if v["updatedTime"] == first["until"]]
    assert [v["worklogId"] for v in following["values"][: len(at_until)]] == at_until
    exact = requests.get(
        f"{site.url}{API[flavour]}/worklog/updated", params={"since": first["values"][5]["updatedTime"]}, auth=AUTH
    ).json()
    assert exact["values"][0]["updatedTime"] == first["values"][5]["updatedTime"]


@pytest.mark.parametrize(
    "since", ["abc", "1.5", "1_000", "1e3", "", "99999999999999999999", str(2**63), str(-(2**63) - 1)]
)
@pytest.mark.parametrize("kind", ["updated", "deleted"])
def test_a_since_that_is_not_a_java_long_is_400(busy_site, kind, since):
    site, flavour, _ = busy_site
    response = requests.get(f"{site.url}{API[flavour]}/worklog/{kind}?since={since}", auth=AUTH, timeout=30)
    if since == "":  # no value: the default, 0
        assert response.status_code == 200 and response.json()["since"] == 0
    else:
        assert response.status_code == 400 and response.json()["errorMessages"]


@pytest.mark.parametrize("kind", ["updated", "deleted"])
def test_the_largest_since_is_an_empty_last_page(busy_site, kind):
    site, flavour, _ = busy_site
    body = requests.get(f"{site.url}{API[flavour]}/worklog/{kind}?since={2**63 - 1}", auth=AUTH).json()
    assert body["values"] == [] and body["lastPage"] is True and body["until"] == 2**63 - 1


@pytest.mark.parametrize("flavour", ["cloud", "datacenter"])
def test_worklog_list_serves_each_live_visible_worklog_once_and_nothing_of_deleted_or_hidden_issues(flavour):
    with running_sim(flavour=flavour, projects=3, issues=80, seed=5) as site:
        advance(site, {"minutes": 5, "worklogs": {"add": 60, "edit": 20, "delete": 20}})
        advance(site, {"minutes": 2})
        before = requests.get(f"{site.url}/_sim/truth", timeout=60).json()
        every = [w for row in before["issues"] for w in row["worklogs"]]
        every += [change["id"] for change in before["worklog_changes"]["deleted"]]
        doomed = [row["key"] for row in before["issues"] if row["worklogs"] and row["project"] == "OPS"][:6]
        assert len(doomed) == 6
        gone = requests.post(f"{site.url}/_sim/disturb", json={"delete": 6, "keys": doomed}, timeout=30).json()
        assert sorted(gone["deleted"]) == sorted(doomed)
        hidden = requests.post(f"{site.url}/_sim/access", json={"project": "SHOOT", "issues_visible": False})
        assert hidden.status_code == 200
        after = requests.get(f"{site.url}/_sim/truth", timeout=60).json()
        expected = {w for row in after["issues"] for w in row["worklogs"]}
        assert expected < set(every)  # some worklogs went with their issues, others are hidden
        asked = every + every[::3] + ["1", "999999999", 10**15]  # repeats and ids that name nothing
        served = []
        for start in range(0, len(asked), 1000):
            response = requests.post(
                f"{site.url}{API[flavour]}/worklog/list", json={"ids": asked[start : start + 1000]}, auth=AUTH
            )
            assert response.status_code == 200
            ids = [worklog["id"] for worklog in response.json()]
            assert len(set(ids)) == len(ids)  # within one request: each worklog once
            served += ids
        batches = [set(map(str, asked[start : start + 1000])) for start in range(0, len(asked), 1000)]
        assert sorted(served) == sorted(w for batch in batches for w in batch if w in expected)
        # and the feeds agree: a worklog listed as changed is one the list serves
        feed = {str(v["worklogId"]) for page in follow(site, flavour, "updated", 0) for v in page["values"]}
        assert feed == expected
        deleted_issue_worklogs = {w for row in before["issues"] if row["key"] in doomed for w in row["worklogs"]}
        assert deleted_issue_worklogs and not deleted_issue_worklogs & set(served)


@pytest.mark.parametrize("ids", [[], ["abc"], [True], [1.5], [None], list(range(1001))])
def test_worklog_list_refuses_what_jira_refuses(busy_site, ids):
    site, flavour, _ = busy_site
    response = requests.post(f"{site.url}{API[flavour]}/worklog/list", json={"ids": ids}, auth=AUTH)
    assert response.status_code == 400 and response.json()["errorMessages"]
