"""One project's sync: client → processor → store → derive, committed page by page.

A page flows one way (page_sync): prepare every issue (an answer without its fields costs its row); look up
what is stored, once, and skip the unchanged; make the changed issues' lists whole and complete their
truncated histories through the client; then in one transaction upsert, derive (status history, milestones,
time in status, …) and audit; commit; then the caller advances the watermark to the highest `updated`
committed. What is fixed for the run comes with the plan (syncing.engine.plan). Pages arrive oldest `updated` first
(seek paging), so a crash at any moment resumes from the last committed page.
"""

import logging
import time
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from activity.fetch import Gathered, activity_gather
from activity.selectors import worklogs_disagreeing
from activity.services import ActivityStored, activity_store
from agile.membership import SprintStay, sprint_moves, sprint_stays
from agile.services import issue_sprints_replace, sprints_upsert
from audit.services import SYNC, Change, audit_record_many
from config.selectors import milestone_ids
from projects.models import Project
from syncing.engine.epic_link import epic_links_add
from syncing.engine.field_history import field_changes_replace, field_items_of
from syncing.engine.history import (
    Transition,
    history_wanted,
    milestones_replace,
    status_changes_replace,
    status_transitions,
    stored_histories,
    time_in_status_replace,
)
from syncing.engine.plan import ProjectSyncPlan
from syncing.engine.prepare import PreparedIssue, UnstorableIssue, prepare_issue
from syncing.engine.relations import relations_replace
from syncing.engine.store import (
    StoredIssue,
    StoredState,
    UpsertResult,
    issue_unchanged,
    issues_upsert,
    retries_clear,
    retries_record,
    stored_issues,
)
from syncing.jira.client import JiraClient
from syncing.jira.errors import JiraNotFoundError

log = logging.getLogger(__name__)


@dataclass
class PageResult:
    fetched: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    status_changes: int = 0
    field_changes: int = 0  # changelog items of kept fields stored for the first time
    incomplete_histories: int = 0
    watermark: datetime | None = None
    # Issues stored with a truncated history whose completion the caller took on:
    # {jira_id: (key, how many entries Jira says it has — None when it did not say)}.
    deferred: dict[int, tuple[str, int | None]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)  # process, store, derive
    activity: ActivityStored = field(default_factory=ActivityStored)  # comments and worklogs written, deleted


def page_sync(
    client: JiraClient, plan: ProjectSyncPlan, page: list[dict], *, run_id: int | None, defer_histories: bool = False
) -> PageResult:
    """_page_sync (below), once more when its transaction failed because a milestone the plan points at was
    deleted while the run worked (a mapping reload, admin): the plan's milestone ids are read again, and a rule
    whose milestone is gone gives no row, as at the start of a run. Raises what _page_sync raises."""
    try:
        return _page_sync(client, plan, page, run_id=run_id, defer_histories=defer_histories)
    except IntegrityError:
        kept = milestone_ids()
        if kept == plan.milestone_ids:
            raise
        log.warning("the milestones changed while the run worked: the page is stored again with those kept now")
        plan.milestone_ids = kept
        return _page_sync(client, plan, page, run_id=run_id, defer_histories=defer_histories)


