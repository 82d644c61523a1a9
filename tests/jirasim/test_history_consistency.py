"""Histories as real Jira keeps them (issue #13).

- A history, once served, never changes: its id and items stay as they were through advances that close
  sprints, move issues into sprints and between projects, edit issues, and add, edit and delete comments and
  worklogs; advance() appends histories of its own.
- Replaying each field's changelog items gives the field's current value: every item's `from` is the value
  the one before left, and the last item's `to` is what the issue shows now.
- An issue is in one open sprint at most, and no history adds it to a sprint that had completed.
"""

import re
from collections import defaultdict
from datetime import datetime
from itertools import pairwise

import pytest
import requests

from jirasim import catalog
from jirasim.testing import TOKEN, USER, running_sim

AUTH = (USER, TOKEN)
SITE = {
    "projects": 3,
    "issues": 50,
    "seed": 11,
    "sprints": True,
    "long_history_share": 0.03,
    "status_lookalike_fields": True,
}
ADVANCES = [
    {
        "minutes": 600,
        "update": 0.2,
        "create": 3,
        "move": 4,
        "comments": {"add": 6, "edit": 3, "delete": 2},
        "worklogs": {"add": 10, "edit": 5, "delete": 4},
        "sprints": {"close": True, "move": 8},
    },
    {"minutes": 90, "update": 0.1, "move": 3, "worklogs": {"add": 6, "edit": 3, "delete": 3}},
    {
        "minutes": 1440,
        "update": 0.15,
        "create": 2,
        "delete": 2,
        "move": 2,
        "comments": {"add": 3},
        "sprints": {"close": True, "move": 5},
    },
    {"minutes": 30, "move": 3, "worklogs": {"add": 4, "delete": 2}, "sprints": {"move": 4}},
]
# Fields whose value is a set: an item adds (to) or removes (from) one member.
MEMBERS = {"Component", "Fix Version", "Version", "Attachment", "Link", "WorklogId"}


def changelogs(site) -> dict[str, dict]:
    """{issue id: {"key", "row", "histories": {history id: history}}} of every issue, from /_sim/truth."""
    answer = requests.get(f"{site.url}/_sim/truth", params={"changelog": "1"}, timeout=120)
    answer.raise_for_status()
    return {
        row["id"]: {"key": row["key"], "row": row, "histories": {h["id"]: h for h in row["changelog"]}}
        for row in answer.json()["issues"]
    }


def served_histories(site, flavour: str, issue_id: str) -> list[dict]:
    """The issue's whole changelog as a client reads it: Cloud's changelog pages, Data Center's expand."""
    if flavour == "datacenter":
        url = f"{site.url}/rest/api/2/issue/{issue_id}"
        answer = requests.get(url, params={"expand": "changelog", "fields": "none"}, auth=AUTH, timeout=60)
        answer.raise_for_status()
        return answer.json()["changelog"]["histories"]
    histories: list[dict] = []
    while True:
        params = {"startAt": len(histories), "maxResults": 100}
        url = f"{site.url}/rest/api/3/issue/{issue_id}/changelog"
        answer = requests.get(url, params=params, auth=AUTH, timeout=60)
        answer.raise_for_status()
        page = answer.json()
        histories += page["values"]
        if page["isLast"] or not page["values"]:
            return histories


@pytest.mark.parametrize("flavour", ["cloud", "datacenter"])
def test_a_history_once_served_is_served_the_same_after_every_advance(flavour):
    with running_sim(flavour=flavour, **SITE) as site:
        before = changelogs(site)
        kinds: set[str] = set()
        for body in ADVANCES:
            answer = requests.post(f"{site.url}/_sim/advance", json=body, timeout=120)
            answer.raise_for_status()
            done = answer.json()
            kinds |= {kind for kind in ("moved", "updated", "deleted") if done[kind]}
            kinds |= {f"worklogs {k}" for k, listed in done.get("worklogs", {}).items() if listed}
            kinds |= {"sprint closed"} if (done.get("sprints") or {}).get("closed") else set()
            after = changelogs(site)
            deleted = set(done["deleted"])
            for issue_id, issue in before.items():
                if issue["key"] in deleted or issue_id not in after:
                    continue
                now = after[issue_id]["histories"]
                for history_id, history in issue["histories"].items():
                    assert now.get(history_id) == history, (issue["key"], history_id)
                assert list(now)[: len(issue["histories"])] == list(issue["histories"]), issue["key"]
            for move in done["moved"]:
                if isinstance(move, dict):  # an issue moved between projects: its old histories, its move
                    served = served_histories(site, flavour, move["id"])
                    assert served == list(after[move["id"]]["histories"].values()), move
                    items = [item for history in served for item in history["items"]]
                    assert {"project", "Key"} <= {item["field"] for item in items}, move
            before = after
        assert kinds >= {"moved", "updated", "deleted", "worklogs edited", "worklogs deleted", "sprint closed"}


