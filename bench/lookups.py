"""PostgreSQL, statement by statement, over syncs from jirasim: what the page lookups cost as the tables fill,
what the statistics refreshes cost, and the database server's CPU.

    .venv/bin/python bench/lookups.py [--issues 20000] [--projects 2]

A fresh database (BENCH_PG_DATABASE, default jirasync_bench_lookups) and a fresh Cloud simulator; three runs:
a full sync, an incremental sync after 1 % of the issues changed, and a second full sync (every issue read
again, none changed). Every statement of every connection of the sync is timed (an execute wrapper installed
on each connection as it opens; COPY included) and labelled by verb and table. Printed per run: issues/s,
the server's CPU (user + system seconds of the backends serving the database, read from /proc while they
run: the server must be on this machine) per issue, and per label the count, the total and the
milliseconds per page. The lookups of issues by (instance, jira_id) — `SELECT issues_issue` — also print
their mean time over the first and the last tenth of the full sync: flat when they probe the unique index,
growing with the table when they read the instance's rows. Nothing but the sync analyses the tables when
the server runs with autovacuum off (printed); with it on, autovacuum may analyse them in between.
The same file runs against an older checkout, for before/after figures.
"""

import argparse
import io
import json
import os
import re
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

PG_ADMIN_URL = os.environ.get("BENCH_PG_ADMIN", "postgres://postgres@127.0.0.1:5432/postgres")
DATABASE = os.environ.get("BENCH_PG_DATABASE", "jirasync_bench_lookups")
TABLE = re.compile(r"\b((?:issues|config|audit|syncing|projects|activity|agile|staging|django)_\w+)")


def label(sql: str) -> str:
    """A statement in short: verb and table (`SELECT issues_issue FOR UPDATE`, `COPY staging_…activity_comment`)."""
    text = " ".join(sql.split())
    if text.startswith("WITH "):
        found = re.search(r"\)\s+((?:INSERT|UPDATE).*)", text)
        text = found.group(1) if found else text
    verb = text.split(" ", 1)[0].upper()
    if verb in ("SAVEPOINT", "RELEASE", "BEGIN", "ROLLBACK"):
        return verb
    if "pg_advisory" in text:
        return f"{verb} pg_advisory_lock"
    table = TABLE.search(text)
    name = table.group(1) if table else "?"
    if name.startswith("staging_"):  # staging_<purpose>_<table>_<columns>: the table it stages for
        name = "staging_…" + re.sub(r"^staging_[a-z]+_|_\d+$", "", name)
    return f"{verb} {name}{' FOR UPDATE' if 'FOR UPDATE' in text else ''}"


class Statements:
    """Every statement of every connection, timed: (label, seconds) in the order they ended."""

    def __init__(self) -> None:
        self.timed: list[tuple[str, float]] = []

    def __call__(self, execute, sql, params, many, context):
        began = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.timed.append((label(sql), time.perf_counter() - began))

    def install(self, sender, connection, **kwargs) -> None:
        if self not in connection.execute_wrappers:
            connection.execute_wrappers.append(self)


