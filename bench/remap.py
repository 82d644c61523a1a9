"""How fast remap_issues re-applies changed mappings to stored issues, without Jira.

    .venv/bin/python bench/remap.py [--issues 50000] [--databases sqlite,postgres]

Syncs the issues from a simulator into a fresh database, changes two mappings (a type, and a new
field), then re-maps every stored issue from its raw JSON (milestones re-applied too) and prints issues/s.
"""

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sync import fresh_database, run_worker, start_sim


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--issues", type=int, default=50_000)
    parser.add_argument("--databases", default="sqlite,postgres")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="jirasync-remap-"))
    for kind in args.databases.split(","):
        sim, url = start_sim(args.issues, 2)
        try:
            result = run_worker("remap", fresh_database(kind, folder), url, [])
        finally:
            sim.terminate()
            sim.wait()
        print(
            f"{kind:9s} remap of {result['checked']:,} stored issues ({result['changed']:,} changed): "
            f"{result['seconds']:.1f} s = {result['issues_per_s']:,.0f} issues/s, zero requests to Jira"
        )


if __name__ == "__main__":
    main()
