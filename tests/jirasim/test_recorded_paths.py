"""Every recorded real Jira response, compared with jirasim's answer to the same request by key paths.

For each file of the reference folder's `recorded/`, jirasim is asked what the recording asked (the
same endpoint, flavour and parameters) and the (path, JSON type) pairs of both are compared over the
whole structure, every item of every array included. At least 95 % of the recorded pairs must be in
jirasim's answers, per file and overall; the figures are printed.
"""

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from jirasim.testing import TOKEN, USER, running_sim
from tests.support.reference import recorded, reference_dir
from tests.support.shapes import key_paths, missing_paths

REQUIRED_SHARE = 0.95
DEADLINE = 30.0


class Receiver:
    """A webhook receiver on loopback: keeps every JSON body it is sent."""

    def __init__(self) -> None:
        self.bodies: list[dict] = []
        self.arrived = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                with receiver.arrived:
                    receiver.bodies.append(body)
                    receiver.arrived.notify_all()
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def wait_for(self, predicate: Callable[[dict], bool]) -> dict:
        with self.arrived:
            assert self.arrived.wait_for(lambda: any(predicate(b) for b in self.bodies), timeout=DEADLINE)
            return next(b for b in self.bodies if predicate(b))


@pytest.fixture(scope="module")
def sites():
    with (
        running_sim(flavour="cloud", projects=2, issues=80, seed=11, legacy_search=True) as cloud,
        running_sim(flavour="datacenter", projects=2, issues=80, seed=11) as dc,
    ):
        yield {"cloud": cloud.url, "datacenter": dc.url}


def get(url: str, **params: Any) -> Any:
    response = requests.get(url, params=params, auth=(USER, TOKEN), timeout=DEADLINE)
    assert response.status_code < 500, response.text
    return response.json()


def put(url: str, body: dict) -> Any:
    response = requests.put(url, json=body, auth=(USER, TOKEN), timeout=DEADLINE)
    assert response.status_code == 400, response.text
    return response.json()


def each(items: list[dict]) -> list[dict]:
    assert items, "jirasim sent nothing to compare"
    return items


def webhook(site: str, event: str, change: dict) -> list[dict]:
    """The payloads of every issue an advance changed so (a receiver on loopback gets them)."""
    receiver = Receiver()
    try:
        requests.post(f"{site}/_sim/webhooks", json={"url": receiver.url, "events": [event]}, timeout=DEADLINE)
        done = requests.post(f"{site}/_sim/advance", json={"minutes": 5, **change}, timeout=DEADLINE).json()
        keys = set(done["created"] + done["updated"] + done["deleted"])
        assert keys, done
        for key in keys:
            receiver.wait_for(lambda b, key=key: b["webhookEvent"] == event and b["issue"]["key"] == key)
        return [b for b in receiver.bodies if b["issue"]["key"] in keys]
    finally:
        requests.delete(f"{site}/_sim/webhooks", timeout=DEADLINE)
        receiver.httpd.shutdown()


def first_board(site: str) -> int:
    return get(f"{site}/rest/agile/1.0/board")["values"][0]["id"]


def closed_sprint(site: str) -> int:
    board = first_board(site)
    return get(f"{site}/rest/agile/1.0/board/{board}/sprint", state="closed")["values"][-1]["id"]


