"""How fast jirasim serves issues with full fields on loopback, and what it costs to start.

    .venv/bin/python bench/jirasim_serve.py [--issues 100000] [--page 100]

The simulator runs in its own process (one core: Python's GIL); this process is the client.
Prints start-up time, the simulator's resident memory, and issues/s served — wall-clock and per CPU-second
of the simulator — for a full read of one project by one client, then of both projects by two clients at
once, through Cloud search/jql (fields=*all, expand=changelog) and Data Center search (every field,
expand=changelog): comments, worklogs, links, sprints and the rest of each issue's activity included. Each
read starts from a fresh simulator, so every issue is rendered from its seed as a first read is. On a
machine shared with other work, compare the per-CPU-second figures.
"""

import argparse
import multiprocessing
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import orjson
import requests

ROOT = Path(__file__).resolve().parent.parent


def start_sim(flavour: str, issues: int) -> tuple[subprocess.Popen, str, float]:
    began = time.perf_counter()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jirasim",
            "--flavour",
            flavour,
            "--projects",
            "2",
            "--issues",
            str(issues // 2),
            "--port",
            "0",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    line = process.stdout.readline()
    url = re.search(r"at (http\S+)", line).group(1)
    return process, url, time.perf_counter() - began


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+)", status).group(1)) / 1024


def read_all(url: str, flavour: str, page: int, project: str = "OPS") -> tuple[int, int]:
    session = requests.Session()
    session.auth = ("demo@example.com", "demo-token")
    issues = calls = 0
    token, start = None, 0
    while True:
        if flavour == "cloud":
            body = {
                "jql": "project = OPS ORDER BY updated",
                "maxResults": page,
                "fields": ["*all"],
                "expand": "changelog",
            }
            if token:
                body["nextPageToken"] = token
            answer = orjson.loads(session.post(f"{url}/rest/api/3/search/jql", json=body).content)
        else:
            params = {
                "jql": "project = OPS ORDER BY updated",
                "startAt": start,
                "maxResults": page,
                "expand": "changelog",
            }
            answer = orjson.loads(session.get(f"{url}/rest/api/2/search", params=params).content)
        calls += 1
        issues += len(answer["issues"])
        token, start = answer.get("nextPageToken"), start + page
        if (flavour == "cloud" and not token) or (flavour != "cloud" and start >= min(answer["total"], 10_000)):
            return issues, calls


def serve(flavour: str, issues: int, page: int) -> str:
    """One flavour: a read by one client, then — from a freshly started simulator, so that nothing the first
    read left in its caches helps — two clients in their own processes, one project each."""
    process, url, startup = start_sim(flavour, issues)
    try:
        began, cpu_before = time.perf_counter(), cpu_seconds(process.pid)
        one, calls = read_all(url, flavour, page)
        elapsed, one_cpu = time.perf_counter() - began, cpu_seconds(process.pid) - cpu_before
    finally:
        process.terminate()
        process.wait()
    process, url, _ = start_sim(flavour, issues)
    try:
        # Two clients keep the simulator busy while each parses its page: the simulator's own capacity.
        with multiprocessing.Pool(2) as pool:
            began, cpu_before = time.perf_counter(), cpu_seconds(process.pid)
            both = pool.starmap(read_all, [(url, flavour, page, key) for key in ("OPS", "SHOOT")])
            parallel = time.perf_counter() - began
            server_cpu = cpu_seconds(process.pid) - cpu_before
        memory = rss_mb(process.pid)
    finally:
        process.terminate()
        process.wait()
    served = sum(n for n, _ in both)
    return (
        f"{flavour:10s} {issues:,} issues: start-up {startup:.2f} s, simulator peak RSS {memory:.0f} MB; "
        f"full fields + changelog (comments, worklogs and the rest included), cold caches:\n"
        f"  one client:  {one:,} issues in {calls} requests, {elapsed:.1f} s = {one / elapsed:,.0f} issues/s; "
        f"simulator {one_cpu:.1f} CPU s = {one / one_cpu:,.0f} issues per CPU-second\n"
        f"  two clients: {served:,} issues in {parallel:.1f} s = {served / parallel:,.0f} issues/s; "
        f"simulator {server_cpu:.1f} CPU s = {served / server_cpu:,.0f} issues per CPU-second"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--issues", type=int, default=100_000, help="issues in the site (2 projects)")
    parser.add_argument("--page", type=int, default=100)
    parser.add_argument("--flavour", choices=["cloud", "datacenter", "both"], default="both")
    args = parser.parse_args()
    for flavour in ("cloud", "datacenter") if args.flavour == "both" else (args.flavour,):
        print(serve(flavour, args.issues, args.page), flush=True)
    print(
        f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} (wall figures shrink with load; "
        "issues per simulator CPU-second do not)"
    )


if __name__ == "__main__":
    main()
