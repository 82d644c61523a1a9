"""The one entry point for every sync: admin actions, django-q2 tasks and commands all call these.

sync_instance: discover projects, then sync the enabled ones in parallel (up to the instance's limit,
within its request budget); one project failing does not stop the others. sync_project: one project,
claimed so no other worker syncs it at the same time, with a SyncRun row updated as it goes.
"""

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import InterfaceError, OperationalError, close_old_connections, connection, connections
from django.db.models import Sum
from django.utils import timezone

from audit.services import SYNC, Change, audit_record
from config.selectors import field_specs_for_instance, mapping_document, mapping_version, milestone_rules_for_instance
from jirasync_site.log_redaction import redact
from projects.jql_filter import jql_filter_check
from projects.models import JiraInstance, Project, TokenWithheld
from syncing.census import CensusRefused, census_project
from syncing.claims import new_owner, project_claim, project_claim_holder, project_claim_release, project_claim_renew
from syncing.fields import compile_mapping
from syncing.jira.budget import budget_for
from syncing.jira.client import ConnectionSettings, JiraClient, RequestCounters, SiteInfo
from syncing.jira.errors import JiraAuthenticationError, JiraError
from syncing.memory import free_memory_release
from syncing.models import SyncRun
from syncing.pipeline import PageResult, ProjectSyncPlan, page_sync, project_pages, watermark_advance
from syncing.prefetch import prefetched

log = logging.getLogger(__name__)

Progress = Callable[[SyncRun, PageResult], None]
_SUMMED = (
    "fetched",
    "inserted",
    "updated",
    "unchanged",
    "failed_rows",
    "status_changes",
    "requests",
    "retries",
    "rate_limited",
    "incomplete_histories",
    "pages",
    "deleted",
    "recovered",
)
_OWN = ("requests", "retries", "rate_limited")


@dataclass
class RunOptions:
    full: bool = False
    trigger: str = SyncRun.Trigger.COMMAND
    dry_run: bool = False
    project_keys: tuple[str, ...] = ()
    census: bool = False  # a census only: which issues Jira still has, no sync
    should_stop: Callable[[], bool] = lambda: False
    progress: Progress | None = None
    # When given, filled with seconds per stage (fetch, parse, process, store, derive), summed over projects.
    stage_seconds: dict[str, float] | None = None

    @property
    def kind(self) -> str:
        if self.census:
            return SyncRun.Kind.CENSUS
        return SyncRun.Kind.FULL if self.full else SyncRun.Kind.INCREMENTAL


def connection_settings(instance: JiraInstance, *, interactive: bool = False) -> ConnectionSettings:
    """How to reach the instance. interactive: for a person waiting (Test connection, Discover): short
    timeouts and no retries, so the answer, good or bad, comes within 10 seconds."""
    try:
        token = instance.get_token()
    except TokenWithheld as exc:  # the URL moved since the token was entered: it goes nowhere
        raise JiraAuthenticationError(str(exc)) from None
    common = {
        "name": instance.name,
        "base_url": instance.base_url,
        "auth_kind": instance.auth_kind,
        "username": instance.username,
        "token": token,
        "flavour": instance.flavour,
        "max_response_bytes": int(settings.JIRASYNC_MAX_RESPONSE_MB * 1024 * 1024),
    }
    if interactive:
        return ConnectionSettings(
            **common, connect_timeout=4.0, read_timeout=8.0, total_timeout=9.0, max_retries=0, max_wait=0.0
        )
    return ConnectionSettings(
        **common,
        backoff_base=settings.JIRASYNC_BACKOFF_BASE,
        max_retries=settings.JIRASYNC_MAX_RETRIES,
        total_timeout=settings.JIRASYNC_REQUEST_DEADLINE_SECONDS,
    )


def _after_reconnect[T](write: Callable[[], T]) -> T:
    """Run a bookkeeping write; if the database connection was cut (a restart, pg_terminate_backend),
    open a fresh one and write again, so a run can still say how it ended."""
    try:
        return write()
    except (OperationalError, InterfaceError):
        connection.close()
        return write()


def project_plan(project: Project, options: RunOptions) -> ProjectSyncPlan:
    """How to sync one project now: the instance's current mappings and milestone rules compiled."""
    instance = project.instance
    document = mapping_document()
    return ProjectSyncPlan(
        project=project,
        mapping=compile_mapping(field_specs_for_instance(instance.slug, document), mapping_version(document)),
        rules=milestone_rules_for_instance(instance.slug, document),
        full=options.full,
        overlap=timedelta(minutes=settings.JIRASYNC_SYNC_OVERLAP_MINUTES),
        jql_filter=jql_filter_check(instance.jql_filter),  # refused, whatever saved it, if it can escape
        page_size=settings.JIRASYNC_PAGE_SIZE,
        dry_run=options.dry_run,
    )


