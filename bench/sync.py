"""Full and incremental syncs from jirasim into SQLite and PostgreSQL, against a raw-driver yardstick.

    .venv/bin/python bench/sync.py [--issues 100000] [--small 10000] [--databases sqlite,postgres]

For each database: a fresh simulator (Cloud flavour, 2 projects) and a fresh database; a full sync
(issues/s, requests, peak RSS, seconds per stage), then an incremental sync after 1% of the issues
changed, then one with nothing changed. The yardstick: the same issues (the same fields and
changelog the sync asks for), read from disk, parsed, and upserted as rows of 30 typed columns plus
the raw issue — by psycopg alone (COPY into a staging table, then INSERT … ON CONFLICT) and by
sqlite3 alone (executemany INSERT … ON CONFLICT). The sync's rate is printed as a share of it.
Peak RSS is also measured for a --small full sync, to show memory does not grow with the project.
"""

import argparse
import io
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = os.environ.get("BENCH_PG_ADMIN", "postgres://postgres@127.0.0.1:5432/postgres")
# Dropped and created afresh for each measurement: give each bench running beside another its own.
PG_DATABASE = os.environ.get("BENCH_PG_DATABASE", "jirasync_bench")


def start_sim(issues: int, projects: int, *extra: str) -> tuple[subprocess.Popen, str]:
    """A Cloud simulator in its own process; extra: more `python -m jirasim` options."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jirasim",
            "--flavour",
            "cloud",
            "--projects",
            str(projects),
            "--issues",
            str(issues // projects),
            "--port",
            "0",
            "--token",
            "bench-token",
            "--user",
            "bench@example.com",
            *extra,
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    url = re.search(r"at (http\S+)", process.stdout.readline()).group(1)
    return process, url


def fresh_database(kind: str, folder: Path) -> str:
    if kind == "sqlite":
        path = folder / "bench.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{path}"
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{PG_DATABASE}"')
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{PG_DATABASE}"


def run_worker(mode: str, database_url: str, sim_url: str, extra: list[str]) -> dict:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "jirasync_site.settings",
        "DEBUG": "1",
        "LOG_LEVEL": "WARNING",
    }
    output = subprocess.run(
        [sys.executable, __file__, "--worker", mode, sim_url, *extra],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if output.returncode != 0:
        raise SystemExit(f"worker {mode} failed:\n{output.stderr[-3000:]}")
    return json.loads(output.stdout.strip().splitlines()[-1])


# --- worker side (a fresh process per measurement, so peak RSS is its own) ---------------------------
def worker(mode: str, sim_url: str, extra: list[str]) -> None:
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("load_field_mappings", str(ROOT / "config" / "field_mappings.json"), stdout=io.StringIO())
    from audit.services import COMMAND
    from projects.models import JiraInstance
    from projects.services import instance_save

    instance = instance_save(
        instance=JiraInstance(
            name="Bench",
            slug="instance_1",
            base_url=sim_url,
            username="bench@example.com",
            enable_new_projects=True,
            request_budget=100_000,
            max_parallel_projects=2,
        ),
        actor=COMMAND,
        token="bench-token",
    )
    if mode == "sync":
        print(json.dumps(measure_syncs(instance, sim_url)))
    elif mode == "fetch":
        print(json.dumps(fetch_pages(instance, Path(extra[0]))))
    elif mode == "yardstick":
        print(json.dumps(yardstick(Path(extra[0]))))
    elif mode == "remap":
        print(json.dumps(measure_remap(instance)))


def measure_syncs(instance, sim_url: str) -> dict:
    import requests

    from syncing.runner import RunOptions, sync_instance

    results = {}
    for label, prepare in (
        ("full", None),
        ("incremental_1pct", {"minutes": 60, "update": 0.01}),
        ("incremental_none", {"minutes": 1}),
    ):
        if prepare:
            requests.post(f"{sim_url}/_sim/advance", json=prepare, timeout=600)
        stages: dict[str, float] = {}
        began = time.perf_counter()
        run = sync_instance(instance.pk, RunOptions(full=label == "full", stage_seconds=stages))
        elapsed = time.perf_counter() - began
        results[label] = {
            "status": run.status,
            "fetched": run.fetched,
            "written": run.inserted + run.updated,
            "requests": run.requests,
            "seconds": elapsed,
            "issues_per_s": run.fetched / elapsed,
            "stages": stages,
        }
    results["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return results


def measure_remap(instance) -> dict:
    """Sync, change two mappings (a type and a new field), then re-map every stored issue from its raw JSON."""
    from audit.services import COMMAND
    from config.mapping_file import parse_mapping_text
    from config.services import mappings_apply
    from syncing.remap import issues_remap
    from syncing.runner import RunOptions, sync_instance

    run = sync_instance(instance.pk, RunOptions(full=True))
    data = json.loads((ROOT / "config" / "field_mappings.json").read_text())
    shoot = next(group for group in data["field_groups"] if group["name"] == "Shoot")
    next(field for field in shoot["fields"] if field["name"] == "rooms")["type"] = "decimal"
    shoot["fields"].append(
        {"name": "listing_domain", "type": "string", "instances": {"*": {"field_id": "customfield_10039"}}}
    )
    mappings_apply(document=parse_mapping_text(json.dumps(data)), actor=COMMAND)
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:  # settle the freshly loaded tables, as autovacuum would by then
            cursor.execute("VACUUM ANALYZE")
    result = issues_remap(actor=COMMAND)
    return {
        "synced": run.fetched,
        "checked": result.checked,
        "changed": result.changed,
        "seconds": result.seconds,
        "issues_per_s": result.checked / result.seconds,
    }


def fetch_pages(instance, target: Path) -> dict:
    """Save the pages the sync would read (same fields, changelog expanded) for the yardstick."""
    from config.selectors import field_specs_for_instance
    from syncing.clients import client_for, instance_discover_projects
    from syncing.fields import compile_mapping
    from syncing.fields.core import CORE_FIELD_IDS

    client = client_for(instance)
    fields = sorted(set(CORE_FIELD_IDS) | compile_mapping(field_specs_for_instance("instance_1")).jira_field_ids)
    pages = 0
    with target.open("wb") as out:
        for project in instance_discover_projects(instance, client):
            for page in client.search_pages(f"project = {project.jira_id}", fields):
                import orjson

                out.write(orjson.dumps(page) + b"\n")
                pages += 1
    return {"pages": pages}


YARD_COLUMNS = [
    ("jira_id", "bigint"),
    ("key", "text"),
    ("summary", "text"),
    ("issue_type", "text"),
    ("status", "text"),
    ("status_id", "text"),
    ("status_category", "text"),
    ("priority", "text"),
    ("assignee", "text"),
    ("assignee_id", "text"),
    ("reporter", "text"),
    ("reporter_id", "text"),
    ("created", "timestamptz"),
    ("updated", "timestamptz"),
    ("resolved", "timestamptz"),
    ("resolution", "text"),
    ("labels", "jsonb"),
    ("project_id", "text"),
    ("order_number", "text"),
    ("shoot_date", "text"),
    ("appointment", "text"),
    ("square_feet", "double precision"),
    ("property_type", "text"),
    ("region", "text"),
    ("photographer", "text"),
    ("listing_url", "text"),
    ("rooms", "double precision"),
    ("rush", "text"),
    ("changelog_total", "integer"),
    ("synced_at", "timestamptz"),
    ("raw", "jsonb"),
]


def yard_row(issue: dict, now) -> tuple:
    import orjson

    from syncing.fields.core import core_columns

    c = core_columns(issue)
    f = issue["fields"]

    def value(field_id, key="value"):
        item = f.get(field_id)
        return item.get(key) if isinstance(item, dict) else item

    raw = {k: v for k, v in issue.items() if k != "changelog"}
    return (
        c["jira_id"],
        c["key"],
        c["summary"],
        c["issue_type"],
        c["status"],
        c["status_id"],
        c["status_category"],
        c["priority"],
        c["assignee"],
        c["assignee_id"],
        c["reporter"],
        c["reporter_id"],
        c["created"],
        c["updated"],
        c["resolved"],
        c["resolution"],
        orjson.dumps(c["labels"]).decode(),
        value("project", "id"),
        f.get("customfield_10501"),
        f.get("customfield_10030"),
        f.get("customfield_10031"),
        f.get("customfield_10032"),
        value("customfield_10033"),
        value("customfield_10035"),
        value("customfield_10036", "displayName"),
        f.get("customfield_10039"),
        f.get("customfield_10040"),
        value("customfield_10041"),
        (issue.get("changelog") or {}).get("total", 0),
        now,
        orjson.dumps(raw).decode(),
    )


def yardstick(source: Path) -> dict:
    """Parse the saved pages and upsert them with the raw driver alone; return issues/s."""
    from datetime import UTC, datetime

    import orjson
    from django.db import connection

    now = datetime.now(UTC)
    names = [name for name, _ in YARD_COLUMNS]
    updates = ", ".join(f"{n} = excluded.{n}" for n in names[1:])
    issues = 0
    began = time.perf_counter()
    if connection.vendor == "postgresql":
        import psycopg

        settings_dict = connection.settings_dict
        with psycopg.connect(
            dbname=settings_dict["NAME"],
            user=settings_dict["USER"],
            host=settings_dict["HOST"],
            port=settings_dict["PORT"] or 5432,
        ) as pg:
            pg.execute("DROP TABLE IF EXISTS yard")
            pg.execute(f"CREATE TABLE yard ({', '.join(f'{n} {t}' for n, t in YARD_COLUMNS)}, PRIMARY KEY (jira_id))")
            pg.execute("CREATE TEMP TABLE yard_staging (LIKE yard INCLUDING DEFAULTS) ON COMMIT DELETE ROWS")
            pg.commit()
            began = time.perf_counter()
            with source.open("rb") as pages:
                for line in pages:
                    rows = [yard_row(issue, now) for issue in orjson.loads(line)]
                    issues += len(rows)
                    with pg.cursor() as cursor:
                        with cursor.copy(f"COPY yard_staging ({', '.join(names)}) FROM STDIN") as copy:
                            for row in rows:
                                copy.write_row(row)
                        cursor.execute(
                            f"INSERT INTO yard SELECT * FROM yard_staging ON CONFLICT (jira_id) DO UPDATE SET {updates}"
                        )
                    pg.commit()
    else:
        import sqlite3

        db = sqlite3.connect(connection.settings_dict["NAME"])
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("DROP TABLE IF EXISTS yard")
        db.execute(f"CREATE TABLE yard ({', '.join(f'{n}' for n in names)}, PRIMARY KEY (jira_id))")
        sql = (
            f"INSERT INTO yard ({', '.join(names)}) VALUES ({', '.join('?' * len(names))}) "
            f"ON CONFLICT (jira_id) DO UPDATE SET {updates}"
        )
        began = time.perf_counter()
        with source.open("rb") as pages:
            for line in pages:
                rows = [
                    tuple(v.isoformat() if hasattr(v, "isoformat") else v for v in yard_row(issue, now))
                    for issue in orjson.loads(line)
                ]
                issues += len(rows)
                db.executemany(sql, rows)
                db.commit()
        db.close()
    elapsed = time.perf_counter() - began
    return {"issues": issues, "seconds": elapsed, "issues_per_s": issues / elapsed}


# --- orchestration ---------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--issues", type=int, default=100_000)
    parser.add_argument("--small", type=int, default=10_000, help="a smaller full sync, for the memory comparison")
    parser.add_argument("--projects", type=int, default=2)
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker[0], args.worker[1], args.worker[2:])
        return
    folder = Path(tempfile.mkdtemp(prefix="jirasync-bench-"))
    for kind in args.databases.split(","):
        print(f"== {kind}: {args.issues:,} issues in {args.projects} projects", flush=True)
        sim, url = start_sim(args.issues, args.projects)
        try:
            pages = folder / "pages.jsonl"
            run_worker("fetch", fresh_database(kind, folder), url, [str(pages)])
            yard = run_worker("yardstick", fresh_database(kind, folder), url, [str(pages)])
            pages.unlink()
            result = run_worker("sync", fresh_database(kind, folder), url, [])
        finally:
            sim.terminate()
            sim.wait()
        sim, url = start_sim(args.small, args.projects)
        try:
            small = run_worker("sync", fresh_database(kind, folder), url, [])
        finally:
            sim.terminate()
            sim.wait()
        full = result["full"]
        print(
            f"yardstick ({'psycopg COPY + INSERT … ON CONFLICT' if kind == 'postgres' else 'sqlite3 executemany'}, "
            f"parse included): {yard['issues_per_s']:,.0f} issues/s"
        )
        for label in ("full", "incremental_1pct", "incremental_none"):
            r = result[label]
            stages = ", ".join(f"{k} {v:.1f}" for k, v in sorted(r["stages"].items()))
            print(
                f"{label:17s} {r['status']:9s} {r['fetched']:>7,} fetched, {r['written']:>7,} written, "
                f"{r['requests']:>5} requests, {r['seconds']:6.1f} s, {r['issues_per_s']:>7,.0f} issues/s; "
                f"stage seconds: {stages}"
            )
        print(
            f"full sync = {full['issues_per_s'] / yard['issues_per_s']:.0%} of the yardstick; peak RSS "
            f"{result['peak_rss_mb']:.0f} MB at {args.issues:,} issues vs {small['peak_rss_mb']:.0f} MB at "
            f"{args.small:,} ({result['peak_rss_mb'] / small['peak_rss_mb'] - 1:+.0%})",
            flush=True,
        )


if __name__ == "__main__":
    main()
