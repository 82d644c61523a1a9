"""Full and incremental syncs from jirasim into SQLite and PostgreSQL, against two raw-driver yardsticks.

    .venv/bin/python bench/sync.py [--issues 100000] [--small 10000] [--databases sqlite,postgres] [--rounds 1]
                                   [--activity on|off|compare]

--activity: everything issue #14 added synced (on, the default: comments, worklogs, every field's history) or
not (off: the issues with their status history, links, versions, components and sprints — what cannot be
switched off); compare runs the full, incremental and no-change syncs with each, without the yardsticks, and
prints both.

For each database: a fresh simulator (Cloud flavour, 2 projects) and a fresh database; a full sync
(issues/s, requests, peak RSS, seconds per stage, CPU seconds per issue of the sync's processes, of the
PostgreSQL backends serving it and of the simulator), then an incremental sync after 1% of the issues
changed, then one with nothing changed. The pages the sync reads (the same fields and changelog, long
histories completed) are saved to disk first for the yardsticks:

- one row per issue: the pages parsed and upserted as rows of 30 typed columns plus the raw issue, by
  psycopg alone (COPY into a staging table, then INSERT … ON CONFLICT) or sqlite3 alone (executemany);
- the same work: exactly the rows a full sync writes — the issue row, its raw JSON, status changes, field changes,
  milestones and time in status — made by the sync's own functions from pre-parsed pages (the parse is
  outside the clock) and written by the raw driver alone (psycopg COPY, the issue and raw rows as upserts
  through a staging table; sqlite3 executemany), one transaction a page. Its row counts are printed beside
  the sync's.

The full sync's rate is printed as a share of each. --rounds repeats the yardsticks and the full sync,
interleaved, and prints medians. Peak RSS is also measured for a --small full sync, to show memory does not
grow with the project. BENCH_PG_DATABASE names the scratch PostgreSQL database (dropped and made again).
"""

import argparse
import base64
import io
import json
import os
import re
import resource
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = os.environ.get("BENCH_PG_ADMIN", "postgres://postgres@127.0.0.1:5432/postgres")
# Dropped and created afresh for each measurement: give each bench running beside another its own.
PG_DATABASE = os.environ.get("BENCH_PG_DATABASE", "jirasync_bench")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


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


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of a live process, all its threads (from /proc); None when it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    after_name = stat.rsplit(")", 1)[1].split()  # the name may hold spaces; utime and stime are fields 14, 15
    return (int(after_name[11]) + int(after_name[12])) / CLOCK_TICKS


class BackendCpu:
    """The CPU of the PostgreSQL backends serving one database, read from /proc by a thread of this process.

    The sync's project threads close their connections when they end, so their backends exit before the sync
    does: each backend is read every 20 ms while it lives (at most its last 20 ms are missed), and found among
    the postmaster's children by its process title ("postgres: … user DATABASE host(port) state"). Only
    backends of this database count: the server is shared, and its background processes are not counted.
    """

    def __init__(self, database: str) -> None:
        import psycopg

        with psycopg.connect(PG_ADMIN_URL) as admin:
            backend = admin.execute("SELECT pg_backend_pid()").fetchone()[0]
        self.postmaster = int(Path(f"/proc/{backend}/stat").read_text().rsplit(")", 1)[1].split()[1])
        self.title = f" {database} "
        self.ours: dict[int, float] = {}  # pid -> CPU seconds last read
        self.theirs: set[int] = set()
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()

    def _sample(self) -> None:
        while not self.stopped.wait(0.02):
            self.read()

    def read(self) -> dict[int, float]:
        """Read every live backend of the database now; {pid: CPU seconds}, exited backends as last read."""
        children = Path(f"/proc/{self.postmaster}/task/{self.postmaster}/children").read_text().split()
        with self.lock:
            for pid in map(int, children):
                if pid in self.theirs:
                    continue
                if pid not in self.ours:
                    try:
                        title = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
                    except OSError:
                        continue
                    if not title.startswith("postgres: "):
                        continue  # just forked: its title is not set yet
                    if self.title not in title:
                        self.theirs.add(pid)
                        continue
                cpu = process_cpu_seconds(pid)
                if cpu is not None:
                    self.ours[pid] = cpu
            return dict(self.ours)

    def close(self) -> None:
        self.stopped.set()
        self.thread.join()


