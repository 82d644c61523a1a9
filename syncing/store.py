"""Writing issues: batch upserts keyed by (instance, Jira id), unchanged issues skipped, bad rows isolated."""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import DatabaseError, transaction

from issues.models import Issue, IssueRaw
from projects.models import JiraInstance, Project
from syncing.prepare import PreparedIssue

_UPDATE_FIELDS = [
    "project",
    "key",
    "summary",
    "issue_type",
    "status",
    "status_id",
    "status_category",
    "priority",
    "assignee",
    "assignee_id",
    "reporter",
    "reporter_id",
    "created",
    "updated",
    "resolved",
    "resolution",
    "labels",
    "fields",
    "field_errors",
    "has_field_errors",
    "changelog_total",
    "changelog_complete",
    "raw_hash",
    "deleted_at",
    "synced_at",
]


@dataclass
class StoredIssue:
    pk: int
    prepared: PreparedIssue
    created: bool
    old_fields: dict[str, Any]


@dataclass
class UpsertResult:
    stored: list[StoredIssue] = field(default_factory=list)
    unchanged: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)  # (key, why)

    @property
    def inserted(self) -> int:
        return sum(1 for item in self.stored if item.created)

    @property
    def updated(self) -> int:
        return sum(1 for item in self.stored if not item.created)


def unchanged_ids(instance: JiraInstance, project: Project, prepared: list[PreparedIssue]) -> set[int]:
    """Jira ids of issues stored exactly as they are now (same raw digest, same project, live, complete)."""
    stored = Issue.objects.filter(instance=instance, jira_id__in=[p.jira_id for p in prepared]).values_list(
        "jira_id", "raw_hash", "project_id", "deleted_at", "changelog_complete"
    )
    digests = {p.jira_id: p.raw_hash for p in prepared}
    return {
        jira_id
        for jira_id, digest, project_id, deleted_at, complete in stored
        if digest == digests[jira_id] and project_id == project.pk and deleted_at is None and complete
    }


def issues_upsert(
    *, instance: JiraInstance, project: Project, prepared: list[PreparedIssue], complete: set[int], synced_at: datetime
) -> UpsertResult:
    """Insert or update the prepared issues (the last of duplicates wins); complete: ids whose history is whole.

    Runs inside the caller's transaction. A batch that fails is retried row by row in savepoints, so one
    bad issue costs one row, named in the result with why.
    """
    by_id = {item.jira_id: item for item in prepared}
    result = UpsertResult()
    previous = {
        jira_id: (pk, values)
        for jira_id, pk, values in Issue.objects.filter(instance=instance, jira_id__in=list(by_id)).values_list(
            "jira_id", "id", "fields"
        )
    }
    rows = [_row(instance, project, item, item.jira_id in complete, synced_at) for item in by_id.values()]
    try:
        with transaction.atomic():
            _write(rows)
        written = list(by_id.values())
    except DatabaseError:
        written = []
        for row, item in zip(rows, by_id.values(), strict=True):
            try:
                with transaction.atomic():
                    _write([row])
                written.append(item)
            except DatabaseError as exc:
                result.failed.append((item.key, f"{type(exc).__name__}: {str(exc).strip()[:300]}"))
    if not written:
        return result
    pks = dict(
        Issue.objects.filter(instance=instance, jira_id__in=[i.jira_id for i in written]).values_list("jira_id", "id")
    )
    IssueRaw.objects.bulk_create(
        [IssueRaw(issue_id=pks[item.jira_id], body=item.raw) for item in written],
        update_conflicts=True,
        unique_fields=["issue"],
        update_fields=["body"],
        batch_size=500,
    )
    for item in written:
        before = previous.get(item.jira_id)
        result.stored.append(StoredIssue(pks[item.jira_id], item, before is None, before[1] if before else {}))
    return result


def _write(rows: list[Issue]) -> None:
    Issue.objects.bulk_create(
        rows, update_conflicts=True, unique_fields=["instance", "jira_id"], update_fields=_UPDATE_FIELDS, batch_size=500
    )


def _row(instance: JiraInstance, project: Project, item: PreparedIssue, complete: bool, synced_at: datetime) -> Issue:
    return Issue(
        instance=instance,
        project=project,
        **item.columns,
        fields=item.fields,
        field_errors=item.errors,
        has_field_errors=bool(item.errors),
        changelog_total=item.changelog_total,
        changelog_complete=complete,
        raw_hash=item.raw_hash,
        deleted_at=None,
        synced_at=synced_at,
    )
