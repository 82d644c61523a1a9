"""Requests needed to complete the histories of issues with long histories: bulk versus per issue.

    .venv/bin/python bench/histories.py [--issues 10000]

A Cloud simulator where every issue has 120–450 history entries. The per-issue way pages
GET /rest/api/3/issue/{id}/changelog (100 a page); the bulk way pages POST /rest/api/3/changelog/bulkfetch
(1,000 issues a call, status items only, 10,000 histories a page). Both through jirasync's client.
"""

import argparse
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

sys.path.insert(0, str(ROOT / "bench"))

from sync import start_sim  # noqa: E402

from syncing.jira.budget import LocalBudget  # noqa: E402
from syncing.jira.client import ConnectionSettings, JiraClient, RequestCounters  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--issues", type=int, default=10_000)
    args = parser.parse_args()
    sim, url = start_sim(args.issues, 1, "--long-histories", "1.0")
    try:
        settings = ConnectionSettings(
            name="bench",
            base_url=url,
            auth_kind="basic",
            username="bench@example.com",
            token="bench-token",
            flavour="cloud",
        )
        ids = [str(10_000 + n) for n in range(args.issues)]

        bulk = JiraClient(settings, counters=RequestCounters(), budget=LocalBudget(10_000))
        began = time.perf_counter()
        histories = bulk.bulk_histories(ids, ["status"])
        bulk_seconds = time.perf_counter() - began
        status_entries = sum(len(found.histories) for found in histories.values())

        single = JiraClient(settings, counters=RequestCounters(), budget=LocalBudget(10_000))
        began = time.perf_counter()
        with ThreadPoolExecutor(max_workers=4) as pool:
            entries = sum(pool.map(lambda issue_id: len(single.changelog(issue_id).histories), ids))
        single_seconds = time.perf_counter() - began
    finally:
        sim.terminate()
        sim.wait()
    print(
        f"{args.issues:,} issues with long histories ({entries:,} history entries, {status_entries:,} of them "
        f"status changes):"
    )
    print(f"  bulk (changelog/bulkfetch, status only): {bulk.counters.requests:,} requests, {bulk_seconds:.1f} s")
    print(f"  per issue (issue/{{id}}/changelog):       {single.counters.requests:,} requests, {single_seconds:.1f} s")
    print(f"  bulk needs {single.counters.requests / max(1, bulk.counters.requests):,.0f}x fewer requests")


if __name__ == "__main__":
    main()