def worker_env(database_url: str) -> dict[str, str]:
    """The environment of a measured worker process: production settings on the given database."""
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "jirasync_site.settings",
        # As in production: with DEBUG on, Django logs every statement with its parameters made into SQL
        # (on SQLite a SELECT QUOTE(?) … per statement), which a worker never pays.
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "JIRASYNC_ENCRYPTION_KEYS": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        "LOG_LEVEL": "WARNING",
    }


def run_worker(
    mode: str, database_url: str, sim_url: str, extra: list[str], on_mark: "Callable[[str], None] | None" = None
) -> dict:
    """Run a worker process; on_mark is called at each mark it makes (then it goes on); returns its result."""
    env = worker_env(database_url)
    with tempfile.TemporaryFile("w+") as errors:
        process = subprocess.Popen(
            [sys.executable, __file__, "--worker", mode, sim_url, *extra],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
        )
        last = ""
        for line in process.stdout:
            if line.startswith(MARK):
                if on_mark is not None:
                    on_mark(line.removeprefix(MARK).strip())
                process.stdin.write("\n")
                process.stdin.flush()
            elif line.strip():
                last = line
        if process.wait() != 0:
            errors.seek(0)
            raise SystemExit(f"worker {mode} failed:\n{errors.read()[-3000:]}")
    return json.loads(last)


MARK = "#mark "


def mark(name: str) -> None:
    """Worker side: tell the orchestrator a moment has come, and wait until it has taken its readings."""
    print(f"{MARK}{name}", flush=True)
    sys.stdin.readline()


def own_cpu_seconds() -> tuple[float, float]:
    """CPU seconds of this process (all threads) and of its children that ended (helper processes)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


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
    from syncing.instance_settings import instance_save

    instance = instance_save(
        instance=JiraInstance(
            name="Bench",
            slug="instance_1",
            base_url=sim_url,
            username="bench@example.com",
            enable_new_projects=True,
            request_budget=100_000,
            max_parallel_projects=2,
            # --activity off: no comments, worklogs or field history
            sync_comments=os.environ.get("BENCH_ACTIVITY", "on") == "on",
            sync_worklogs=os.environ.get("BENCH_ACTIVITY", "on") == "on",
            field_history="*" if os.environ.get("BENCH_ACTIVITY", "on") == "on" else "",
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
    elif mode == "samework":
        print(json.dumps(same_work_yardstick(instance, Path(extra[0]))))
    elif mode == "remap":
        print(json.dumps(measure_remap(instance)))


def measure_syncs(instance, sim_url: str) -> dict:
    import requests

    from syncing.runs.runner import RunOptions, sync_instance

    results = {}
    for label, prepare in (
        ("full", None),
        ("incremental_1pct", {"minutes": 60, "update": 0.01}),
        ("incremental_none", {"minutes": 1}),
    ):
        if prepare:
            requests.post(f"{sim_url}/_sim/advance", json=prepare, timeout=600)
        stages: dict[str, float] = {}
        full = label == "full"
        if full:
            mark("full-begin")
        began, cpu_began = time.perf_counter(), own_cpu_seconds()
        run = sync_instance(instance.pk, RunOptions(full=full, stage_seconds=stages))
        elapsed, cpu_ended = time.perf_counter() - began, own_cpu_seconds()
        if full:
            mark("full-end")
        results[label] = {
            "status": run.status,
            "fetched": run.fetched,
            "written": run.inserted + run.updated,
            "requests": run.requests,
            "seconds": elapsed,
            "issues_per_s": run.fetched / elapsed,
            "stages": stages,
            "cpu_own": cpu_ended[0] - cpu_began[0],
            "cpu_helpers": cpu_ended[1] - cpu_began[1],
        }
        if full:
            results[label]["rows"] = rows_stored()
    results["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return results


def rows_stored() -> dict[str, int]:
    """Rows of each table a sync writes, by the table's model name."""
    from activity.models import Comment, Worklog
    from issues.models import FieldChange, Issue, IssueMilestone, IssueRaw, StatusChange, TimeInStatus

    models = (Issue, IssueRaw, StatusChange, IssueMilestone, TimeInStatus, FieldChange, Comment, Worklog)
    return {model.__name__: model.objects.count() for model in models}


