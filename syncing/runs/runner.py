"""The one entry point for every sync: admin actions, django-q2 tasks and commands all call these.

sync_instance: discover projects, then sync the enabled ones in parallel (up to the instance's limit,
within its request budget); one project failing does not stop the others; after a full sync, a census of
each project that synced whole. sync_project: one project (or its census), claimed so no other worker syncs
it at the same time, with a SyncRun row updated as it goes. This module orchestrates only: run bookkeeping
(options, start, claim, lease, progress, end) is runs/bookkeeping.py's; clients and discovery are
site/clients.py's.
"""

import logging
import time
from concurrent.futures import ThreadPoolExecutor

from django.db import connections
from django.db.models import F
from django.utils import timezone

from activity.services import ActivityStored
from activity.worklog_feed import worklog_feed_sync
from projects.models import JiraInstance, Project
from syncing.engine.deferred_histories import Deferred, deferred_due, histories_complete
from syncing.engine.memory import free_memory_release
from syncing.engine.pipeline import PageResult, issues_refetch, page_sync, watermark_advance
from syncing.engine.plan import ProjectSyncPlan, project_pages, project_plan
from syncing.engine.prefetch import prefetched
from syncing.engine.store import retries_clear, retries_record, retry_ids
from syncing.engine.table_statistics import table_statistics_refresh
from syncing.jira.client import JiraClient, RequestCounters, SiteInfo
from syncing.jira.errors import JiraCancelledError, JiraError, JiraOutpacedError
from syncing.models import IssueRetry, SyncRun
from syncing.runs.bookkeeping import (
    BEING_DELETED,
    OWN_COUNTS,
    RunKeeper,
    RunOptions,
    StopSignal,
    accumulate,
    after_reconnect,
    counts,
    instance_run_begin,
    own_error,
    project_run_claim,
    run_adopt_or_start,
    run_census_finish,
    run_close_parent,
    run_end_unexpected,
    run_feed_record,
    run_finish,
    run_follower_add,
    run_progress,
    run_start,
    runs_abandoned_close,
)
from syncing.runs.census import CensusRefused, census_project
from syncing.runs.claims import new_owner, project_claim_release
from syncing.runs.run_log import run_log_capture
from syncing.runs.schedules import instance_schedules_after_run
from syncing.site.clients import client_for, instance_discover, nothing_to_sync, projects_to_sync, site_record

log = logging.getLogger(__name__)


def sync_instance(instance_id: int, options: RunOptions, run_id: int | None = None) -> SyncRun:
    """Discover projects and sync the enabled ones in this process; the returned parent run sums its children.

    The run's lease is kept from discovery to the end; whatever escapes ends it failed, saying why.
    """
    run = instance_run_begin(instance_id, options, run_id)
    if not run.is_active:
        return run
    counters = RequestCounters()
    stop = StopSignal(options.stop)
    try:
        with run_log_capture(run.pk), RunKeeper(run, stop, owner=run.owner) as keeper:
            found = _instance_discover(run, options, counters, stop, keeper)
            if isinstance(found, SyncRun):
                return found
            site, project_ids = found
            feed_error = ""
            if options.census:
                children = _censuses(project_ids, options, run.pk, site)
            else:
                project_options = RunOptions(**{**vars(options), "stop": stop})
                with ThreadPoolExecutor(max_workers=max(1, run.instance.max_parallel_projects)) as pool:
                    children = list(
                        pool.map(lambda pk: _in_thread(sync_project, pk, project_options, run.pk, site), project_ids)
                    )
                children += _censuses_after_full(_synced_whole(children), options, run.pk, site)
                feed = ActivityStored()
                feed_error = worklog_feed_run(run.instance_id, options, counters, stop, run.pk, feed, children)
                run_feed_record(run.pk, feed)
        closing = lambda: run_close_parent(run, children, counters, own_error=own_error(run.pk, feed_error))  # noqa: E731
        closed = after_reconnect(closing)
        runs_abandoned_close(instance_id=run.instance_id)  # and those of a dead worker whose lease ran out since
        return _closed(closed, options)
    except Exception as exc:  # the run must say why whatever went wrong
        return run_end_unexpected(run, exc, counters)


def _closed(run: SyncRun, options: RunOptions) -> SyncRun:
    """A closed instance run moves on the schedules it stands for (a full sync: the next full, census and
    incremental), so none of them repeats it at once. The run is closed already: a failure here is logged
    and costs at most a scheduled run too many."""
    try:
        after_reconnect(lambda: instance_schedules_after_run(run, dry_run=options.dry_run))
    except Exception:
        log.exception("the schedules of instance %s were not moved on after %s", run.instance_id, run)
    return run


