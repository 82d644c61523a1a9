"""Sync-run bookkeeping: a run's options from its kind, its start (or adoption from the queue) and the claim
on its project, its lease while it runs, its progress, its end, and the parent run its children add up to —
the same for every kind of run, the webhook refresh's included.

Liveness is a lease. The worker running a run renews it in the background (RunKeeper: the project's claim
and the run's heartbeat, every quarter of JIRASYNC_CLAIM_LEASE_SECONDS) and stops the run when it cannot.
A run whose heartbeat is older than the lease is ended as abandoned — by the next run of its project and
by the queue's heartbeat task — so no run stays "running" after its worker died. Cancel asks a run to
stop: it does at its next page, and any request in flight ends within a second.
"""

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, close_old_connections, connection
from django.db.models import F, Q, Sum
from django.utils import timezone

from activity.services import ActivityStored
from audit.services import SYNC, Actor, Change, audit_record
from lib.log_redaction import redact
from projects.models import JiraInstance, Project
from syncing.engine.pipeline import PageResult
from syncing.jira.client import RequestCounters
from syncing.models import SyncRun
from syncing.runs.census import CensusResult
from syncing.runs.claims import new_owner, project_claim, project_claim_holder, project_claim_renew
from syncing.runs.run_log import run_log_capture, run_log_flush
from syncing.site.connection_test import without_name

log = logging.getLogger(__name__)

BEING_DELETED = "the instance is being deleted"
Progress = Callable[[SyncRun, PageResult], None]
# What a run stored besides issues: field history items, comments and worklogs written and soft-deleted.
ACTIVITY_COUNTS = ("field_changes", "comments", "worklogs", "comments_deleted", "worklogs_deleted")
# What an instance run writes itself, after its project runs: the Cloud worklog feed (activity.worklog_feed).
FEED_COUNTS = ("worklogs", "worklogs_deleted")
# Run columns a parent run sums over its children.
SUMMED = (
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
    *ACTIVITY_COUNTS,
)
OWN_COUNTS = ("requests", "retries", "rate_limited")  # what an instance run's own requests (discovery) cost
# What a run adds up from every child, the census that follows a full sync included (what storing the issues
# it recovered wrote besides them).
FOLLOWER_COUNTS = (*OWN_COUNTS, "deleted", "recovered", *ACTIVITY_COUNTS)


class StopSignal:
    """A stop for one run: set by Cancel or a lost lease, and by any parent signal (SIGTERM for a command).

    Offers what a JiraClient needs of an Event: is_set() and an interruptible wait().
    """

    def __init__(self, *parents: "threading.Event | StopSignal | None") -> None:
        self._own = threading.Event()
        self._parents = [parent for parent in parents if parent is not None]

    def set(self) -> None:
        self._own.set()

    def is_set(self) -> bool:
        return self._own.is_set() or any(parent.is_set() for parent in self._parents)

    def wait(self, timeout: float | None = None) -> bool:
        end = None if timeout is None else time.monotonic() + timeout
        while not self.is_set():
            remaining = 0.25 if end is None else min(0.25, end - time.monotonic())
            if remaining <= 0:
                return False
            self._own.wait(remaining)
        return True


@dataclass
class RunOptions:
    full: bool = False
    trigger: str = SyncRun.Trigger.COMMAND
    dry_run: bool = False
    project_keys: tuple[str, ...] = ()
    census: bool = False  # a census only: which issues Jira has, both ways; no sync
    stop: threading.Event | StopSignal | None = None  # set it to stop every run of these options (SIGTERM)
    progress: Progress | None = None
    # When given, filled with seconds per stage (fetch, parse, process, histories, store, derive), summed.
    stage_seconds: dict[str, float] | None = None

    def stages_add(self, seconds: dict[str, float]) -> None:
        """Book seconds per stage ({stage: seconds}) into stage_seconds, when it is asked for."""
        if self.stage_seconds is None:
            return
        for stage, spent in seconds.items():
            self.stage_seconds[stage] = self.stage_seconds.get(stage, 0.0) + spent

    @property
    def kind(self) -> str:
        if self.census:
            return SyncRun.Kind.CENSUS
        return SyncRun.Kind.FULL if self.full else SyncRun.Kind.INCREMENTAL


