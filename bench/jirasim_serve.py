"""How fast jirasim serves issues with full fields on loopback, and what it costs to start.

    .venv/bin/python bench/jirasim_serve.py [--issues 100000] [--page 100]

Prints start-up time, resident memory, and issues/s served for a full read of one project
through Cloud search/jql (fields=*all, expand=changelog) and Data Center search.
"""

import argparse
import resource
import sys
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from jirasim.dataset import SimConfig
from jirasim.server import JiraSim, SimServer


def read_all(server: SimServer, flavour: str, page: int) -> tuple[int, int]:
    session = requests.Session()
    session.auth = ("demo@example.com", "demo-token")
    issues = calls = 0
    if flavour == "cloud":
        token = None
        while True:
            body = {
                "jql": "project = OPS ORDER BY updated",
                "maxResults": page,
                "fields": ["*all"],
                "expand": "changelog",
            }
            if token:
                body["nextPageToken"] = token
            answer = session.post(f"{server.url}/rest/api/3/search/jql", json=body).json()
            calls += 1
            issues += len(answer["issues"])
            token = answer.get("nextPageToken")
            if not token:
                return issues, calls
    start = 0
    while True:
        answer = session.get(
            f"{server.url}/rest/api/2/search",
            params={
                "jql": "project = OPS ORDER BY updated",
                "startAt": start,
                "maxResults": page,
                "expand": "changelog",
            },
        ).json()
        calls += 1
        issues += len(answer["issues"])
        start += page
        if start >= min(answer["total"], 10_000):
            return issues, calls


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--issues", type=int, default=100_000, help="issues in the site (2 projects)")
    parser.add_argument("--page", type=int, default=100)
    args = parser.parse_args()
    for flavour in ("cloud", "datacenter"):
        started = time.perf_counter()
        sim = JiraSim(SimConfig(flavour=flavour, projects=2, issues=args.issues // 2))
        server = SimServer(sim).start()
        startup = time.perf_counter() - started
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        began = time.perf_counter()
        issues, calls = read_all(server, flavour, args.page)
        elapsed = time.perf_counter() - began
        server.stop()
        print(
            f"{flavour:10s} {args.issues:,} issues: start-up {startup:.2f} s, peak RSS {rss:.0f} MB; served "
            f"{issues:,} issues (full fields + changelog) in {calls} requests, {elapsed:.1f} s = "
            f"{issues / elapsed:,.0f} issues/s (client and server share this process)"
        )


if __name__ == "__main__":
    main()
