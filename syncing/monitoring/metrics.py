"""Prometheus metrics read from the database at scrape time.

Labels name the Jira instance `jira_instance`, never `instance`: Prometheus sets `instance` on every
series to the scraped target, and would rename ours to `exported_instance`, breaking the alerts' joins.

Work done by any qcluster worker on any machine lands in the database, so numbers read there are true
whichever process did the work; process-local counters would only know their own process. Counts
that must only grow (requests, 429s, runs) are sums over the sync runs kept plus the totals of runs
already pruned (`RunTotals`), so pruning never makes a counter go backwards. Dry runs (`sync_jira
--dry-run`) write nothing and are no syncs: no metric counts them.
"""

import logging
import time
from collections.abc import Iterator
from datetime import datetime, timedelta

from django.db import DatabaseError
from django.db.models import Count, DurationField, ExpressionWrapper, F, Max, Q, QuerySet, Sum
from django.utils import timezone
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

from activity.metrics import activity_families
from agile.models import Board, Sprint
from issues.models import Issue
from issues.selectors import issue_counts
from lib.db_stats import database_size_bytes, table_rows
from lib.value_rows import rows_of
from projects.models import JiraInstance, Project
from syncing.models import IssueRetry, PendingRefresh, RunTotals, SyncRun, WebhookRefusal
from syncing.monitoring.dashboard import queue_depth

log = logging.getLogger(__name__)

DURATION_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200)
FINISHED = [status for status in SyncRun.Status if status not in SyncRun.ACTIVE]
# Summed run columns exported as counters: (column, metric name, help).
RUN_COUNTERS = (
    ("requests", "jirasync_jira_requests_total", "Requests made to Jira."),
    ("retries", "jirasync_jira_retries_total", "Requests to Jira retried (429, 5xx, resets, broken bodies)."),
    ("rate_limited", "jirasync_jira_rate_limited_total", "429 responses from Jira."),
    ("failed_rows", "jirasync_rows_failed_total", "Issues that could not be stored (each left an audit entry)."),
    ("fetched", "jirasync_issues_fetched_total", "Issues read from Jira by syncs."),
    ("deleted", "jirasync_issues_deleted_by_census_total", "Issues a census found deleted in Jira."),
    ("recovered", "jirasync_issues_recovered_by_census_total", "Issues a census found missing here and stored."),
    (
        "field_changes",
        "jirasync_field_changes_written_total",
        "Field history items written (new or replaced).",
    ),
    ("comments", "jirasync_comments_written_total", "Comments written by syncs (new, or as they are now)."),
    ("worklogs", "jirasync_worklogs_written_total", "Worklogs written by syncs and the Cloud worklog feed."),
    ("comments_deleted", "jirasync_comments_soft_deleted_total", "Comments syncs soft-deleted (gone from Jira)."),
    ("worklogs_deleted", "jirasync_worklogs_soft_deleted_total", "Worklogs syncs soft-deleted (gone from Jira)."),
)


def run_durations(runs: QuerySet, *group_by: str) -> QuerySet:
    """Per group of the timed runs: their count `n`, summed duration `total`, and cumulative counts
    `le_0`, `le_1`, … of runs no longer than each of DURATION_BUCKETS (for the histogram and RunTotals)."""
    timed = runs.filter(started_at__isnull=False, finished_at__isnull=False).annotate(
        took=ExpressionWrapper(F("finished_at") - F("started_at"), output_field=DurationField())
    )
    buckets = {
        f"le_{i}": Count("id", filter=Q(took__lte=timedelta(seconds=le))) for i, le in enumerate(DURATION_BUCKETS)
    }
    return timed.values(*group_by).annotate(n=Count("id"), total=Sum("took"), **buckets)