def _member_ids(fields: dict, row: dict, name: str) -> set[str]:
    if name == "Component":
        return {c["id"] for c in fields["components"]}
    if name == "Fix Version":
        return {v["id"] for v in fields["fixVersions"]}
    if name == "Version":
        return {v["id"] for v in fields["versions"]}
    if name == "Attachment":
        return {a["id"] for a in fields["attachment"]}
    return set(row["worklogs"])  # WorklogId: the live worklogs (more than the 20 inline)


def _sprint_ids(value: list | None) -> str | None:
    """The Sprint field's ids as its items show them ("260, 261"): objects, or greenhopper strings."""
    ids = []
    for sprint in value or []:
        ids.append(str(sprint["id"]) if isinstance(sprint, dict) else re.search(r"[\[,]id=(\d+),", sprint).group(1))
    return ", ".join(ids) or None


def _current(fields: dict, key: str, name: str, cloud: bool) -> tuple[str, str | None]:
    """(which of to / toString, the value) that the last item of the field must show now."""

    def number(field_id: str) -> str | None:
        return None if fields[field_id] is None else str(fields[field_id])

    user = fields["assignee"] or {}
    current = {
        "status": ("to", fields["status"]["id"]),
        "priority": ("to", fields["priority"]["id"]),
        "assignee": ("to", user.get("accountId" if cloud else "key")),
        "resolution": ("to", (fields["resolution"] or {}).get("id")),
        "project": ("to", fields["project"]["id"]),
        "Key": ("toString", key),
        "labels": ("toString", " ".join(fields["labels"])),
        "timespent": ("to", number("timespent")),
        "timeestimate": ("to", number("timeestimate")),
        "timeoriginalestimate": ("to", number("timeoriginalestimate")),
        "environment": ("toString", fields["environment"]),
        "Sprint": ("to", _sprint_ids(fields["customfield_10020"])),
        "Parent": ("to", (fields.get("parent") or {}).get("id")),
        "Rooms": ("toString", f"{fields['customfield_10040']:g}"),
        "Status": ("to", (fields[catalog.STATUS_LOOKALIKE.id] or {}).get("id")),
        "Workflow Status": ("toString", fields[catalog.WORKFLOW_STATUS_LOOKALIKE.id]),
    }
    return current[name]


@pytest.mark.parametrize("flavour", ["cloud", "datacenter"])
def test_replaying_each_field_s_items_gives_its_current_value(flavour):
    with running_sim(flavour=flavour, **SITE) as site:
        for body in ADVANCES:
            requests.post(f"{site.url}/_sim/advance", json=body, timeout=120).raise_for_status()
        issues = changelogs(site)
        replayed: set[str] = set()
        for issue_id, issue in issues.items():
            url = f"{site.url}/rest/api/2/issue/{issue_id}"
            fields = requests.get(url, params={"fields": "*all"}, auth=AUTH, timeout=60).json()["fields"]
            by_field: dict[str, list[dict]] = defaultdict(list)
            for history in issue["histories"].values():
                for item in history["items"]:
                    by_field[item["field"]].append(item)
            for name, items in by_field.items():
                replayed.add(name)
                where = (issue["key"], name)
                if name in MEMBERS:
                    present: dict[str, bool] = {}  # member -> in the value after the items so far
                    for item in items:
                        if item["to"] is not None:
                            assert not present.get(item["to"]), (*where, "added twice", item)
                            present[item["to"]] = True
                        if item["from"] is not None:
                            assert present.get(item["from"], True), (*where, "removed twice", item)
                            present[item["from"]] = False
                    if name != "Link":  # a link's item names the other issue's key then; it may have moved
                        members = _member_ids(fields, issue["row"], name)
                        assert {m for m, now in present.items() if now} <= members, where
                        assert not {m for m, now in present.items() if not now} & members, where
                    continue
                for previous, item in pairwise(items):
                    assert (item["from"], item["fromString"]) == (previous["to"], previous["toString"]), (*where, item)
                side, value = _current(fields, issue["key"], name, flavour == "cloud")
                assert items[-1][side] == value, (*where, items[-1], value)
        assert replayed >= {
            "status",
            "resolution",
            "priority",
            "assignee",
            "labels",
            "Component",
            "Fix Version",
            "Version",
            "Attachment",
            "Sprint",
            "timespent",
            "timeestimate",
            "timeoriginalestimate",
            "WorklogId",
            "environment",
            "project",
            "Key",
            "Rooms",
            "Link",
            *(["Parent"] if flavour == "cloud" else []),
        }


