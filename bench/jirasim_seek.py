"""How long jirasim takes to page a Data Center project by startAt and by a moving `updated` window.

    .venv/bin/python bench/jirasim_seek.py [--issues 20000] [--page 100] [--root DIR]

By startAt: `project = X ORDER BY updated ASC, key ASC` with startAt 0, 100, … (Data Center stops
at 10,000, so the site has two projects of issues/2 and both are read). By seek: each page is a new
query `project = X AND updated >= <epoch ms of the last issue> ORDER BY updated ASC, key ASC` with
startAt 0, ids already seen dropped. Both ask for `fields=updated` (a census listing), so the
simulator's search, not its rendering, is what is timed. --root runs another checkout's jirasim
(to compare with the one before seek windows were cached).
"""

import argparse
import re
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import orjson
import requests

ROOT = Path(__file__).resolve().parent.parent
PROJECTS = ("OPS", "SHOOT")


def start_sim(root: Path, issues: int) -> tuple[subprocess.Popen, str]:
    command = [sys.executable, "-m", "jirasim", "--flavour", "datacenter", "--projects", "2", "--port", "0"]
    process = subprocess.Popen(
        [*command, "--issues", str(issues // 2)],
        cwd=root,
        stdout=subprocess.PIPE,
        text=True,
    )
    return process, re.search(r"at (http\S+)", process.stdout.readline()).group(1)


def search(session: requests.Session, url: str, jql: str, start: int, page: int) -> dict:
    body = {"jql": jql, "startAt": start, "maxResults": page, "fields": ["updated"]}
    return orjson.loads(session.post(f"{url}/rest/api/2/search", json=body).content)


def by_start_at(session: requests.Session, url: str, project: str, page: int) -> tuple[int, int]:
    seen, start, calls = set(), 0, 0
    while True:
        answer = search(session, url, f"project = {project} ORDER BY updated ASC, key ASC", start, page)
        calls += 1
        seen.update(issue["id"] for issue in answer["issues"])
        start += page
        if start >= answer["total"]:
            return len(seen), calls


def by_seek(session: requests.Session, url: str, project: str, page: int) -> tuple[int, int]:
    seen, cursor, calls = set(), "1000000000000", 0
    while True:
        jql = f"project = {project} AND updated >= {cursor} ORDER BY updated ASC, key ASC"
        answer = search(session, url, jql, 0, page)
        calls += 1
        new = {issue["id"] for issue in answer["issues"]} - seen
        if not new:
            return len(seen), calls
        seen |= new
        last = datetime.fromisoformat(answer["issues"][-1]["fields"]["updated"])
        cursor = str(round(last.timestamp() * 1000))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--issues", type=int, default=20_000, help="issues in the site (2 projects)")
    parser.add_argument("--page", type=int, default=100)
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout whose jirasim is run")
    parser.add_argument("--seek-only", action="store_true", help="for sites past startAt's 10,000 per project")
    args = parser.parse_args()
    process, url = start_sim(args.root, args.issues)
    session = requests.Session()
    session.auth = ("demo@example.com", "demo-token")
    try:
        readers = [("startAt", by_start_at)] if not args.seek_only else []
        for name, read in [*readers, ("seek", by_seek)]:
            began = time.perf_counter()
            results = [read(session, url, project, args.page) for project in PROJECTS]
            elapsed = time.perf_counter() - began
            issues, calls = sum(n for n, _ in results), sum(c for _, c in results)
            print(
                f"by {name:7s}: {issues:,} issues in {calls} requests, {elapsed:.1f} s "
                f"({elapsed / calls * 1000:.1f} ms a page)"
            )
    finally:
        process.terminate()
        process.wait()


if __name__ == "__main__":
    main()