class DatabaseCollector(Collector):
    """Yields every jirasync_* metric; a scrape with the database down yields jirasync_database_up 0."""

    def collect(self) -> Iterator:
        began = time.perf_counter()
        up = GaugeMetricFamily("jirasync_database_up", "1 when the metrics could be read from the database.")
        try:
            families = list(self._families())
        except DatabaseError as exc:
            log.warning("metrics: database unavailable: %s", exc)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families
        took = GaugeMetricFamily("jirasync_metrics_collect_seconds", "Time spent reading these metrics.")
        took.add_metric([], time.perf_counter() - began)
        yield took

    def describe(self) -> Iterator:
        return iter(())  # read at scrape time only, never at registration

    def _families(self) -> Iterator:
        yield from _issue_families()
        yield from _agile_families()
        yield from activity_families()
        yield from _project_families()
        yield from _run_families()
        yield from _queue_families()
        yield from _webhook_families()
        yield from _database_families()


def _issue_families() -> Iterator:
    stored = GaugeMetricFamily("jirasync_issues", "Live issues stored.", labels=["jira_instance", "project"])
    by_category = GaugeMetricFamily(
        "jirasync_issues_by_status_category",
        "Live issues by Jira status category.",
        labels=["jira_instance", "category"],
    )
    deleted = GaugeMetricFamily(
        "jirasync_issues_deleted", "Issues deleted in Jira (kept, soft-deleted).", labels=["jira_instance"]
    )
    incomplete = GaugeMetricFamily(
        "jirasync_issues_changelog_incomplete",
        "Live issues whose Jira history could not be read whole.",
        labels=["jira_instance"],
    )
    errors = GaugeMetricFamily(
        "jirasync_issues_field_errors", "Live issues with mapped-field errors.", labels=["jira_instance"]
    )
    retry_pending = GaugeMetricFamily(
        "jirasync_issues_retry_pending",
        "Issues a run could not store, waiting to be asked for again by the next run of their project.",
        labels=["jira_instance", "project"],
    )
    projects = {p.pk: (p.instance.slug, p.key) for p in Project.objects.select_related("instance")}
    pending = dict(IssueRetry.objects.values("project_id").annotate(n=Count("id")).values_list("project_id", "n"))
    for project_id, labels in sorted(projects.items(), key=lambda item: item[1]):
        retry_pending.add_metric(list(labels), pending.get(project_id, 0))  # zero included: alertable
    slugs = {i.pk: i.slug for i in JiraInstance.objects.all()}
    for (project_id,), n in issue_counts("project_id").items():
        stored.add_metric(list(projects[project_id]), n)
    for (instance_id, category), n in issue_counts("instance_id", "status_category").items():
        by_category.add_metric([slugs[instance_id], category or "unknown"], n)
    live = Issue.objects.filter(deleted_at__isnull=True)
    for family, queryset in (
        (deleted, Issue.objects.filter(deleted_at__isnull=False)),
        (incomplete, live.filter(changelog_complete=False)),
        (errors, live.filter(has_field_errors=True)),
    ):
        # Every instance gets a sample, zero included: a series that vanishes cannot be alerted on.
        counted = {row["instance_id"]: row["n"] for row in queryset.values("instance_id").annotate(n=Count("*"))}
        for instance_id, slug in sorted(slugs.items()):
            family.add_metric([slug], counted.get(instance_id, 0))
    yield from (stored, by_category, deleted, incomplete, errors, retry_pending)


def _agile_families() -> Iterator:
    """Boards and sprints stored per instance (small tables: counted exactly). The relation tables (links,
    versions, components, sprint stays) are in jirasync_table_rows, which never scans a big table."""
    boards = GaugeMetricFamily(
        "jirasync_boards", "Boards stored that Jira still lists (Agile API, full syncs).", labels=["jira_instance"]
    )
    sprints = GaugeMetricFamily("jirasync_sprints", "Sprints stored, by state.", labels=["jira_instance", "state"])
    slugs = {i.pk: i.slug for i in JiraInstance.objects.all()}
    live = dict(
        Board.objects.filter(deleted_at__isnull=True)
        .values("instance_id")
        .annotate(n=Count("*"))
        .values_list("instance_id", "n")
    )
    counted = Sprint.objects.values("instance_id", "state").annotate(n=Count("*"))
    by_state = {(row["instance_id"], row["state"]): row["n"] for row in counted}
    for instance_id, slug in sorted(slugs.items(), key=lambda item: item[1]):
        boards.add_metric([slug], live.get(instance_id, 0))
        for state in Sprint.State.values:
            sprints.add_metric([slug, state], by_state.get((instance_id, state), 0))
    yield from (boards, sprints)