def _page_sync(
    client: JiraClient, plan: ProjectSyncPlan, page: list[dict], *, run_id: int | None, defer_histories: bool = False
) -> PageResult:
    """Store one page and derive what follows from it, in one transaction; return what it did and where the
    time went (PageResult.seconds: process, histories, store, derive).

    The page flows one way:
      1. prepare every issue (an answer that cannot be a row costs its row, retried next run);
      2. look up what is stored of them, once, and leave out the unchanged;
      3. make the changed issues' comments, worklogs and epic links whole (Jira asked, before the transaction);
      4. complete their truncated histories through the client, which hides the flavour — or, with
         defer_histories, store them flagged incomplete and list them in `deferred` for the caller to complete
         in batches (deferred_histories.histories_complete);
      5. in one transaction: upsert, derive (status history, milestones, time in status, field history,
         relations, sprints, comments and worklogs), audit.
    Jira is asked nothing inside the transaction.
    """
    result = PageResult(fetched=len(page))
    clock = time.perf_counter()
    flow = _prepared(plan, page, result)
    flow.stored = stored_issues(plan.project.instance, [item.jira_id for item in flow.prepared])
    flow.changed = [
        item for item in flow.prepared if not issue_unchanged(item, flow.stored.get(item.jira_id), plan.project)
    ]
    if plan.full and plan.activity.worklogs:
        flow.changed += _worklogs_to_verify(plan.project, page, flow.prepared, flow.changed)
    _lists_complete(client, plan, flow, result)
    result.unchanged = len(flow.prepared) - len(flow.changed)
    clock = _lap(result, "process", clock)
    _histories_complete(client, flow, result, defer=defer_histories)
    clock = _lap(result, "histories", clock)
    if flow.prepared:
        updated = (item.columns["updated"] for item in flow.prepared)
        result.watermark = max((moment for moment in updated if moment), default=None)
    if plan.dry_run:
        return result
    if not flow.changed:
        _nothing_changed(plan, flow, result, run_id)
        return result
    unpreparable = list(result.failed)
    now = timezone.now()
    with transaction.atomic():
        upserted = _upsert(plan, flow, result, now)
        clock = _lap(result, "store", clock)
        _derive(plan, flow, upserted, result, now, run_id)
        result.deferred = {
            item.jira_id: (item.key, None if item.jira_id in flow.unknown_totals else item.changelog_total)
            for item in flow.changed
            if item.jira_id in flow.deferred and item.jira_id in flow.written
        }
        audit_record_many(
            actor=SYNC,
            changes=_audit_changes(
                plan.project,
                upserted.stored,
                unpreparable + upserted.failed,
                [item for item in flow.incomplete if item.jira_id in flow.written],
                flow.still_unknown,
            ),
            sync_run_id=run_id,
        )
    _lap(result, "derive", clock)  # histories, milestones, audit and the commit
    return result


@dataclass
class _PageFlow:
    """One page on its way through page_sync's stages: what each stage found, for the next."""

    prepared: list[PreparedIssue]
    failures: dict[int, tuple[str, str]]  # rows that could not be stored, by Jira id: retried next run
    page: list[dict[str, Any]]
    stored: dict[int, StoredState] = field(default_factory=dict)  # the one lookup, before the transaction
    changed: list[PreparedIssue] = field(default_factory=list)
    activity: Gathered | None = None  # the changed issues' whole comments and worklogs, when synced
    complete: set[int] = field(default_factory=set)  # Jira ids whose history is whole
    deferred: set[int] = field(default_factory=set)  # truncated histories left to the caller
    unknown_totals: set[int] = field(default_factory=set)  # no total in the answer (before completion)
    still_unknown: set[int] = field(default_factory=set)  # no total after completion either
    incomplete: list[PreparedIssue] = field(default_factory=list)  # stored with less history than Jira has
    written: set[int] = field(default_factory=set)  # Jira ids the transaction stored


def _prepared(plan: ProjectSyncPlan, page: list[dict], result: PageResult) -> _PageFlow:
    """Stage 1: every issue prepared; one that cannot be a row is a failure of its own (result.failed)."""
    prepared: list[PreparedIssue] = []
    failures: dict[int, tuple[str, str]] = {}
    for issue in page:
        try:
            prepared.append(prepare_issue(issue, plan.mapping))
        except UnstorableIssue as exc:
            key = str(issue.get("key") or issue.get("id") or "?")
            result.failed.append((key, str(exc).removeprefix(f"{key}: ")))
            if (jira_id := _jira_id(issue)) is not None:
                failures[jira_id] = result.failed[-1]
    return _PageFlow(prepared, failures, page)