def measure_remap(instance) -> dict:
    """Sync, change two mappings (a type and a new field), then re-map every stored issue from its raw JSON."""
    from audit.services import COMMAND
    from config.mapping_file import parse_mapping_text
    from config.services import mappings_apply
    from syncing.runs.remap import issues_remap
    from syncing.runs.runner import RunOptions, sync_instance

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
    """Save the pages the sync would read (same fields, changelog expanded) for the yardsticks, with the
    histories the search answer truncated completed as the sync completes them (the same rows follow)."""
    import orjson

    from config.selectors import field_specs_for_instance
    from jirafields import compile_mapping
    from jirafields.core import CORE_FIELD_IDS
    from syncing.site.clients import client_for, instance_discover_projects

    client = client_for(instance)
    fields = sorted(set(CORE_FIELD_IDS) | compile_mapping(field_specs_for_instance("instance_1")).jira_field_ids)
    pages = completed = 0
    with target.open("wb") as out:
        for project in instance_discover_projects(instance, client):
            for page in client.search_pages(f"project = {project.jira_id}", fields):
                completed += _histories_complete(client, page)
                out.write(orjson.dumps(page) + b"\n")
                pages += 1
    return {"pages": pages, "completed": completed}


def _histories_complete(client, page: list[dict]) -> int:
    """Replace each truncated changelog of the page by the whole history; return how many were."""
    truncated = {}
    for issue in page:
        changelog = issue.get("changelog") or {}
        histories, total = changelog.get("histories") or [], changelog.get("total")
        if total is None or total > len(histories):
            truncated[str(issue["id"])] = issue
    if not truncated:
        return 0
    for issue_id, fetched in client.histories(list(truncated)).items():
        issue = truncated[issue_id]
        held = {str(history["id"]): history for history in issue["changelog"]["histories"]}
        for history in fetched.histories:
            held.setdefault(str(history["id"]), history)
        whole = list(held.values())
        issue["changelog"] = {"startAt": 0, "maxResults": len(whole), "total": len(whole), "histories": whole}
    return len(truncated)


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

    from jirafields.core import core_columns

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


