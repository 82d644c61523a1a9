"""Digests of what jirasim answers to a fixed sequence of requests, to prove a change left every answer as it was.

    .venv/bin/python bench/jirasim_answers.py [--repo PATH] [--out FILE] [--compare FILE]

Starts jirasim from `--repo` (default: this checkout; give another worktree, e.g. main's, to record its
answers) on a loopback port, Cloud then Data Center, each as two sites (the defaults, then sprints, rich ADF,
fields named like Status and 5 % long histories), and sends the same requests before and after
`/_sim/advance` (edits, creations, deletions, moves, comments, worklogs, sprints) and after a field edit
and a status set: searches with `*all`, `*navigable`, named fields, `-comment`, ids only and expands
(changelog, names, schema, transitions), GET issue, changelog pages, comments, worklogs, the worklog feeds,
bulkfetch, agile board and sprint issues, and `/_sim/truth?changelog=1`. Each answer's body (the site's
port written as PORT, a Cloud search's token as TOKEN) is hashed with SHA-256; `--out` writes
{request: digest} as JSON and `--compare` names every request whose digest differs from a file written
before (exit 1 when any does).
"""

import argparse
import hashlib
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
SITES = (
    {"projects": 2, "issues": 150, "seed": 3},
    {
        "projects": 2,
        "issues": 120,
        "seed": 5,
        "sprints": True,
        "rich_adf": True,
        "status_lookalike_fields": True,
        "long_history_share": 0.05,
    },
)
ADVANCE = {
    "minutes": 45,
    "update": 0.2,
    "create": 6,
    "delete": 3,
    "move": 2,
    "comments": {"add": 12, "edit": 4, "delete": 3},
    "worklogs": {"add": 10, "edit": 3, "delete": 2},
    "sprints": {"close": True, "move": 4},
}
TOKEN_VALUE = re.compile(rb'"nextPageToken":"[^"]*"')
NAMED = "summary,status,updated,created,assignee,priority,labels,components,customfield_10501,comment,worklog"