def _lists_complete(client: JiraClient, plan: ProjectSyncPlan, flow: _PageFlow, result: PageResult) -> None:
    """Stage 3: the changed issues' comments and worklogs made whole (an issue whose lists cannot be costs its
    row; one deleted meanwhile is left out), and Data Center's epic keys resolved to ids."""
    if flow.changed and (plan.activity.comments or plan.activity.worklogs):
        asked = {item.jira_id for item in flow.changed}
        issues = {jira_id: issue for issue in flow.page if (jira_id := _jira_id(issue)) in asked}
        flow.activity = activity_gather(client, plan.activity, issues, worklog_feed=plan.worklog_feed)
        if flow.activity.gone:
            log.info("%d issues deleted in Jira since their page was read: left out", len(flow.activity.gone))
        _rows_fail(result, flow, flow.activity.unreadable, gone=flow.activity.gone)
    if plan.epic_link_field and flow.changed:
        by_id = {_jira_id(issue): issue.get("fields") for issue in flow.page}
        owners = [(item.jira_id, item.key, by_id.get(item.jira_id), item.relations) for item in flow.changed]
        _rows_fail(result, flow, epic_links_add(plan.project.instance, owners, plan.epic_link_field, client))


def _rows_fail(result: PageResult, flow: _PageFlow, why: dict[int, str], *, gone: Collection[int] = ()) -> None:
    """Record as failed rows (result.failed, and the flow's failures for the retry list) the changed issues `why`
    names by Jira id, and leave them out of the page with those `gone` (deleted in Jira since it was read)."""
    for item in flow.changed:
        if item.jira_id in why:
            result.failed.append((item.key, why[item.jira_id]))
            flow.failures[item.jira_id] = result.failed[-1]
    dropped = why.keys() | set(gone)
    if dropped:
        flow.changed = [item for item in flow.changed if item.jira_id not in dropped]
        flow.prepared = [item for item in flow.prepared if item.jira_id not in dropped]


def _histories_complete(client: JiraClient, flow: _PageFlow, result: PageResult, *, defer: bool) -> None:
    """Stage 4: the changed issues' truncated histories completed through the client (or deferred); an issue
    whose answer gave no total keeps the total stored, if any."""
    changed = flow.changed
    flow.deferred = {item.jira_id for item in changed if item.changelog_truncated} if defer else set()
    flow.unknown_totals = {item.jira_id for item in changed if item.changelog_missing}
    flow.complete = histories_completed(client, [item for item in changed if item.jira_id not in flow.deferred])
    left = flow.complete | flow.deferred
    flow.incomplete = [item for item in changed if item.jira_id not in left]
    result.incomplete_histories = len(flow.incomplete)
    flow.still_unknown = {item.jira_id for item in changed if item.changelog_total is None}
    for item in changed:
        if item.changelog_total is None:  # no total and none fetched: keep the total stored, if any
            before = flow.stored.get(item.jira_id)
            item.changelog_total = before.changelog_total if before else len(item.histories)


def _nothing_changed(plan: ProjectSyncPlan, flow: _PageFlow, result: PageResult, run_id: int | None) -> None:
    """A page with nothing to write: only its failures recorded and earlier ones cleared, and no transaction
    at all when there are none (on SQLite even an empty one takes the write lock)."""
    read = {item.jira_id for item in flow.prepared}
    if not (flow.failures or result.failed or plan.retry_ids & read):
        return
    with transaction.atomic():
        _retries_update(plan, flow.failures, read)
        if result.failed:  # every issue of the page failed to prepare: each still leaves its reason
            changes = _audit_changes(plan.project, [], result.failed, [])
            audit_record_many(actor=SYNC, changes=changes, sync_run_id=run_id)