def _ms(text: str) -> int:
    return int(datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z").timestamp() * 1000)


@pytest.mark.parametrize("flavour", ["cloud", "datacenter"])
def test_an_issue_is_in_one_open_sprint_and_joins_none_once_it_completed(flavour):
    with running_sim(flavour=flavour, **SITE) as site:
        for body in ADVANCES:
            requests.post(f"{site.url}/_sim/advance", json=body, timeout=120).raise_for_status()
        url = f"{site.url}/rest/agile/1.0/board/7/sprint"
        sprints = {str(s["id"]): s for s in requests.get(url, auth=AUTH, timeout=60).json()["values"]}
        completed = {
            sprint_id: _ms(s["completeDate"].replace("Z", "+0000"))
            for sprint_id, s in sprints.items()
            if "completeDate" in s
        }
        added = 0
        for issue in changelogs(site).values():
            for history in issue["histories"].values():
                for item in history["items"]:
                    if item["field"] != "Sprint":
                        continue
                    joined = set((item["to"] or "").split(", ")) - set((item["from"] or "").split(", ")) - {""}
                    added += len(joined)
                    for sprint_id in joined:
                        assert sprint_id not in completed or completed[sprint_id] > _ms(history["created"]), (
                            issue["key"],
                            history["id"],
                            sprint_id,
                        )
            open_sprints = [name for name in issue["row"]["sprints"] if _state_of(sprints, name) != "closed"]
            assert len(open_sprints) <= 1, (issue["key"], issue["row"]["sprints"])
        assert added > 50


def _state_of(sprints: dict[str, dict], name: str) -> str:
    return next(s["state"] for s in sprints.values() if s["name"] == name)


@pytest.mark.parametrize("flavour", ["cloud", "datacenter"])
def test_truth_shows_what_the_issue_does_and_aggregates_add_the_sub_tasks(flavour):
    with running_sim(flavour=flavour, **SITE) as site:
        requests.post(f"{site.url}/_sim/advance", json=ADVANCES[0], timeout=120).raise_for_status()
        rows = {row["key"]: row for row in requests.get(f"{site.url}/_sim/truth", timeout=120).json()["issues"]}
        parents = 0
        for key, row in rows.items():
            url = f"{site.url}/rest/api/2/issue/{key}"
            fields = requests.get(url, params={"fields": "*all"}, auth=AUTH, timeout=60).json()["fields"]
            assert fields["labels"] == row["labels"], key
            assert [c["name"] for c in fields["components"]] == row["components"], key
            assert fields["timeoriginalestimate"] == row["original_estimate"], key
            assert fields["timeestimate"] == row["remaining_estimate"], key
            assert (fields["timespent"] or 0) == row["time_spent"], key
            assert fields["votes"]["votes"] == row["votes"], key
            assert fields["watches"]["watchCount"] == len(row["watchers"]), key
            assert fields["environment"] == row["environment"], key
            family = [row, *(rows[child] for child in row["subtasks"])]
            estimates = [r["original_estimate"] for r in family if r["original_estimate"] is not None]
            remaining = [r["remaining_estimate"] for r in family if r["remaining_estimate"] is not None]
            spent = sum(r["time_spent"] for r in family)
            assert fields["aggregatetimeoriginalestimate"] == (sum(estimates) if estimates else None), key
            assert fields["aggregatetimeestimate"] == (sum(remaining) if remaining else None), key
            assert fields["aggregatetimespent"] == (spent or None), key
            assert fields["aggregateprogress"]["progress"] == spent, key
            parents += bool(row["subtasks"]) and spent > row["time_spent"]
        assert parents >= 2  # sub-tasks with work logged: their parents' aggregates differ from their own