def requests_of(cloud: bool, keys: list[str], sprints: list[int]) -> Iterator[tuple[str, str, dict[str, Any] | None]]:
    """(method, path with query, JSON body) of the fixed sequence for a site whose issue keys are `keys` and
    whose board's sprints are `sprints` (ids)."""
    v = "3" if cloud else "2"
    api = f"/rest/api/{v}"
    jql = "project in (OPS, SHOOT) ORDER BY updated ASC, id ASC"
    sample = keys[:: max(1, len(keys) // 12)]
    for fields, expand in (
        ("*all", "changelog"),
        ("*navigable", "changelog,names,schema"),
        (NAMED, "changelog"),
        (NAMED, ""),
        ("*all,-comment,-worklog", "changelog,transitions"),
        ("updated", ""),
    ):
        if cloud:
            yield (
                "POST",
                f"{api}/search/jql",
                {"jql": jql, "maxResults": 100, "fields": fields.split(","), "expand": expand},
            )
            yield (
                "POST",
                "/rest/api/2/search/jql",
                {"jql": jql, "maxResults": 40, "fields": fields.split(","), "expand": expand},
            )
        else:
            for start in (0, 100, 200):
                query = f"jql={jql}&startAt={start}&maxResults=100&fields={fields}&expand={expand}"
                yield "GET", f"{api}/search?{query}", None
    if cloud:
        yield "POST", f"{api}/search/jql", {"jql": jql, "maxResults": 500}
    for key in sample:
        yield "GET", f"{api}/issue/{key}?expand=changelog,names,schema,transitions", None
        yield "GET", f"{api}/issue/{key}?fields={NAMED}", None
        yield "GET", f"{api}/issue/{key}/changelog?startAt=0&maxResults=100", None
        yield "GET", f"{api}/issue/{key}/changelog?startAt=5&maxResults=3", None
        yield "GET", f"{api}/issue/{key}/comment?orderBy=-created", None
        yield "GET", f"{api}/issue/{key}/worklog", None
        yield "GET", f"/rest/api/2/issue/{key}?expand=changelog", None
    if cloud:
        yield "POST", f"{api}/changelog/bulkfetch", {"issueIdsOrKeys": keys[:300], "maxResults": 1000}
        yield "POST", f"{api}/changelog/bulkfetch", {"issueIdsOrKeys": keys[:300], "fieldIds": ["status", "assignee"]}
    yield "GET", f"{api}/worklog/updated?since=0", None
    yield "GET", f"{api}/worklog/deleted?since=0", None
    yield "GET", "/rest/agile/1.0/board/7/issue?maxResults=100&expand=changelog", None
    yield "GET", "/rest/agile/1.0/board/7/sprint", None
    for sprint in sprints:
        yield "GET", f"/rest/agile/1.0/sprint/{sprint}/issue?maxResults=100", None
    yield "GET", "/_sim/truth?changelog=1", None


def digests(site: dict[str, Any], flavour: str) -> dict[str, str]:
    """{label: sha256} of every answer of the sequence, before and after the site changes."""
    from jirasim.testing import TOKEN, USER, running_sim

    found: dict[str, str] = {}
    with running_sim(flavour=flavour, **site) as server:
        session = requests.Session()
        session.auth = (USER, TOKEN)
        host = server.url.split("//", 1)[1]

        def send(label: str, method: str, path: str, body: dict[str, Any] | None) -> Any:
            answer = session.request(method, f"{server.url}{path}", json=body, timeout=120)
            # A Cloud read's token holds the monotonic clock: the same answer otherwise.
            content = TOKEN_VALUE.sub(b'"nextPageToken":"TOKEN"', answer.content.replace(host.encode(), b"PORT"))
            found[f"{label} {method} {path} {json.dumps(body, sort_keys=True) if body else ''}"] = (
                f"{answer.status_code} {hashlib.sha256(content).hexdigest()}"
            )
            return answer

        def sequence(label: str) -> None:
            truth = session.get(f"{server.url}/_sim/truth", timeout=120).json()
            keys = [row["key"] for row in truth["issues"]]
            board = session.get(f"{server.url}/rest/agile/1.0/board/7/sprint", timeout=120).json()
            sprints = [sprint["id"] for sprint in board["values"]]
            for n, (method, path, body) in enumerate(requests_of(flavour == "cloud", keys, sprints)):
                send(f"{label}#{n}", method, path, body)

        sequence("start")
        send("advance", "POST", "/_sim/advance", ADVANCE)
        sequence("advanced")
        keys = [row["key"] for row in session.get(f"{server.url}/_sim/truth", timeout=120).json()["issues"]]
        v = "3" if flavour == "cloud" else "2"
        send("edit", "PUT", f"/rest/api/{v}/issue/{keys[4]}", {"fields": {"customfield_10501": "EDITED-1"}})
        send("status", "POST", "/_sim/status", {"issue": keys[7], "status": "Closed", "record": True})
        send("history", "POST", "/_sim/history", {"issue": keys[9], "entries": 130})
        send("comment", "POST", f"/rest/api/{v}/issue/{keys[11]}/comment", {"body": "A new comment"})
        sequence("edited")
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repo", default=str(ROOT), help="the checkout whose jirasim answers")
    parser.add_argument("--out", help="write {request: digest} here")
    parser.add_argument("--compare", help="a file --out wrote before: name the answers that differ")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(args.repo).resolve()))
    found: dict[str, str] = {}
    for flavour in ("cloud", "datacenter"):
        for number, site in enumerate(SITES):
            found.update({f"{flavour}/{number} {label}": d for label, d in digests(site, flavour).items()})
    overall = hashlib.sha256(json.dumps(found, sort_keys=True).encode()).hexdigest()
    print(f"{len(found)} answers from {args.repo}: {overall}")
    if args.out:
        Path(args.out).write_text(json.dumps(found, indent=1, sort_keys=True))
    if args.compare:
        before = json.loads(Path(args.compare).read_text())
        differ = [label for label in sorted(set(before) | set(found)) if before.get(label) != found.get(label)]
        for label in differ[:40]:
            print(f"differs: {label[:200]}")
        print(f"{len(differ)} of {len(found)} answers differ from {args.compare}")
        sys.exit(1 if differ else 0)


if __name__ == "__main__":
    main()