def _upsert(plan: ProjectSyncPlan, flow: _PageFlow, result: PageResult, now: datetime) -> UpsertResult:
    """Stage 5a, in the page's transaction: the changed issues upserted (a row that fails costs its row), the
    failures recorded for the next run and the rows now stored cleared of earlier ones."""
    upserted = issues_upsert(
        instance=plan.project.instance,
        project=plan.project,
        prepared=flow.changed,
        stored=flow.stored,
        complete=flow.complete,
        synced_at=now,
        milestones_digest=plan.milestones_digest,
    )
    result.inserted, result.updated = upserted.inserted, upserted.updated
    result.unchanged += len(upserted.superseded)  # a newer version was stored meanwhile: left as it is
    result.failed += upserted.failed
    ids_by_key = {item.key: item.jira_id for item in flow.changed}
    flow.failures.update({ids_by_key[key]: (key, why) for key, why in upserted.failed if key in ids_by_key})
    _retries_update(plan, flow.failures, {item.jira_id for item in flow.prepared} - set(flow.failures))
    flow.written = {item.prepared.jira_id for item in upserted.stored}
    return upserted


def _derive(
    plan: ProjectSyncPlan,
    flow: _PageFlow,
    upserted: UpsertResult,
    result: PageResult,
    now: datetime,
    run_id: int | None,
) -> None:
    """Stage 5b, in the page's transaction: what follows from the issues stored — status history, milestones,
    time in status, field history, relations, sprints, comments and worklogs."""
    stored = upserted.stored
    # Issues first stored by this page have nothing stored to compare with: plain inserts will do.
    fresh = all(item.created for item in stored)
    histories = {} if fresh else stored_histories([item.pk for item in stored if not item.created])
    wanted = {
        item.pk: wanted_history(item.prepared, histories.get(item.pk, []), whole=item.prepared.jira_id in flow.complete)
        for item in stored
    }
    result.status_changes = status_changes_replace(wanted, histories, fresh=fresh)
    milestones_replace(wanted, plan.rules, plan.milestone_ids, fresh=fresh)
    time_in_status_replace(wanted, now, fresh=fresh)
    if not plan.kept.none:
        result.field_changes = field_changes_replace(
            {item.pk: field_items_of(item.prepared.histories, plan.kept) for item in stored},
            {item.pk for item in stored if item.prepared.jira_id in flow.complete},
            fresh=fresh,
        )
    relations_replace({item.pk: item.prepared.relations for item in stored}, fresh=fresh)
    sprints_store(plan.project, stored, plan.mapping.sprint_field_ids, now, fresh=fresh)
    if flow.activity is not None:
        result.activity = activity_store(
            project=plan.project,
            issues={item.prepared.jira_id: (item.pk, item.prepared.key) for item in stored},
            activity=flow.activity.activity,
            now=now,
            run_id=run_id,
        )


def wanted_history(item: PreparedIssue, stored: list[Transition], *, whole: bool) -> list[Transition]:
    """The status history to keep for a prepared issue (history_wanted of its columns and histories)."""
    columns = item.columns
    return history_wanted(
        item.created,
        columns["status_id"],
        columns["status"],
        columns["updated"],
        status_transitions(item.histories),
        stored,
        whole=whole,
    )


def sprints_store(
    project: Project, stored: list[StoredIssue], field_ids: frozenset[str], now: datetime, *, fresh: bool
) -> None:
    """The sprints the stored issues' Sprint fields describe (upserted) and each issue's stays in sprints
    (replaced), from its field and the Sprint items of the history held; nothing when no Sprint field is mapped."""
    kept = [item for item in stored if item.prepared.sprints is not None]
    if not kept:
        return
    sprints_upsert(project.instance, (s for item in kept for s in item.prepared.sprints or ()), now, listed=False)
    issue_sprints_replace({item.pk: prepared_stays(item.prepared, field_ids) for item in kept}, fresh=fresh)


def prepared_stays(item: PreparedIssue, field_ids: frozenset[str]) -> list[SprintStay]:
    """An issue's stays in sprints from its prepared Sprint field and the Sprint items of its held histories."""
    moves = []
    for history in item.histories:
        try:
            moves += sprint_moves(history, field_ids)
        except (KeyError, TypeError, ValueError):
            continue  # an unreadable history: its status moves say why (engine.history), its sprint items cannot
    columns = item.columns
    return sprint_stays(item.sprints or [], moves, created=item.created, updated=columns["updated"])


