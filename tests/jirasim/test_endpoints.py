"""jirasim's Jira endpoints: paging flavours, JQL, histories, auth, limits, faults, change over time."""

import base64

import pytest
import requests

from jirasim.faults import FaultPlan, FaultRule
from jirasim.testing import TOKEN, USER, request_counts, running_sim


def all_cloud_keys(server, session, jql, page=37, fields="key"):
    keys, token, requests_made = [], None, 0
    while True:
        params = {"jql": jql, "maxResults": page, "fields": fields}
        if token:
            params["nextPageToken"] = token
        body = session.get(f"{server.url}/rest/api/3/search/jql", params=params).json()
        requests_made += 1
        assert "total" not in body and "startAt" not in body
        keys += [issue["key"] for issue in body["issues"]]
        token = body.get("nextPageToken")
        if body["isLast"]:
            assert token is None
            return keys, requests_made


def test_cloud_search_pages_with_tokens_and_returns_ids_only_by_default(cloud_sim, jira_session):
    keys, pages = all_cloud_keys(cloud_sim, jira_session, "project = OPS ORDER BY key ASC")
    truth = [
        row["key"]
        for row in jira_session.get(f"{cloud_sim.url}/_sim/truth").json()["issues"]
        if row["project"] == "OPS"
    ]
    assert sorted(keys) == sorted(truth) and len(set(keys)) == len(keys)
    assert pages == -(-len(truth) // 37)
    bare = jira_session.get(f"{cloud_sim.url}/rest/api/3/search/jql", params={"jql": "project = OPS"}).json()
    assert set(bare["issues"][0]) == {"id"}


def test_cloud_search_rejects_unbounded_jql_and_page_sizes_over_5000(cloud_sim, jira_session):
    url = f"{cloud_sim.url}/rest/api/3/search/jql"
    unbounded = jira_session.get(url, params={"jql": "order by key desc"})
    assert unbounded.status_code == 400
    assert unbounded.json()["errorMessages"] == [
        "Unbounded JQL queries are not allowed here. Please add a search restriction to your query."
    ]
    too_big = jira_session.post(url, json={"jql": "project = OPS", "maxResults": 5001})
    assert too_big.json() == {
        "errorMessages": ["The max results parameter has to be between 1 and 5,000."],
        "errors": {},
    }
    assert jira_session.get(f"{cloud_sim.url}/rest/api/3/search", params={"jql": "project = OPS"}).status_code == 410


def test_cloud_inline_changelog_is_truncated_newest_first_and_the_changelog_endpoint_pages_oldest_first(
    cloud_sim, jira_session
):
    busy = next(
        row for row in jira_session.get(f"{cloud_sim.url}/_sim/truth").json()["issues"] if row["changelog_total"] > 100
    )
    body = jira_session.post(
        f"{cloud_sim.url}/rest/api/3/search/jql",
        json={"jql": f"key = {busy['key']}", "fields": ["status"], "expand": "changelog"},
    ).json()
    inline = body["issues"][0]["changelog"]
    assert inline["total"] == busy["changelog_total"] and len(inline["histories"]) == 40
    created = [h["created"] for h in inline["histories"]]
    assert created == sorted(created, reverse=True)
    values, start = [], 0
    while True:
        page = jira_session.get(
            f"{cloud_sim.url}/rest/api/3/issue/{busy['id']}/changelog", params={"startAt": start}
        ).json()
        values += page["values"]
        if page["isLast"]:
            break
        start += page["maxResults"]
    assert len(values) == busy["changelog_total"]
    assert [v["created"] for v in values] == sorted(v["created"] for v in values)


def test_bulkfetch_returns_every_tracked_history_in_pages(cloud_sim, jira_session):
    truth = jira_session.get(f"{cloud_sim.url}/_sim/truth").json()["issues"][:50]
    seen, token, calls = 0, None, 0
    while True:
        body = {"issueIdsOrKeys": [row["id"] for row in truth], "maxResults": 25}
        if token:
            body["nextPageToken"] = token
        answer = jira_session.post(f"{cloud_sim.url}/rest/api/3/changelog/bulkfetch", json=body).json()
        calls += 1
        seen += sum(len(log["changeHistories"]) for log in answer["issueChangeLogs"])
        token = answer.get("nextPageToken")
        if not token:
            break
    assert seen == sum(row["changelog_total"] for row in truth)
    assert calls == -(-seen // 25)
    too_many = jira_session.post(
        f"{cloud_sim.url}/rest/api/3/changelog/bulkfetch", json={"issueIdsOrKeys": list(range(1001))}
    )
    assert too_many.status_code == 400


def test_data_center_search_pages_with_start_at_and_total_and_sends_whole_histories(dc_sim, jira_session):
    url = f"{dc_sim.url}/rest/api/2/search"
    first = jira_session.get(
        url, params={"jql": "project = SHOOT ORDER BY updated", "maxResults": 2000, "expand": "changelog"}
    ).json()
    assert first["maxResults"] == 1000 and first["total"] == len(first["issues"])
    for issue in first["issues"]:
        assert issue["changelog"]["total"] == len(issue["changelog"]["histories"])
    updated = [issue["fields"]["updated"] for issue in first["issues"]]
    assert updated == sorted(updated)
    past_end = jira_session.post(url, json={"jql": "project = SHOOT", "startAt": 5000, "maxResults": 10}).json()
    assert past_end["issues"] == [] and past_end["total"] == first["total"]
    window = jira_session.get(url, params={"jql": "project = SHOOT", "startAt": 9990, "maxResults": 20})
    assert window.status_code == 400 and "10,000" in window.json()["errorMessages"][0]
    assert jira_session.get(f"{dc_sim.url}/rest/api/3/search/jql", params={"jql": "project = SHOOT"}).status_code == 404


@pytest.mark.parametrize("zone", ["Asia/Kolkata", "America/Los_Angeles"])
def test_quoted_jql_dates_are_read_in_the_account_zone_and_epoch_millis_are_not(zone):
    with running_sim(flavour="cloud", projects=1, issues=30, account_tz=zone, site_tz=zone) as server:
        session = requests.Session()
        session.auth = (USER, TOKEN)
        truth = session.get(f"{server.url}/_sim/truth").json()["issues"]
        from datetime import datetime
        from zoneinfo import ZoneInfo

        newest = max(datetime.fromisoformat(row["updated"]) for row in truth)
        local = newest.astimezone(ZoneInfo(zone)).replace(second=0, microsecond=0)
        quoted = f'project = OPS AND updated >= "{local:%Y/%m/%d %H:%M}"'
        epoch = f"project = OPS AND updated >= {int(local.timestamp() * 1000)}"
        for jql in (quoted, epoch):
            body = session.get(f"{server.url}/rest/api/3/search/jql", params={"jql": jql, "fields": "updated"}).json()
            assert len(body["issues"]) >= 1, jql
        # One minute later than the newest issue matches nothing, in either form.
        later = local.timestamp() * 1000 + 60_000
        body = session.get(
            f"{server.url}/rest/api/3/search/jql",
            params={"jql": f"project = OPS AND updated >= {int(later)}", "fields": "updated"},
        ).json()
        assert body["issues"] == []
        assert newest.tzinfo is not None and any(row["updated"].endswith(local.strftime("%z")) for row in truth)


def test_advance_updates_creates_deletes_and_moves_and_old_keys_still_resolve(jira_session):
    with running_sim(flavour="cloud", projects=2, issues=40) as server:
        before = {row["id"]: row for row in jira_session.get(f"{server.url}/_sim/truth").json()["issues"]}
        done = jira_session.post(
            f"{server.url}/_sim/advance", json={"minutes": 30, "update": 0.1, "create": 3, "delete": 2, "move": 1}
        ).json()
        after = {row["id"]: row for row in jira_session.get(f"{server.url}/_sim/truth").json()["issues"]}
        assert len(done["updated"]) == 8 and len(done["created"]) == 3 and len(done["deleted"]) == 2
        assert len(after) == len(before) + 3 - 2
        moved = done["moved"][0]
        assert after[moved["id"]]["key"] == moved["to"]
        by_old_key = jira_session.get(f"{server.url}/rest/api/3/issue/{moved['from']}").json()
        assert by_old_key["key"] == moved["to"] and by_old_key["id"] == moved["id"]
        for key in done["deleted"]:
            assert jira_session.get(f"{server.url}/rest/api/3/issue/{key}").status_code == 404
        assert done["now"].startswith("2026-01-01T00:30")


def test_basic_and_bearer_auth_and_the_bodies_of_a_401():
    with running_sim(flavour="datacenter", projects=1, issues=5) as server:
        url = f"{server.url}/rest/api/2/myself"
        assert requests.get(url, auth=(USER, TOKEN), timeout=60).status_code == 200
        assert requests.get(url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60).status_code == 200
        wrong = requests.get(url, auth=(USER, "nope"), timeout=60)
        assert wrong.status_code == 401 and wrong.json()["errorMessages"]
        assert request_counts(server)["GET /rest/api/2/myself"] == {"200": 2, "401": 1}


def test_rate_limit_answers_429_with_cloud_headers():
    with running_sim(flavour="cloud", projects=1, issues=5, rate_limit=2, burst=2) as server:
        session = requests.Session()
        session.auth = (USER, TOKEN)
        answers = [session.get(f"{server.url}/rest/api/3/serverInfo") for _ in range(5)]
        limited = [a for a in answers if a.status_code == 429]
        assert limited
        headers = limited[0].headers
        assert int(headers["Retry-After"]) >= 1 and headers["RateLimit-Reason"] == "jira-burst-based"
        assert headers["X-RateLimit-Remaining"] == "0" and headers["X-RateLimit-Reset"].endswith("Z")


def test_faults_are_reproducible_per_endpoint():
    rules = [
        FaultRule("503", endpoint="GET /rest/api/3/serverInfo", nth=[2]),
        FaultRule("malformed", endpoint="GET /rest/api/3/myself", times=1),
        FaultRule("reset", endpoint="GET /rest/api/3/field", times=1),
    ]
    with running_sim(flavour="cloud", projects=1, issues=5, faults=FaultPlan(rules)) as server:
        session = requests.Session()
        session.auth = (USER, TOKEN)
        codes = [session.get(f"{server.url}/rest/api/3/serverInfo").status_code for _ in range(3)]
        assert codes == [200, 503, 200]
        with pytest.raises(requests.exceptions.JSONDecodeError):
            session.get(f"{server.url}/rest/api/3/myself").json()
        assert session.get(f"{server.url}/rest/api/3/myself").json()["accountId"]
        with pytest.raises(requests.exceptions.ConnectionError):
            session.get(f"{server.url}/rest/api/3/field")
        assert session.get(f"{server.url}/rest/api/3/field").status_code == 200


def test_tls_serves_https_with_a_certificate_clients_can_trust(tmp_path):
    with running_sim(flavour="cloud", projects=1, issues=3, tls=True) as server:
        assert server.url.startswith("https://")
        response = requests.get(
            f"{server.url}/rest/api/3/serverInfo", auth=(USER, TOKEN), verify=server.cert_file, timeout=60
        )
        assert response.json()["deploymentType"] == "Cloud"


def test_basic_auth_header_is_checked_not_just_present():
    with running_sim(flavour="cloud", projects=1, issues=3) as server:
        forged = base64.b64encode(f"{USER}:wrong".encode()).decode()
        response = requests.get(
            f"{server.url}/rest/api/3/myself", headers={"Authorization": f"Basic {forged}"}, timeout=60
        )
        assert response.status_code == 401
        assert response.text == "Client must be authenticated to access this resource."


def test_repeated_failed_logins_lead_to_a_403_captcha_challenge():
    with running_sim(flavour="datacenter", projects=1, issues=3, captcha_after=3) as server:
        url = f"{server.url}/rest/api/2/myself"
        assert [requests.get(url, auth=(USER, "wrong"), timeout=60).status_code for _ in range(3)] == [401] * 3
        denied = requests.get(url, auth=(USER, TOKEN), timeout=60)
        assert denied.status_code == 403
        assert denied.headers["X-Authentication-Denied-Reason"].startswith("CAPTCHA_CHALLENGE")
        # A bearer token is not subject to the login CAPTCHA.
        assert requests.get(url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60).status_code == 200


def test_no_issue_is_updated_after_the_simulated_clock():
    from jirasim.dataset import Dataset, SimConfig

    data = Dataset(SimConfig(projects=2, issues=5000, long_history_share=0.2))
    assert max(record.updated_ms for record in data.by_id.values()) <= data.now_ms
    assert all(record.created_ms <= record.updated_ms for record in data.by_id.values())


def test_the_pytest_fixtures_start_simulators_on_ephemeral_ports_with_counters(jirasim_server, jirasim_factory):
    dc = jirasim_factory(flavour="datacenter", projects=1, issues=3)
    assert jirasim_server.port != dc.port
    assert requests.get(f"{dc.url}/rest/api/2/serverInfo", auth=(USER, TOKEN), timeout=60).json()["deploymentType"] == (
        "Server"
    )
    assert request_counts(dc) == {"GET /rest/api/2/serverInfo": {"200": 1}}
    assert len(jirasim_server.sim.data.truth()) == 40


def test_an_issue_can_be_moved_to_a_status_its_changelog_does_not_explain(jira_session):
    with running_sim(flavour="datacenter", projects=1, issues=5, seed=3) as server:
        url = server.url
        before = jira_session.get(f"{url}/rest/api/2/issue/OPS-2", params={"expand": "changelog"}).json()
        silent = jira_session.post(f"{url}/_sim/status", json={"issue": "OPS-2", "status": "Closed", "record": False})
        assert silent.json()["status"] == "Closed" and silent.json()["recorded"] is False
        after = jira_session.get(f"{url}/rest/api/2/issue/OPS-2", params={"expand": "changelog"}).json()
        assert after["fields"]["status"]["name"] == "Closed" and after["fields"]["resolutiondate"]
        assert after["fields"]["updated"] == silent.json()["updated"] > before["fields"]["updated"]
        assert after["changelog"] == before["changelog"]  # nothing in the history says so
        recorded = jira_session.post(f"{url}/_sim/status", json={"issue": "OPS-2", "status": "Edit Start"}).json()
        log = jira_session.get(f"{url}/rest/api/2/issue/OPS-2/changelog", params={"maxResults": 100}).json()
        last = log["values"][-1]
        assert log["total"] == before["changelog"]["total"] + 1 and last["created"] == recorded["updated"]
        assert last["items"][0]["fromString"] == "Closed" and last["items"][0]["toString"] == "Edit Start"
        bad = jira_session.post(f"{url}/_sim/status", json={"issue": "OPS-2", "status": "Nowhere"})
        assert bad.status_code == 400


def test_the_busiest_window_counts_the_most_requests_in_consecutive_seconds():
    from jirasim.server import Stats

    stats = Stats()
    assert (stats.busiest_second(), stats.busiest_window(10)) == (0, 0)
    for second, count in {100: 3, 101: 9, 103: 4, 111: 5, 112: 1}.items():
        stats.per_second[second] = count
    assert stats.busiest_second() == 9
    assert stats.busiest_window(3) == 13  # 101–103
    assert stats.busiest_window(10) == 16  # 100–109; 103–112 holds 10
    assert stats.busiest_window(20) == 22