def options_for(kind: str, trigger: str, **extra: Any) -> RunOptions:
    """The one place a run kind ("incremental", "full", "census") becomes RunOptions, for every door (tasks,
    admin, Retry, sync_jira); extra: the other options (dry_run, project_keys, stop, progress). ValueError for
    another kind."""
    if kind not in (SyncRun.Kind.INCREMENTAL, SyncRun.Kind.FULL, SyncRun.Kind.CENSUS):
        raise ValueError(f"unknown run kind {kind!r}")
    return RunOptions(full=kind == SyncRun.Kind.FULL, census=kind == SyncRun.Kind.CENSUS, trigger=trigger, **extra)


def lease() -> timedelta:
    return timedelta(seconds=settings.JIRASYNC_CLAIM_LEASE_SECONDS)


def after_reconnect[T](write: Callable[[], T]) -> T:
    """Run a bookkeeping write; if the database connection was cut (a restart, pg_terminate_backend),
    open a fresh one and write again, so a run can still say how it ended."""
    try:
        return write()
    except (OperationalError, InterfaceError):
        connection.close()
        return write()


def run_queue(instance: JiraInstance, project: Project | None, options: RunOptions) -> SyncRun:
    """A run recorded as queued before its task starts, so the operator can follow it from the start."""
    return SyncRun.objects.create(
        instance=instance,
        project=project,
        kind=options.kind,
        trigger=options.trigger,
        status=SyncRun.Status.QUEUED,
        dry_run=options.dry_run,
    )


def run_start(
    instance: JiraInstance,
    project: Project | None,
    options: RunOptions,
    parent_id: int | None,
    *,
    kind: str = "",
    owner: str = "",
) -> SyncRun:
    close_old_connections()
    now = timezone.now()
    run = SyncRun.objects.create(
        instance=instance,
        project=project,
        parent_id=parent_id,
        kind=kind or options.kind,
        trigger=options.trigger,
        status=SyncRun.Status.RUNNING,
        started_at=now,
        heartbeat_at=now,
        owner=owner,
        watermark_before=project.sync_watermark if project else None,
        dry_run=options.dry_run,
    )
    _started(run, instance, project)
    return run


def run_adopt_or_start(
    run_id: int | None,
    instance: JiraInstance,
    project: Project | None,
    options: RunOptions,
    parent_id: int | None,
    *,
    owner: str = "",
) -> SyncRun:
    """The queued run run_id, now running (when it is still queued); as it is when it was cancelled before it
    started (the caller does nothing more: check `is_active`); else a new running run."""
    now = timezone.now()
    if run_id and SyncRun.objects.filter(pk=run_id, status=SyncRun.Status.QUEUED).update(
        status=SyncRun.Status.RUNNING,
        started_at=now,
        heartbeat_at=now,
        owner=owner,
        watermark_before=project.sync_watermark if project else None,
    ):
        run = SyncRun.objects.get(pk=run_id)
        _started(run, instance, project)
        return run
    cancelled = SyncRun.objects.filter(pk=run_id, status=SyncRun.Status.CANCELLED).first() if run_id else None
    if cancelled is not None:
        return cancelled  # Cancel came before its task did: the task has nothing to do
    return run_start(instance, project, options, parent_id, owner=owner)