def same_work_yardstick(instance, source: Path) -> dict:
    """The rows a full sync writes, made by the sync's own functions from pre-parsed pages and written by the
    raw driver alone, one transaction a page; returns issues/s, CPU seconds and the rows written.

    Per page: prepare_issue (core columns, mapped fields, raw JSON and its digest), the status history
    (history_wanted of the whole changelog), milestones and time in status from it; then the issue rows
    upserted (PostgreSQL: COPY into a staging table, INSERT … ON CONFLICT … RETURNING the ids; SQLite:
    executemany INSERT … ON CONFLICT, the ids selected back), the raw JSON upserted the same way, and the
    status changes, milestones and time in status inserted (COPY / executemany). Parsing each page is
    outside the clock; everything from the parsed page to the commit is on it.
    """
    from datetime import UTC, datetime

    import orjson
    from django.db import connection

    from config.models import StatusMilestone
    from issues.models import FieldChange, Issue, IssueMilestone, IssueRaw, StatusChange, TimeInStatus
    from syncing.engine.field_history import FIELD_CHANGE_COLUMNS, field_items_of
    from syncing.engine.history import (
        MILESTONE_COLUMNS,
        STATUS_CHANGE_COLUMNS,
        TIME_IN_STATUS_COLUMNS,
        milestone_rows,
        status_change_row,
        time_in_status_rows,
    )
    from syncing.engine.pipeline import wanted_history
    from syncing.engine.prepare import prepare_issue
    from syncing.engine.store import _COLUMNS as ISSUE_COLUMNS
    from syncing.engine.store import _row as issue_row
    from syncing.runs.runner import RunOptions, project_plan
    from syncing.site.clients import client_for, instance_discover_projects

    plans = {
        project.jira_id: project_plan(project, RunOptions(full=True))
        for project in instance_discover_projects(instance, client_for(instance))
    }
    milestone_ids = dict(StatusMilestone.objects.values_list("name", "id"))
    tables = {
        model: (model._meta.db_table, columns)
        for model, columns in (
            (Issue, ISSUE_COLUMNS),
            (IssueRaw, ["issue_id", "body"]),
            (StatusChange, STATUS_CHANGE_COLUMNS),
            (IssueMilestone, MILESTONE_COLUMNS),
            (TimeInStatus, TIME_IN_STATUS_COLUMNS),
            (FieldChange, FIELD_CHANGE_COLUMNS),
        )
    }
    counts = dict.fromkeys((model.__name__ for model in tables), 0)

    mapping, rules = next(iter(plans.values())).mapping, next(iter(plans.values())).rules  # one instance: alike

    def page_rows(page: list[dict]) -> tuple[list, list, datetime]:
        """The page's issue rows, its prepared issues with their plans, and the moment it is stored at."""
        now = datetime.now(UTC)
        prepared = [(plans[str(issue["fields"]["project"]["id"])], prepare_issue(issue, mapping)) for issue in page]
        rows = [issue_row(instance, plan.project, item, True, now, plan.milestones_digest) for plan, item in prepared]
        return rows, prepared, now

    def derived_rows(prepared: list, pks: dict[int, int], now) -> dict:
        wanted = {pks[item.jira_id]: wanted_history(item, [], whole=True) for _, item in prepared}
        return {
            IssueRaw: [(pks[item.jira_id], item.raw) for _, item in prepared],
            StatusChange: [status_change_row(pk, t) for pk, history in wanted.items() for t in history],
            IssueMilestone: [
                (pk, *row) for pk, rows in milestone_rows(wanted, rules, milestone_ids).items() for row in rows
            ],
            TimeInStatus: time_in_status_rows(wanted, now),
            FieldChange: [
                (pks[item.jira_id], *change)
                for plan, item in prepared
                for change in field_items_of(item.histories, plan.kept)
            ],
        }

    def names(model) -> str:
        return ", ".join(f'"{column}"' for column in tables[model][1])

    clock = cpu = 0.0
    issues = 0
    conflict = "ON CONFLICT (instance_id, jira_id) DO UPDATE SET " + ", ".join(
        f'"{column}" = excluded."{column}"' for column in ISSUE_COLUMNS[2:]
    )
    raw_conflict = 'ON CONFLICT (issue_id) DO UPDATE SET "body" = excluded."body"'
    if connection.vendor == "postgresql":
        import psycopg

        settings_dict = connection.settings_dict
        pg = psycopg.connect(
            dbname=settings_dict["NAME"],
            user=settings_dict["USER"],
            host=settings_dict["HOST"],
            port=settings_dict["PORT"] or 5432,
        )
        for model in (Issue, IssueRaw):
            pg.execute(
                f"CREATE TEMP TABLE yard_{model.__name__} ON COMMIT DELETE ROWS AS "
                f"SELECT {names(model)} FROM {tables[model][0]} WITH NO DATA"
            )
        pg.commit()
        with source.open("rb") as pages:
            for line in pages:
                page = orjson.loads(line)
                began, cpu_began = time.perf_counter(), time.process_time()
                rows, prepared, now = page_rows(page)
                with pg.cursor() as cursor:
                    with cursor.copy(f"COPY yard_Issue ({names(Issue)}) FROM STDIN") as copy:
                        for row in rows:
                            copy.write_row(row)
                    cursor.execute(
                        f"INSERT INTO {tables[Issue][0]} ({names(Issue)}) SELECT {names(Issue)} FROM yard_Issue "
                        f"{conflict} RETURNING jira_id, id"
                    )
                    pks = dict(cursor.fetchall())
                    derived = derived_rows(prepared, pks, now)
                    with cursor.copy(f"COPY yard_IssueRaw ({names(IssueRaw)}) FROM STDIN") as copy:
                        for row in derived.pop(IssueRaw):
                            copy.write_row(row)
                    cursor.execute(
                        f"INSERT INTO {tables[IssueRaw][0]} ({names(IssueRaw)}) SELECT {names(IssueRaw)} "
                        f"FROM yard_IssueRaw {raw_conflict}"
                    )
                    for model, model_rows in derived.items():
                        with cursor.copy(f"COPY {tables[model][0]} ({names(model)}) FROM STDIN") as copy:
                            for row in model_rows:
                                copy.write_row(row)
                        counts[model.__name__] += len(model_rows)
                pg.commit()
                clock += time.perf_counter() - began
                cpu += time.process_time() - cpu_began
                issues += len(rows)
        pg.close()
    else:
        import sqlite3

        db = sqlite3.connect(connection.settings_dict["NAME"])
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")

        def sqlite_rows(model, rows: list) -> list:
            """Date-times as Django keeps them in SQLite: naive UTC text, "YYYY-MM-DD HH:MM:SS[.ffffff]"."""
            at = [i for i, column in enumerate(tables[model][1]) if column in DATETIME_COLUMNS]
            out = []
            for row in rows:
                row = list(row)
                for i in at:
                    if row[i] is not None:
                        row[i] = row[i].replace(tzinfo=None).isoformat(" ")
                out.append(row)
            return out

        def insert(model, tail: str = "") -> str:
            marks = ", ".join("?" * len(tables[model][1]))
            return f"INSERT INTO {tables[model][0]} ({names(model)}) VALUES ({marks}) {tail}"

        with source.open("rb") as pages:
            for line in pages:
                page = orjson.loads(line)
                began, cpu_began = time.perf_counter(), time.process_time()
                rows, prepared, now = page_rows(page)
                db.executemany(insert(Issue, conflict), sqlite_rows(Issue, rows))
                ids = [row[1] for row in rows]
                pks = dict(
                    db.execute(
                        f"SELECT jira_id, id FROM {tables[Issue][0]} WHERE instance_id = ? "
                        f"AND jira_id IN ({', '.join('?' * len(ids))})",
                        [instance.pk, *ids],
                    )
                )
                derived = derived_rows(prepared, pks, now)
                db.executemany(insert(IssueRaw, raw_conflict), derived.pop(IssueRaw))
                for model, model_rows in derived.items():
                    db.executemany(insert(model), sqlite_rows(model, model_rows))
                    counts[model.__name__] += len(model_rows)
                db.commit()
                clock += time.perf_counter() - began
                cpu += time.process_time() - cpu_began
                issues += len(rows)
        db.close()
    counts.update(Issue=issues, IssueRaw=issues)
    return {"issues": issues, "seconds": clock, "issues_per_s": issues / clock, "cpu": cpu, "rows": counts}