def client_for(
    instance: JiraInstance,
    counters: RequestCounters | None = None,
    *,
    interactive: bool = False,
    stop: threading.Event | None = None,
) -> JiraClient:
    """A client for the instance within its request budget; see connection_settings for interactive."""
    budget = budget_for(instance.slug, instance.request_budget, settings.REDIS_URL)
    return JiraClient(
        connection_settings(instance, interactive=interactive), budget=budget, counters=counters, stop=stop
    )


def instance_discover_projects(instance: JiraInstance, client: JiraClient) -> list[Project]:
    """Create or update a Project for every project the account sees; new ones enabled per the instance."""
    found = []
    for remote in client.projects():
        project, created = Project.objects.get_or_create(
            instance=instance,
            jira_id=str(remote["id"]),
            defaults={"key": remote["key"], "name": remote.get("name", ""), "enabled": instance.enable_new_projects},
        )
        if not created and (project.key != remote["key"] or project.name != remote.get("name", "")):
            Project.objects.filter(pk=project.pk).update(key=remote["key"], name=remote.get("name", ""))
            project.key, project.name = remote["key"], remote.get("name", "")
        found.append(project)
    return found


def sync_instance(instance_id: int, options: RunOptions, run_id: int | None = None) -> SyncRun:
    """Discover projects and sync the enabled ones in this process; the returned parent run sums its children."""
    started = _instance_start(instance_id, options, run_id)
    if isinstance(started, SyncRun):
        return started
    run, counters, site, project_ids = started
    instance = run.instance
    children: list[SyncRun] = []
    if not options.census:
        with ThreadPoolExecutor(max_workers=max(1, instance.max_parallel_projects)) as pool:
            children = list(pool.map(lambda pk: _in_thread(sync_project, pk, options, run.pk, site), project_ids))
    if options.census:
        children = [census_project_run(pk, options, run.pk, site) for pk in project_ids]
    else:
        children += _censuses_after_full_sync(children, options, run.pk, site)
    return _after_reconnect(lambda: _close_parent(run, children, counters))


def _censuses_after_full_sync(
    children: list[SyncRun], options: RunOptions, parent_id: int, site: SiteInfo | None = None
) -> list[SyncRun]:
    """A census of each project whose full sync succeeded, one project at a time, after all the syncs:
    a moved issue is seen by two projects' censuses, and parallel ones deadlock on it."""
    if not options.full or options.dry_run:
        return []
    return [
        census_project_run(child.project_id, options, parent_id, site)
        for child in children
        if child.status == SyncRun.Status.SUCCEEDED
    ]


