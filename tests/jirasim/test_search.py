"""Searches that read on from a cursor (a moving `updated` window) cost a bisection, not a scan of the site."""

import random

import pytest

from jirasim.testing import running_sim


@pytest.fixture(scope="module")
def dc_window_sim():
    with running_sim(flavour="datacenter", projects=2, issues=300, seed=11) as server:
        yield server


def search_ids(session, server, jql, start=0, size=1000):
    body = {"jql": jql, "startAt": start, "maxResults": size, "fields": ["updated"]}
    answer = session.post(f"{server.url}/rest/api/2/search", json=body)
    assert answer.status_code == 200, answer.text
    return [issue["id"] for issue in answer.json()["issues"]], answer.json()["total"]


def scans(session, server):
    return session.get(f"{server.url}/_sim/stats").json()["search_scans"]


def test_a_window_query_answers_as_the_same_query_scanned_in_full(dc_window_sim, jira_session):
    rows = jira_session.get(f"{dc_window_sim.url}/_sim/truth").json()["issues"]
    sim_rows = {r.id: r for r in dc_window_sim.sim.data.by_id.values()}
    rng = random.Random(3)
    for _ in range(25):
        row = sim_rows[int(rng.choice(rows)["id"])]
        field = rng.choice(["updated", "created", "id"])
        value = {"updated": row.updated_ms, "created": row.created_ms, "id": row.id}[field]
        operator, direction = rng.choice([(">=", "ASC"), (">", "ASC"), ("<=", "DESC"), ("<", "DESC")])
        rest = rng.choice(["project = OPS", "project in (OPS, SHOOT) AND updated <= -3d", "key != OPS-7"])
        window = f"{rest} AND {field} {operator} {value} ORDER BY {field} {direction}, key ASC"
        scanned = f"{rest} AND ({field} {operator} {value}) ORDER BY {field} {direction}, key ASC"  # no cursor
        assert search_ids(jira_session, dc_window_sim, window) == search_ids(jira_session, dc_window_sim, scanned)
        assert (
            search_ids(jira_session, dc_window_sim, window, start=7, size=13)[0]
            == (search_ids(jira_session, dc_window_sim, scanned)[0][7:20])
        )


def test_paging_a_big_site_by_a_moving_updated_window_scans_it_once_per_change(jira_session):
    with running_sim(flavour="datacenter", projects=2, issues=3000, seed=6) as server:
        before = scans(jira_session, server)
        seen, cursor, pages = set(), 1_000_000_000_000, 0
        while True:
            jql = f"project = OPS AND updated >= {cursor} ORDER BY updated ASC, key ASC"
            ids, _total = search_ids(jira_session, server, jql, size=100)
            pages += 1
            new = set(ids) - seen
            if not new:
                break
            seen |= new
            cursor = server.sim.data.by_id[int(ids[-1])].updated_ms
            if pages == 10:
                server.sim.data.advance(minutes=5, update=0.01)  # a change: one more scan, then bisections again
        ops = {
            row["id"]
            for row in jira_session.get(f"{server.url}/_sim/truth").json()["issues"]
            if row["project"] == "OPS"
        }
        assert seen == ops and pages > 30
        assert scans(jira_session, server) - before == 2
