"""One project's sync: client → processor → store → derive, committed page by page.

For each page: prepare every issue; skip the unchanged; complete truncated histories; upsert;
write status changes; recompute milestones; audit; commit; then advance the watermark to the
highest `updated` committed. A crash at any moment resumes from the last committed page.
"""

import logging
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from audit.services import SYNC, Change, audit_record_many
from config.selectors import MilestoneRule, milestones_digest
from projects.models import Project
from syncing.fields import CompiledMapping
from syncing.fields.core import CORE_FIELD_IDS
from syncing.history import (
    milestones_replace,
    status_changes_replace,
    status_history,
    status_transitions,
    stored_histories,
    time_in_status_replace,
)
from syncing.jira.client import CLOUD, JiraClient
from syncing.jira.errors import JiraError
from syncing.prepare import PreparedIssue, UnstorableIssue, prepare_issue
from syncing.store import issues_upsert, unchanged_ids

log = logging.getLogger(__name__)


@dataclass
class PageResult:
    fetched: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    status_changes: int = 0
    incomplete_histories: int = 0
    watermark: datetime | None = None
    seconds: dict[str, float] = field(default_factory=dict)  # process, store, derive


@dataclass
class ProjectSyncPlan:
    project: Project
    mapping: CompiledMapping
    rules: list[MilestoneRule]
    full: bool
    upper_bound: datetime  # Jira's clock when the run began: the end of this run's window
    overlap: timedelta
    jql_filter: str = ""
    page_size: int = 100
    dry_run: bool = False

    def jql(self) -> str:
        clauses = [f"project = {self.project.jira_id}"]
        if not self.full and self.project.sync_watermark:
            since = self.project.sync_watermark - self.overlap
            # Unquoted epoch milliseconds: immune to the account's time zone and to minute rounding.
            clauses.append(f"updated >= {int(since.timestamp() * 1000)}")
        clauses.append(f"updated <= {int(self.upper_bound.timestamp() * 1000)}")
        if self.jql_filter:
            clauses.append(f"({self.jql_filter})")
        return " AND ".join(clauses)

    def fields(self) -> list[str]:
        return requested_fields(self.mapping)


def requested_fields(mapping: CompiledMapping) -> list[str]:
    """The Jira fields to ask for: only what the core columns and the mappings read, never *all."""
    return sorted(set(CORE_FIELD_IDS) | set(mapping.jira_field_ids))


def project_pages(client: JiraClient, plan: ProjectSyncPlan) -> Iterator[list[dict]]:
    return client.search_pages(
        plan.jql(), "updated ASC, key ASC", plan.fields(), changelog=True, page_size=plan.page_size
    )


def page_sync(client: JiraClient, plan: ProjectSyncPlan, page: list[dict], *, run_id: int | None) -> PageResult:
    """Process, store and derive one page in one transaction; return what it did and where the time went."""
    result = PageResult(fetched=len(page))
    clock = time.perf_counter()
    prepared: list[PreparedIssue] = []
    for issue in page:
        try:
            prepared.append(prepare_issue(issue, plan.mapping))
        except UnstorableIssue as exc:
            key = str(issue.get("key") or issue.get("id") or "?")
            result.failed.append((key, str(exc).removeprefix(f"{key}: ")))
    project = plan.project
    same = unchanged_ids(project.instance, project, prepared)
    result.unchanged = len(same)
    changed = [item for item in prepared if item.jira_id not in same]
    complete = _complete_histories(client, changed)
    result.incomplete_histories = len(changed) - len(complete)
    if prepared:
        result.watermark = max((item.columns["updated"] for item in prepared if item.columns["updated"]), default=None)
    clock = _lap(result, "process", clock)
    if plan.dry_run:
        return result
    if not changed:
        if result.failed:  # every issue of the page failed to prepare: each still leaves its reason
            audit_record_many(actor=SYNC, changes=_audit_changes(project, [], result.failed), sync_run_id=run_id)
        return result
    unpreparable = list(result.failed)
    now = timezone.now()
    with transaction.atomic():
        upserted = issues_upsert(
            instance=project.instance,
            project=project,
            prepared=changed,
            complete=complete,
            synced_at=now,
            milestones_digest=milestones_digest(plan.rules),
        )
        clock = _lap(result, "store", clock)
        result.inserted, result.updated = upserted.inserted, upserted.updated
        result.failed += upserted.failed
        histories = {
            stored.pk: status_history(
                stored.prepared.columns["created"] or now,
                stored.prepared.columns["status_id"],
                stored.prepared.columns["status"],
                status_transitions(stored.prepared.histories),
            )
            for stored in upserted.stored
        }
        # Issues first stored by this page have nothing stored to replace: plain inserts will do.
        fresh = all(stored.created for stored in upserted.stored)
        result.status_changes = status_changes_replace(histories, fresh=fresh)
        # Issues whose history stayed short may have more stored from earlier runs than this page holds.
        short = [stored.pk for stored in upserted.stored if stored.prepared.jira_id not in complete]
        histories.update(stored_histories(short))
        milestones_replace(histories, plan.rules, fresh=fresh)
        time_in_status_replace(histories, now, fresh=fresh)
        audit_record_many(
            actor=SYNC,
            changes=_audit_changes(project, upserted.stored, unpreparable + upserted.failed),
            sync_run_id=run_id,
        )
    _lap(result, "derive", clock)  # histories, milestones, audit and the commit
    return result


def _lap(result: PageResult, stage: str, since: float) -> float:
    now = time.perf_counter()
    result.seconds[stage] = result.seconds.get(stage, 0.0) + now - since
    return now


def _complete_histories(client: JiraClient, items: list[PreparedIssue]) -> set[int]:
    """Jira ids of the issues whose history is whole, fetching what search truncated.

    Cloud: every truncated issue of the page in as few bulkfetch calls as possible (1,000 issues a call),
    only the status items. Data Center: the per-issue changelog endpoint, a few issues in parallel.
    """
    truncated = [item for item in items if item.changelog_truncated]
    complete = {item.jira_id for item in items if not item.changelog_truncated}
    if not truncated:
        return complete
    if client.flavour == CLOUD:
        try:
            bulk = client.bulk_status_histories([str(item.jira_id) for item in truncated], ["status"])
        except JiraError as exc:
            log.warning("histories of %d issues stay incomplete: %s", len(truncated), exc)
            return complete
        for item in truncated:
            known = {history.get("id") for history in item.histories}
            item.histories += [h for h in bulk.get(str(item.jira_id), []) if h.get("id") not in known]
            complete.add(item.jira_id)
        return complete
    # A few at a time: the waits overlap, and the instance's budget still paces the requests.
    with ThreadPoolExecutor(max_workers=min(4, len(truncated))) as pool:
        for item, whole in zip(truncated, pool.map(lambda i: _complete_history(client, i), truncated), strict=True):
            if whole:
                complete.add(item.jira_id)
    return complete


def _complete_history(client: JiraClient, item: PreparedIssue) -> bool:
    """Fetch the whole history when search sent only part of it; False when that failed."""
    if not item.changelog_truncated:
        return True
    try:
        item.histories = client.changelog(str(item.jira_id))
    except JiraError as exc:
        log.warning("history of %s stays incomplete: %s", item.key, exc)
        return False
    return len(item.histories) >= item.changelog_total


def _audit_changes(project: Project, stored: list, failed: list[tuple[str, str]]) -> list[Change]:
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
