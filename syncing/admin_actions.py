"""What the admin's buttons do: thin adapters from selected rows to the runner and the task queue.

Each press is audited with the user who pressed it (the runs it queues then audit their own start and
end as "sync"), so the audit log answers "who started this?".
"""

import logging

from django.contrib import messages
from django.http import HttpRequest
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils.html import format_html

from audit.services import Actor, Change, audit_record
from config.selectors import field_specs_for_instance
from projects.models import JiraInstance
from syncing.jira.errors import JiraError
from syncing.models import SyncRun
from syncing.runs.bookkeeping import options_for, run_cancel, run_queue
from syncing.runs.retry import NotRetryable, run_retry
from syncing.site.clients import client_for, instance_discover_projects
from syncing.site.connection_test import instance_check, said_of
from syncing.tasks import enqueue

log = logging.getLogger(__name__)


def _audit_press(request: HttpRequest, action: str, instance: JiraInstance, summary: str, run: SyncRun | None = None):
    audit_record(
        actor=Actor.of_user(request.user),
        change=Change(
            action,
            "syncing.syncrun" if run else "projects.jirainstance",
            str(run.pk if run else instance.pk),
            str(run) if run else str(instance),
            summary,
            instance_slug=instance.slug,
        ),
        sync_run_id=run.pk if run else None,
    )


def instances_not_being_deleted(request: HttpRequest, instances) -> list[JiraInstance]:
    """The instances that may still be acted on; each one being deleted is named in a warning instead."""
    kept = []
    for instance in instances:
        if instance.being_deleted:
            messages.warning(request, f"{instance.name} is being deleted: nothing more is done with it")
        else:
            kept.append(instance)
    return kept


def instances_test_connection(request: HttpRequest, instances) -> None:
    for instance in instances_not_being_deleted(request, instances):
        report = instance_check(instance, field_specs_for_instance(instance.slug))
        level = messages.SUCCESS if report.ok else messages.ERROR
        messages.add_message(request, level, f"{instance.name}: " + " · ".join(report.lines()))
        outcome = "succeeded" if report.ok else f"failed: {report.problem}"
        _audit_press(request, "test_connection", instance, f"tested the connection to {instance.name}: {outcome}")


def instances_discover_projects(request: HttpRequest, instances) -> None:
    for instance in instances_not_being_deleted(request, instances):
        try:
            found = instance_discover_projects(instance, client_for(instance, interactive=True))
        except JiraError as exc:
            messages.error(request, said_of(instance, str(exc)))
            continue
        except Exception as exc:  # a person is waiting: say it went wrong, never a 500 (the trace is logged)
            log.exception("discovering the projects of %s failed", instance)
            messages.error(request, said_of(instance, f"project discovery failed: {type(exc).__name__}: {exc}"))
            continue
        enabled = sum(1 for project in found if project.enabled)
        messages.success(request, f"{instance.name}: {len(found)} projects visible, {enabled} enabled")


def _run_link(run: SyncRun) -> str:
    return format_html('<a href="{}">run #{}</a>', reverse("admin:syncing_syncrun_change", args=[run.pk]), run.pk)


def instances_sync_now(request: HttpRequest, instances, kind: str) -> None:
    for instance in instances_not_being_deleted(request, instances):
        run = run_queue(instance, None, options_for(kind, SyncRun.Trigger.ADMIN))
        enqueue("syncing.tasks.sync_instance_task", instance.pk, kind, SyncRun.Trigger.ADMIN, run.pk)
        _audit_press(request, "sync_request", instance, f"asked for a {kind} sync of {instance.name}", run)
        messages.success(request, format_html("{}: {} sync queued — {}", instance.name, kind, _run_link(run)))


def projects_sync_now(request: HttpRequest, projects, kind: str) -> None:
    for project in projects.select_related("instance"):
        if project.instance.being_deleted:
            messages.warning(request, f"{project}: its instance is being deleted; nothing more is done with it")
            continue
        run = run_queue(project.instance, project, options_for(kind, SyncRun.Trigger.ADMIN))
        enqueue("syncing.tasks.sync_project_task", project.pk, kind, SyncRun.Trigger.ADMIN, None, run.pk)
        _audit_press(request, "sync_request", project.instance, f"asked for a {kind} sync of {project}", run)
        messages.success(request, format_html("{}: {} sync queued — {}", project, kind, _run_link(run)))


def runs_cancel(request: HttpRequest, runs) -> None:
    """Cancel: each selected run (and its project runs) stops at its next page; queued ones end now."""
    actor = Actor.of_user(request.user)
    for run in runs.select_related("instance", "project"):
        asked = run_cancel(run, actor=actor)
        run.refresh_from_db(fields=["status"])
        if asked and run.status == SyncRun.Status.CANCELLED:
            messages.success(request, format_html("{}: cancelled before it started", _run_link(run)))
        elif asked:
            messages.success(
                request,
                format_html(
                    "{}: cancel asked for ({} run{}) — a running run stops at its next page",
                    _run_link(run),
                    asked,
                    pluralize(asked),
                ),
            )
        else:
            messages.warning(
                request,
                format_html(
                    "{} was not queued or running ({}): nothing to cancel",
                    _run_link(run),
                    run.get_status_display().lower(),
                ),
            )


def runs_retry(request: HttpRequest, runs) -> None:
    """Retry: each selected run that did not succeed is queued again as the same kind of run."""
    actor = Actor.of_user(request.user)
    for run in runs.select_related("instance", "project"):
        try:
            queued = run_retry(run, actor=actor)
        except NotRetryable as exc:
            messages.warning(request, str(exc))
            continue
        messages.success(request, format_html("{}: {} queued again — {}", _run_link(run), run.kind, _run_link(queued)))
