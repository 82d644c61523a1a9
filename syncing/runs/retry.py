"""Retry: a run that did not succeed, queued again as the same kind of run of the same instance or project."""

import logging

from django.db.models import Q

from audit.services import Actor, Change, audit_record
from syncing.models import SyncRun
from syncing.runs.bookkeeping import options_for, run_queue
from syncing.runs.run_log import run_log_capture
from syncing.tasks import enqueue

log = logging.getLogger(__name__)

RETRYABLE = (SyncRun.Status.FAILED, SyncRun.Status.PARTIAL, SyncRun.Status.ABANDONED, SyncRun.Status.CANCELLED)


class NotRetryable(ValueError):
    """The run cannot be retried; the message says why, for the operator."""


def run_retry(run: SyncRun, *, actor: Actor) -> SyncRun:
    """Queue the run's kind (incremental, full, census) again for its project, or its instance when it was an
    instance run; audited with the actor. Returns the queued run.

    Raises NotRetryable for a run that did not fail, a dry run, a webhook refresh, or when a run of the same
    kind and scope is already queued or running (pressing twice queues once).
    """
    if run.status not in RETRYABLE:
        status = run.get_status_display().lower()
        raise NotRetryable(f"run #{run.pk} {status}: only runs that failed, partly failed, stopped are retried")
    if run.kind == SyncRun.Kind.WEBHOOK:
        raise NotRetryable(f"run #{run.pk} is a webhook refresh: the next incremental sync reads its issue again")
    if run.dry_run:
        raise NotRetryable(f"run #{run.pk} was a dry run: run `sync_jira --dry-run` again")
    same_scope = Q(project_id=run.project_id) if run.project_id is not None else Q(project__isnull=True)
    waiting = (
        SyncRun.objects.filter(same_scope, instance_id=run.instance_id, kind=run.kind, status__in=SyncRun.ACTIVE)
        .values_list("pk", flat=True)
        .first()
    )
    if waiting:
        raise NotRetryable(f"run #{run.pk}: the same {run.kind} run is already queued or running (run #{waiting})")
    queued = run_queue(run.instance, run.project, options_for(run.kind, SyncRun.Trigger.ADMIN))
    trigger = SyncRun.Trigger.ADMIN
    if run.project_id is None:
        enqueue("syncing.tasks.sync_instance_task", run.instance_id, run.kind, trigger, queued.pk)
    elif run.kind == SyncRun.Kind.CENSUS:
        enqueue("syncing.tasks.census_project_task", run.project_id, trigger, queued.pk)
    else:
        enqueue("syncing.tasks.sync_project_task", run.project_id, run.kind, trigger, None, queued.pk)
    with run_log_capture(queued.pk):
        log.info("queued by %s as a retry of run #%d (%s)", actor.name, run.pk, run.get_status_display().lower())
    audit_record(
        actor=actor,
        change=Change(
            "sync_retry",
            "syncing.syncrun",
            str(queued.pk),
            str(queued),
            f"retried run #{run.pk} ({run.get_status_display().lower()}) as run #{queued.pk}",
            instance_slug=run.instance.slug,
        ),
        sync_run_id=queued.pk,
    )
    return queued