def _censuses(
    project_ids: list[int], options: RunOptions, parent_id: int | None, site: SiteInfo | None = None
) -> list[SyncRun]:
    """A census of each project, one at a time: a moved issue is seen by two projects' censuses, and parallel
    ones deadlock on it."""
    return [census_project_run(pk, options, parent_id, site) for pk in project_ids]


def _censuses_after_full(
    project_ids: list[int], options: RunOptions, parent_id: int, site: SiteInfo | None = None
) -> list[SyncRun]:
    """What follows a full sync (not a dry run): a census of each project it synced whole (project_ids), after
    all the syncs, as children of the run that ordered it — the instance run, or a project run of its own."""
    if not options.full or options.dry_run:
        return []
    return _censuses(project_ids, options, parent_id, site)


def _synced_whole(children: list[SyncRun]) -> list[int]:
    """The projects whose runs succeeded: every issue read and stored."""
    return [
        child.project_id
        for child in children
        if child.status == SyncRun.Status.SUCCEEDED and child.project_id is not None
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
    A project synced on its own (no parent) ends a full sync with its census; census options take the census
    alone (census_project_run), whichever door they came through.
    """
    if options.census:
        return census_project_run(project_id, options, parent_id, site, run_id)
    project = Project.objects.select_related("instance").get(pk=project_id)
    instance = project.instance
    owner = new_owner()
    runs_abandoned_close(project_id=project.pk)  # a run left "running" by a dead worker ends here (its parent too)
    run = run_adopt_or_start(run_id, instance, project, options, parent_id, owner=owner)
    if not run.is_active:
        return run  # cancelled before its task started
    if instance.being_deleted:  # a task queued before the deletion began
        return run_finish(run, SyncRun.Status.SKIPPED, None, error=BEING_DELETED)
    with run_log_capture(run.pk):
        try:
            return _project_run(run, project, options, parent_id, site, owner)
        except Exception as exc:  # bookkeeping, the claim, the census after it: the run still says why
            return run_end_unexpected(run, exc)


def _project_run(
    run: SyncRun, project: Project, options: RunOptions, parent_id: int | None, site: SiteInfo | None, owner: str
) -> SyncRun:
    """sync_project once its run exists: claim, pages under the lease, end, release, census."""
    if (refused := project_run_claim(run, project.pk, dry_run=options.dry_run)) is not None:
        return refused
    counters = RequestCounters()
    totals = PageResult()
    stop = StopSignal(options.stop)
    try:
        with RunKeeper(run, stop, project_id=project.pk, owner=owner) as keeper:
            try:
                stopped = _project_pages_sync(run, project, options, site, counters, totals, stop)
            except JiraCancelledError:  # a request in flight when the stop came
                stopped = True
            # A project run of its own reads its instance's worklog feed too (an instance run does it once).
            feed_error = (
                ""
                if stopped or parent_id
                else worklog_feed_run(project.instance_id, options, counters, stop, run.pk, totals.activity)
            )
        if keeper.lost:
            return run_finish(run, SyncRun.Status.FAILED, counters, totals, error=f"stopped: {keeper.lost}")
        if stopped:
            return _cancelled(run, counters, totals)
        if options.full and not options.dry_run:
            Project.objects.filter(pk=project.pk).update(last_full_sync_at=timezone.now())
        status = SyncRun.Status.PARTIAL if totals.failed else SyncRun.Status.SUCCEEDED
        error = "; ".join(f"{key}: {why}" for key, why in totals.failed[:10])
        if feed_error:
            status, error = SyncRun.Status.PARTIAL, "; ".join(filter(None, [error, feed_error]))
        finished = run_finish(run, status, counters, totals, error=error)
    except JiraOutpacedError as exc:  # what was read is stored and the watermark is behind nothing unread
        return run_finish(run, SyncRun.Status.PARTIAL, counters, totals, error=str(exc))
    except JiraError as exc:
        return run_finish(run, SyncRun.Status.FAILED, counters, totals, error=str(exc))
    except Exception as exc:  # the run must say why whatever went wrong
        log.exception("sync of %s failed", project)
        return run_finish(run, SyncRun.Status.FAILED, counters, totals, error=f"{type(exc).__name__}: {exc}")
    finally:
        after_reconnect(lambda: project_claim_release(project.pk, owner))
    if parent_id is None:  # within an instance run the census follows all the projects' syncs instead
        # Here it is the run's child, and what it cost (and found) is the run's: a run's requests are every
        # request it caused.
        for census in _censuses_after_full([] if totals.failed else [project.pk], options, run.pk, site):
            finished = run_follower_add(finished, census)
    return finished


def _project_pages_sync(
    run: SyncRun,
    project: Project,
    options: RunOptions,
    site: SiteInfo | None,
    counters: RequestCounters,
    totals: PageResult,
    stop: StopSignal,
) -> bool:
    """Read and store the project's pages; True when it stopped early (the stop signal was set)."""
    instance = project.instance
    client = client_for(instance, counters, stop=stop, flavour=site.flavour if site else "")
    if site is None:
        site = site_record(instance, client)
    plan = project_plan(project, options, flavour=site.flavour)
    # The search pages come from a background thread; histories are completed on a second client (its own
    # session), sharing this run's counters, stop and the instance's budget.
    history_client = client_for(instance, counters, stop=stop, flavour=site.flavour)
    plan.retry_ids = set(IssueRetry.objects.filter(project=project).values_list("jira_id", flat=True))
    defer = not options.dry_run  # a dry run stores nothing to complete later: it completes page by page
    deferred: Deferred = {}
    outpaced: JiraOutpacedError | None = None  # the search stopped so the run ends: raised once the rest is done
    # What Jira counts for the query (its total, or the approximate count), for "pages done of pages expected";
    # a full sync without one goes by the last census.
    counted: list[int] = []
    fallback = project.census_count if options.full else None
    try:
        for page in prefetched(project_pages(client, plan, counted=counted.append)):
            result = page_sync(history_client, plan, page, run_id=run.pk, defer_histories=defer)
            deferred.update(result.deferred)
            for pack in deferred_due(deferred, final=False):
                _deferred_complete(history_client, plan, run, pack, totals, options)
            if not options.dry_run:
                watermark_advance(project, result.watermark)
            if result.inserted or result.updated:
                table_statistics_refresh()  # between pages: early in a first full sync, then as the tables double
            accumulate(totals, result)
            expected = counted[0] if counted else fallback
            log.debug(
                "page %d: %d read, %d new, %d updated, %d unchanged, %d failed (%s)",
                run.pages + 1,
                result.fetched,
                result.inserted,
                result.updated,
                result.unchanged,
                len(result.failed),
                f"{totals.fetched:,} of {expected:,} expected" if expected is not None else f"{totals.fetched:,} read",
            )
            if not run_progress(run, totals, counters, expected=expected):
                stop.set()  # Cancel was asked for
            free_memory_release()
            options.stages_add(result.seconds)
            if options.progress:
                options.progress(run, result)
            if stop.is_set():
                return True
    except JiraOutpacedError as exc:
        outpaced = exc
    if not options.dry_run:
        for pack in deferred_due(deferred, final=True):
            _deferred_complete(history_client, plan, run, pack, totals, options)
        _retries_fetch(history_client, plan, run, totals, counters)
    options.stages_add({"fetch": counters.fetch_seconds, "parse": counters.parse_seconds})
    if outpaced is not None:
        raise outpaced
    return False


def _deferred_complete(
    client: JiraClient, plan: ProjectSyncPlan, run: SyncRun, pack: Deferred, totals: PageResult, options: RunOptions
) -> None:
    """Complete a pack of the histories the pages deferred (deferred_histories), counted on the run."""
    clock = time.perf_counter()
    done = histories_complete(client, plan, pack, run_id=run.pk)
    totals.status_changes += done.status_changes
    totals.field_changes += done.field_changes
    totals.incomplete_histories += len(done.incomplete)
    options.stages_add({"histories": time.perf_counter() - clock})  # a stage of its own, as a page's completion


def _retries_fetch(
    client: JiraClient, plan: ProjectSyncPlan, run: SyncRun, totals: PageResult, counters: RequestCounters
) -> None:
    """Ask again, by id, for the issues earlier runs could not store or left with an incomplete history (the
    watermark has moved past them); what they cost is counted on this run."""
    pending = retry_ids(plan.project, before=run.started_at or timezone.now())
    if not pending:
        return
    fetched = issues_refetch(client, plan, pending, run_id=run.pk)
    if fetched.gone:  # deleted in Jira since they failed: nothing to retry (the census deals with stored ones)
        retries_clear(plan.project, [jira_id for jira_id, key in pending.items() if key in set(fetched.gone)])
    accumulate(totals, fetched.pages)  # the rows that failed again are among its pages' failures
    not_returned = [failure for failure in fetched.failed if failure not in fetched.pages.failed]
    totals.failed += not_returned
    if not_returned:
        retries_record(
            plan.project,
            {jira_id: failure for failure in not_returned for jira_id, key in pending.items() if key == failure[0]},
        )
    run_progress(run, totals, counters)


def worklog_feed_run(
    instance_id: int,
    options: RunOptions,
    counters: RequestCounters,
    stop: StopSignal,
    run_id: int,
    stored: ActivityStored,
    children: list[SyncRun] | None = None,
) -> str:
    """Read a Cloud instance's worklog feed after its projects' pages (activity.worklog_feed), on the run's
    counters, adding the worklogs it wrote and soft-deleted to `stored`; return why it failed ("" when it did,
    or had nothing to do: Data Center, worklogs off, a dry run, a census, or no project run that stored
    anything)."""
    instance = JiraInstance.objects.get(pk=instance_id)  # fresh: the switch, the flavour discovery detected
    if options.dry_run or options.census or not instance.sync_worklogs or instance.detected_flavour != "cloud":
        return ""
    ran = (SyncRun.Status.SUCCEEDED, SyncRun.Status.PARTIAL)
    if children is not None and not any(child.status in ran for child in children):
        return ""
    try:
        result = worklog_feed_sync(client_for(instance, counters, stop=stop), instance, run_id=run_id)
    except JiraCancelledError:
        return "worklog feed: stopped before it was read; the next run reads it"
    except JiraError as exc:
        log.warning("worklog feed of %s failed: %s", instance.slug, exc)
        return f"worklog feed: {exc}"
    stored.add(result.stored)  # the pending issues completed from their own endpoints
    stored.add(ActivityStored(worklogs=result.written, worklogs_deleted=result.deleted))
    log.info(
        "worklog feed: %d changed listed (%d of them stored as listed already), %d written, %d of issues not synced "
        "here, %d deleted, %d pending issues completed",
        result.listed,
        result.current,
        result.written,
        result.outside,
        result.deleted,
        result.completed,
    )
    if result.failed:
        return "worklogs: " + "; ".join(f"{key}: {why}" for key, why in result.failed[:10])
    return ""


def _cancelled(run: SyncRun, counters: RequestCounters, totals: PageResult) -> SyncRun:
    return run_finish(
        run,
        SyncRun.Status.CANCELLED,
        counters,
        totals,
        error="stopped on request (Cancel, SIGTERM or Ctrl-C); the next run resumes from the watermark",
    )


def _instance_discover(
    run: SyncRun, options: RunOptions, counters: RequestCounters, stop: StopSignal, keeper: RunKeeper
) -> SyncRun | tuple[SiteInfo, list[int]]:
    """The instance run's discovery (clients.instance_discover), under the run's lease (keeper).

    Returns the finished run when discovery failed or was stopped, or found nothing to sync; else (site, ids of
    the projects to sync).
    """
    instance = run.instance
    extras = options.full and not options.census and not options.dry_run
    try:
        client = client_for(instance, counters, stop=stop)
        site, problems = instance_discover(instance, client, extras=extras, project_keys=options.project_keys)
        # What was not read ends the run partial: kept on its row until it closes (maybe in another process).
        if problems:
            SyncRun.objects.filter(pk=run.pk).update(error="; ".join(problems))
    except JiraCancelledError:
        if keeper.lost:
            return run_finish(run, SyncRun.Status.FAILED, counters, error=f"stopped: {keeper.lost}")
        return run_finish(run, SyncRun.Status.CANCELLED, counters, error="stopped on request during discovery")
    except (JiraError, ValueError) as exc:
        return run_finish(run, SyncRun.Status.FAILED, counters, error=f"project discovery failed: {exc}")
    project_ids = list(projects_to_sync(instance, options.project_keys).values_list("id", flat=True))
    SyncRun.objects.filter(pk=run.pk).update(**counts(None, counters))
    if not project_ids:
        # Nothing synced is not a success: the run says why, and the dashboard and the command say so too.
        error = nothing_to_sync(instance, options.project_keys)
        return run_finish(run, SyncRun.Status.SKIPPED, counters, error=error)
    log.info("%d projects to %s", len(project_ids), "take the census of" if options.census else "sync")
    return site, project_ids


def sync_instance_fan_out(
    instance_id: int, options: RunOptions, run_id: int | None = None
) -> tuple[SyncRun, list[int]]:
    """The first half of an instance run spread over queue workers: discover, then name the projects to sync.

    Each project is then synced by its own task (sync_project with this run as parent); the last one
    to finish closes this run (and, after a full sync, takes the census of every project in turn).
    """
    run = instance_run_begin(instance_id, options, run_id)
    if not run.is_active:
        return run, []
    counters = RequestCounters()
    stop = StopSignal(options.stop)
    try:
        with run_log_capture(run.pk), RunKeeper(run, stop, owner=run.owner) as keeper:
            found = _instance_discover(run, options, counters, stop, keeper)
            if isinstance(found, SyncRun):
                return found, []
            site, project_ids = found
            children = _censuses(project_ids, options, run.pk, site) if options.census else []
        if options.census:
            return _closed(run_close_parent(run, children, counters), options), []
        SyncRun.objects.filter(pk=run.pk).update(expected_children=len(project_ids))
        return run, project_ids
    except Exception as exc:  # the run must say why whatever went wrong
        return run_end_unexpected(run, exc, counters), []


def child_finished(parent_id: int, options: RunOptions) -> SyncRun | None:
    """Close a fanned-out run when its last project run finished; None while others are still going."""
    parent = SyncRun.objects.get(pk=parent_id)
    children = list(SyncRun.objects.filter(parent_id=parent_id).exclude(kind=SyncRun.Kind.CENSUS))
    done = [c for c in children if not c.is_active]
    if len(done) < parent.expected_children:
        return None
    # Only one child closes it: the conditional update decides which.
    if not SyncRun.objects.filter(pk=parent_id, expected_children=parent.expected_children).update(expected_children=0):
        return None
    try:
        children = done + _censuses_after_full(_synced_whole(done), options, parent_id)
        counters = RequestCounters()
        feed = ActivityStored()
        stop = StopSignal(options.stop)
        feed_error = worklog_feed_run(parent.instance_id, options, counters, stop, parent_id, feed, done)
        run_feed_record(parent_id, feed)
        # What the feed cost is the parent's own (run_close_parent reads them from its row).
        SyncRun.objects.filter(pk=parent_id).update(**{name: F(name) + getattr(counters, name) for name in OWN_COUNTS})
        closed = run_close_parent(parent, children, None, own_error=own_error(parent_id, feed_error))
        return _closed(closed, options)
    except Exception as exc:  # the run must say why whatever went wrong
        return run_end_unexpected(parent, exc)


def census_project_run(
    project_id: int,
    options: RunOptions,
    parent_id: int | None = None,
    site: SiteInfo | None = None,
    run_id: int | None = None,
) -> SyncRun:
    """A census of one project as its own SyncRun (kind census): listed, moved/restored, deleted, and the
    listed issues never stored fetched and stored (`recovered`; any that could not be make it partial).
    run_id: a queued census run to adopt (a Retry)."""
    project = Project.objects.select_related("instance").get(pk=project_id)
    if run_id:
        run = run_adopt_or_start(run_id, project.instance, project, options, parent_id, owner=new_owner())
        if not run.is_active:
            return run  # cancelled before its task started
    else:
        run = run_start(project.instance, project, options, parent_id, kind=SyncRun.Kind.CENSUS, owner=new_owner())
    if project.instance.being_deleted:
        return run_finish(run, SyncRun.Status.SKIPPED, None, error=BEING_DELETED)
    with run_log_capture(run.pk):
        try:
            return _census_run(run, project, options, site)
        except Exception as exc:  # the run must say why whatever went wrong
            return run_end_unexpected(run, exc)


def _census_run(run: SyncRun, project: Project, options: RunOptions, site: SiteInfo | None) -> SyncRun:
    if run.cancel_requested:
        return run_finish(run, SyncRun.Status.CANCELLED, None, error="cancelled before it started")
    counters = RequestCounters()
    stop = StopSignal(options.stop)
    try:
        with RunKeeper(run, stop, owner=run.owner):
            client = client_for(project.instance, counters, stop=stop, flavour=site.flavour if site else "")
            plan = project_plan(project, options, flavour=site.flavour if site else "")
            result = census_project(project, client, plan, run_id=run.pk)
    except JiraCancelledError:
        return run_finish(run, SyncRun.Status.CANCELLED, counters, error="stopped on request")
    except (JiraError, CensusRefused) as exc:
        return run_finish(run, SyncRun.Status.FAILED, counters, error=str(exc))
    except Exception as exc:  # the run must say why whatever went wrong
        log.exception("census of %s failed", project)
        return run_finish(run, SyncRun.Status.FAILED, counters, error=f"{type(exc).__name__}: {exc}")
    return run_census_finish(run, result, counters)


def _in_thread(function, *args):
    try:
        return function(*args)
    finally:
        connections.close_all()  # each worker thread has its own connection