def instance_run_begin(instance_id: int, options: RunOptions, run_id: int | None) -> SyncRun:
    """The instance run, started (or adopted from the queue) once the runs a dead worker left are ended; ended
    skipped when the instance is being deleted, cancelled when Cancel came first (check `is_active`)."""
    instance = JiraInstance.objects.get(pk=instance_id)
    runs_abandoned_close(instance_id=instance_id)  # runs left "running" by a dead worker, the instance runs too
    run = run_adopt_or_start(run_id, instance, None, options, None, owner=new_owner())
    if instance.being_deleted and run.is_active:
        return run_finish(run, SyncRun.Status.SKIPPED, None, error=BEING_DELETED)
    if run.is_active and run.cancel_requested:
        return run_finish(run, SyncRun.Status.CANCELLED, None, error="cancelled before it started")
    return run  # not active: cancelled before its task started


def project_run_claim(
    run: SyncRun, project_id: int, *, dry_run: bool = False, stop: StopSignal | None = None
) -> SyncRun | None:
    """Take the project for the run (its owner) before it writes anything; None when it holds it, else the run
    ended: cancelled when Cancel came first, skipped when another run holds the project (named). A webhook
    refresh holds a project for one issue: while one does, the claim is asked again every tenth of a second
    for up to a quarter of a lease (a set stop ends the wait); a sync or census holding it is not waited for.
    A dry run writes nothing and claims nothing. The run starts working once it holds the project (started_at)."""
    if run.cancel_requested:
        return run_finish(run, SyncRun.Status.CANCELLED, None, error="cancelled before it started")
    if dry_run:
        return None
    deadline = time.monotonic() + lease().total_seconds() / 4
    pause = stop or StopSignal()
    while not project_claim(project_id, run.owner):
        left = deadline - time.monotonic()
        if left <= 0 or not _refresh_holds(project_id) or pause.wait(min(0.1, left)):
            return run_finish(run, SyncRun.Status.SKIPPED, None, error=_held_by(project_id))
    run.started_at = timezone.now()
    SyncRun.objects.filter(pk=run.pk).update(started_at=run.started_at)
    return None


def _refresh_holds(project_id: int) -> bool:
    """Whether the project's claim is held by a webhook refresh (a moment's hold, worth waiting for)."""
    _, running = _holding_run(project_id)
    return running is not None and running[1] == SyncRun.Kind.WEBHOOK


def _held_by(project_id: int) -> str:
    """Who holds the project: the run it is running, when there is one."""
    holder, running = _holding_run(project_id)
    if running:
        return f"already being synced by run #{running[0]} (worker {holder})"
    return f"already being synced by worker {holder}"


def _holding_run(project_id: int) -> tuple[str, tuple[int, str] | None]:
    """The worker holding the project's claim, and the (id, kind) of the run it is running there, if any."""
    holder = project_claim_holder(project_id)
    running = (
        SyncRun.objects.filter(project_id=project_id, owner=holder, status=SyncRun.Status.RUNNING)
        .values_list("pk", "kind")
        .first()
    )
    return holder, running


def _started(run: SyncRun, instance: JiraInstance, project: Project | None) -> None:
    """Say in the run's log (and the process's) that it started; audit the start of a top-level sync (a webhook
    refresh, one issue, is audited once, by its end)."""
    with run_log_capture(run.pk):
        log.info(
            "%s started%s%s",
            run,
            " (dry run: nothing is written)" if run.dry_run else "",
            f"; watermark {run.watermark_before:%Y-%m-%d %H:%M:%S} UTC" if run.watermark_before else "",
        )
    if run.parent_id is None and run.kind != SyncRun.Kind.WEBHOOK:
        _audit_start(run, instance, project)


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


def accumulate(totals: PageResult, page: PageResult) -> None:
    totals.fetched += page.fetched
    totals.inserted += page.inserted
    totals.updated += page.updated
    totals.unchanged += page.unchanged
    totals.failed += page.failed
    totals.status_changes += page.status_changes
    totals.incomplete_histories += page.incomplete_histories
    totals.field_changes += page.field_changes
    totals.activity.add(page.activity)
    totals.watermark = max(filter(None, [totals.watermark, page.watermark]), default=None)