def sync_project(
    project_id: int,
    options: RunOptions,
    parent_id: int | None = None,
    site: SiteInfo | None = None,
    run_id: int | None = None,
) -> SyncRun:
    """Sync one project, page by page, under a claim; the run records counts, rates and why it failed.

    site: what the instance run already learnt from Jira (flavour, clock); asked again when absent.
    """
    project = Project.objects.select_related("instance").get(pk=project_id)
    instance = project.instance
    run = _adopt_or_start(run_id, instance, project, options, parent_id)
    owner = new_owner()
    if options.dry_run is False and not project_claim(project.pk, owner):
        holder = project_claim_holder(project.pk)
        return run_finish(run, SyncRun.Status.SKIPPED, None, error=f"already being synced by {holder}")
    counters = RequestCounters()
    totals = PageResult()
    try:
        client = client_for(instance, counters)
        if site is None:
            site = _record_site(instance, client)
        else:
            client.flavour = site.flavour
        plan = project_plan(project, options)
        stopped = False
        # The search pages come from a background thread; histories are completed on a second
        # client (its own session), sharing this run's counters and the instance's budget.
        history_client = client_for(instance, counters)
        history_client.flavour = client.flavour
        for page in prefetched(project_pages(client, plan)):
            result = page_sync(history_client, plan, page, run_id=run.pk)
            if not options.dry_run:
                watermark_advance(project, result.watermark)
                project_claim_renew(project.pk, owner)
            _accumulate(totals, result)
            _save_progress(run, totals, counters)
            free_memory_release()
            if options.stage_seconds is not None:
                for stage, seconds in result.seconds.items():
                    options.stage_seconds[stage] = options.stage_seconds.get(stage, 0.0) + seconds
            if options.progress:
                options.progress(run, result)
            if options.should_stop():
                stopped = True
                break
        if options.stage_seconds is not None:
            options.stage_seconds["fetch"] = options.stage_seconds.get("fetch", 0.0) + counters.fetch_seconds
            options.stage_seconds["parse"] = options.stage_seconds.get("parse", 0.0) + counters.parse_seconds
        if stopped:
            return run_finish(
                run,
                SyncRun.Status.PARTIAL,
                counters,
                totals,
                error="stopped on request; the next run resumes from the watermark",
            )
        if options.full and not options.dry_run:
            Project.objects.filter(pk=project.pk).update(last_full_sync_at=timezone.now())
            if not totals.failed and parent_id is None:
                # A project synced on its own; within an instance run the census follows all the syncs.
                census_project_run(project.pk, options, None, site)
        status = SyncRun.Status.PARTIAL if totals.failed else SyncRun.Status.SUCCEEDED
        error = "; ".join(f"{key}: {why}" for key, why in totals.failed[:10])
        return run_finish(run, status, counters, totals, error=error)
    except JiraError as exc:
        return run_finish(run, SyncRun.Status.FAILED, counters, totals, error=str(exc))
    except Exception as exc:  # the run must say why whatever went wrong
        log.exception("sync of %s failed", project)
        return run_finish(run, SyncRun.Status.FAILED, counters, totals, error=f"{type(exc).__name__}: {exc}")
    finally:
        _after_reconnect(lambda: project_claim_release(project.pk, owner))


def _instance_start(
    instance_id: int, options: RunOptions, run_id: int | None
) -> SyncRun | tuple[SyncRun, RequestCounters, SiteInfo, list[int]]:
    """Start (or adopt a queued) instance run, learn the site and discover projects.

    Returns the finished run when discovery failed, else (run, counters, site, ids of the projects to sync).
    """
    instance = JiraInstance.objects.get(pk=instance_id)
    run = _adopt_or_start(run_id, instance, None, options, None)
    counters = RequestCounters()
    try:
        client = client_for(instance, counters)
        site = _record_site(instance, client)
        instance_discover_projects(instance, client)
    except (JiraError, ValueError) as exc:
        return run_finish(run, SyncRun.Status.FAILED, counters, error=f"project discovery failed: {exc}")
    projects = Project.objects.filter(instance=instance, enabled=True).order_by("key")
    if options.project_keys:
        projects = projects.filter(key__in=options.project_keys)
    SyncRun.objects.filter(pk=run.pk).update(**_counts(None, counters))
    return run, counters, site, list(projects.values_list("id", flat=True))


def sync_instance_fan_out(
    instance_id: int, options: RunOptions, run_id: int | None = None
) -> tuple[SyncRun, list[int]]:
    """The first half of an instance run spread over queue workers: discover, then name the projects to sync.

    Each project is then synced by its own task (sync_project with this run as parent); the last one
    to finish closes this run (and, after a full sync, takes the census of every project in turn).
    """
    started = _instance_start(instance_id, options, run_id)
    if isinstance(started, SyncRun):
        return started, []
    run, counters, site, project_ids = started
    if not project_ids:
        return run_finish(run, SyncRun.Status.SUCCEEDED, counters, error="no enabled projects"), []
    if options.census:
        children = [census_project_run(pk, options, run.pk, site) for pk in project_ids]
        return _close_parent(run, children, counters), []
    SyncRun.objects.filter(pk=run.pk).update(expected_children=len(project_ids))
    return run, project_ids


def child_finished(parent_id: int, options: RunOptions) -> SyncRun | None:
    """Close a fanned-out run when its last project run finished; None while others are still going."""
    parent = SyncRun.objects.get(pk=parent_id)
    children = list(SyncRun.objects.filter(parent_id=parent_id).exclude(kind=SyncRun.Kind.CENSUS))
    done = [c for c in children if c.status not in (SyncRun.Status.QUEUED, SyncRun.Status.RUNNING)]
    if len(done) < parent.expected_children:
        return None
    # Only one child closes it: the conditional update decides which.
    if not SyncRun.objects.filter(pk=parent_id, expected_children=parent.expected_children).update(expected_children=0):
        return None
    return _close_parent(parent, done + _censuses_after_full_sync(done, options, parent_id), None)


