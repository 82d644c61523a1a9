"""One project's sync: client → processor → store → derive, committed page by page.

For each page: prepare every issue (an answer without its fields costs its row); look up what is stored;
skip the unchanged; complete truncated histories through the client; then in one transaction upsert,
write status changes, recompute milestones and time in status, audit; commit; then advance the watermark
to the highest `updated` committed. Pages arrive oldest `updated` first (seek paging), so a crash at any
moment resumes from the last committed page.
"""

import logging
import time
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from activity.fetch import ActivityKinds, activity_gather
from activity.selectors import worklogs_disagreeing
from activity.services import ActivityStored, activity_store
from agile.membership import SprintStay, sprint_moves, sprint_stays
from agile.services import issue_sprints_replace, sprints_upsert
from audit.services import SYNC, Change, audit_record_many
from config.selectors import MilestoneRule, milestones_digest
from jirafields import CompiledMapping
from jirafields.core import CORE_FIELD_IDS
from projects.models import Project
from syncing.epic_link import epic_links_add
from syncing.field_history import KeptFields, field_changes_replace, field_items_of
from syncing.history import (
    Transition,
    history_wanted,
    milestones_replace,
    status_changes_replace,
    status_transitions,
    stored_histories,
    time_in_status_replace,
)
from syncing.jira.client import CLOUD, JiraClient
from syncing.jira.errors import JiraNotFoundError
from syncing.prepare import PreparedIssue, UnstorableIssue, prepare_issue
from syncing.relations import RELATION_FIELD_IDS, relations_replace
from syncing.store import (
    StoredIssue,
    issue_unchanged,
    issues_upsert,
    retries_clear,
    retries_record,
    stored_issues,
)

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


@dataclass
class ProjectSyncPlan:
    project: Project
    mapping: CompiledMapping
    rules: list[MilestoneRule]
    full: bool
    overlap: timedelta
    jql_filter: str = ""
    page_size: int = 100
    dry_run: bool = False
    milestones_digest: str = ""  # of `rules`, fixed for the run
    retry_ids: set[int] = field(default_factory=set)  # the project's rows that failed before: cleared when stored
    kept: KeptFields = field(default_factory=lambda: KeptFields.parse("*"))  # whose field history is stored
    activity: ActivityKinds = field(default_factory=ActivityKinds)  # comments and worklogs synced with the issues
    epic_link_field: str = ""  # Data Center's Epic Link field id (syncing.epic_link); "": none

    def __post_init__(self) -> None:
        self.milestones_digest = self.milestones_digest or milestones_digest(self.rules)

    def jql(self) -> str:
        """The project's issues (changed since the watermark, less the overlap, for an incremental run).

        No upper bound: issues changed while the run reads come round again at the end of the seek, so the
        run reads every issue that matched when it began, as it is when read.
        """
        clauses = [f"project = {self.project.jira_id}"]
        if not self.full and self.project.sync_watermark:
            since = self.project.sync_watermark - self.overlap
            # Unquoted epoch milliseconds: immune to the account's time zone and to minute rounding.
            clauses.append(f"updated >= {int(since.timestamp() * 1000)}")
        if self.jql_filter:
            clauses.append(f"({self.jql_filter})")
        return " AND ".join(clauses)

    def fields(self) -> list[str]:
        epic = [self.epic_link_field] if self.epic_link_field else []
        return sorted({*requested_fields(self.mapping), *self.activity.fields(), *epic})


def requested_fields(mapping: CompiledMapping) -> list[str]:
    """The Jira fields to ask for: only what the core columns, the relations and the mappings read, never *all."""
    return sorted(set(CORE_FIELD_IDS) | set(RELATION_FIELD_IDS) | set(mapping.jira_field_ids))


def project_pages(
    client: JiraClient, plan: ProjectSyncPlan, *, counted: Callable[[int], None] | None = None
) -> Iterator[list[dict]]:
    """The project's pages; counted, when given, is called once with what Jira counts for the query."""
    return client.search_pages(plan.jql(), plan.fields(), changelog=True, page_size=plan.page_size, counted=counted)


