"""What the admin dashboard shows: per instance health, recent runs as charts, the queue, the database."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Count, Max, OuterRef, Q, Subquery, Sum
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.models import Failure, Schedule

from issues.selectors import issue_counts
from lib.db_stats import TableRows, database_size_bytes, table_rows
from lib.svg_chart import Bar, bar_chart
from projects.models import JiraInstance, Project
from syncing.models import SyncRun
from syncing.runs.progress import RunProgress, run_progress_of, runs_live_counts
from syncing.site.connection_test import without_name

CHART_RUNS = 30
# A run's result as a colour: the dashboard's bars and the sync-run list's badges.
STATUS_COLOURS: dict[str, str] = {
    SyncRun.Status.SUCCEEDED: "#2e7d32",
    SyncRun.Status.PARTIAL: "#ef6c00",
    SyncRun.Status.FAILED: "#c62828",
    SyncRun.Status.RUNNING: "#1565c0",
    SyncRun.Status.QUEUED: "#6d6d6d",
    SyncRun.Status.SKIPPED: "#6d6d6d",
    SyncRun.Status.CANCELLED: "#6d6d6d",
    SyncRun.Status.ABANDONED: "#8e24aa",
}


@dataclass(frozen=True)
class ProjectFailure:
    key: str
    run_id: int
    error: str  # the last run's, without the instance's name (the card names it)


@dataclass
class InstanceHealth:
    instance: JiraInstance
    last_success: datetime | None = None
    last_run: SyncRun | None = None  # the latest started sync (not census) of the whole instance
    failing_projects: list[str] = field(default_factory=list)
    project_failures: list[ProjectFailure] = field(default_factory=list)  # the failing projects' last errors
    active_run: SyncRun | None = None  # a sync of the instance queued or running now
    active_progress: RunProgress | None = None  # its progress (the dashboard only)
    projects_discovered: int = 0
    next_run: datetime | None = None
    issues: int = 0
    issues_deleted: int = 0
    issues_by_category: dict[str, int] = field(default_factory=dict)
    projects_enabled: int = 0
    projects_synced: int = 0
    rate_limited_24h: int = 0
    failed_runs_24h: int = 0
    failed_rows_24h: int = 0
    rate_chart: str = ""  # SVG markup
    duration_chart: str = ""

    @property
    def last_run_status(self) -> str:
        return self.last_run.status if self.last_run else ""

    @property
    def last_run_error(self) -> str:
        """The last instance run's error when it failed or found nothing to sync, without the instance's name."""
        if self.last_run is None or self.last_run_status not in (SyncRun.Status.FAILED, SyncRun.Status.SKIPPED):
            return ""
        return without_name(self.instance, self.last_run.error)

    @property
    def nothing_enabled(self) -> bool:
        return self.projects_enabled == 0

    @property
    def state(self) -> str:
        """ok, warning or failing: what the colour on the dashboard says."""
        if not self.instance.enabled:
            return "disabled"
        if self.failing_projects or self.last_run_status == SyncRun.Status.FAILED:
            return "failing"
        if (
            self.last_success is None
            or self.nothing_enabled
            or self.failed_runs_24h
            or self.last_run_status == SyncRun.Status.PARTIAL
        ):
            return "warning"
        return "ok"


@dataclass
class QueueDepth:
    queued: int | None
    in_progress: int | None
    runs_running: int
    runs_queued: int
    failed_tasks_24h: int


@dataclass
class Dashboard:
    instances: list[InstanceHealth]
    queue: QueueDepth
    database_bytes: int
    tables: list[TableRows]


def dashboard(now: datetime | None = None) -> Dashboard:
    now = now or timezone.now()
    health = instances_health(JiraInstance.objects.filter(deleting_since__isnull=True).order_by("name"), now)
    for item in health.values():
        if item.active_run is not None:
            item.active_progress = run_progress_of(item.active_run)
        runs = list(_chart_runs().filter(instance=item.instance).order_by("-created_at")[:CHART_RUNS])[::-1]
        runs_live_counts(runs)  # a run still going: its project runs' counts so far
        item.rate_chart = bar_chart(
            [_bar(run, (run.fetched / run.duration_seconds) if run.duration_seconds else 0.0) for run in runs],
            title="Issues/s",
            unit="issues/s",
        )
        item.duration_chart = bar_chart(
            [_bar(run, run.duration_seconds or 0.0) for run in runs], title="Run duration", unit="s"
        )
    return Dashboard(
        instances=list(health.values()),
        queue=queue_depth(now - timedelta(hours=24)),
        database_bytes=database_size_bytes(),
        tables=table_rows(),
    )


def _syncs():
    """Runs that are syncs: not dry runs (they write nothing), not censuses (they would hide a failing schedule)."""
    return SyncRun.objects.filter(dry_run=False).exclude(kind=SyncRun.Kind.CENSUS)


def _chart_runs():
    """Top-level syncs that started."""
    return _syncs().filter(parent__isnull=True).exclude(started_at__isnull=True)


def instances_health(instances, now: datetime | None = None) -> dict[int, InstanceHealth]:
    """instance id -> its health, for the dashboard's cards and the instance list; a fixed number of
    queries whatever the number of instances."""
    now = now or timezone.now()
    since = now - timedelta(hours=24)
    health = {i.pk: InstanceHealth(i) for i in instances}
    top_level = SyncRun.objects.filter(parent__isnull=True, instance__in=list(health), dry_run=False)

    for row in (
        top_level.filter(created_at__gte=since)
        .values("instance_id")
        .annotate(
            limited=Sum("rate_limited"),
            failed=Count("id", filter=Q(status__in=[SyncRun.Status.FAILED, SyncRun.Status.PARTIAL])),
            failed_rows=Sum("failed_rows"),
        )
    ):
        item = health[row["instance_id"]]
        item.rate_limited_24h, item.failed_runs_24h, item.failed_rows_24h = (
            row["limited"] or 0,
            row["failed"],
            row["failed_rows"] or 0,
        )
    for success in (
        top_level.filter(status=SyncRun.Status.SUCCEEDED).values("instance_id").annotate(at=Max("finished_at"))
    ):
        health[success["instance_id"]].last_success = success["at"]
    latest = _chart_runs().filter(instance=OuterRef("pk")).order_by("-created_at", "-id").values("pk")[:1]
    last_ids = JiraInstance.objects.filter(pk__in=list(health)).annotate(run=Subquery(latest)).values("pk", "run")
    last_runs = SyncRun.objects.select_related("instance").in_bulk([last["run"] for last in last_ids if last["run"]])
    for last in last_ids:
        health[last["pk"]].last_run = last_runs.get(last["run"])
    active = _syncs().filter(parent__isnull=True, instance__in=list(health), status__in=SyncRun.ACTIVE)
    for run in active.select_related("instance").order_by("created_at", "id"):
        health[run.instance_id].active_run = run  # the latest wins
    for (instance_id, category), n in issue_counts("instance_id", "status_category").items():
        if instance_id in health:
            health[instance_id].issues_by_category[category or "unknown"] = n
            health[instance_id].issues += n
    for (instance_id,), n in issue_counts("instance_id", deleted=True).items():
        if instance_id in health:
            health[instance_id].issues_deleted = n

    for discovered in Project.objects.filter(instance__in=list(health)).values("instance_id").annotate(n=Count("id")):
        health[discovered["instance_id"]].projects_discovered = discovered["n"]
    last_project_run = _syncs().filter(project=OuterRef("pk")).order_by("-created_at", "-id")
    for project in (
        Project.objects.filter(enabled=True, instance__in=list(health))
        .annotate(
            last_status=Subquery(last_project_run.values("status")[:1]),
            last_run_id=Subquery(last_project_run.values("pk")[:1]),
            last_error=Subquery(last_project_run.values("error")[:1]),
        )
        .order_by("key")
    ):
        item = health[project.instance_id]
        item.projects_enabled += 1
        item.projects_synced += project.sync_watermark is not None
        if project.last_status == SyncRun.Status.FAILED:
            item.failing_projects.append(project.key)
            error = without_name(item.instance, project.last_error or "")
            item.project_failures.append(ProjectFailure(project.key, project.last_run_id, error))

    schedule_owner = {sid: item for item in health.values() for sid in (item.instance.schedule_ids or {}).values()}
    active = Schedule.objects.filter(pk__in=schedule_owner).exclude(repeats=0)
    for schedule_id, next_run in active.values_list("pk", "next_run"):
        item = schedule_owner[schedule_id]
        if next_run and (item.next_run is None or next_run < item.next_run):
            item.next_run = next_run
    return health


def _bar(run: SyncRun, value: float) -> Bar:
    started = timezone.localtime(run.started_at).strftime("%Y-%m-%d %H:%M") if run.started_at else "?"
    return Bar(value, f"#{run.pk} {run.kind} {run.status} {started}", STATUS_COLOURS.get(run.status, "#6d6d6d"))


def queue_depth(since: datetime) -> QueueDepth:
    """Tasks waiting in the broker and taken by workers (None where the broker cannot say), runs in flight."""
    broker = get_broker()
    try:
        queued, in_progress = broker.queue_size(), broker.lock_size()
    except Exception:  # a broker that is down must not take the dashboard with it
        queued = in_progress = None
    runs = SyncRun.objects.filter(status__in=[SyncRun.Status.RUNNING, SyncRun.Status.QUEUED]).values("status")
    counts = {row["status"]: row["n"] for row in runs.annotate(n=Count("id"))}
    return QueueDepth(
        queued=queued,
        in_progress=in_progress,
        runs_running=counts.get(SyncRun.Status.RUNNING, 0),
        runs_queued=counts.get(SyncRun.Status.QUEUED, 0),
        failed_tasks_24h=Failure.objects.filter(stopped__gte=since).count(),
    )
