"""Pruning what grows without end — sync runs (with their log lines), audit entries, queue task results,
webhook deliveries — past its retention.

Nothing younger than its kind's retention is removed, whatever is asked; audit entries of
configuration changes are kept at least a year. Deletion goes in batches so no transaction holds
a large table for long, and pruned runs are added to `RunTotals` first so metrics counters stay whole.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django_q.models import Failure, Success

from audit.models import AuditLog
from lib.value_rows import rows_of
from syncing.models import RunLogLine, RunTotals, SyncRun, WebhookDelivery
from syncing.monitoring.metrics import DURATION_BUCKETS, RUN_COUNTERS, run_durations

CONFIGURATION_AUDIT_FLOOR_DAYS = 365
# Entries about the configuration: what was mapped how, who changed an instance.
CONFIGURATION_TYPES = ("config.fieldmapping", "config.statusmilestone", "projects.jirainstance", "projects.project")
BATCH = 1000
LOG_BATCH = 10_000  # run log lines deleted a statement


@dataclass
class PruneReport:
    cutoffs: dict[str, datetime] = field(default_factory=dict)
    deleted: dict[str, int] = field(default_factory=dict)

    def lines(self) -> list[str]:
        lines = [
            f"{kind}: {self.deleted.get(kind, 0):,} older than {self.cutoffs[kind]:%Y-%m-%d %H:%M} UTC"
            for kind in self.cutoffs
        ]
        return [*lines, f"run log lines: {self.deleted.get('run log lines', 0):,} (of those sync runs)"]


def retention_days() -> dict[str, int]:
    return {
        "sync runs": settings.RETENTION_SYNC_RUN_DAYS,
        "audit entries": settings.RETENTION_AUDIT_DAYS,
        "configuration audit entries": max(settings.RETENTION_AUDIT_DAYS, CONFIGURATION_AUDIT_FLOOR_DAYS),
        "task results": settings.RETENTION_TASK_RESULT_DAYS,
        # Kept to refuse replays; Jira retries a delivery for minutes, not days.
        "webhook deliveries": settings.RETENTION_TASK_RESULT_DAYS,
    }


def prune(*, older_than_days: int | None = None, dry_run: bool = False, now: datetime | None = None) -> PruneReport:
    """Delete (or with dry_run only count) what is past retention; older_than_days can only prune less."""
    now = now or timezone.now()
    report = PruneReport()
    for kind, days in retention_days().items():
        report.cutoffs[kind] = now - timedelta(days=max(days, older_than_days or 0))
    targets: dict[str, QuerySet] = {
        "sync runs": SyncRun.objects.filter(parent__isnull=True, created_at__lt=report.cutoffs["sync runs"]).exclude(
            status__in=[SyncRun.Status.QUEUED, SyncRun.Status.RUNNING]
        ),
        "audit entries": AuditLog.objects.filter(at__lt=report.cutoffs["audit entries"]).exclude(
            object_type__in=CONFIGURATION_TYPES
        ),
        "configuration audit entries": AuditLog.objects.filter(
            at__lt=report.cutoffs["configuration audit entries"], object_type__in=CONFIGURATION_TYPES
        ),
        "task results": Success.objects.filter(stopped__lt=report.cutoffs["task results"]),
        "webhook deliveries": WebhookDelivery.objects.filter(received_at__lt=report.cutoffs["webhook deliveries"]),
    }
    failures = Failure.objects.filter(stopped__lt=report.cutoffs["task results"])
    report.deleted["run log lines"] = 0
    for kind, queryset in targets.items():
        if dry_run:
            report.deleted[kind] = queryset.count() + (failures.count() if kind == "task results" else 0)
            if kind == "sync runs":
                report.deleted["run log lines"] = _run_log_lines(queryset.values("pk")).count()
            continue
        report.deleted[kind] = _delete_in_batches(queryset, kind == "sync runs", report)
        if kind == "task results":
            report.deleted[kind] += _delete_in_batches(failures, False, report)
    return report


def _delete_in_batches(queryset: QuerySet, is_runs: bool, report: PruneReport) -> int:
    deleted = 0
    while ids := list(queryset.order_by("pk").values_list("pk", flat=True)[:BATCH]):
        if is_runs:  # a long run logs thousands of lines: they go first, a statement of LOG_BATCH at a time
            report.deleted["run log lines"] += _run_log_delete(ids)
        with transaction.atomic():
            if is_runs:
                _runs_into_totals(ids)
            queryset.model.objects.filter(pk__in=ids).delete()  # a run's project runs go with it
        deleted += len(ids)
    return deleted


def _run_log_lines(run_ids) -> QuerySet:
    """The log lines of these runs and of their project runs."""
    return RunLogLine.objects.filter(run__in=SyncRun.objects.filter(Q(pk__in=run_ids) | Q(parent_id__in=run_ids)))


def _run_log_delete(run_ids: list) -> int:
    deleted = 0
    lines = _run_log_lines(run_ids)
    while line_ids := list(lines.values_list("pk", flat=True)[:LOG_BATCH]):
        deleted += RunLogLine.objects.filter(pk__in=line_ids).delete()[0]
    return deleted


def _runs_into_totals(run_ids: list) -> None:
    """Add what these runs counted to RunTotals before they go (dry runs count nowhere)."""
    runs = SyncRun.objects.filter(pk__in=run_ids, dry_run=False)
    durations = {
        (row["instance_id"], row["kind"], row["status"]): row
        for row in run_durations(runs, "instance_id", "kind", "status")
    }
    sums = {name: Coalesce(Sum(name), 0) for name, _, _ in RUN_COUNTERS}
    for row in rows_of(runs.values("instance_id", "kind", "status").annotate(n=Count("id"), **sums)):
        key = (row["instance_id"], row["kind"], row["status"])
        totals, _ = RunTotals.objects.select_for_update().get_or_create(
            instance_id=key[0], kind=key[1], status=key[2], defaults={"duration_buckets": [0] * len(DURATION_BUCKETS)}
        )
        totals.runs += row["n"]
        for name, _, _ in RUN_COUNTERS:
            setattr(totals, name, getattr(totals, name) + row[name])
        timing = durations.get(key)
        if timing:
            totals.timed_runs += timing["n"]
            totals.duration_seconds += timing["total"].total_seconds() if timing["total"] else 0.0
            old = list(totals.duration_buckets) + [0] * (len(DURATION_BUCKETS) - len(totals.duration_buckets))
            totals.duration_buckets = [old[i] + timing[f"le_{i}"] for i in range(len(DURATION_BUCKETS))]
        totals.save()
