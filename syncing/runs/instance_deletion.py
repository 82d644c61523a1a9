"""Deleting a Jira instance with everything synced from it: marked at once, its data removed in the background.

1. instance_deletion_start (admin's Delete, `remove_jira_instance`), one short transaction: the instance is
   marked (deleting_since) and disabled, its token and webhook secret are dropped, its schedules removed
   and its active runs asked to stop; the start is audited with what goes with it, and the removal is
   queued. From then on nothing syncs it: runs, schedules and webhooks refuse an instance being deleted.
2. instance_data_remove (the queued task, or the command in the foreground): issues (with their status
   changes, milestones, time in status and raw JSON), retries, runs (their audit entries are kept, only
   unlinked), webhook rows and run totals, projects — in batches, each batch its own short transaction —
   then the instance itself and the closing audit entry. Interrupted, it starts again where it stopped
   (what is left is what remains to remove); two removals at once only share the work.
"""

import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django_q.models import Schedule

from audit.models import AuditLog
from audit.services import Actor, Change, audit_object_change, audit_record, changes_between
from issues.models import Issue
from projects.models import JiraInstance, Project
from projects.services import SECRET_FIELDS, instance_snapshot
from syncing.models import IssueRetry, PendingRefresh, RunTotals, SyncRun, WebhookDelivery, WebhookRefusal
from syncing.runs.bookkeeping import BEING_DELETED
from syncing.tasks import enqueue

BATCH = 500  # issues per transaction, with their history rows (tens per issue); other rows as many
TASK = "syncing.tasks.instance_delete_task"

Progress = Callable[[str, int], None]  # (what, how many of it removed so far)


# The steps' names (and the counts'), as one of each is said.
SINGULAR = {
    "issues": "issue",
    "sync runs": "sync run",
    "projects": "project",
    "issue retries": "issue retry",
    "audit entries unlinked from runs (kept)": "audit entry unlinked from runs (kept)",
    "run totals": "run total",
    "webhook deliveries": "webhook delivery",
    "webhook refusals": "webhook refusal",
    "pending refreshes": "pending refresh",
}


def counted(n: int, plural: str) -> str:
    """'1 issue', '2,000 issues'."""
    return f"{n:,} {SINGULAR.get(plural, plural) if n == 1 else plural}"


@dataclass(frozen=True)
class DeletionCounts:
    """What goes with an instance: counted on indexed columns, so the confirmation page stays quick."""

    issues: int
    runs: int
    projects: int

    def phrase(self) -> str:
        return (
            f"{counted(self.issues, 'issues')}, {counted(self.runs, 'sync runs')} and "
            f"{counted(self.projects, 'projects')}"
        )


@dataclass(frozen=True)
class DeletionStart:
    counts: DeletionCounts
    resumed: bool  # it was being deleted already: only the removal was queued again


@dataclass
class Removal:
    """What a removal took away, by step ("issues", "sync runs", …) and by table ("issues.statuschange")."""

    steps: Counter = field(default_factory=Counter)
    tables: Counter = field(default_factory=Counter)
    finished: bool = False  # the instance itself is gone
    stopped: bool = False  # asked to stop between two batches; run it again to go on

    def phrase(self) -> str:
        parts = [counted(n, step) for step, n in self.steps.items() if n]
        history = sum(n for table, n in self.tables.items() if table != "issues.Issue" and table.startswith("issues."))
        if history:
            parts.append(f"{history:,} rows of issue history, milestones and raw JSON")
        return ", ".join(parts) or "nothing left to remove"


def instance_deletion_counts(instance_ids: list[int]) -> DeletionCounts:
    return DeletionCounts(
        issues=Issue.objects.filter(instance_id__in=instance_ids).count(),
        runs=SyncRun.objects.filter(instance_id__in=instance_ids).count(),
        projects=Project.objects.filter(instance_id__in=instance_ids).count(),
    )


def instance_deletion_start(*, instance: JiraInstance, actor: Actor, queue: bool = True) -> DeletionStart:
    """Mark the instance as being deleted and stop everything it does (see the module's step 1).

    queue: queue the removal task (the command removes in the foreground instead). Pressed again on an
    instance already being deleted, it only queues the removal again, so an interrupted one resumes.
    """
    counts = instance_deletion_counts([instance.pk])
    now = timezone.now()
    with transaction.atomic():
        marked = JiraInstance.objects.filter(pk=instance.pk, deleting_since__isnull=True).update(
            deleting_since=now,
            deleting_by=actor.name,
            enabled=False,
            token_encrypted="",
            token_origin="",
            webhook_secret_encrypted="",
            schedule_ids={},
        )
        if marked:
            Schedule.objects.filter(pk__in=list(instance.schedule_ids.values())).delete()
            _runs_stop(instance, now)
            audit_object_change(
                actor=actor,
                obj=instance,
                action="delete_start",
                changes=changes_between(instance_snapshot(instance), {}, SECRET_FIELDS),
                summary=f"deletion of Jira instance {instance.name} started: {counts.phrase()} go with it",
                instance_slug=instance.slug,
            )
        if queue:
            enqueue(TASK, instance.pk)
    instance.refresh_from_db()
    return DeletionStart(counts, resumed=not marked)


