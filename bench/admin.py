"""Server time of the admin's busiest pages with a million issues on PostgreSQL.

    .venv/bin/python bench/admin.py [--issues 1000000] [--repeat 20] [--database jirasync_bench] [--refill]

Fills a PostgreSQL database of its own (created when missing; kept between runs, refilled only when
its issue count differs or with --refill) with issues, their raw JSON, status changes, milestones
reached and time in status, in bulk SQL (INSERT … SELECT over generate_series, no ORM rows), then
times requests to the issue changelist (first page, filters, searches), an issue page and the
dashboard through Django's test client in this process: the server's time, without a browser or
network. Prints the median and p95 of each against the 200 ms target.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PROJECT_KEYS = ["ALPHA", "BRAVO", "CHARLIE", "DELTA", "ECHO", "FOXTROT", "GOLF", "HOTEL", "INDIA", "JULIET"]
STATUSES = [  # (id, name, category)
    ("1", "Open", "new"),
    ("2", "Scheduled", "new"),
    ("3", "Acknowledged", "indeterminate"),
    ("4", "At Listing", "indeterminate"),
    ("5", "Shoot Complete", "indeterminate"),
    ("6", "Uploaded", "indeterminate"),
    ("7", "Edit Start", "indeterminate"),
    ("8", "Final Review", "indeterminate"),
    ("9", "Delivered", "done"),
    ("10", "Closed", "done"),
]
WORDS = [
    "roof",
    "kitchen",
    "garden",
    "drone",
    "twilight",
    "floor",
    "plan",
    "video",
    "tour",
    "staging",
    "listing",
    "porch",
    "pool",
    "basement",
    "attic",
    "garage",
    "balcony",
    "lobby",
    "facade",
    "office",
    "loft",
    "studio",
    "cottage",
    "villa",
    "condo",
    "townhouse",
    "duplex",
    "ranch",
    "cabin",
    "barn",
    "warehouse",
    "harbour",
    "meadow",
    "orchard",
    "terrace",
    "courtyard",
    "atrium",
    "gallery",
    "library",
    "chapel",
    "tower",
    "bridge",
    "pier",
]
CHANGES_PER_ISSUE = 5


def database_url(name: str) -> str:
    return f"postgres://postgres@127.0.0.1:5432/{name}"


def ensure_database(name: str) -> None:
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def sql_array(values: list[str]) -> str:
    return "(ARRAY[" + ",".join("'" + v.replace("'", "''") + "'" for v in values) + "])"


def fill(issues: int) -> None:
    from django.core.management import call_command
    from django.db import connection

    from audit.services import COMMAND
    from config.models import StatusMilestone
    from config.services import mappings_load_file
    from projects.models import JiraInstance, Project
    from syncing.instance_settings import instance_save

    began = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE issues_issue, issues_issueraw, issues_statuschange, issues_issuemilestone, "
            "issues_timeinstatus, syncing_syncrun, projects_project, projects_jirainstance, audit_auditlog CASCADE"
        )
    mappings_load_file(path=ROOT / "config" / "field_mappings.json", actor=COMMAND)
    instances = []
    for slug, flavour in (("instance_1", "cloud"), ("instance_2", "datacenter")):
        instance = JiraInstance(
            name=slug, slug=slug, base_url=f"https://{slug.replace('_', '-')}.example.com", flavour=flavour
        )
        instances.append(instance_save(instance=instance, actor=COMMAND, token="bench-token"))
    projects = [
        Project.objects.create(
            instance=instances[i % 2], jira_id=str(10000 + i), key=key, name=key.title(), enabled=True
        )
        for i, key in enumerate(PROJECT_KEYS)
    ]
    milestone_ids = list(StatusMilestone.objects.order_by("order").values_list("id", flat=True))
    project_ids = "(ARRAY[" + ",".join(str(p.pk) for p in projects) + "])"
    instance_of = "(ARRAY[" + ",".join(str(p.instance_id) for p in projects) + "])"
    keys = sql_array(PROJECT_KEYS)
    status_names = sql_array([s[1] for s in STATUSES])
    status_ids = sql_array([s[0] for s in STATUSES])
    categories = sql_array([s[2] for s in STATUSES])
    words = sql_array(WORDS)
    nw = len(WORDS)
    ns = len(STATUSES)
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit = off")
        cursor.execute(
            f"""
            INSERT INTO issues_issue (instance_id, project_id, jira_id, key, summary, issue_type, status, status_id,
                status_category, priority, assignee, assignee_id, reporter, reporter_id, created, updated, resolved,
                resolution, labels, fields, field_errors, has_field_errors, changelog_total, changelog_complete,
                raw_hash, milestones_digest, deleted_at, synced_at)
            SELECT {instance_of}[1 + g % 10], {project_ids}[1 + g % 10], g,
                {keys}[1 + g % 10] || '-' || (g / 10 + 1),
                initcap({words}[1 + (g * 7) % {nw}]) || ' ' || {words}[1 + (g * 13) % {nw}] || ' ' ||
                    {words}[1 + (g * 31) % {nw}] || ' #' || g,
                'Story', {status_names}[1 + (g * 3) % {ns}], {status_ids}[1 + (g * 3) % {ns}],
                {categories}[1 + (g * 3) % {ns}], 'Medium', 'Ada Lovelace', 'acc-' || (g % 50), 'Grace Hopper',
                'acc-7', t.created, t.created + interval '5 hours', NULL, '', '[]'::jsonb,
                jsonb_build_object('order_number', 'NDPU-' || g, 'rooms', g % 9),
                CASE WHEN g % 97 = 0
                     THEN '[{{"field": "rooms", "source": "customfield_10040", "reason": "not a number"}}]'::jsonb
                     ELSE '[]'::jsonb END,
                g % 97 = 0, {CHANGES_PER_ISSUE}, true, md5(g::text), '', CASE WHEN g % 501 = 0 THEN t.created END, now()
            FROM generate_series(1, {issues}) g
            CROSS JOIN LATERAL (SELECT timestamptz '2026-11-01' - (g * interval '61 seconds') AS created) t
        """
        )
        print(f"  issues: {time.perf_counter() - began:.0f} s", flush=True)
        cursor.execute("""
            INSERT INTO issues_issueraw (issue_id, body)
            SELECT id, convert_to(jsonb_build_object('id', jira_id::text, 'key', key,
                'fields', jsonb_build_object('summary', summary, 'status', jsonb_build_object('name', status)))::text,
                'UTF8')
            FROM issues_issue
        """)
        print(f"  raw JSON: {time.perf_counter() - began:.0f} s", flush=True)
        cursor.execute(f"""
            INSERT INTO issues_statuschange (issue_id, history_id, changed_at, from_status_id, from_status,
                to_status_id, to_status, author, author_id)
            SELECT i.id, CASE WHEN k = 0 THEN 0 ELSE i.jira_id * 10 + k END, i.created + k * interval '1 hour',
                CASE WHEN k = 0 THEN '' ELSE {status_ids}[k] END, CASE WHEN k = 0 THEN '' ELSE {status_names}[k] END,
                {status_ids}[k + 1], {status_names}[k + 1], 'Ada Lovelace', 'acc-1'
            FROM issues_issue i CROSS JOIN generate_series(0, {CHANGES_PER_ISSUE - 1}) k
        """)
        print(f"  status changes: {time.perf_counter() - began:.0f} s", flush=True)
        milestones = "(ARRAY[" + ",".join(map(str, milestone_ids)) + "])"
        cursor.execute(f"""
            INSERT INTO issues_issuemilestone (issue_id, milestone_id, first_reached, last_reached, times_reached)
            SELECT i.id, {milestones}[k], i.created + k * interval '1 hour', i.created + k * interval '1 hour', 1
            FROM issues_issue i CROSS JOIN generate_series(1, {len(milestone_ids)}) k
            WHERE k <= 1 + i.jira_id % {len(milestone_ids)}
        """)
        print(f"  milestones: {time.perf_counter() - began:.0f} s", flush=True)
        cursor.execute(f"""
            INSERT INTO issues_timeinstatus (issue_id, status, status_id, seconds, visits, first_entered,
                last_entered, current, as_of)
            SELECT i.id, {status_names}[k + 1], {status_ids}[k + 1], 3600, 1, i.created + k * interval '1 hour',
                i.created + k * interval '1 hour', k = {CHANGES_PER_ISSUE - 1}, now()
            FROM issues_issue i CROSS JOIN generate_series(0, {CHANGES_PER_ISSUE - 1}) k
        """)
        print(f"  time in status: {time.perf_counter() - began:.0f} s", flush=True)
    # A history of runs for the dashboard's charts.
    from django.utils import timezone

    from syncing.models import SyncRun

    now = timezone.now()
    SyncRun.objects.bulk_create(
        SyncRun(
            instance=instances[n % 2],
            kind="incremental",
            trigger="schedule",
            status="succeeded" if n % 17 else "failed",
            started_at=now - (n + 1) * timezone.timedelta(minutes=15),
            finished_at=now - (n + 1) * timezone.timedelta(minutes=15) + timezone.timedelta(seconds=20 + n % 30),
            fetched=100 + n,
            requests=3,
        )
        for n in range(2000)
    )
    connection.close()
    call_command("build_report_view")
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    print(f"filled {issues:,} issues in {time.perf_counter() - began:.0f} s", flush=True)


def timings(client, url: str, repeat: int) -> list[float]:
    for _ in range(2):
        assert client.get(url).status_code == 200, url
    seconds = []
    for _ in range(repeat):
        began = time.perf_counter()
        response = client.get(url)
        seconds.append(time.perf_counter() - began)
        assert response.status_code == 200, url
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--issues", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--database", default="jirasync_bench")
    parser.add_argument("--refill", action="store_true")
    args = parser.parse_args()

    ensure_database(args.database)
    os.environ["DATABASE_URL"] = database_url(args.database)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver")
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client
    from django.urls import reverse

    from issues.models import Issue

    settings.ALLOWED_HOSTS = ["testserver"]
    call_command("migrate", verbosity=0)
    stored = Issue.objects.count()
    if args.refill or stored != args.issues:
        print(f"filling {args.database} with {args.issues:,} issues ({stored:,} there now)…", flush=True)
        fill(args.issues)
    user = get_user_model().objects.filter(username="bench").first() or get_user_model().objects.create_superuser(
        "bench", "bench@example.com", "bench"
    )
    client = Client()
    client.force_login(user)
    changelist = reverse("admin:issues_issue_changelist")
    some = Issue.objects.order_by("id")[args.issues // 2]
    busy_project = some.project_id
    pages = [
        ("issue list, first page", changelist),
        ("filter: status category done", f"{changelist}?status_category__exact=done"),
        ("filter: project + status", f"{changelist}?project__id__exact={busy_project}&status=Edit+Start"),
        ("filter: has field errors", f"{changelist}?has_field_errors__exact=1"),
        ("filter: milestone reached", f"{changelist}?milestone=uploaded"),
        ("filter: milestone not reached", f"{changelist}?milestone=!uploaded"),
        ("filter: deleted in Jira", f"{changelist}?deleted=yes"),
        ("search: issue key", f"{changelist}?q={some.key}"),
        ("search: summary word", f"{changelist}?q=twilight"),
        ("issue page", reverse("admin:issues_issue_change", args=[some.pk])),
        ("dashboard", reverse("admin:index")),
    ]
    print(f"\n{Issue.objects.count():,} issues on PostgreSQL; {args.repeat} requests each (after 2 warm-ups)")
    print(f"{'page':32s} {'median':>9s} {'p95':>9s}  target 200 ms")
    for label, url in pages:
        seconds = sorted(timings(client, url, args.repeat))
        median = statistics.median(seconds) * 1000
        p95 = seconds[min(len(seconds) - 1, round(0.95 * (len(seconds) - 1)))] * 1000
        print(f"{label:32s} {median:7.1f} ms {p95:7.1f} ms  {'ok' if median < 200 else 'OVER'}", flush=True)


if __name__ == "__main__":
    main()
