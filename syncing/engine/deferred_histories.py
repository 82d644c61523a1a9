"""History completion batched across pages: bulkfetch pages filled, never one call per page.

A search page holds at most a few dozen history entries per issue; the rest must be asked for. Asking
page by page costs a bulkfetch per page (39 calls for 187 long histories) whose last page is mostly empty;
instead a project run stores such issues with the history their answer holds, flagged incomplete
(`changelog_complete = false`), and completes them here in packs: issues gathered until their histories
(the totals their answers gave) fill PACK_ENTRIES, two whole bulkfetch pages, or HISTORY_BATCH issues (one
call's cap) — and the rest when its pages are done. The requests are then those of one call for all of
them (a bulkfetch page holds 10,000 histories, whichever issues they belong to), give or take a partly
filled page per pack, and what a pack holds in memory does not grow with the project. A run killed in
between leaves them flagged, and the next run asks for them again (store.retry_ids), so nothing is
believed whole that is not.
"""

import sys
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from agile.membership import SprintMove, sprint_moves, sprint_stays
from agile.models import IssueSprint
from agile.services import issue_sprints_replace
from audit.services import SYNC, audit_record_many
from issues.models import Issue
from issues.selectors import issue_rows
from jirafields.sprint import Sprint as SprintValue
from lib.bulk_sql import rows_update
from syncing.engine.field_history import FieldItem, field_changes_replace, field_items
from syncing.engine.history import (
    Transition,
    history_wanted,
    milestones_replace,
    status_changes_replace,
    status_moves,
    stored_histories,
    time_in_status_replace,
    transitions_ordered,
)
from syncing.engine.pipeline import history_incomplete_change
from syncing.engine.plan import ProjectSyncPlan
from syncing.engine.table_statistics import table_statistics_refresh
from syncing.jira.client import FetchedHistories, JiraClient

HISTORY_BATCH = 1000  # issues per changelog/bulkfetch call: Jira Cloud's cap
BULKFETCH_PAGE = 10_000  # histories per bulkfetch page (its maxResults' cap)
PACK_ENTRIES = 2 * BULKFETCH_PAGE  # histories completed at once: two whole pages

Deferred = dict[int, tuple[str, int | None]]  # {jira_id: (key, entries Jira counts, None when it did not say)}


def deferred_due(deferred: Deferred, *, final: bool) -> list[Deferred]:
    """Take out of `deferred` the packs to complete now, in the order they were deferred.

    A pack holds the issues whose histories fill PACK_ENTRIES (one issue alone may exceed it), or
    HISTORY_BATCH issues; final: the rest too (the run's pages are done). An issue whose total is unknown is
    read from the per-issue endpoint and weighs nothing in the pack.
    """
    packs: list[Deferred] = []
    pack: Deferred = {}
    entries = 0
    for jira_id, (key, total) in deferred.items():
        weight = total or 0
        if pack and (entries + weight > PACK_ENTRIES or len(pack) >= HISTORY_BATCH):
            packs.append(pack)
            pack, entries = {}, 0
        pack[jira_id] = (key, total)
        entries += weight
    if pack and (final or entries >= PACK_ENTRIES or len(pack) >= HISTORY_BATCH):
        packs.append(pack)
    for due in packs:
        for jira_id in due:
            del deferred[jira_id]
    return packs


@dataclass
class Completion:
    """What completing a batch of deferred histories did."""

    completed: int = 0  # issues whose stored history is now whole
    status_changes: int = 0  # recorded transitions that were new
    field_changes: int = 0  # changelog items of kept fields that were new
    incomplete: list[tuple[str, str]] = field(default_factory=list)  # (key, why) of those still short


@dataclass(frozen=True)
class _Stored:
    pk: int
    key: str
    created: datetime
    status_id: str
    status: str
    updated: datetime | None
    changelog_total: int | None