def counts(totals: PageResult | None, counters: RequestCounters | None, pages: int | None = None) -> dict:
    """The run columns for what totals and counters say so far."""
    values: dict[str, Any] = {}
    if totals is not None:
        values.update(
            fetched=totals.fetched,
            inserted=totals.inserted,
            updated=totals.updated,
            unchanged=totals.unchanged,
            failed_rows=len(totals.failed),
            status_changes=totals.status_changes,
            incomplete_histories=totals.incomplete_histories,
            field_changes=totals.field_changes,
            comments=totals.activity.comments,
            worklogs=totals.activity.worklogs,
            comments_deleted=totals.activity.comments_deleted,
            worklogs_deleted=totals.activity.worklogs_deleted,
        )
    if counters is not None:
        values.update(requests=counters.requests, retries=counters.retries, rate_limited=counters.rate_limited)
    if pages is not None:
        values["pages"] = pages
    return values


def run_progress(run: SyncRun, totals: PageResult, counters: RequestCounters, *, expected: int | None = None) -> bool:
    """Record a page's progress on the run (and what Jira counted for it, when known), then write what the
    run logged meanwhile; False when Cancel was asked for (the run should stop now)."""
    run.pages += 1
    values = counts(totals, counters, run.pages)
    if expected is not None:
        values["expected_issues"] = expected
    written = SyncRun.objects.filter(pk=run.pk, cancel_requested=False).update(heartbeat_at=timezone.now(), **values)
    for name, value in values.items():
        setattr(run, name, value)
    if not written:
        SyncRun.objects.filter(pk=run.pk).update(**values)
    run_log_flush(run.pk)
    return bool(written)


def run_finish(
    run: SyncRun, status: str, counters: RequestCounters | None, totals: PageResult | None = None, *, error: str = ""
) -> SyncRun:
    """Record how a run ended (counts, status, the sanitized error), audit it, log it; return it refreshed."""
    return after_reconnect(lambda: _run_finish(run, status, counters, totals, error=error))


