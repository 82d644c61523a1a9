"""How fast jirasim serves issues with full fields on loopback, and what it costs to start.

    .venv/bin/python bench/jirasim_serve.py [--issues 100000] [--page 100]

The simulator runs in its own process (one core: Python's GIL); this process is the client.
Prints start-up time, the simulator's resident memory, and issues/s served for a full read of one
project through Cloud search/jql (fields=*all, expand=changelog) and Data Center search.
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--issues", type=int, default=100_000, help="issues in the site (2 projects)")
    parser.add_argument("--page", type=int, default=100)
    args = parser.parse_args()
    for flavour in ("cloud", "datacenter"):
        process, url, startup = start_sim(flavour, args.issues)
        try:
            began = time.perf_counter()
            issues, calls = read_all(url, flavour, args.page)
            elapsed = time.perf_counter() - began
            # Two clients in their own processes, one project each, keep the simulator busy while
            # each client parses its page: the simulator's own capacity on its one core.
            with multiprocessing.Pool(2) as pool:
                began, cpu_before = time.perf_counter(), cpu_seconds(process.pid)
                both = pool.starmap(read_all, [(url, flavour, args.page, key) for key in ("OPS", "SHOOT")])
                parallel = time.perf_counter() - began
                server_cpu = cpu_seconds(process.pid) - cpu_before
            memory = rss_mb(process.pid)
        finally:
            process.terminate()
            process.wait()
        print(
            f"{flavour:10s} {args.issues:,} issues: start-up {startup:.2f} s, simulator peak RSS {memory:.0f} MB; "
            f"served {issues:,} issues (full fields + changelog) in {calls} requests, {elapsed:.1f} s = "
            f"{issues / elapsed:,.0f} issues/s with one client; "
            f"{sum(n for n, _ in both) / parallel:,.0f} issues/s with two clients, which cost the simulator "
            f"{server_cpu:.1f} CPU s = {sum(n for n, _ in both) / server_cpu:,.0f} issues per CPU-second"
        )


if __name__ == "__main__":
    main()