class ServerCpu:
    """CPU seconds of the backends serving the database, sampled from /proc (the last sample of a backend
    that ended counts: up to one interval of its work may be missed)."""

    def __init__(self, interval: float = 0.2) -> None:
        import psycopg

        self.admin = psycopg.connect(PG_ADMIN_URL, autocommit=True)
        self.ticks: dict[int, int] = {}
        self.interval = interval
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.wait(self.interval):
            self.sample()

    def sample(self) -> None:
        pids = [row[0] for row in self.admin.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", [DATABASE])]
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            self.ticks[pid] = int(fields[11]) + int(fields[12])  # utime, stime

    def seconds(self) -> float:
        self.sample()
        return sum(self.ticks.values()) / os.sysconf("SC_CLK_TCK")

    def close(self) -> None:
        self.stop.set()
        self.thread.join()
        self.admin.close()


def fresh_database() -> tuple[str, str]:
    """The database's URL, created afresh, and the server's autovacuum setting."""
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{DATABASE}"')
        autovacuum = admin.execute("SHOW autovacuum").fetchone()[0]
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{DATABASE}", autovacuum


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--issues", type=int, default=20_000)
    parser.add_argument("--projects", type=int, default=2)
    args = parser.parse_args()
    from sync import start_sim  # bench/sync.py's simulator

    url, autovacuum = fresh_database()
    os.environ.update(
        {"DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "jirasync_site.settings", "DEBUG": "1", "LOG_LEVEL": "WARNING"}
    )
    import django

    django.setup()
    from django.conf import settings

    settings.DEBUG = False  # no query log: every statement costs what it costs in production
    import requests
    from django.core.management import call_command
    from django.db.backends.signals import connection_created

    from audit.services import COMMAND
    from projects.models import JiraInstance
    from syncing.instance_settings import instance_save
    from syncing.runs.runner import RunOptions, sync_instance

    call_command("migrate", verbosity=0)
    call_command("load_field_mappings", str(ROOT / "config" / "field_mappings.json"), stdout=io.StringIO())
    sim, sim_url = start_sim(args.issues, args.projects)
    statements = Statements()
    connection_created.connect(statements.install)
    from django.db import connection

    statements.install(None, connection)  # the one already open (migrate)
    cpu = ServerCpu()
    print(f"== PostgreSQL, {args.issues:,} issues in {args.projects} projects; server autovacuum: {autovacuum}")
    try:
        instance = instance_save(
            instance=JiraInstance(
                name="Bench",
                slug="instance_1",
                base_url=sim_url,
                username="bench@example.com",
                enable_new_projects=True,
                request_budget=100_000,
                max_parallel_projects=args.projects,
            ),
            actor=COMMAND,
            token="bench-token",
        )
        for name, full, change in (
            ("full sync", True, None),
            ("incremental, 1 % changed", False, {"minutes": 60, "update": 0.01}),
            ("full sync again, none changed", True, None),
        ):
            if change:
                requests.post(f"{sim_url}/_sim/advance", json=change, timeout=600)
            first, cpu_before = len(statements.timed), cpu.seconds()
            began = time.perf_counter()
            run = sync_instance(instance.pk, RunOptions(full=full))
            elapsed = time.perf_counter() - began
            server = cpu.seconds() - cpu_before
            timed = statements.timed[first:]
            pages = max(1, -(-run.fetched // 100))
            print(
                f"\n{name}: {run.status}, {run.fetched:,} fetched, {run.inserted + run.updated:,} written, "
                f"{elapsed:.1f} s, {run.fetched / elapsed:,.0f} issues/s; server CPU {server:.1f} s "
                f"({1000 * server / max(run.fetched, 1):.2f} ms per issue read)"
            )
            totals: dict[str, list[float]] = defaultdict(list)
            for kind, seconds in timed:
                totals[kind].append(seconds)
            print(f"  {'statement':44s} {'count':>7s} {'total ms':>10s} {'ms/page':>8s}")
            for kind, times in sorted(totals.items(), key=lambda item: -sum(item[1]))[:16]:
                print(f"  {kind:44s} {len(times):>7,} {1000 * sum(times):>10,.0f} {1000 * sum(times) / pages:>8.2f}")
            analyses = [seconds for kind, seconds in timed if kind.startswith("ANALYZE")]
            print(f"  ANALYZE statements: {len(analyses)}, {1000 * sum(analyses):,.0f} ms in all")
            lookups = [seconds for kind, seconds in timed if kind.startswith("SELECT issues_issue")]
            if len(lookups) >= 20:
                tenth = len(lookups) // 10
                early, late = 1000 * sum(lookups[:tenth]) / tenth, 1000 * sum(lookups[-tenth:]) / tenth
                print(
                    f"  lookups of issues by (instance, jira_id): {len(lookups):,}, mean {early:.2f} ms "
                    f"over the first tenth, {late:.2f} ms over the last"
                )
        lookups_timed_by_the_server()
    finally:
        cpu.close()
        sim.terminate()
        sim.wait()


def lookups_timed_by_the_server(pages: int = 20, page: int = 100) -> None:
    """Single statements timed by the server (EXPLAIN ANALYZE: planning + execution, median over `pages` pages
    of `page` random ids), free of the client's waits: the issue lookup in the form main sends (IN list) and in
    this branch's (a probe per id), each on a copy of issues_issue never analysed, with and without the index
    on instance_id alone; and a page's status-history lookup on issues_statuschange as the syncs left it."""
    import random
    import statistics

    from django.db import connection

    forms = {
        "IN (…)": "SELECT jira_id, id, updated FROM {table} WHERE instance_id = %s AND jira_id IN ({ids})",
        "probe per id": (
            "SELECT issue.* FROM unnest(ARRAY[{ids}]::bigint[]) AS wanted (jira_id) CROSS JOIN LATERAL ("
            "SELECT jira_id, id, updated FROM {table} WHERE instance_id = %s AND jira_id = wanted.jira_id LIMIT 1"
            ") AS issue"
        ),
    }

    def server_ms(cursor, sql: str, params: list) -> float:
        cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", params)
        (plan,) = cursor.fetchone()
        plan = json.loads(plan) if isinstance(plan, str) else plan
        return plan[0]["Planning Time"] + plan[0]["Execution Time"]

    with connection.cursor() as cursor:
        cursor.execute("SELECT instance_id, count(*) FROM issues_issue GROUP BY 1")
        ((instance_id, rows),) = cursor.fetchall()
        cursor.execute("SELECT jira_id FROM issues_issue")
        ids = [row[0] for row in cursor.fetchall()]
        rng = random.Random(15)
        samples = [rng.sample(ids, page) for _ in range(pages)]
        print(f"\nthe page lookup alone, timed by the server on a copy of issues_issue ({rows:,} rows), ms a page:")
        for with_index in (True, False):
            cursor.execute("DROP TABLE IF EXISTS issue_probe")
            cursor.execute("CREATE TABLE issue_probe (LIKE issues_issue INCLUDING ALL)")
            cursor.execute("INSERT INTO issue_probe SELECT * FROM issues_issue")
            cursor.execute(
                "SELECT indexrelid::regclass::text FROM pg_index WHERE indrelid = 'issue_probe'::regclass "
                "AND indkey::text = (SELECT attnum::text FROM pg_attribute WHERE attrelid = "
                "'issue_probe'::regclass AND attname = 'instance_id')"
            )
            single = [row[0] for row in cursor.fetchall()]
            if with_index and not single:
                cursor.execute("CREATE INDEX ON issue_probe (instance_id)")
            for name in single if not with_index else ():
                cursor.execute(f"DROP INDEX {name}")
            for analysed in (False, True):
                if analysed:
                    cursor.execute("ANALYZE issue_probe")
                figures = []
                for form, template in forms.items():
                    times = [
                        server_ms(
                            cursor,
                            template.format(table="issue_probe", ids=", ".join(map(str, sample))),
                            [instance_id],
                        )
                        for sample in samples
                    ]
                    figures.append(f"{form} {statistics.median(times):.2f}")
                print(
                    f"  {'with' if with_index else 'without'} the index on instance_id alone, "
                    f"{'analysed' if analysed else 'never analysed'}: {'; '.join(figures)}"
                )
        cursor.execute("DROP TABLE issue_probe")
        cursor.execute(
            "SELECT coalesce(pg_stat_get_last_analyze_time(oid), pg_stat_get_last_autoanalyze_time(oid)) IS NOT NULL "
            "FROM pg_class WHERE oid = 'issues_statuschange'::regclass"
        )
        (analysed,) = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM issues_statuschange")
        (changes,) = cursor.fetchone()
        cursor.execute("SELECT id FROM issues_issue")
        pks = [row[0] for row in cursor.fetchall()]
        times = [
            server_ms(
                cursor,
                "SELECT * FROM issues_statuschange WHERE issue_id IN ({}) ORDER BY changed_at, history_id".format(
                    ", ".join(map(str, rng.sample(pks, page)))
                ),
                [],
            )
            for _ in range(pages)
        ]
        print(
            f"a page's status-history lookup on issues_statuschange ({changes:,} rows, "
            f"{'analysed' if analysed else 'never analysed'} after these syncs): {statistics.median(times):.2f} ms"
        )


if __name__ == "__main__":
    main()