# file -> how to get jirasim's answers to the same request (a list: their paths are pooled)
ANSWERS: dict[str, Callable[[dict], list[Any]]] = {
    "cloud-agile-board-issues-expand-changelog.json": lambda s: [
        get(
            f"{s['cloud']}/rest/agile/1.0/board/{first_board(s['cloud'])}/issue",
            expand="changelog",
            fields="summary,status,issuetype",
        )
    ],
    "cloud-agile-issue-EE-17-inline-changelog-jsonb-reordered.json": lambda s: each(
        get(f"{s['cloud']}/rest/agile/1.0/board/{first_board(s['cloud'])}/issue", expand="changelog")["issues"]
    ),
    "cloud-agile-sprint-issues.json": lambda s: [
        get(f"{s['cloud']}/rest/agile/1.0/sprint/{closed_sprint(s['cloud'])}/issue")
    ],
    "cloud-serverinfo.json": lambda s: [get(f"{s['cloud']}/rest/api/3/serverInfo")],
    "cloud-v3-field-list.json": lambda s: [get(f"{s['cloud']}/rest/api/3/field")],
    "cloud-v3-issue-KP-19-adf.json": lambda s: [get(f"{s['cloud']}/rest/api/3/issue/OPS-{n}") for n in range(1, 41)],
    "cloud-v3-issue-changelog-page1-values-13383.json": lambda s: [
        get(f"{s['cloud']}/rest/api/3/issue/OPS-{n}/changelog")["values"] for n in range(1, 41)
    ],
    "cloud-v3-issue-changelog-page1-values-13954.json": lambda s: [
        get(f"{s['cloud']}/rest/api/3/issue/OPS-{n}/changelog")["values"] for n in range(1, 41)
    ],
    "cloud-v3-myself.json": lambda s: [get(f"{s['cloud']}/rest/api/3/myself", expand="groups,applicationRoles")],
    "cloud-v3-search-legacy-page-adf-customfields.json": lambda s: [
        get(f"{s['cloud']}/rest/api/3/search", jql="project = OPS", fields="*all", maxResults=50)
    ],
    "cloud-webhook-issue-created-custom-fields-2026.json": lambda s: webhook(
        s["cloud"], "jira:issue_created", {"create": 12}
    ),
    "cloud-webhook-issue-created-many-fields-2019.json": lambda s: webhook(
        s["cloud"], "jira:issue_created", {"create": 12}
    ),
    "cloud-webhook-issue-deleted-2019.json": lambda s: webhook(s["cloud"], "jira:issue_deleted", {"delete": 5}),
    "dc-error-404-role-not-found.json": lambda s: [get(f"{s['datacenter']}/rest/api/2/issue/NOPE-1")],
    "dc-project-detail-issues-apache-org.json": lambda s: [get(f"{s['datacenter']}/rest/api/2/project/OPS")],
    "dc-project-list-issues-apache-org.json": lambda s: [get(f"{s['datacenter']}/rest/api/2/project")],
    "dc-statuscategory-list-issues-apache-org.json": lambda s: [get(f"{s['datacenter']}/rest/api/2/statuscategory")],
    "server-agile-issue-DZFNK0168-20-inline-changelog.json": lambda s: each(
        get(f"{s['datacenter']}/rest/agile/1.0/board/{first_board(s['datacenter'])}/issue", expand="changelog")[
            "issues"
        ]
    ),
    "server-error-400-errorMessages.json": lambda s: [put(f"{s['datacenter']}/rest/api/2/issue/OPS-1", {})],
    "server-error-400-field-errors.json": lambda s: [
        put(f"{s['datacenter']}/rest/api/2/issue/OPS-1", {"fields": {"invalid": "x"}})
    ],
    "server-error-400-unrecognized-field-no-errors-key.json": lambda s: [
        get(f"{s['datacenter']}/rest/api/2/search", jql="project = OPS jql")
    ],
    "server-webhook-issue-updated-resolved.json": lambda s: webhook(
        s["datacenter"], "jira:issue_updated", {"update": 0.1}
    ),
    "server-webhook-issue-updated-status-transition.json": lambda s: webhook(
        s["datacenter"], "jira:issue_updated", {"update": 0.1}
    ),
}


def test_every_recorded_file_is_compared():
    assert set(ANSWERS) == {path.name for path in (reference_dir() / "recorded").glob("*.json")}


def test_jirasim_sends_the_recorded_key_paths(sites):
    rows, found_total, recorded_total, failures = [], 0, 0, []
    for name, answers in sorted(ANSWERS.items()):
        real = key_paths(recorded(name))
        sim: set[tuple[str, str]] = set()
        for answer in answers(sites):
            key_paths(answer, into=sim)
        missing = missing_paths(real, sim)
        share = 1 - len(missing) / len(real)
        found_total += len(real) - len(missing)
        recorded_total += len(real)
        rows.append(f"{share:7.1%}  {len(real) - len(missing):4d}/{len(real):<4d}  {name}")
        if share < REQUIRED_SHARE:
            failures.append(f"{name}: {share:.1%}, missing {sorted(missing)}")
    overall = found_total / recorded_total
    print("\nrecorded key paths jirasim sends:\n" + "\n".join(rows) + f"\n{overall:7.1%}  overall")
    assert not failures, "\n".join(failures)
    assert overall >= REQUIRED_SHARE