def _project_families() -> Iterator:
    now = timezone.now()
    labels = ["jira_instance", "project"]
    enabled = GaugeMetricFamily(
        "jirasync_project_enabled", "1 when the project is synced (it and its instance enabled).", labels=labels
    )
    age = GaugeMetricFamily(
        "jirasync_last_success_age_seconds",
        "Seconds since the project's last successful sync finished (since it was added, when none has).",
        labels=labels,
    )
    data_lag = GaugeMetricFamily(
        "jirasync_data_lag_seconds",
        "Now minus the newest Jira update stored (the watermark): grows while a project is quiet.",
        labels=labels,
    )
    census = GaugeMetricFamily("jirasync_census_jira_issues", "Issues Jira listed at the last census.", labels=labels)
    census_stored = GaugeMetricFamily(
        "jirasync_census_stored_issues", "Live issues stored right after the last census.", labels=labels
    )
    last_success = GaugeMetricFamily(
        "jirasync_last_success_timestamp_seconds", "When the project's last successful sync finished.", labels=labels
    )
    successes = project_last_successes()
    for project in Project.objects.select_related("instance"):
        key = [project.instance.slug, project.key]
        enabled.add_metric(key, int(project.enabled and project.instance.enabled))
        succeeded = successes.get(project.pk)
        age.add_metric(key, (now - (succeeded or project.created_at)).total_seconds())
        if succeeded:
            last_success.add_metric(key, succeeded.timestamp())
        if project.sync_watermark:
            data_lag.add_metric(key, (now - project.sync_watermark).total_seconds())
        if project.census_count is not None:
            census.add_metric(key, project.census_count)
            census_stored.add_metric(key, project.stored_count or 0)
    yield from (enabled, age, data_lag, census, census_stored, last_success)


def project_last_successes() -> dict[int, datetime]:
    """project id -> when its last successful sync (full or incremental) finished. A census or a webhook's
    refresh is not a sync: a project whose schedule stopped would still look fresh."""
    return {
        row["project_id"]: row["at"]
        for row in SyncRun.objects.filter(
            status=SyncRun.Status.SUCCEEDED,
            project__isnull=False,
            kind__in=[SyncRun.Kind.FULL, SyncRun.Kind.INCREMENTAL],
            dry_run=False,
        )
        .values("project_id")
        .annotate(at=Max("finished_at"))
    }


