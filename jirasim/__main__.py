"""python -m jirasim: serve a simulated Jira site until stopped."""

import argparse
import contextlib
import gc
import json
import signal
import sys
import threading
from datetime import UTC, datetime

from jirasim.dataset import SimConfig
from jirasim.faults import FaultPlan, FaultRule
from jirasim.server import JiraSim, SimServer


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m jirasim", description="A Jira REST simulator (Cloud or Data Center)."
    )
    parser.add_argument("--flavour", choices=["cloud", "datacenter"], default="cloud")
    parser.add_argument("--projects", type=int, default=3, help="number of projects (default 3)")
    parser.add_argument("--issues", type=int, default=1000, help="issues per project (default 1000)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--profile",
        choices=["instance_1", "instance_2", "instance_3"],
        help="which custom field ids the site has (default: instance_1 on cloud, instance_2 on DC)",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8089, help="0 picks a free port")
    parser.add_argument("--user", default="demo@example.com", help="email (Cloud) or username (DC)")
    parser.add_argument("--token", default="demo-token", help="API token / personal access token")
    parser.add_argument("--site-tz", default="UTC", help="zone of the offsets in returned timestamps")
    parser.add_argument("--account-tz", default="UTC", help="the account's zone: myself.timeZone, JQL dates")
    parser.add_argument(
        "--start", default="2026-01-01T00:00:00Z", help="the simulated clock's start (ISO 8601), or 'now'"
    )
    parser.add_argument("--long-histories", type=float, default=0.005, help="share of issues with >100 histories")
    parser.add_argument("--rate-limit", type=float, default=0, help="requests/second per credential (0: none)")
    parser.add_argument("--burst", type=float, help="token bucket capacity (default: the rate)")
    parser.add_argument("--latency-ms", type=float, default=0)
    parser.add_argument("--jitter-ms", type=float, default=0)
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="JSON",
        help='a fault rule, e.g. \'{"kind": "503", "rate": 0.05}\' or '
        '\'{"kind": "500", "endpoint": "GET /rest/api/3/search/jql", "nth": [3]}\' (kinds: README)',
    )
    parser.add_argument("--fault-seed", type=int, default=1)
    parser.add_argument(
        "--cloud-tokens",
        choices=["snapshot", "live"],
        default="snapshot",
        help="Cloud nextPageTokens freeze the result (snapshot) or are offsets into the live result (live)",
    )
    parser.add_argument(
        "--legacy-search",
        action="store_true",
        help="serve Cloud's removed /rest/api/{2,3}/search as before its removal",
    )
    parser.add_argument("--dc-max-results", type=int, default=1000, help="Data Center's search page cap")
    parser.add_argument(
        "--replay",
        action="append",
        default=[],
        metavar="FILE",
        help="also serve the issues of this recorded file (a search page, an issue, a webhook)",
    )
    parser.add_argument(
        "--captcha-after",
        type=int,
        default=0,
        help="after this many failed basic logins answer 403 CAPTCHA_CHALLENGE, as Jira does (0: never)",
    )
    parser.add_argument(
        "--sprints",
        action="store_true",
        help="the Sprint field with names and goals holding , = ] [ and name=, in the shape the site sends",
    )
    parser.add_argument(
        "--sprint-format",
        choices=["auto", "legacy", "server", "alphabetical", "object"],
        default="auto",
        help="force how sprints are sent (auto: Cloud and Data Center 10+ objects, DC 9 alphabetical strings, "
        "7-8 server strings (id first, activatedDate), older legacy strings)",
    )
    parser.add_argument("--dc-version", default="9.12.4", help="the Data Center version serverInfo reports")
    parser.add_argument(
        "--rich-adf", action="store_true", help="description and a rich-text field in ADF using every node kind"
    )
    parser.add_argument(
        "--status-lookalike-fields",
        action="store_true",
        help='custom fields named "Status" and "Workflow Status", changed in issue histories',
    )
    parser.add_argument("--tls", action="store_true", help="serve https with a generated self-signed certificate")
    parser.add_argument("--cert-dir", help="where --tls writes cert.pem and key.pem")
    return parser.parse_args(argv)


def build(args: argparse.Namespace) -> SimServer:
    start = datetime.now(UTC).replace(microsecond=0) if args.start == "now" else datetime.fromisoformat(args.start)
    config = SimConfig(
        flavour=args.flavour,
        projects=args.projects,
        issues=args.issues,
        seed=args.seed,
        profile=args.profile or "",
        start=start,
        site_tz=args.site_tz,
        account_tz=args.account_tz,
        long_history_share=args.long_histories,
        dc_version=args.dc_version,
        sprints=args.sprints,
        sprint_format=args.sprint_format,
        rich_adf=args.rich_adf,
        status_lookalike_fields=args.status_lookalike_fields,
    )
    faults = FaultPlan(
        [FaultRule(**json.loads(rule)) for rule in args.fault],
        seed=args.fault_seed,
        latency_ms=args.latency_ms,
        jitter_ms=args.jitter_ms,
    )
    sim = JiraSim(
        config,
        user=args.user,
        token=args.token,
        rate_limit=args.rate_limit,
        burst=args.burst,
        faults=faults,
        legacy_search=args.legacy_search,
        dc_max_results=args.dc_max_results,
        replay=args.replay,
        captcha_after=args.captcha_after,
        cloud_tokens=args.cloud_tokens,
    )
    return SimServer(sim, args.host, args.port, tls=args.tls, cert_dir=args.cert_dir)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    server = build(args)
    # The dataset is long-lived and acyclic: keep the collector from rescanning it while pages
    # of short-lived dicts are built (PERFORMANCE.md: ~30% of JSON work is GC with defaults).
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    server.start()
    projects, total = len(server.sim.data.projects), len(server.sim.data.by_id)
    print(
        f"jirasim {args.flavour} at {server.url} — {projects} projects, {total} issues, seed {args.seed}",
        flush=True,
    )
    print(
        f"  credentials: user {args.user!r}, token {args.token!r}"
        + (f"; trust {server.cert_file}" if server.cert_file else ""),
        flush=True,
    )
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()
    server.stop()


if __name__ == "__main__":
    main()