def _run_finish(
    run: SyncRun, status: str, counters: RequestCounters | None, totals: PageResult | None = None, *, error: str = ""
) -> SyncRun:
    values = counts(totals, counters)
    values.update(status=status, finished_at=timezone.now(), error=redact(error)[:4000])
    if run.project_id:
        values["watermark_after"] = (
            Project.objects.filter(pk=run.project_id).values_list("sync_watermark", flat=True).first()
        )
    else:
        values.update({name: getattr(run, name) for name in (*SUMMED, "expected_issues")})
    SyncRun.objects.filter(pk=run.pk).update(**values)
    run.refresh_from_db()
    with run_log_capture(run.pk):
        log.log(
            # A project skipped because another run holds it is routine; an instance with nothing to sync is not.
            logging.INFO
            if status == SyncRun.Status.SUCCEEDED or (status == SyncRun.Status.SKIPPED and run.project_id)
            else logging.WARNING,
            "%s %s%s: %d fetched, %d inserted, %d updated, %d failed, %d requests, %d retries, %d × 429%s",
            run,
            status,
            " (dry run)" if run.dry_run else "",
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


def run_census_finish(run: SyncRun, result: CensusResult, counters: RequestCounters) -> SyncRun:
    """Record what a census found and stored (listed, moved and restored, deleted, the never-stored issues it
    recovered and what storing them wrote) and end it: partial when some could not be stored, naming them."""
    stored = result.stored_pages
    SyncRun.objects.filter(pk=run.pk).update(
        fetched=result.listed,
        inserted=stored.inserted,
        updated=len(result.moved) + len(result.restored) + stored.updated,
        status_changes=stored.status_changes,
        incomplete_histories=stored.incomplete_histories,
        field_changes=stored.field_changes,
        comments=stored.activity.comments,
        worklogs=stored.activity.worklogs,
        comments_deleted=stored.activity.comments_deleted,
        worklogs_deleted=stored.activity.worklogs_deleted,
        deleted=len(result.deleted),
        recovered=len(result.recovered),
        failed_rows=len(result.unrecovered),
    )
    if result.unrecovered:
        error = "; ".join(f"{key}: {why}" for key, why in result.unrecovered[:10])
        return run_finish(run, SyncRun.Status.PARTIAL, counters, error=f"not stored: {error}")
    return run_finish(run, SyncRun.Status.SUCCEEDED, counters)


def run_end_unexpected(
    run: SyncRun, exc: Exception, counters: RequestCounters | None = None, totals: PageResult | None = None
) -> SyncRun:
    """End a run failed with the reason when something unexpected escaped its work (a database error, a bug),
    so no run stays "running"; a run that had already ended keeps how it ended. Returns it refreshed."""
    log.error("%s: %s escaped the run", run, type(exc).__name__, exc_info=exc)
    if not after_reconnect(lambda: SyncRun.objects.filter(pk=run.pk, status__in=SyncRun.ACTIVE).exists()):
        run.refresh_from_db()
        return run
    return run_finish(run, SyncRun.Status.FAILED, counters, totals, error=f"{type(exc).__name__}: {exc}")


def run_close_parent(
    run: SyncRun, children: list[SyncRun], counters: RequestCounters | None, *, own_error: str = ""
) -> SyncRun:
    """Sum the children into the parent and give it the status they add up to; own_error: what failed in the
    parent's own work (the worklog feed, the boards and catalogues of a full sync) — a run that would have succeeded
    ends partial."""
    failed = [child for child in children if child.status in (SyncRun.Status.FAILED, SyncRun.Status.ABANDONED)]
    # The children of the run's own kind add up; the censuses that follow full syncs add what they deleted
    # and recovered, and the requests they made: a run's requests are every request it caused.
    sums = SyncRun.objects.filter(parent=run, kind=run.kind).aggregate(
        **{name: Sum(name) for name in SUMMED}, expected_issues=Sum("expected_issues")
    )
    sums.update(SyncRun.objects.filter(parent=run).aggregate(**{name: Sum(name) for name in FOLLOWER_COUNTS}))
    # The instance run's own row: what its worklog feed wrote (run_feed_record, before it closes) and the
    # requests of its own (discovery), those in hand in this process if any, else as it recorded them.
    own = SyncRun.objects.filter(pk=run.pk).values(*OWN_COUNTS, *FEED_COUNTS).first() or {}
    if counters:
        own.update({name: getattr(counters, name) for name in OWN_COUNTS})
    for name in SUMMED:
        setattr(run, name, (sums[name] or 0) + own.get(name, 0))
    run.expected_issues = sums["expected_issues"]  # what Jira counted for its project runs
    if children and all(child.status == SyncRun.Status.CANCELLED for child in children):
        status = SyncRun.Status.CANCELLED
    elif failed and len(failed) == len(children):
        status = SyncRun.Status.FAILED
    elif failed or any(child.status in (SyncRun.Status.PARTIAL, SyncRun.Status.CANCELLED) for child in children):
        status = SyncRun.Status.PARTIAL
    else:
        status = SyncRun.Status.SUCCEEDED
    if own_error and status == SyncRun.Status.SUCCEEDED:
        status = SyncRun.Status.PARTIAL
    error = "; ".join(
        [
            *(
                f"{child.project.key if child.project else '?'} ({child.kind}): "
                f"{without_name(run.instance, child.error)}"
                for child in children
                if child.error
            ),
            *([without_name(run.instance, own_error)] if own_error else []),
        ]
    )
    return run_finish(run, status, None, error=error)


def own_error(run_id: int, feed_error: str) -> str:
    """What failed in an instance run's own work: the full sync's extras (kept on its row by discovery) and
    the worklog feed."""
    extras = SyncRun.objects.filter(pk=run_id).values_list("error", flat=True).first() or ""
    return "; ".join(problem for problem in (extras, feed_error) if problem)


def run_feed_record(run_id: int, stored: ActivityStored) -> None:
    """Add what an instance run's worklog feed wrote and soft-deleted to its row (run_close_parent adds its
    project runs' to that)."""
    if stored.worklogs or stored.worklogs_deleted:
        SyncRun.objects.filter(pk=run_id).update(
            worklogs=F("worklogs") + stored.worklogs, worklogs_deleted=F("worklogs_deleted") + stored.worklogs_deleted
        )


def run_follower_add(run: SyncRun, follower: SyncRun) -> SyncRun:
    """Add to a finished run what the run that followed it (the census after a project's full sync) cost in
    requests and found deleted or recovered; return the run refreshed."""
    values = {name: F(name) + (getattr(follower, name) or 0) for name in FOLLOWER_COUNTS}
    after_reconnect(lambda: SyncRun.objects.filter(pk=run.pk).update(**values))
    run.refresh_from_db()
    return run


class RunKeeper:
    """Keeps a running run's lease in the background: every quarter of the lease it renews the run's
    heartbeat (and the project's claim, for a project run) and looks for Cancel.

    When the lease cannot be renewed (another worker took the project after it expired, the database is
    gone for half a lease) or Cancel was asked for, it sets `stop`, and says why in `lost` / `cancelled`.
    Use as a context manager around the run's work.
    """

    def __init__(self, run: SyncRun, stop: StopSignal, *, project_id: int | None = None, owner: str = "") -> None:
        self.run_id, self.project_id, self.owner, self.stop = run.pk, project_id, owner, stop
        self.interval = lease().total_seconds() / 4
        self.lost = ""
        self.cancelled = False
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"jirasync-lease-{run.pk}", daemon=True)

    def hold(self, project_id: int) -> None:
        """Renew the project's claim too from now on: a run that learnt its project once running (a webhook
        refresh) and has just claimed it (project_run_claim)."""
        self.project_id = project_id

    def __enter__(self) -> "RunKeeper":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()

    def _loop(self) -> None:
        renewed = time.monotonic()
        try:
            while not self._done.wait(self.interval):
                try:
                    self._renew()
                    renewed = time.monotonic()
                except DatabaseError as exc:
                    connection.close()
                    if time.monotonic() - renewed > lease().total_seconds() / 2:
                        self.lost = f"could not renew its lease for half of it ({type(exc).__name__})"
                        self.stop.set()
                if self.lost or self.cancelled:
                    return
        finally:
            connection.close()  # this thread's own connection

    def _renew(self) -> None:
        run_log_flush(self.run_id)  # what the run logged since its last page, visible while it waits
        kept = SyncRun.objects.filter(pk=self.run_id, status=SyncRun.Status.RUNNING).update(heartbeat_at=timezone.now())
        if not kept:
            self.lost = "the run was ended by someone else (abandoned after its lease expired?)"
        elif self.project_id is not None and not project_claim_renew(self.project_id, self.owner):
            self.lost = "its claim on the project was taken by another worker after the lease expired"
        elif SyncRun.objects.filter(pk=self.run_id, cancel_requested=True).exists():
            self.cancelled = True
        if self.lost or self.cancelled:
            self.stop.set()