def _jira_id(issue: dict) -> int | None:
    try:
        jira_id = int(issue["id"])
    except (KeyError, TypeError, ValueError):
        return None
    return jira_id if 0 < jira_id < 2**63 else None


def _retries_update(plan: "ProjectSyncPlan", failures: dict[int, tuple[str, str]], succeeded: set[int]) -> None:
    """Record the rows that failed, to be asked for again; forget earlier failures of those now stored."""
    if failures:
        retries_record(plan.project, failures)
        plan.retry_ids |= set(failures)
    cleared = plan.retry_ids & succeeded
    if cleared:
        retries_clear(plan.project, cleared)
        plan.retry_ids -= cleared


def _lap(result: PageResult, stage: str, since: float) -> float:
    now = time.perf_counter()
    result.seconds[stage] = result.seconds.get(stage, 0.0) + now - since
    return now


def histories_completed(client: JiraClient, items: list[PreparedIssue]) -> set[int]:
    """Jira ids of the issues whose history is whole: the entries held equal the total Jira reports.

    What the answer truncated (or left out) is fetched through the client, which hides how each flavour
    does it; an issue still short afterwards stays incomplete (flagged, counted, retried next run).
    """
    truncated = [item for item in items if item.changelog_truncated]
    complete = {item.jira_id for item in items if not item.changelog_truncated}
    if not truncated:
        return complete
    fetched = client.histories(
        [str(item.jira_id) for item in truncated],
        totals_needed={str(item.jira_id) for item in truncated if item.changelog_missing},
    )
    for item in truncated:
        answer = fetched.get(str(item.jira_id))
        if answer is None:
            continue
        held = {str(history.get("id")): history for history in item.histories}
        for history in answer.histories:
            held.setdefault(str(history.get("id")), history)
        item.histories = list(held.values())
        totals = [total for total in (item.changelog_total, answer.total) if total is not None]
        if not totals:
            continue  # nothing says how many there are: not known to be whole
        item.changelog_total = max(totals)
        if len(item.histories) >= item.changelog_total:
            complete.add(item.jira_id)
    return complete


def _audit_changes(
    project: Project,
    stored: list,
    failed: list[tuple[str, str]],
    incomplete: list[PreparedIssue],
    unknown_totals: Collection[int] = (),
) -> list[Change]:
    changes = []
    for item in stored:
        if item.created:
            continue
        diff = {
            name: [item.old_fields.get(name), value]
            for name, value in item.prepared.fields.items()
            if item.old_fields.get(name) != value
        }
        if diff:
            changes.append(
                Change(
                    "sync_update",
                    "issues.issue",
                    str(item.pk),
                    item.prepared.key,
                    f"fields of {item.prepared.key} changed in Jira",
                    diff,
                    project.instance.slug,
                )
            )
    for item in incomplete:
        held, total = len(item.histories), item.changelog_total
        if held == 0 and (not total or item.jira_id in unknown_totals):
            why = "Jira answered without its changelog"
        elif item.jira_id in unknown_totals:
            why = f"{held} entries, and Jira did not say how many there are"
        else:
            why = f"{held} of {total} entries"
        changes.append(history_incomplete_change(project, item.key, why))
    for key, why in failed:
        changes.append(
            Change(
                "sync_row_failed",
                "issues.issue",
                "",
                key,
                f"{key} could not be stored: {why}",
                {},
                project.instance.slug,
            )
        )
    return changes


def history_incomplete_change(project: Project, key: str, why: str) -> Change:
    """The audit entry of an issue stored with less history than Jira has."""
    return Change(
        "history_incomplete",
        "issues.issue",
        "",
        key,
        f"the history of {key} is incomplete ({why}): the stored history is kept, flagged, "
        "and completed on a later run",
        {},
        project.instance.slug,
    )


