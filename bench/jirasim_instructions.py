"""Instructions per issue jirasim serves with full fields and the changelog, counted by valgrind (callgrind):
unlike seconds, the count does not move with the machine's load.

    .venv/bin/python bench/jirasim_instructions.py [--issues 100000] [--pages 10] [--flavour both]

In-process, as `python -m jirasim` serves (the site built, then gc.freeze() and its thresholds): a first page
of `project = OPS ORDER BY updated` (its search scan not counted), then `--pages` pages of 100 spread over
what bench/jirasim_serve.py reads (Cloud search/jql fields=*all: the whole project; Data Center search: its
first 10,000), each rendered and serialised with orjson. Issues ordered by updated are not alike (the least
updated have no history), hence the spread. Only those pages are counted (callgrind_control toggles
collection). Needs valgrind.
"""

import argparse
import base64
import gc
import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs

ROOT = Path(__file__).resolve().parent.parent


def serve_pages(flavour: str, per_project: int, pages: int, toggle: bool) -> int:
    """Serve the pages; return how many issues the counted ones held."""
    sys.path.insert(0, str(ROOT))
    from jirasim.dataset import SimConfig
    from jirasim.server import JiraSim
    from jirasim.serving import Request, dumps

    sim = JiraSim(SimConfig(flavour=flavour, projects=2, issues=per_project))
    sim.bind("http://127.0.0.1:8089")
    gc.freeze()  # as jirasim/__main__.py does once the site is built
    gc.set_threshold(50_000, 20, 20)
    span = per_project if flavour == "cloud" else min(per_project, 10_000)
    served, read_id = 0, ""
    for n in range(pages + 1):
        if n == 1 and toggle:
            subprocess.run(["callgrind_control", "-i", "on", str(os.getpid())], check=True, capture_output=True)
        start = n * (span // (pages + 1)) // 100 * 100
        if flavour == "cloud":
            path, method, query = "/rest/api/3/search/jql", "POST", {}
            body = {
                "jql": "project = OPS ORDER BY updated",
                "maxResults": 100,
                "fields": ["*all"],
                "expand": "changelog",
            }
            if n:
                body["nextPageToken"] = sim.search.token(read_id, start)
        else:
            path, method, body = "/rest/api/2/search", "GET", None
            query = parse_qs(f"jql=project+%3D+OPS+ORDER+BY+updated&startAt={start}&maxResults=100&expand=changelog")
        template, match, handler = sim.resolve(method, path)
        _, payload = handler(Request(method, path, query, body, match, f"{method} {template}"))
        dumps(payload)
        if n:
            served += len(payload["issues"])
        elif flavour == "cloud":
            read_id = base64.urlsafe_b64decode(payload["nextPageToken"].encode()).decode().split(":")[0]
    if toggle:
        subprocess.run(["callgrind_control", "-i", "off", str(os.getpid())], check=True, capture_output=True)
    return served


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--issues", type=int, default=100_000, help="issues in the site (2 projects)")
    parser.add_argument("--pages", type=int, default=10)
    parser.add_argument("--flavour", choices=["cloud", "datacenter", "both"], default="both")
    parser.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inner:
        print(f"served {serve_pages(args.flavour, args.issues // 2, args.pages, toggle=True)}")
        return
    for flavour in ("cloud", "datacenter") if args.flavour == "both" else (args.flavour,):
        out = f"/tmp/jirasim-callgrind.{flavour}.{os.getpid()}"
        run = subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                "--instr-atstart=no",
                f"--callgrind-out-file={out}",
                sys.executable,
                __file__,
                "--inner",
                "--flavour",
                flavour,
                "--issues",
                str(args.issues),
                "--pages",
                str(args.pages),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        Path(out).unlink(missing_ok=True)
        served = int(re.search(r"served (\d+)", run.stdout).group(1))
        counted = int(re.search(r"Collected : (\d+)", run.stderr).group(1))
        print(
            f"{flavour:10s} {args.issues:,} issues: {counted / served:,.0f} instructions per issue served "
            f"({counted:,} over {served:,} issues in {args.pages} pages)",
            flush=True,
        )


if __name__ == "__main__":
    main()