DATETIME_COLUMNS = {
    "created",
    "updated",
    "resolved",
    "deleted_at",
    "synced_at",
    "changed_at",
    "first_reached",
    "last_reached",
    "first_entered",
    "last_entered",
    "as_of",
}


# --- orchestration ---------------------------------------------------------------------------------
def full_sync_measured(kind: str, folder: Path, sim: subprocess.Popen, url: str) -> dict:
    """Run the sync worker; add the CPU seconds of the simulator and of the PostgreSQL backends during its full sync."""
    readings: dict[str, tuple[float, dict[int, float]]] = {}
    backends = BackendCpu(PG_DATABASE) if kind == "postgres" else None

    def on_mark(name: str) -> None:
        readings[name] = (process_cpu_seconds(sim.pid), backends.read() if backends else {})

    database = fresh_database(kind, folder)
    try:
        result = run_worker("sync", database, url, [], on_mark)
    finally:
        if backends:
            backends.close()
    (sim_began, pg_began), (sim_ended, pg_ended) = readings["full-begin"], readings["full-end"]
    full = result["full"]
    full["cpu_simulator"] = sim_ended - sim_began
    full["cpu_database"] = sum(cpu - pg_began.get(pid, 0.0) for pid, cpu in pg_ended.items()) if backends else None
    return result