def _close_parent(run: SyncRun, children: list[SyncRun], counters: RequestCounters | None) -> SyncRun:
    """Sum the children into the parent and give it the status they add up to."""
    failed = [child for child in children if child.status == SyncRun.Status.FAILED]
    # The children of the run's own kind add up; the censuses that follow full syncs add what they deleted
    # and recovered.
    sums = SyncRun.objects.filter(parent=run, kind=run.kind).aggregate(**{name: Sum(name) for name in _SUMMED})
    sums.update(SyncRun.objects.filter(parent=run).aggregate(deleted=Sum("deleted"), recovered=Sum("recovered")))
    # The instance run's own requests (discovery): in hand in this process, else as it recorded them.
    own = (
        {name: getattr(counters, name) for name in _OWN}
        if counters
        else (SyncRun.objects.filter(pk=run.pk).values(*_OWN).first() or {})
    )
    for name in _SUMMED:
        setattr(run, name, (sums[name] or 0) + own.get(name, 0))
    if failed and len(failed) == len(children):
        status = SyncRun.Status.FAILED
    elif failed or any(child.status == SyncRun.Status.PARTIAL for child in children):
        status = SyncRun.Status.PARTIAL
    else:
        status = SyncRun.Status.SUCCEEDED
    error = "; ".join(f"{child.project.key} ({child.kind}): {child.error}" for child in children if child.error)
    return run_finish(run, status, None, error=error)


def run_queue(instance: JiraInstance, project: Project | None, options: RunOptions) -> SyncRun:
    """A run recorded as queued before its task starts, so the operator can follow it from the start."""
    return SyncRun.objects.create(
        instance=instance, project=project, kind=options.kind, trigger=options.trigger, status=SyncRun.Status.QUEUED
    )


def _adopt_or_start(
    run_id: int | None, instance: JiraInstance, project: Project | None, options: RunOptions, parent_id: int | None
) -> SyncRun:
    if run_id and SyncRun.objects.filter(pk=run_id, status=SyncRun.Status.QUEUED).update(
        status=SyncRun.Status.RUNNING,
        started_at=timezone.now(),
        watermark_before=project.sync_watermark if project else None,
    ):
        run = SyncRun.objects.get(pk=run_id)
        _audit_start(run, instance, project)
        return run
    return _start_run(instance, project, options, parent_id)


def census_project_run(
    project_id: int, options: RunOptions, parent_id: int | None = None, site: SiteInfo | None = None
) -> SyncRun:
    """A census of one project as its own SyncRun (kind census): listed, moved/restored, deleted, and the
    listed issues never stored fetched and stored (`recovered`; any that could not be make it partial)."""
    project = Project.objects.select_related("instance").get(pk=project_id)
    run = _start_run(project.instance, project, options, parent_id, kind=SyncRun.Kind.CENSUS)
    counters = RequestCounters()
    try:
        client = client_for(project.instance, counters)
        client.flavour = site.flavour if site else ""
        result = census_project(project, client, project_plan(project, options), run_id=run.pk)
    except (JiraError, CensusRefused) as exc:
        return run_finish(run, SyncRun.Status.FAILED, counters, error=str(exc))
    except Exception as exc:  # the run must say why whatever went wrong
        log.exception("census of %s failed", project)
        return run_finish(run, SyncRun.Status.FAILED, counters, error=f"{type(exc).__name__}: {exc}")
    stored = result.stored_pages
    SyncRun.objects.filter(pk=run.pk).update(
        fetched=result.listed,
        inserted=stored.inserted,
        updated=len(result.moved) + len(result.restored) + stored.updated,
        status_changes=stored.status_changes,
        incomplete_histories=stored.incomplete_histories,
        deleted=len(result.deleted),
        recovered=len(result.recovered),
        failed_rows=len(result.unrecovered),
    )
    if result.unrecovered:
        error = "; ".join(f"{key}: {why}" for key, why in result.unrecovered[:10])
        return run_finish(run, SyncRun.Status.PARTIAL, counters, error=f"not stored: {error}")
    return run_finish(run, SyncRun.Status.SUCCEEDED, counters)


def _in_thread(function, *args):
    try:
        return function(*args)
    finally:
        connections.close_all()  # each worker thread has its own connection


