"""An issue's comments, worklogs and sprints: served, changed by advance, shown by truth, read by a real client."""

import http.server
import json
import threading

import pytest
import requests
from jira import JIRA

from jirasim.testing import TOKEN, USER, running_sim
from tests.support.shapes import validate

AUTH = (USER, TOKEN)


def truth(site) -> dict[str, dict]:
    return {row["key"]: row for row in requests.get(f"{site.url}/_sim/truth", timeout=30).json()["issues"]}


@pytest.mark.parametrize("flavour", ["cloud", "datacenter"])
def test_the_jira_client_reads_comments_worklogs_boards_and_sprints(flavour, cloud_sim, dc_sim):
    site = cloud_sim if flavour == "cloud" else dc_sim
    client = JIRA(server=site.url, basic_auth=AUTH, max_retries=0)
    rows = truth(site)
    key = next(k for k, row in rows.items() if len(row["comments"]) > 1 and row["worklogs"])
    assert [c.id for c in client.comments(key)] == rows[key]["comments"]
    assert [w.id for w in client.worklogs(key)] == rows[key]["worklogs"]
    assert sum(w.timeSpentSeconds for w in client.worklogs(key)) == rows[key]["time_spent"]
    boards = client.boards()
    scrum = next(b for b in boards if b.type == "scrum")
    sprints = client.sprints(scrum.id)
    assert {s.state for s in sprints} == {"closed", "active", "future"}
    names = {name for row in rows.values() for name in row["sprints"]}
    assert names <= {s.name for s in sprints}


def test_advance_adds_edits_and_deletes_comments_and_worklogs_and_closes_a_sprint(cloud_sim):
    api = f"{cloud_sim.url}/rest/api/3"
    before = truth(cloud_sim)
    active = requests.get(f"{cloud_sim.url}/rest/agile/1.0/board/7/sprint", params={"state": "active"}, auth=AUTH)
    done = requests.post(
        f"{cloud_sim.url}/_sim/advance",
        json={
            "minutes": 90,
            "comments": {"add": 3, "edit": 1, "delete": 1},
            "worklogs": {"add": 2, "edit": 1, "delete": 1},
            "sprints": {"close": True, "move": 2},
        },
        timeout=30,
    ).json()
    after = truth(cloud_sim)
    for added in done["comments"]["added"]:
        assert added["id"] in after[added["issue"]]["comments"]
        assert after[added["issue"]]["updated"] > before[added["issue"]]["updated"]
    for deleted in done["comments"]["deleted"] + done["worklogs"]["deleted"]:
        assert deleted["id"] not in after[deleted["issue"]]["comments"] + after[deleted["issue"]]["worklogs"]
    gone = done["worklogs"]["deleted"][0]["id"]
    listed = requests.get(f"{api}/worklog/deleted", params={"since": 0}, auth=AUTH).json()
    assert int(gone) in [v["worklogId"] for v in listed["values"]]
    added = done["worklogs"]["added"][0]["id"]
    assert [w["id"] for w in requests.post(f"{api}/worklog/list", json={"ids": [added]}, auth=AUTH).json()] == [added]
    closed = requests.get(f"{cloud_sim.url}/rest/agile/1.0/sprint/{done['sprints']['closed']}", auth=AUTH).json()
    assert closed["state"] == "closed" and closed["id"] == active.json()["values"][0]["id"]
    members: set[str] = set()
    while True:  # every page: the carried-over issues are more than one page holds
        page = requests.get(
            f"{cloud_sim.url}/rest/agile/1.0/sprint/{done['sprints']['started']}/issue",
            params={"fields": "summary", "startAt": len(members)},
            auth=AUTH,
        ).json()
        members |= {i["key"] for i in page["issues"]}
        if not page["issues"] or len(members) >= page["total"]:
            break
    assert set(done["sprints"]["moved"]) <= members


@pytest.mark.parametrize(
    ("path", "schema"),
    [("issue/OPS-2/comment", "PageOfComments"), ("issue/OPS-2/worklog", "PageOfWorklogs")],
)
def test_comment_and_worklog_pages_validate_against_the_openapi_schemas(cloud_sim, path, schema):
    response = requests.get(f"{cloud_sim.url}/rest/api/3/{path}", auth=AUTH, timeout=30)
    assert response.status_code == 200
    validate(response.json(), schema)


def test_search_caps_comments_and_worklogs_inline_with_their_totals(cloud_sim):
    rows = truth(cloud_sim)
    busy = [k for k, row in rows.items() if len(row["comments"]) > 20 or len(row["worklogs"]) > 20]
    assert busy
    page = requests.post(
        f"{cloud_sim.url}/rest/api/3/search/jql",
        json={"jql": f"key in ({', '.join(busy)})", "fields": ["comment", "worklog"], "maxResults": 100},
        auth=AUTH,
        timeout=30,
    ).json()
    assert len(page["issues"]) == len(busy)
    by_id = {row["id"]: row for row in rows.values()}
    for issue in page["issues"]:
        row = by_id[issue["id"]]
        comment, worklog = issue["fields"]["comment"], issue["fields"]["worklog"]
        assert len(comment["comments"]) == min(comment["total"], 20)
        assert len(worklog["worklogs"]) == min(worklog["total"], 20)
        assert comment["total"] == len(row["comments"]) and worklog["total"] == len(row["worklogs"])