def _runs_stop(instance: JiraInstance, now) -> None:
    """Queued runs end now; running ones are asked to stop at their next page (Cancel's way)."""
    SyncRun.objects.filter(instance=instance, status=SyncRun.Status.QUEUED).update(
        status=SyncRun.Status.CANCELLED, finished_at=now, error=f"cancelled: {BEING_DELETED}"
    )
    SyncRun.objects.filter(instance=instance, status=SyncRun.Status.RUNNING).update(cancel_requested=True)


def _steps(instance_id: int) -> list[tuple[str, QuerySet, Callable[[QuerySet], dict[str, int]]]]:
    """What is removed, in order, and how: each row's dependants go before it (the runs' audit entries stay)."""

    def delete(rows: QuerySet) -> dict[str, int]:
        # Only the keys are read; the rows that depend on these (an issue's history) go in the same statement set.
        return rows.only("pk").delete()[1]

    def unlink(rows: QuerySet) -> dict[str, int]:
        return {"audit.AuditLog": rows.update(sync_run=None)}

    mine = {"instance_id": instance_id}
    return [
        ("issues", Issue.objects.filter(**mine), delete),
        ("issue retries", IssueRetry.objects.filter(project__instance_id=instance_id), delete),
        ("audit entries unlinked from runs (kept)", AuditLog.objects.filter(sync_run__instance_id=instance_id), unlink),
        ("sync runs", SyncRun.objects.filter(**mine), delete),
        ("run totals", RunTotals.objects.filter(**mine), delete),
        ("webhook deliveries", WebhookDelivery.objects.filter(**mine), delete),
        ("webhook refusals", WebhookRefusal.objects.filter(**mine), delete),
        ("pending refreshes", PendingRefresh.objects.filter(**mine), delete),
        ("projects", Project.objects.filter(**mine), delete),
    ]


def instance_data_remove(
    instance_id: int,
    *,
    batch_size: int = BATCH,
    progress: Progress | None = None,
    stop: threading.Event | None = None,
) -> Removal:
    """Remove an instance being deleted, batch by batch (see the module's step 2); returns what went.

    stop: set it to stop after the current batch (Removal.stopped). An instance already gone: an empty,
    finished Removal. Raises ValueError for an instance whose deletion was not started.
    """
    removal = Removal()
    instance = JiraInstance.objects.filter(pk=instance_id).first()
    if instance is None:
        removal.finished = True
        return removal
    if not instance.being_deleted:
        raise ValueError(f"{instance.name}: its deletion was not started (instance_deletion_start)")
    for step, rows, remove in _steps(instance_id):
        # No ORDER BY: any batch will do, and the instance's index finds one without sorting the table.
        while ids := list(rows.order_by().values_list("pk", flat=True)[:batch_size]):
            if stop is not None and stop.is_set():
                removal.stopped = True
                return removal
            with transaction.atomic():
                tables = remove(rows.model.objects.filter(pk__in=ids))
            removal.steps[step] += len(ids)
            removal.tables.update(tables)
            if progress is not None:
                progress(step, removal.steps[step])
    _instance_remove(instance, removal)
    return removal


def _instance_remove(instance: JiraInstance, removal: Removal) -> None:
    """The instance itself, with anything a worker still wrote meanwhile (cascaded), and the closing entry."""
    with transaction.atomic():
        gone, tables = JiraInstance.objects.filter(pk=instance.pk).delete()
        removal.finished = True
        if not gone:
            return  # another removal finished it and said so
        removal.tables.update({table: n for table, n in tables.items() if table != "projects.JiraInstance"})
        audit_record(
            actor=Actor(instance.deleting_by or "command"),
            change=Change(
                "delete",
                "projects.jirainstance",
                str(instance.pk),
                str(instance),
                f"deleted Jira instance {instance.name} (asked {instance.deleting_since:%Y-%m-%d %H:%M} UTC): "
                f"removed {removal.phrase()}",
                instance_slug=instance.slug,
            ),
        )