def _run_families() -> Iterator:
    """Counters and the duration histogram over finished top-level runs (they sum their project runs)."""
    finished = SyncRun.objects.filter(parent__isnull=True, status__in=FINISHED, dry_run=False)
    runs = CounterMetricFamily("jirasync_sync_runs", "Finished sync runs.", labels=["jira_instance", "kind", "status"])
    counts: dict[tuple, float] = {}
    sums: dict[str, dict[str, float]] = {name: {} for name, _, _ in RUN_COUNTERS}
    for row in rows_of(
        finished.values("instance__slug", "kind", "status").annotate(
            n=Count("id"), **{name: Sum(name) for name, _, _ in RUN_COUNTERS}
        )
    ):
        counts[(row["instance__slug"], row["kind"], row["status"])] = row["n"]
        for name, _, _ in RUN_COUNTERS:
            sums[name][row["instance__slug"]] = sums[name].get(row["instance__slug"], 0) + (row[name] or 0)
    for total in RunTotals.objects.select_related("instance"):
        key = (total.instance.slug, total.kind, total.status)
        counts[key] = counts.get(key, 0) + total.runs
        for name, _, _ in RUN_COUNTERS:
            sums[name][total.instance.slug] = sums[name].get(total.instance.slug, 0) + getattr(total, name)
    for key, value in sorted(counts.items()):
        runs.add_metric(list(key), value)
    yield runs
    every = list(JiraInstance.objects.values_list("slug", flat=True))
    for name, metric, help_text in RUN_COUNTERS:
        family = CounterMetricFamily(metric.removesuffix("_total"), help_text, labels=["jira_instance"])
        for slug in sorted(every):
            family.add_metric([slug], sums[name].get(slug, 0))
        yield family

    histogram = HistogramMetricFamily(
        "jirasync_sync_run_duration_seconds", "How long finished sync runs took.", labels=["jira_instance", "kind"]
    )
    pruned: dict[tuple[str, str], list[float]] = {}  # (instance, kind) -> [count, seconds, *bucket counts]
    for total in RunTotals.objects.select_related("instance"):
        into = pruned.setdefault((total.instance.slug, total.kind), [0.0] * (2 + len(DURATION_BUCKETS)))
        into[0] += total.timed_runs
        into[1] += total.duration_seconds
        for i, n in enumerate(total.duration_buckets[: len(DURATION_BUCKETS)]):
            into[2 + i] += n
    for row in run_durations(finished, "instance__slug", "kind"):
        series = (row["instance__slug"], row["kind"])
        old = pruned.pop(series, [0.0] * (2 + len(DURATION_BUCKETS)))
        seconds = (row["total"].total_seconds() if row["total"] else 0.0) + old[1]
        cumulative = [(str(float(le)), row[f"le_{i}"] + old[2 + i]) for i, le in enumerate(DURATION_BUCKETS)]
        histogram.add_metric(list(series), [*cumulative, ("+Inf", row["n"] + old[0])], seconds)
    for series, old in pruned.items():  # only pruned runs left for these
        cumulative = [(str(float(le)), old[2 + i]) for i, le in enumerate(DURATION_BUCKETS)]
        histogram.add_metric(list(series), [*cumulative, ("+Inf", old[0])], old[1])
    yield histogram

    running = GaugeMetricFamily(
        "jirasync_sync_runs_active", "Runs queued or running now.", labels=["jira_instance", "status"]
    )
    active = SyncRun.objects.filter(status__in=[SyncRun.Status.QUEUED, SyncRun.Status.RUNNING], dry_run=False)
    counted = {
        (r["instance__slug"], r["status"]): r["n"]
        for r in active.values("instance__slug", "status").annotate(n=Count("id"))
    }
    for slug in sorted(every):
        for status in (SyncRun.Status.QUEUED, SyncRun.Status.RUNNING):
            running.add_metric([slug, status], counted.get((slug, status), 0))
    yield running


def _queue_families() -> Iterator:
    depth = queue_depth(timezone.now() - timedelta(hours=24))
    tasks = GaugeMetricFamily("jirasync_queue_tasks", "Tasks in the django-q2 broker.", labels=["state"])
    if depth.queued is not None:
        tasks.add_metric(["waiting"], depth.queued)
    if depth.in_progress is not None:
        tasks.add_metric(["taken"], depth.in_progress)
    yield tasks
    failed = GaugeMetricFamily("jirasync_queue_failed_tasks", "Tasks that failed in the last 24 hours.")
    failed.add_metric([], depth.failed_tasks_24h)
    yield failed


def _webhook_families() -> Iterator:
    pending = GaugeMetricFamily(
        "jirasync_webhook_refreshes_pending", "Issue refreshes webhooks asked for, waiting.", labels=["jira_instance"]
    )
    for row in PendingRefresh.objects.values("instance__slug").annotate(n=Count("id")).order_by("instance__slug"):
        pending.add_metric([row["instance__slug"]], row["n"])
    yield pending
    refused = CounterMetricFamily(
        "jirasync_webhook_refused",
        "Webhook deliveries refused (pending_full: too many refreshes waiting).",
        labels=["jira_instance", "reason"],
    )
    for slug, reason, n in WebhookRefusal.objects.values_list("instance__slug", "reason", "count").order_by(
        "instance__slug"
    ):
        refused.add_metric([slug, reason], n)
    yield refused


def _database_families() -> Iterator:
    size = GaugeMetricFamily("jirasync_database_size_bytes", "Size of the database.")
    size.add_metric([], database_size_bytes())
    yield size
    rows = GaugeMetricFamily("jirasync_table_rows", "Rows per table (PostgreSQL: planner estimate).", labels=["table"])
    for table in table_rows():
        rows.add_metric([table.table], table.rows)
    yield rows
