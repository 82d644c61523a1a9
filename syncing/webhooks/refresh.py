"""Refreshing one issue from Jira, as a webhook asked: fetched, upserted with history and milestones under
its project's claim, or soft-deleted when Jira no longer has it."""

import logging

from django.utils import timezone

from activity.fetch import ActivityKinds
from audit.services import SOFT_DELETE, SYNC, Change, audit_record
from config.selectors import field_specs_for_instance
from issues.models import Issue
from jirafields import compile_mapping
from projects.models import JiraInstance, Project
from syncing.engine.pipeline import page_sync
from syncing.engine.plan import project_plan, requested_fields
from syncing.jira.client import JiraClient, RequestCounters
from syncing.jira.errors import JiraError, JiraNotFoundError
from syncing.models import PendingRefresh, SyncRun
from syncing.runs.bookkeeping import (
    RunKeeper,
    RunOptions,
    StopSignal,
    after_reconnect,
    project_run_claim,
    run_end_unexpected,
    run_finish,
    run_start,
)
from syncing.runs.claims import new_owner, parked_refreshes_queue, project_claim_holder, project_claim_release
from syncing.site.clients import client_for

log = logging.getLogger(__name__)


def issue_refresh(instance_id: int, jira_id: int) -> SyncRun | None:
    """Fetch the issue now and store what Jira says; None when its project is not synced here.

    A run of kind webhook, kept as every run is (runs/bookkeeping.py: started, its lease renewed, ended with its
    counts), that holds its project's claim while it stores the issue: refreshes of one project take turns (a
    quarter of a lease at most), and a sync or census holding the project is not waited for — the refresh ends
    skipped, naming that run, and is parked (PendingRefresh.parked_for) until the run lets the project go, when
    it is queued again: no change a webhook announced is left to a later sync.
    """
    instance = JiraInstance.objects.get(pk=instance_id)
    if instance.being_deleted:  # queued before the deletion began: nothing of it is synced any more
        log.info("webhook refresh of issue %s of %s skipped: the instance is being deleted", jira_id, instance.slug)
        return None
    # Events arriving from now on ask for a new refresh: they may describe changes this fetch misses.
    PendingRefresh.objects.filter(instance=instance, issue_jira_id=jira_id).delete()
    counters = RequestCounters()
    stop = StopSignal()
    known = instance.effective_flavour  # known from earlier syncs: no serverInfo request
    client = client_for(instance, counters, stop=stop, flavour="" if known == JiraInstance.Flavour.AUTO else known)
    options = RunOptions(trigger=SyncRun.Trigger.WEBHOOK)
    run = run_start(instance, None, options, None, kind=SyncRun.Kind.WEBHOOK, owner=new_owner())
    try:
        with RunKeeper(run, stop, owner=run.owner) as keeper:  # its heartbeat, however long Jira takes
            return _refresh(run, keeper, instance, client, counters, jira_id)
    except JiraError as exc:
        return run_finish(run, SyncRun.Status.FAILED, counters, error=str(exc))
    except Exception as exc:  # the run must say why whatever went wrong
        return run_end_unexpected(run, exc, counters)
    finally:
        client.close()


def _refresh(
    run: SyncRun, keeper: RunKeeper, instance: JiraInstance, client: JiraClient, counters: RequestCounters, jira_id: int
) -> SyncRun | None:
    # One request: the fields any project of the instance maps (mappings are per instance), with history.
    mapped = requested_fields(compile_mapping(field_specs_for_instance(instance.slug)))
    # As a sync asks for it, comments and worklogs included: the same raw JSON, so its digest agrees.
    fields = sorted(
        {*mapped, *ActivityKinds(comments=instance.sync_comments, worklogs=instance.sync_worklogs).fields()}
    )
    try:
        issue = client.issue(str(jira_id), fields=fields, expand="changelog")
    except JiraNotFoundError:
        return _gone(run, instance, jira_id, counters)
    project = _synced_project(instance, issue)
    if project is None and not _project_id(issue):
        # An answer without its project (fields null or missing, or no project in them) holds less than
        # was asked for: the stored issue's project takes the answer, which then costs its row (failed,
        # audited, asked for again by the project's next run); an issue never stored fails the refresh.
        stored = Issue.objects.filter(instance=instance, jira_id=jira_id, project__enabled=True).first()
        if stored is None:
            why = f"issue {jira_id}: Jira answered without its project, so which project it belongs to is unknown"
            return run_finish(run, SyncRun.Status.FAILED, counters, error=why)
        project = stored.project
    if project is None:
        SyncRun.objects.filter(pk=run.pk).delete()
        return None
    SyncRun.objects.filter(pk=run.pk).update(project=project)
    run.project = project
    # Refreshes of one project's issues take turns (each holds the claim for a moment); while a sync or census
    # holds the project the refresh is parked, and queued again when that run lets the project go.
    if (refused := project_run_claim(run, project.pk, stop=keeper.stop)) is not None:
        if refused.status == SyncRun.Status.SKIPPED:
            _park(instance, jira_id, project)
        return refused
    keeper.hold(project.pk)
    try:
        plan = project_plan(project, RunOptions(trigger=SyncRun.Trigger.WEBHOOK), flavour=client.flavour)
        result = page_sync(client, plan, [issue], run_id=run.pk)
        Issue.objects.filter(instance=instance, jira_id=jira_id, deleted_at__isnull=False).update(deleted_at=None)
    finally:
        after_reconnect(lambda: project_claim_release(project.pk, run.owner))
    status = SyncRun.Status.FAILED if result.failed else SyncRun.Status.SUCCEEDED
    error = "; ".join(f"{key}: {why}" for key, why in result.failed)
    return run_finish(run, status, counters, result, error=error)


def _park(instance: JiraInstance, jira_id: int, project: Project) -> None:
    """Leave the issue's refresh to the run holding its project: queued again when it lets the project go
    (claims.project_claim_release). Parked after the holder let go (it saw no parked refresh), it is queued now."""
    PendingRefresh.objects.update_or_create(instance=instance, issue_jira_id=jira_id, defaults={"parked_for": project})
    log.info("refresh of issue %s parked until the run holding %s lets it go", jira_id, project.key)
    if not project_claim_holder(project.pk):
        parked_refreshes_queue(project.pk)


def _project_id(issue: dict) -> str:
    fields = issue.get("fields")
    project = fields.get("project") if isinstance(fields, dict) else None
    return str(project.get("id") or "") if isinstance(project, dict) else ""


def _synced_project(instance: JiraInstance, issue: dict) -> Project | None:
    project_id = _project_id(issue)
    if not project_id:
        return None
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
                SOFT_DELETE,
                "issues.issue",
                str(issue.pk),
                issue.key,
                f"{issue.key} deleted in Jira (webhook)",
                instance_slug=instance.slug,
            ),
            sync_run_id=run.pk,
        )
    return run_finish(run, SyncRun.Status.SUCCEEDED, counters)
