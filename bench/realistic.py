"""A full sync against a throttled, distant Jira: is the wall time what Jira's rate limit makes it?

    .venv/bin/python bench/realistic.py [--issues 2000] [--projects 2] [--rounds 3] [--databases sqlite,postgres]

jirasim (Cloud) runs in its own process as a real site is met: `--latency-ms 150 --jitter-ms 50
--rate-limit 10 --burst 20`, 5 % of issues with long histories (120–450 entries, completed through
changelog/bulkfetch). The instance's request budget is Jira's rate (10/s), as an operator would set it.
Each round: a fresh simulator and database, one full sync of the instance (discovery, the projects in
parallel, history completion, the census after it). Printed per round: wall time, the run's requests
and what Jira counted (they must agree), 429s, requests ÷ rate (the floor when every request waits for
its turn) and the ratio of the wall time to it, the CPU seconds of the sync and of the simulator (on a
busy machine the ratio is theirs, not Jira's); then the median ratio. Target: within 1.3×.
"""

import argparse
import io
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from sync import fresh_database, process_cpu_seconds, start_sim, worker_env  # noqa: E402

SIM_OPTIONS = ("--latency-ms", "150", "--jitter-ms", "50", "--long-histories", "0.05")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--issues", type=int, default=2000, help="issues per project")
    parser.add_argument("--projects", type=int, default=2)
    parser.add_argument("--rate", type=float, default=10.0, help="Jira's rate limit, requests/s")
    parser.add_argument("--burst", type=float, default=20.0, help="Jira's token bucket capacity")
    parser.add_argument("--budget", type=float, help="the instance's request budget (default: --rate)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--databases", default="sqlite")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="jirasync-realistic-"))
    print(
        f"jirasim cloud: {args.projects} × {args.issues:,} issues, 5 % long histories, latency 150 ms + 0–50 ms, "
        f"rate limit {args.rate:g}/s, burst {args.burst:g}; request budget {args.budget or args.rate:g}/s",
        flush=True,
    )
    for kind in args.databases.split(","):
        ratios = []
        for round_ in range(1, args.rounds + 1):
            result = one_round(kind, folder, args)
            ratios.append(result["ratio"])
            print(f"{kind} round {round_}: {describe(result)}", flush=True)
        print(f"{kind}: median wall ÷ (requests ÷ rate) = {statistics.median(ratios):.2f} (target ≤ 1.30)", flush=True)


def one_round(kind: str, folder: Path, args: argparse.Namespace) -> dict:
    """A fresh simulator and database; one full sync in a fresh process (the database is chosen per process)."""
    sim, url = start_sim(
        args.issues * args.projects,
        args.projects,
        *SIM_OPTIONS,
        "--rate-limit",
        str(args.rate),
        "--burst",
        str(args.burst),
    )
    try:
        env = worker_env(fresh_database(kind, folder))
        budget = str(args.budget or args.rate)
        output = subprocess.run(
            [sys.executable, __file__, "--worker", url, budget],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if output.returncode != 0:
            raise SystemExit(f"the sync failed:\n{output.stderr[-3000:]}")
        result = json.loads(output.stdout.strip().splitlines()[-1])
        result["sim_cpu"] = process_cpu_seconds(sim.pid)
    finally:
        sim.terminate()
        sim.wait()
    result["floor"] = result["requests"] / args.rate
    result["ratio"] = result["seconds"] / result["floor"]
    return result


def describe(result: dict) -> str:
    endpoints = ", ".join(f"{name.split(' ', 1)[1].rsplit('/', 1)[-1]} {n}" for name, n in result["endpoints"].items())
    return (
        f"{result['status']}, {result['fetched']:,} issues in {result['seconds']:.1f} s; {result['requests']} requests "
        f"(Jira counted {result['jira_requests']}; {result['rate_limited']} × 429), requests ÷ rate "
        f"{result['floor']:.1f} s → wall {result['ratio']:.2f}× it; busiest second {result['busiest_second']} "
        f"requests; CPU seconds: sync {result['cpu']:.1f}, simulator {result['sim_cpu']:.1f} [{endpoints}]"
    )


# --- worker side -------------------------------------------------------------------------------------
def worker(sim_url: str, budget: float) -> dict:
    import django
    import requests

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("load_field_mappings", str(ROOT / "config" / "field_mappings.json"), stdout=io.StringIO())
    from audit.services import COMMAND
    from projects.models import JiraInstance
    from syncing.instance_settings import instance_save
    from syncing.runs.runner import RunOptions, sync_instance

    instance = instance_save(
        instance=JiraInstance(
            name="Realistic",
            slug="instance_1",
            base_url=sim_url,
            username="bench@example.com",
            enable_new_projects=True,
            request_budget=budget,
            max_parallel_projects=2,
        ),
        actor=COMMAND,
        token="bench-token",
    )
    requests.post(f"{sim_url}/_sim/reset-stats", timeout=30)
    began = time.perf_counter()
    cpu = time.process_time()
    run = sync_instance(instance.pk, RunOptions(full=True))
    seconds = time.perf_counter() - began
    cpu = time.process_time() - cpu
    stats = requests.get(f"{sim_url}/_sim/stats", timeout=30).json()
    served = {name: sum(codes.values()) for name, codes in stats["requests"].items() if " /rest/" in name}
    return {
        "status": run.status,
        "fetched": run.fetched,
        "seconds": seconds,
        "cpu": cpu,
        "requests": run.requests,
        "rate_limited": run.rate_limited,
        "jira_requests": sum(served.values()),
        "endpoints": dict(sorted(served.items(), key=lambda item: -item[1])),
        "busiest_second": stats["busiest_second"],
    }


if __name__ == "__main__":
    if sys.argv[1:2] == ["--worker"]:
        print(json.dumps(worker(sys.argv[2], float(sys.argv[3]))))
    else:
        main()