class _Receiver(http.server.BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_POST(self) -> None:
        self.received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(202)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.mark.parametrize("flavour", ["cloud", "datacenter"])
def test_advance_sends_comment_and_worklog_events_in_jiras_shapes(flavour):
    receiver = http.server.ThreadingHTTPServer(("127.0.0.1", 0), type("Receiver", (_Receiver,), {"received": []}))
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    try:
        with running_sim(flavour=flavour, projects=2, issues=30, seed=7) as site:
            hook = {"url": f"http://127.0.0.1:{receiver.server_address[1]}/hook"}
            requests.post(f"{site.url}/_sim/webhooks", json=hook, timeout=60).raise_for_status()
            changes = {"add": 1, "edit": 1, "delete": 1}
            done = requests.post(
                f"{site.url}/_sim/advance", json={"minutes": 5, "comments": changes, "worklogs": changes}, timeout=60
            ).json()
            requests.get(f"{site.url}/_sim/webhooks", params={"wait": 120}, timeout=180).raise_for_status()
            rows = truth(site)
    finally:
        receiver.shutdown()
    received = {payload["webhookEvent"]: payload for payload in receiver.RequestHandlerClass.received}
    assert set(received) == {
        f"{noun}_{verb}" for noun in ("comment", "worklog") for verb in ("created", "updated", "deleted")
    }
    for verb, side in (("created", "added"), ("updated", "edited"), ("deleted", "deleted")):
        comment, worklog = received[f"comment_{verb}"], received[f"worklog_{verb}"]
        change = done["comments"][side][0]
        assert comment["comment"]["id"] == change["id"] and comment["issue"]["key"] == change["issue"]
        assert comment["issue"]["id"] == rows[change["issue"]]["id"]
        assert set(comment["issue"]["fields"]) == {"summary", "issuetype", "project", "assignee", "priority", "status"}
        assert isinstance(comment["comment"]["body"], str)  # the v2 representation, as webhooks send it
        assert set(worklog) == {"timestamp", "webhookEvent", "worklog"}  # the worklog names its issue
        change = done["worklogs"][side][0]
        assert worklog["worklog"]["id"] == change["id"]
        assert worklog["worklog"]["issueId"] == rows[change["issue"]]["id"]
        if flavour == "cloud":
            validate(comment["comment"], "Comment")
            validate(worklog["worklog"], "Worklog")
    assert received["comment_deleted"]["comment"]["id"] not in rows[done["comments"]["deleted"][0]["issue"]]["comments"]


@pytest.mark.parametrize(
    ("method", "path", "body", "schema", "many"),
    [
        ("GET", "issue/{key}/comment/{comment}", None, "Comment", False),
        ("GET", "issue/{key}/worklog/{worklog}", None, "Worklog", False),
        ("GET", "worklog/updated?since=0", None, "ChangedWorklogs", False),
        ("GET", "worklog/deleted?since=0", None, "ChangedWorklogs", False),
        ("POST", "worklog/list", "worklog ids", "Worklog", True),
        ("GET", "project/OPS/versions", None, "Version", True),
        ("GET", "project/OPS/version", None, "PageBeanVersion", False),
        ("GET", "project/OPS/components", None, "ProjectComponent", True),
        ("GET", "project/OPS/component", None, "PageBeanComponentWithIssueCount", False),
        ("GET", "statuscategory", None, "StatusCategory", True),
    ],
)
def test_the_other_activity_endpoints_validate_against_the_openapi_schemas(cloud_sim, method, path, body, schema, many):
    """Every endpoint of an issue's activity that the Cloud platform's OpenAPI description has (the agile API
    is not in it), answered in the schema's shape."""
    key, row = next((k, row) for k, row in truth(cloud_sim).items() if row["comments"] and row["worklogs"])
    names = {"key": key, "comment": row["comments"][0], "worklog": row["worklogs"][0]}
    url = f"{cloud_sim.url}/rest/api/3/{path.format(**names)}"
    payload = {"ids": [int(names["worklog"])]} if body == "worklog ids" else None
    response = requests.request(method, url, json=payload, auth=AUTH, timeout=30)
    assert response.status_code == 200, response.text
    answer = response.json()
    for item in answer if many else [answer]:
        validate(item, schema)
    assert not many or answer


@pytest.mark.parametrize("flavour", ["cloud", "datacenter"])
def test_an_issue_names_its_epic_in_parent_on_cloud_and_in_the_epic_link_field_by_key_on_data_center(
    flavour, cloud_sim, dc_sim
):
    """As real sites do: Data Center's Epic Link is a custom field (schema custom gh-epic-link) holding the
    epic's key; Cloud names the epic in parent and serves no Epic Link value."""
    site = cloud_sim if flavour == "cloud" else dc_sim
    api = f"{site.url}/rest/api/{'3' if flavour == 'cloud' else '2'}"
    listed = requests.get(f"{api}/field", auth=AUTH, timeout=30).json()
    epic_links = [f["id"] for f in listed if (f.get("schema") or {}).get("custom", "").endswith(":gh-epic-link")]
    data = site.sim.data
    child = next(record for record in data.by_id.values() if data.role(record) == "epic-child")
    epic_key = data.key_of(data.parent(child))
    fields = requests.get(f"{api}/issue/{child.id}", auth=AUTH, timeout=30).json()["fields"]
    if flavour == "cloud":
        assert epic_links == [] and fields["parent"]["key"] == epic_key
    else:
        assert len(epic_links) == 1 and "parent" not in fields
        assert fields[epic_links[0]] == epic_key
        other = next(record for record in data.by_id.values() if data.role(record) == "none")
        assert requests.get(f"{api}/issue/{other.id}", auth=AUTH, timeout=30).json()["fields"][epic_links[0]] is None
