"""django-q2 entry points: thin, taking ids, calling the runner. Enqueued after commit.

An instance task fans out one task per project, so several qcluster workers (on one machine or many,
with Redis as the broker) share an instance's work; the project claim keeps a project from running
twice and the request budget holds across workers.
"""

from django.db import transaction
from django_q.tasks import async_task

from audit.services import Actor
from syncing.models import SyncRun
from syncing.runs.bookkeeping import options_for
from syncing.runs.remap import issues_remap
from syncing.runs.runner import census_project_run, child_finished, sync_instance_fan_out, sync_project


def sync_instance_task(
    instance_id: int, kind: str = "incremental", trigger: str = "schedule", run_id: int | None = None
) -> int:
    """Discover the instance's projects and enqueue one sync_project_task each; returns the instance run's id."""
    options = options_for(kind, trigger)
    run, project_ids = sync_instance_fan_out(instance_id, options, run_id)
    for project_id in project_ids:
        async_task(
            "syncing.tasks.sync_project_task",
            project_id,
            kind,
            trigger,
            run.pk,
            task_name=f"sync {kind} project {project_id}",
            group=f"jirasync-run-{run.pk}",
        )
    return run.pk


def sync_project_task(
    project_id: int,
    kind: str = "incremental",
    trigger: str = "schedule",
    parent_id: int | None = None,
    run_id: int | None = None,
) -> int:
    options = options_for(kind, trigger)
    run = sync_project(project_id, options, parent_id=parent_id, run_id=run_id)
    if parent_id:
        child_finished(parent_id, options)
    return run.pk


def census_project_task(project_id: int, trigger: str = "admin", run_id: int | None = None) -> int:
    """A census of one project (a Retry of a project's census); returns its run's id."""
    return census_project_run(project_id, options_for(SyncRun.Kind.CENSUS, trigger), run_id=run_id).pk


def census_instance_task(instance_id: int, trigger: str = "schedule", run_id: int | None = None) -> int:
    return sync_instance_task(instance_id, SyncRun.Kind.CENSUS, trigger, run_id)


def remap_task(instance_slug: str | None = None, actor: str = "admin") -> dict:
    result = issues_remap(actor=Actor(actor), instance_slug=instance_slug)
    return result.counts()


def refresh_issue(instance_id: int, issue_jira_id: int) -> int | None:
    """Fetch one issue a webhook named and store what Jira says; returns the run's id."""
    from syncing.webhooks.refresh import issue_refresh

    run = issue_refresh(instance_id, issue_jira_id)
    return run.pk if run else None


def instance_delete_task(instance_id: int) -> dict:
    """Remove an instance being deleted, batch by batch; run again (a retry, Delete pressed again) it resumes.
    Returns how many rows of each kind it removed."""
    from syncing.runs.instance_deletion import instance_data_remove

    return dict(instance_data_remove(instance_id).steps)


def heartbeat_task() -> str:
    """Runs every minute on the queue: /readyz knows a worker is alive by it, and runs whose worker died
    (their lease expired) are ended as abandoned."""
    import os
    import socket

    from django.utils import timezone

    from syncing.models import WorkerHeartbeat
    from syncing.runs.bookkeeping import runs_abandoned_close

    host = socket.gethostname()
    WorkerHeartbeat.objects.update_or_create(host=host, defaults={"pid": os.getpid(), "seen_at": timezone.now()})
    runs_abandoned_close()
    return host


def prune_task() -> dict:
    from syncing.runs.retention import prune

    return prune().deleted


# Every function the queue may run for jirasync; admin resubmits only these (see syncing.queue_admin).
TASK_FUNCTIONS = frozenset(
    f"syncing.tasks.{name}"
    for name in (
        "sync_instance_task",
        "sync_project_task",
        "census_instance_task",
        "census_project_task",
        "remap_task",
        "refresh_issue",
        "instance_delete_task",
        "heartbeat_task",
        "prune_task",
    )
)


def enqueue(func: str, *args, **kwargs) -> None:
    """Queue a task once the current transaction commits (the ORM and Redis brokers then behave alike)."""
    transaction.on_commit(lambda: async_task(func, *args, **kwargs))