def page_sync(
    client: JiraClient, plan: ProjectSyncPlan, page: list[dict], *, run_id: int | None, defer_histories: bool = False
) -> PageResult:
    """Process, store and derive one page in one transaction; return what it did and where the time went.

    Jira is asked nothing inside the transaction: histories are completed before it begins — or, with
    defer_histories, not at all: issues whose answer truncated their history are stored with what it holds,
    flagged incomplete, and listed in `deferred` for the caller to complete in batches
    (deferred_histories.histories_complete).
    """
    result = PageResult(fetched=len(page))
    clock = time.perf_counter()
    prepared: list[PreparedIssue] = []
    failures: dict[int, tuple[str, str]] = {}  # rows that could not be stored, by Jira id: retried next run
    for issue in page:
        try:
            prepared.append(prepare_issue(issue, plan.mapping))
        except UnstorableIssue as exc:
            key = str(issue.get("key") or issue.get("id") or "?")
            result.failed.append((key, str(exc).removeprefix(f"{key}: ")))
            if (jira_id := _jira_id(issue)) is not None:
                failures[jira_id] = result.failed[-1]
    project = plan.project
    stored = stored_issues(project.instance, [item.jira_id for item in prepared])
    changed = [item for item in prepared if not issue_unchanged(item, stored.get(item.jira_id), project)]
    if plan.full and plan.activity.worklogs:
        changed += _worklogs_to_verify(project, page, prepared, changed)
    activity = None
    if changed and (plan.activity.comments or plan.activity.worklogs):
        # Comments and worklogs made whole before the transaction; an issue whose lists cannot be costs its row.
        asked = {item.jira_id for item in changed}
        issues = {jira_id: issue for issue in page if (jira_id := _jira_id(issue)) in asked}
        activity = activity_gather(client, plan.activity, issues, worklog_feed=client.flavour == CLOUD)
        for item in changed:
            if item.jira_id in activity.unreadable:
                result.failed.append((item.key, activity.unreadable[item.jira_id]))
                failures[item.jira_id] = result.failed[-1]
        if activity.gone:
            log.info("%d issues deleted in Jira since their page was read: left out", len(activity.gone))
        dropped = activity.unreadable.keys() | activity.gone
        changed = [item for item in changed if item.jira_id not in dropped]
        prepared = [item for item in prepared if item.jira_id not in dropped]
    if plan.epic_link_field and changed:  # Data Center's epics: keys resolved to ids before the transaction
        by_id = {_jira_id(issue): issue.get("fields") for issue in page}
        owners = [(item.jira_id, item.key, by_id.get(item.jira_id), item.relations) for item in changed]
        epic_links_add(project.instance, owners, plan.epic_link_field, client)
    result.unchanged = len(prepared) - len(changed)
    clock = _lap(result, "process", clock)
    deferred = {item.jira_id for item in changed if item.changelog_truncated} if defer_histories else set()
    total_unknown = {item.jira_id for item in changed if item.changelog_missing}
    complete = histories_completed(client, [item for item in changed if item.jira_id not in deferred])
    clock = _lap(result, "histories", clock)
    incomplete = [item for item in changed if item.jira_id not in complete and item.jira_id not in deferred]
    result.incomplete_histories = len(incomplete)
    still_unknown = {item.jira_id for item in changed if item.changelog_total is None}
    for item in changed:
        if item.changelog_total is None:  # no total and none fetched: keep the total stored, if any
            before = stored.get(item.jira_id)
            item.changelog_total = before.changelog_total if before else len(item.histories)
    if prepared:
        result.watermark = max((item.columns["updated"] for item in prepared if item.columns["updated"]), default=None)
    if plan.dry_run:
        return result
    if not changed:
        read = {item.jira_id for item in prepared}
        # Nothing to write, no transaction: on SQLite even an empty one takes the write lock.
        if failures or result.failed or plan.retry_ids & read:
            with transaction.atomic():
                _retries_update(plan, failures, read)
                if result.failed:  # every issue of the page failed to prepare: each still leaves its reason
                    audit_record_many(
                        actor=SYNC, changes=_audit_changes(project, [], result.failed, []), sync_run_id=run_id
                    )
        return result
    unpreparable = list(result.failed)
    now = timezone.now()
    with transaction.atomic():
        upserted = issues_upsert(
            instance=project.instance,
            project=project,
            prepared=changed,
            stored=stored,
            complete=complete,
            synced_at=now,
            milestones_digest=plan.milestones_digest,
        )
        clock = _lap(result, "store", clock)
        result.inserted, result.updated = upserted.inserted, upserted.updated
        result.unchanged += len(upserted.superseded)  # a newer version was stored meanwhile: left as it is
        result.failed += upserted.failed
        ids_by_key = {item.key: item.jira_id for item in changed}
        failures.update({ids_by_key[key]: (key, why) for key, why in upserted.failed if key in ids_by_key})
        _retries_update(plan, failures, {item.jira_id for item in prepared} - set(failures))
        # Issues first stored by this page have nothing stored to compare with: plain inserts will do.
        fresh = all(item.created for item in upserted.stored)
        histories = {} if fresh else stored_histories([item.pk for item in upserted.stored if not item.created])
        wanted = {
            item.pk: wanted_history(item.prepared, histories.get(item.pk, []), whole=item.prepared.jira_id in complete)
            for item in upserted.stored
        }
        result.status_changes = status_changes_replace(wanted, histories, fresh=fresh)
        milestones_replace(wanted, plan.rules, fresh=fresh)
        time_in_status_replace(wanted, now, fresh=fresh)
        if not plan.kept.none:
            result.field_changes = field_changes_replace(
                {item.pk: field_items_of(item.prepared.histories, plan.kept) for item in upserted.stored},
                {item.pk for item in upserted.stored if item.prepared.jira_id in complete},
                fresh=fresh,
            )
        relations_replace({item.pk: item.prepared.relations for item in upserted.stored}, fresh=fresh)
        sprints_store(project, upserted.stored, plan.mapping.sprint_field_ids, now, fresh=fresh)
        written = {item.prepared.jira_id for item in upserted.stored}
        if activity is not None:
            result.activity = activity_store(
                project=project,
                issues={item.prepared.jira_id: (item.pk, item.prepared.key) for item in upserted.stored},
                activity=activity.activity,
                now=now,
                run_id=run_id,
            )
        result.deferred = {
            item.jira_id: (item.key, None if item.jira_id in total_unknown else item.changelog_total)
            for item in changed
            if item.jira_id in deferred and item.jira_id in written
        }
        audit_record_many(
            actor=SYNC,
            changes=_audit_changes(
                project,
                upserted.stored,
                unpreparable + upserted.failed,
                [item for item in incomplete if item.jira_id in written],
                still_unknown,
            ),
            sync_run_id=run_id,
        )
    _lap(result, "derive", clock)  # histories, milestones, audit and the commit
    return result


def wanted_history(item: PreparedIssue, stored: list[Transition], *, whole: bool) -> list[Transition]:
    """The status history to keep for a prepared issue (history_wanted of its columns and histories)."""
    columns = item.columns
    return history_wanted(
        columns["created"],
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
            continue  # an unreadable history: its status moves say why (syncing.history), its sprint items cannot
    columns = item.columns
    return sprint_stays(item.sprints or [], moves, created=columns["created"], updated=columns["updated"])


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