def _record_site(instance: JiraInstance, client: JiraClient) -> SiteInfo:
    site = client.site_info()
    JiraInstance.objects.filter(pk=instance.pk).update(detected_flavour=site.flavour, time_zone=site.time_zone)
    instance.detected_flavour, instance.time_zone = site.flavour, site.time_zone
    return site


def _start_run(
    instance: JiraInstance, project: Project | None, options: RunOptions, parent_id: int | None, kind: str = ""
) -> SyncRun:
    close_old_connections()
    run = SyncRun.objects.create(
        instance=instance,
        project=project,
        parent_id=parent_id,
        kind=kind or options.kind,
        trigger=options.trigger,
        status=SyncRun.Status.RUNNING,
        started_at=timezone.now(),
        watermark_before=project.sync_watermark if project else None,
    )
    if parent_id is None:
        _audit_start(run, instance, project)
    return run


def _audit_start(run: SyncRun, instance: JiraInstance, project: Project | None) -> None:
    scope = project.key if project else "all enabled projects"
    audit_record(
        actor=SYNC,
        change=Change(
            "sync_start",
            "syncing.syncrun",
            str(run.pk),
            str(run),
            f"{run.get_kind_display()} sync of {scope} started",
            instance_slug=instance.slug,
        ),
        sync_run_id=run.pk,
    )


def _accumulate(totals: PageResult, page: PageResult) -> None:
    totals.fetched += page.fetched
    totals.inserted += page.inserted
    totals.updated += page.updated
    totals.unchanged += page.unchanged
    totals.failed += page.failed
    totals.status_changes += page.status_changes
    totals.incomplete_histories += page.incomplete_histories
    totals.watermark = max(filter(None, [totals.watermark, page.watermark]), default=None)


def _counts(totals: PageResult | None, counters: RequestCounters | None, pages: int | None = None) -> dict:
    values = {}
    if totals is not None:
        values.update(
            fetched=totals.fetched,
            inserted=totals.inserted,
            updated=totals.updated,
            unchanged=totals.unchanged,
            failed_rows=len(totals.failed),
            status_changes=totals.status_changes,
            incomplete_histories=totals.incomplete_histories,
        )
    if counters is not None:
        values.update(requests=counters.requests, retries=counters.retries, rate_limited=counters.rate_limited)
    if pages is not None:
        values["pages"] = pages
    return values


def _save_progress(run: SyncRun, totals: PageResult, counters: RequestCounters) -> None:
    run.pages += 1
    values = _counts(totals, counters, run.pages)
    SyncRun.objects.filter(pk=run.pk).update(**values)
    for name, value in values.items():
        setattr(run, name, value)


def run_finish(
    run: SyncRun, status: str, counters: RequestCounters | None, totals: PageResult | None = None, *, error: str = ""
) -> SyncRun:
    """Record how a run ended (counts, status, the sanitized error), audit it, log it; return it refreshed."""
    return _after_reconnect(lambda: _run_finish(run, status, counters, totals, error=error))


def _run_finish(
    run: SyncRun, status: str, counters: RequestCounters | None, totals: PageResult | None = None, *, error: str = ""
) -> SyncRun:
    values = _counts(totals, counters)
    values.update(status=status, finished_at=timezone.now(), error=redact(error)[:4000])
    if run.project_id:
        values["watermark_after"] = (
            Project.objects.filter(pk=run.project_id).values_list("sync_watermark", flat=True).first()
        )
    else:
        values.update({name: getattr(run, name) for name in _SUMMED})
    SyncRun.objects.filter(pk=run.pk).update(**values)
    run.refresh_from_db()
    log.log(
        logging.WARNING if status in (SyncRun.Status.FAILED, SyncRun.Status.PARTIAL) else logging.INFO,
        "%s %s: %d fetched, %d inserted, %d updated, %d failed, %d requests, %d retries, %d × 429%s",
        run,
        status,
        run.fetched,
        run.inserted,
        run.updated,
        run.failed_rows,
        run.requests,
        run.retries,
        run.rate_limited,
        f" — {run.error}" if run.error else "",
    )
    if run.parent_id is None:
        audit_record(
            actor=SYNC,
            change=Change(
                "sync_end",
                "syncing.syncrun",
                str(run.pk),
                str(run),
                f"{run.get_kind_display()} sync {run.get_status_display().lower()}: {run.fetched} fetched, "
                f"{run.inserted} inserted, {run.updated} updated, {run.failed_rows} failed"
                + (f" — {run.error}" if run.error else ""),
                instance_slug=run.instance.slug,
            ),
            sync_run_id=run.pk,
        )
    return run