def runs_abandoned_close(*, project_id: int | None = None, instance_id: int | None = None) -> int:
    """End as abandoned the runs whose worker stopped renewing their lease; return how many.

    Running project and webhook runs: heartbeat older than the lease. Running instance runs: the same, and
    none of their project runs still active. Queued runs: never started within the queue's retry window
    (Q_RETRY × Q_MAX_ATTEMPTS) and a lease. project_id: that project's runs and its instance's instance runs
    (the next run of a project ends the instance run a killed worker left too, not only its project run);
    instance_id: every run of that instance. Project runs are ended before the instance runs they belong to.
    """
    now = timezone.now()
    cutoff = now - lease()
    stale = SyncRun.objects.filter(status=SyncRun.Status.RUNNING).filter(
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, started_at__lt=cutoff)
    )
    if project_id is not None:
        of_instance = Project.objects.filter(pk=project_id).values_list("instance_id", flat=True).first()
        stale = stale.filter(Q(project_id=project_id) | Q(project__isnull=True, instance_id=of_instance))
    elif instance_id is not None:
        stale = stale.filter(instance_id=instance_id)
    stale = stale.order_by(F("project_id").asc(nulls_last=True), "pk")
    ended = 0
    for run in stale.select_related("instance", "project"):
        if run.project_id is None and run.children.filter(status__in=SyncRun.ACTIVE, heartbeat_at__gte=cutoff).exists():
            continue  # an instance run whose project runs carry on elsewhere
        if run.project_id is None and run.children.filter(status=SyncRun.Status.QUEUED).exists():
            continue
        seen = run.heartbeat_at or run.started_at
        why = (
            f"its worker ({run.owner or 'unknown'}) stopped renewing its lease (last seen "
            f"{seen:%Y-%m-%d %H:%M:%S} UTC); the next run resumes from the watermark"
        )
        if SyncRun.objects.filter(pk=run.pk, status=SyncRun.Status.RUNNING).update(
            status=SyncRun.Status.ABANDONED, finished_at=now, error=why
        ):
            ended += 1
            _audit_end(run, SyncRun.Status.ABANDONED, why)
    queue_window = timedelta(seconds=settings.Q_CLUSTER["retry"] * settings.Q_CLUSTER.get("max_attempts", 1))
    never_started = SyncRun.objects.filter(status=SyncRun.Status.QUEUED, created_at__lt=cutoff - queue_window)
    if project_id is not None:
        never_started = never_started.filter(project_id=project_id)
    elif instance_id is not None:
        never_started = never_started.filter(instance_id=instance_id)
    for run in never_started.select_related("instance", "project"):
        why = "its task never started (the queue lost it); queue the run again"
        if SyncRun.objects.filter(pk=run.pk, status=SyncRun.Status.QUEUED).update(
            status=SyncRun.Status.ABANDONED, finished_at=now, error=why
        ):
            ended += 1
            _audit_end(run, SyncRun.Status.ABANDONED, why)
    return ended


