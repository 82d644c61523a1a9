"""Refreshing one issue from Jira, as a webhook asked: fetched, upserted with history and milestones,
or soft-deleted when Jira no longer has it."""

import logging

from django.utils import timezone

from audit.services import SYNC, Change, audit_record
from config.selectors import field_specs_for_instance
from issues.models import Issue
from projects.models import JiraInstance, Project
from syncing.clients import client_for
from syncing.fields import compile_mapping
from syncing.jira.client import RequestCounters
from syncing.jira.errors import JiraError, JiraNotFoundError
from syncing.models import PendingRefresh, SyncRun
from syncing.pipeline import page_sync, requested_fields
from syncing.runner import project_plan
from syncing.runs import RunOptions, run_finish

log = logging.getLogger(__name__)


def issue_refresh(instance_id: int, jira_id: int) -> SyncRun | None:
    """Fetch the issue now and store what Jira says; None when its project is not synced here."""
    instance = JiraInstance.objects.get(pk=instance_id)
    if instance.being_deleted:  # queued before the deletion began: nothing of it is synced any more
        log.info("webhook refresh of issue %s of %s skipped: the instance is being deleted", jira_id, instance.slug)
        return None
    # Events arriving from now on ask for a new refresh: they may describe changes this fetch misses.
    PendingRefresh.objects.filter(instance=instance, issue_jira_id=jira_id).delete()
    counters = RequestCounters()
    client = client_for(instance, counters)
    run = SyncRun.objects.create(
        instance=instance,
        kind=SyncRun.Kind.WEBHOOK,
        trigger=SyncRun.Trigger.WEBHOOK,
        status=SyncRun.Status.RUNNING,
        started_at=timezone.now(),
    )
    if instance.effective_flavour in (JiraInstance.Flavour.CLOUD, JiraInstance.Flavour.DATACENTER):
        client.flavour = instance.effective_flavour  # known from earlier syncs: no serverInfo request
    try:
        # One request: the fields any project of the instance maps (mappings are per instance), with history.
        fields = requested_fields(compile_mapping(field_specs_for_instance(instance.slug)))
        try:
            issue = client.issue(str(jira_id), fields=fields, expand="changelog")
        except JiraNotFoundError:
            return _gone(run, instance, jira_id, counters)
        project = _synced_project(instance, issue)
        if project is None:
            SyncRun.objects.filter(pk=run.pk).delete()
            return None
        SyncRun.objects.filter(pk=run.pk).update(project=project)
        run.project = project
        plan = project_plan(project, RunOptions(trigger=SyncRun.Trigger.WEBHOOK))
        result = page_sync(client, plan, [issue], run_id=run.pk)
        Issue.objects.filter(instance=instance, jira_id=jira_id, deleted_at__isnull=False).update(deleted_at=None)
        status = SyncRun.Status.FAILED if result.failed else SyncRun.Status.SUCCEEDED
        error = "; ".join(f"{key}: {why}" for key, why in result.failed)
        return run_finish(run, status, counters, result, error=error)
    except JiraError as exc:
        return run_finish(run, SyncRun.Status.FAILED, counters, error=str(exc))
    finally:
        client.close()


def _synced_project(instance: JiraInstance, issue: dict) -> Project | None:
    project_id = str(((issue.get("fields") or {}).get("project") or {}).get("id") or "")
    project = Project.objects.filter(instance=instance, jira_id=project_id, enabled=True).first()
    if project is None:
        log.info("webhook for issue %s of project %s, which is not synced: ignored", issue.get("key"), project_id)
    return project


def _gone(run: SyncRun, instance: JiraInstance, jira_id: int, counters: RequestCounters) -> SyncRun:
    """Jira answers 404: deleted (or no longer visible to the account) — kept, marked deleted."""
    issue = Issue.objects.filter(instance=instance, jira_id=jira_id, deleted_at__isnull=True).first()
    if issue is not None:
        Issue.objects.filter(pk=issue.pk).update(deleted_at=timezone.now())
        SyncRun.objects.filter(pk=run.pk).update(project_id=issue.project_id, deleted=1)
        run.refresh_from_db()
        audit_record(
            actor=SYNC,
            change=Change(
                "delete",
                "issues.issue",
                str(issue.pk),
                issue.key,
                f"{issue.key} deleted in Jira (webhook)",
                instance_slug=instance.slug,
            ),
            sync_run_id=run.pk,
        )
    return run_finish(run, SyncRun.Status.SUCCEEDED, counters)