def watermark_advance(project: Project, moment: datetime | None) -> bool:
    """Move the project's watermark forward (never back) with a conditional update."""
    if moment is None:
        return False
    moved = (
        Project.objects.filter(pk=project.pk)
        .filter(Q(sync_watermark__isnull=True) | Q(sync_watermark__lt=moment))
        .update(sync_watermark=moment)
    )
    if moved:
        project.sync_watermark = moment
    return bool(moved)


FETCH_BATCH = 100  # ids per `id in (…)` search when issues are asked for by id


@dataclass
class RefetchResult:
    """What asking for issues by id and storing them did."""

    stored: list[str] = field(default_factory=list)  # keys of the issues stored
    failed: list[tuple[str, str]] = field(default_factory=list)  # (key, why) of those that could not be
    gone: list[str] = field(default_factory=list)  # keys Jira no longer has (404)
    pages: PageResult = field(default_factory=PageResult)  # the sums of the pages stored


def issues_refetch(
    client: JiraClient, plan: ProjectSyncPlan, wanted: dict[int, str], *, run_id: int | None
) -> RefetchResult:
    """Ask Jira for these issues by id ({jira_id: key}) and store them exactly as a sync page is stored.

    Searches of `project = P AND id in (…)` in batches of FETCH_BATCH (a Jira that ignores the id clause
    answers with more; only the wanted are stored), then one by one for any the search did not return.
    """
    result = RefetchResult()
    left = dict(wanted)
    ids = list(wanted)
    for start in range(0, len(ids), FETCH_BATCH):
        batch = ", ".join(str(jira_id) for jira_id in ids[start : start + FETCH_BATCH])
        jql = f"project = {plan.project.jira_id} AND id in ({batch})"
        for page in client.search_pages(jql, plan.fields(), changelog=True, page_size=plan.page_size):
            _refetched_store(client, plan, [issue for issue in page if _jira_id(issue) in left], left, result, run_id)
    for jira_id in list(left):
        try:
            issue = client.issue(str(jira_id), fields=plan.fields(), expand="changelog")
        except JiraNotFoundError:
            result.gone.append(left.pop(jira_id))
            continue
        _refetched_store(client, plan, [issue], left, result, run_id)
    for jira_id, key in left.items():
        result.failed.append((key, f"Jira did not return issue {jira_id} when asked for it by id"))
    return result


def _refetched_store(
    client: JiraClient,
    plan: ProjectSyncPlan,
    issues: list[dict],
    left: dict[int, str],
    result: RefetchResult,
    run_id: int | None,
) -> None:
    if not issues:
        return
    page = page_sync(client, plan, issues, run_id=run_id)
    failed = dict(page.failed)
    for issue in issues:
        jira_id = _jira_id(issue)
        key = (left.pop(jira_id, None) if jira_id is not None else None) or str(issue.get("key") or issue.get("id"))
        if key in failed:
            result.failed.append((key, failed[key]))
        else:
            result.stored.append(key)
    totals = result.pages
    totals.fetched += page.fetched
    totals.inserted += page.inserted
    totals.updated += page.updated
    totals.unchanged += page.unchanged
    totals.status_changes += page.status_changes
    totals.field_changes += page.field_changes
    totals.incomplete_histories += page.incomplete_histories
    totals.activity.add(page.activity)
    totals.failed += page.failed


def _worklogs_to_verify(
    project: Project, page: list[dict[str, Any]], prepared: list[PreparedIssue], changed: list[PreparedIssue]
) -> list[PreparedIssue]:
    """A full sync's unchanged issues whose stored worklogs disagree with the answer (count or timespent): read
    again with their lists, as if changed, rather than trusted."""
    asked = {item.jira_id for item in changed}
    unchanged = {jira_id: issue for issue in page if (jira_id := _jira_id(issue)) is not None and jira_id not in asked}
    disagreeing = worklogs_disagreeing(project.instance, unchanged) if unchanged else set()
    if disagreeing:
        log.warning(
            "%d unchanged issues' stored worklogs disagree with Jira's count or timespent: read again", len(disagreeing)
        )
    return [item for item in prepared if item.jira_id in disagreeing]