def per_issue_ms(seconds: float | None, issues: int) -> str:
    return "–" if seconds is None else f"{seconds / issues * 1000:.2f} ms"


def median_ms(runs: list[dict], seconds: Callable[[dict], float | None], issues: Callable[[dict], int]) -> str:
    """The median over runs of CPU milliseconds per issue ("–" when not measured)."""
    values = [seconds(run) / issues(run) for run in runs if seconds(run) is not None]
    return f"{statistics.median(values) * 1000:.2f} ms" if values else "–"


def rows_line(rows: dict[str, int]) -> str:
    return ", ".join(f"{count:,} {name}" for name, count in rows.items())


def activity_compare(args: argparse.Namespace, folder: Path) -> None:
    """Full, 1 % incremental and no-change syncs with comments, worklogs and field history on, then off."""
    for kind in args.databases.split(","):
        print(
            f"== {kind}: {args.issues:,} issues in {args.projects} projects, comments, worklogs and field history "
            "on vs off"
        )
        for setting in ("on", "off"):
            os.environ["BENCH_ACTIVITY"] = setting
            sim, url = start_sim(args.issues, args.projects)
            try:
                result = run_worker("sync", fresh_database(kind, folder), url, [])
            finally:
                sim.terminate()
                sim.wait()
            for label in ("full", "incremental_1pct", "incremental_none"):
                r = result[label]
                print(
                    f"activity {setting:3s} {label:17s} {r['status']:9s} {r['fetched']:>7,} fetched, "
                    f"{r['requests']:>5} requests, {r['seconds']:6.1f} s, {r['issues_per_s']:>7,.0f} issues/s, "
                    f"sync CPU {per_issue_ms(r['cpu_own'] + r['cpu_helpers'], r['fetched'])} per issue"
                )
            print(
                f"activity {setting:3s} rows: {rows_line(result['full']['rows'])}; peak RSS "
                f"{result['peak_rss_mb']:.0f} MB",
                flush=True,
            )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--issues", type=int, default=100_000)
    parser.add_argument("--small", type=int, default=10_000, help="a smaller full sync, for the memory comparison")
    parser.add_argument("--projects", type=int, default=2)
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--rounds", type=int, default=1, help="yardsticks and full sync repeated, interleaved")
    parser.add_argument(
        "--activity",
        choices=["on", "off", "compare"],
        default="on",
        help="sync comments and worklogs (on, the default), issues only (off), or compare both: full, incremental "
        "and no-change syncs with each, without the yardsticks",
    )
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker[0], args.worker[1], args.worker[2:])
        return
    folder = Path(tempfile.mkdtemp(prefix="jirasync-bench-"))
    if args.activity == "compare":
        activity_compare(args, folder)
        return
    os.environ["BENCH_ACTIVITY"] = args.activity
    for kind in args.databases.split(","):
        print(f"== {kind}: {args.issues:,} issues in {args.projects} projects", flush=True)
        driver = "psycopg COPY" if kind == "postgres" else "sqlite3 executemany"
        yards, same, syncs = [], [], []
        for round_number in range(1, args.rounds + 1):
            sim, url = start_sim(args.issues, args.projects)
            try:
                pages = folder / "pages.jsonl"
                run_worker("fetch", fresh_database(kind, folder), url, [str(pages)])
                yards.append(run_worker("yardstick", fresh_database(kind, folder), url, [str(pages)]))
                same.append(run_worker("samework", fresh_database(kind, folder), url, [str(pages)]))
                pages.unlink()
                syncs.append(full_sync_measured(kind, folder, sim, url))
            finally:
                sim.terminate()
                sim.wait()
            full, work = syncs[-1]["full"], same[-1]
            if args.rounds > 1:
                print(
                    f"round {round_number}: yardstick one row {yards[-1]['issues_per_s']:,.0f}/s, same work "
                    f"{work['issues_per_s']:,.0f}/s; full sync {full['issues_per_s']:,.0f}/s, CPU per issue: sync "
                    f"{per_issue_ms(full['cpu_own'] + full['cpu_helpers'], full['fetched'])}, database "
                    f"{per_issue_ms(full['cpu_database'], full['fetched'])}, simulator "
                    f"{per_issue_ms(full['cpu_simulator'], full['fetched'])}",
                    flush=True,
                )
        sim, url = start_sim(args.small, args.projects)
        try:
            small = run_worker("sync", fresh_database(kind, folder), url, [])
        finally:
            sim.terminate()
            sim.wait()
        result = syncs[-1]
        median = statistics.median
        yard_rate = median(r["issues_per_s"] for r in yards)
        same_rate = median(r["issues_per_s"] for r in same)
        full_rate = median(run["full"]["issues_per_s"] for run in syncs)
        medians = f"medians of {args.rounds} rounds" if args.rounds > 1 else "one round"
        print(f"yardstick, one row per issue ({driver}, parse included): {yard_rate:,.0f} issues/s")
        print(
            f"yardstick, the same work ({driver}; rows made by the sync's functions from pre-parsed pages): "
            f"{same_rate:,.0f} issues/s, its process {median_ms(same, lambda r: r['cpu'], lambda r: r['issues'])} "
            "CPU per issue; "
            f"rows: {rows_line(same[-1]['rows'])}"
        )
        for label in ("full", "incremental_1pct", "incremental_none"):
            r = result[label]
            stages = ", ".join(f"{k} {v:.1f}" for k, v in sorted(r["stages"].items()))
            print(
                f"{label:17s} {r['status']:9s} {r['fetched']:>7,} fetched, {r['written']:>7,} written, "
                f"{r['requests']:>5} requests, {r['seconds']:6.1f} s, {r['issues_per_s']:>7,.0f} issues/s; "
                f"stage seconds: {stages}"
            )
        print(f"full sync rows: {rows_line(result['full']['rows'])}")
        fulls = [run["full"] for run in syncs]
        fetched = lambda full: full["fetched"]  # noqa: E731
        print(
            f"full sync CPU per issue ({medians}): sync "
            f"{median_ms(fulls, lambda full: full['cpu_own'] + full['cpu_helpers'], fetched)} (of which helper "
            f"processes {median_ms(fulls, lambda full: full['cpu_helpers'], fetched)}), PostgreSQL backends "
            f"{median_ms(fulls, lambda full: full['cpu_database'], fetched)}"
            f"{'' if kind == 'postgres' else ' (SQLite works inside the sync process)'}, "
            f"simulator {median_ms(fulls, lambda full: full['cpu_simulator'], fetched)}"
        )
        print(
            f"full sync {full_rate:,.0f} issues/s ({medians}) = {full_rate / yard_rate:.0%} of the one-row yardstick, "
            f"{full_rate / same_rate:.0%} of the same-work yardstick; peak RSS "
            f"{result['peak_rss_mb']:.0f} MB at {args.issues:,} issues vs {small['peak_rss_mb']:.0f} MB at "
            f"{args.small:,} ({result['peak_rss_mb'] / small['peak_rss_mb'] - 1:+.0%})",
            flush=True,
        )


if __name__ == "__main__":
    main()