def histories_complete(
    client: JiraClient, plan: ProjectSyncPlan, deferred: Deferred, *, run_id: int | None
) -> Completion:
    """Fetch the whole histories of the deferred issues ({jira_id: (key, entries or None)}) and store them.

    Jira is asked first (the client hides the flavour: Cloud's bulkfetch, Data Center's per-issue
    changelog); then one transaction rewrites each issue's status history, milestones and time in status
    from the whole history and marks it complete. An issue stays incomplete (audited `history_incomplete`,
    counted) when Jira still gives fewer entries than its total, left it out, or changed it after it was
    stored (a status move newer than the stored issue: the next read of the issue brings both together).
    Raises what client.histories raises for a broken paging or a stop.
    """
    if not deferred:
        return Completion()
    field_ids = plan.mapping.sprint_field_ids
    fetched = client.histories(
        [str(jira_id) for jira_id in deferred],
        totals_needed={str(jira_id) for jira_id, (_, total) in deferred.items() if total is None},
        # Tens of thousands of histories at once: only their status and Sprint moves and their kept items are held.
        reduce=lambda history: [*_moves(history, sprint_field_ids=field_ids), *field_items(history, plan.kept)],
    )
    result = Completion()
    with transaction.atomic():
        stored = _stored_issues(plan, list(deferred))
        before = stored_histories([issue.pk for issue in stored.values()])
        wanted: dict[int, list[Transition]] = {}
        items: dict[int, list[FieldItem]] = {}
        sprint_moves_of: dict[int, list[SprintMove]] = {}
        finished: list[tuple[int, int, bool]] = []
        for jira_id, (key, _) in deferred.items():
            issue = stored.get(jira_id)
            if issue is None:
                continue  # deleted or moved away since its page: the census and the next read see to it
            answer = fetched.get(str(jira_id))
            why = _still_short(issue, answer)
            if why or answer is None:
                result.incomplete.append((key, why))
                continue
            items[issue.pk] = [item for item in answer.histories if isinstance(item, FieldItem)]
            transitions = transitions_ordered(move for move in answer.histories if isinstance(move, Transition))
            sprint_moves_of[issue.pk] = [move for move in answer.histories if isinstance(move, SprintMove)]
            wanted[issue.pk] = history_wanted(
                issue.created,
                issue.status_id,
                issue.status,
                issue.updated,
                transitions,
                before.get(issue.pk, []),
                whole=True,
            )
            finished.append((issue.pk, _total(issue, answer), True))
        now = timezone.now()
        result.status_changes = status_changes_replace(wanted, {pk: before.get(pk, []) for pk in wanted})
        milestones_replace(wanted, plan.rules, plan.milestone_ids)
        time_in_status_replace(wanted, now)
        if not plan.kept.none:
            result.field_changes = field_changes_replace(items, set(items))
        rows_update(Issue, ["changelog_total", "changelog_complete"], finished)
        if field_ids:
            _sprint_stays_replace({pk: (issue, sprint_moves_of[pk]) for issue, pk in _finished(stored, finished)})
        result.completed = len(finished)
        audit_record_many(
            actor=SYNC,
            changes=[history_incomplete_change(plan.project, key, why) for key, why in result.incomplete],
            sync_run_id=run_id,
        )
    if result.completed:  # long histories write many status rows at once, at the end of a run too
        table_statistics_refresh()
    return result


def _finished(stored: dict[int, "_Stored"], finished: list[tuple[int, int, bool]]) -> list[tuple["_Stored", int]]:
    done = {pk for pk, _, _ in finished}
    return [(issue, issue.pk) for issue in stored.values() if issue.pk in done]


def _sprint_stays_replace(whole: dict[int, tuple["_Stored", list[SprintMove]]]) -> None:
    """Each issue's sprint stays again from its whole history: the page stored them from the part it held. The
    sprints it is in now are the stays the page left open (made to agree with its Sprint field then)."""
    current: dict[int, list[SprintValue]] = defaultdict(list)
    for pk, sprint_id, name in IssueSprint.objects.filter(
        issue_id__in=list(whole), removed_at__isnull=True
    ).values_list("issue_id", "sprint_jira_id", "sprint_name"):
        current[pk].append(SprintValue(sprint_id, name))
    issue_sprints_replace(
        {
            pk: sprint_stays(current[pk], moves, created=issue.created, updated=issue.updated)
            for pk, (issue, moves) in whole.items()
        }
    )


def _moves(history: dict, *, sprint_field_ids: frozenset[str]) -> list[Transition | SprintMove]:
    """A history's status moves (their texts shared with the other histories': a pack holds thousands), and its
    Sprint moves when a Sprint field is mapped."""
    found: list[Transition | SprintMove] = list(_status_moves(history))
    if sprint_field_ids:
        found += sprint_moves(history, sprint_field_ids)
    return found


def _status_moves(history: dict) -> list[Transition]:
    """A history's status moves, their texts shared with the other histories' (a pack holds thousands)."""
    return [
        Transition(
            move.history_id,
            move.changed_at,
            sys.intern(move.from_id),
            sys.intern(move.from_name),
            sys.intern(move.to_id),
            sys.intern(move.to_name),
            sys.intern(move.author),
            sys.intern(move.author_id),
        )
        for move in status_moves(history)
    ]


def _stored_issues(plan: ProjectSyncPlan, jira_ids: list[int]) -> dict[int, _Stored]:
    """The live issues of the project with these Jira ids, found by the unique index (issues.selectors.issue_rows)."""
    columns = ["project_id", "deleted_at", "id", "key", "created", "status_id", "status", "updated", "changelog_total"]
    return {
        jira_id: _Stored(*values)
        for jira_id, project_id, deleted_at, *values in issue_rows(plan.project.instance, jira_ids, columns)
        if project_id == plan.project.pk and deleted_at is None
    }


def _total(issue: _Stored, answer: FetchedHistories) -> int:
    return max(total for total in (issue.changelog_total, answer.total, answer.held) if total is not None)


def _still_short(issue: _Stored, answer: FetchedHistories | None) -> str:
    """Why the answer cannot be stored as the issue's whole history ('' when it can)."""
    if answer is None:
        return "Jira did not return its history when asked for it"
    held, total = answer.held, _total(issue, answer)
    if held < total:
        return f"{held} of {total} entries"
    moves = [t.changed_at for t in answer.histories if isinstance(t, Transition)]
    if moves and issue.updated and max(moves) > issue.updated:
        return "it changed in Jira after it was read"
    return ""