def run_cancel(run: SyncRun, *, actor: Actor) -> int:
    """Ask the run and its active project runs to stop; queued ones end now as cancelled. Returns how many
    runs were asked (0 when none was active)."""
    targets = SyncRun.objects.filter(Q(pk=run.pk) | Q(parent_id=run.pk), status__in=SyncRun.ACTIVE)
    asked = targets.update(cancel_requested=True)
    now = timezone.now()
    for queued in SyncRun.objects.filter(Q(pk=run.pk) | Q(parent_id=run.pk), status=SyncRun.Status.QUEUED):
        if SyncRun.objects.filter(pk=queued.pk, status=SyncRun.Status.QUEUED).update(
            status=SyncRun.Status.CANCELLED, finished_at=now, error=f"cancelled by {actor.name} before it started"
        ):
            _audit_end(queued, SyncRun.Status.CANCELLED, f"cancelled by {actor.name} before it started")
    if asked:
        with run_log_capture(run.pk):
            log.info("cancel asked for by %s; runs asked to stop: %d", actor.name, asked)
        audit_record(
            actor=actor,
            change=Change(
                "sync_cancel",
                "syncing.syncrun",
                str(run.pk),
                str(run),
                f"cancel asked for {run} (and {asked - 1} project runs)",
                instance_slug=run.instance.slug,
            ),
            sync_run_id=run.pk,
        )
    return asked


def _audit_end(run: SyncRun, status: str, why: str) -> None:
    if run.parent_id is not None:
        return
    audit_record(
        actor=SYNC,
        change=Change(
            "sync_end",
            "syncing.syncrun",
            str(run.pk),
            str(run),
            f"{run.get_kind_display()} sync {SyncRun.Status(status).label.lower()} — {why}",
            instance_slug=run.instance.slug,
        ),
        sync_run_id=run.pk,
    )
