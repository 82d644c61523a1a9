"""Writing comments and worklogs: idempotent upserts by (instance, Jira id), inside the page's transaction.

Each issue's list is whole (activity.fetch made it so), so what is stored live for the issue and absent
from the list was deleted in Jira: it is soft-deleted (`deleted_at`), audited and counted. One reappearing
(restored by an administrator) is live again.
"""

import json
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

import orjson
from django.db.models import JSONField

from activity.fetch import IssueActivity
from activity.models import Comment, Worklog, WorklogPending
from activity.read import note_text
from audit.services import SOFT_DELETE, SYNC, Change, audit_record_many
from lib.bulk_sql import rows_upsert
from projects.models import Project

REFRESH_BATCH = 2000  # rows re-flattened per statement by activity_texts_refresh
COMMENT_COLUMNS = [
    "issue",
    "author",
    "author_id",
    "update_author",
    "created",
    "updated",
    "body",
    "body_raw",
    "visibility_type",
    "visibility_value",
    "deleted_at",
    "synced_at",
]
WORKLOG_COLUMNS = [
    "issue",
    "author",
    "author_id",
    "started",
    "seconds",
    "comment",
    "comment_raw",
    "created",
    "updated",
    "deleted_at",
    "synced_at",
]


@dataclass
class ActivityStored:
    """What storing a page's comments and worklogs did."""

    comments: int = 0  # comments written (new or as they are now)
    worklogs: int = 0
    comments_deleted: int = 0  # soft-deleted: no longer in their issue's list
    worklogs_deleted: int = 0

    def add(self, other: "ActivityStored") -> None:
        for name in (f.name for f in fields(self)):
            setattr(self, name, getattr(self, name) + getattr(other, name))


def activity_store(
    *,
    project: Project,
    issues: dict[int, tuple[int, str]],
    activity: dict[int, IssueActivity],
    now: datetime,
    run_id: int | None,
) -> ActivityStored:
    """Upsert the comments and worklogs of stored issues ({jira_id: (issue pk, key)}) and soft-delete what
    their whole lists no longer hold. Call inside the page's transaction; asks Jira nothing."""
    result = ActivityStored()
    changes: list[Change] = []
    instance_id = project.instance_id
    comments = {jira_id: a.comments for jira_id, a in activity.items() if a.comments is not None and jira_id in issues}
    worklogs = {jira_id: a.worklogs for jira_id, a in activity.items() if a.worklogs is not None and jira_id in issues}
    issue_pks = {jira_id: pk for jira_id, (pk, _key) in issues.items()}
    if comments:
        rows = activity_rows(instance_id, issue_pks, comments, now)
        result.comments = activity_rows_upsert(Comment, rows, COMMENT_COLUMNS)
        gone = _gone(Comment, issues, comments, now)
        result.comments_deleted = len(gone)
        changes += [_deleted_change(project, "comment", jira_id, key) for jira_id, key in gone]
    if worklogs:
        rows = activity_rows(instance_id, issue_pks, worklogs, now)
        result.worklogs = activity_rows_upsert(Worklog, rows, WORKLOG_COLUMNS)
        short = {jira_id: a for jira_id in worklogs if (a := activity[jira_id]).worklogs_short_of is not None}
        if short:  # Cloud: the rest come from the instance's worklog feed (activity.worklog_feed)
            pending = [
                {
                    "issue_id": issues[j][0],
                    "instance_id": instance_id,
                    "total": a.worklogs_short_of or 0,
                    "spent": a.worklogs_spent,
                }
                for j, a in short.items()
            ]
            activity_rows_upsert(WorklogPending, pending, ["total", "spent"], unique=("issue",))
        whole = {jira_id: listed for jira_id, listed in worklogs.items() if jira_id not in short}
        gone = _gone(Worklog, issues, whole, now) if whole else []
        result.worklogs_deleted = len(gone)
        changes += [_deleted_change(project, "worklog", jira_id, key) for jira_id, key in gone]
    if changes:
        audit_record_many(actor=SYNC, changes=changes, sync_run_id=run_id)
    return result


def activity_rows_upsert(
    model: Any, rows: Sequence[dict[str, Any]], update: Sequence[str], unique: tuple[str, ...] = ("instance", "jira_id")
) -> int:
    """Insert the rows ({attname: value}, every row with the same names), or overwrite the `update` columns of
    those already stored (by the `unique` fields); returns the rows written. Through lib.bulk_sql, not the ORM's
    bulk_create, whose per-value SQL building was a fifth of a sync's CPU with comments and worklogs on.

    A row whose key another row of the batch has too (a Jira answer listing one comment under two issues) is
    written once, as the last one says: PostgreSQL refuses an upsert that touches one row twice."""
    meta = model._meta
    column_of = {field.attname: field.column for field in meta.concrete_fields}
    keys = [meta.get_field(name).attname for name in unique]
    by_key = {tuple(row[key] for key in keys): row for row in rows}
    if not by_key:
        return 0
    names = list(next(iter(by_key.values())))
    json_names = {field.attname for field in meta.concrete_fields if isinstance(field, JSONField)}
    encoded = [i for i, name in enumerate(names) if name in json_names]
    values = []
    for row in by_key.values():
        value = [row[name] for name in names]
        for i in encoded:
            value[i] = _json_text(value[i])
        values.append(value)
    rows_upsert(
        model,
        [column_of[name] for name in names],
        values,
        conflict=[column_of[key] for key in keys],
        update=[meta.get_field(name).column for name in update],
    )
    return len(by_key)


def _json_text(value: Any) -> str | None:
    """A JSON column's value as its text; None stays SQL NULL, as Django's JSONField stores it."""
    if value is None:
        return None
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # what orjson refuses (a lone surrogate, a number past 64 bits): as the ORM's field would
        return json.dumps(value)


def activity_rows(instance_id: int, issue_pks: dict[int, int], lists: dict[int, list], now: datetime) -> list[dict]:
    """The rows ({attname: value}) of read comments or worklogs ({Jira issue id: [CommentRow | WorklogRow]}),
    each under its stored issue (issue_pks: {Jira issue id: issue pk}, holding every listed issue), live and
    synced now: what `activity_rows_upsert` writes."""
    return [
        {"instance_id": instance_id, "issue_id": issue_pks[jira_id], "deleted_at": None, "synced_at": now, **vars(row)}
        for jira_id, listed in lists.items()
        for row in listed
    ]


def _gone(
    model: Any, issues: dict[int, tuple[int, str]], lists: dict[int, list], now: datetime
) -> list[tuple[int, str]]:
    """Soft-delete the live rows of these issues that their lists no longer hold: [(Jira id, issue key)]."""
    listed = {(issues[jira_id][0], row.jira_id) for jira_id, rows in lists.items() for row in rows}
    keys = {pk: key for pk, key in issues.values()}
    live = model.objects.filter(issue_id__in=[issues[jira_id][0] for jira_id in lists], deleted_at__isnull=True)
    gone = [
        (pk, jira_id, issue_id)
        for pk, jira_id, issue_id in live.values_list("pk", "jira_id", "issue_id")
        if (issue_id, jira_id) not in listed
    ]
    if gone:
        model.objects.filter(pk__in=[pk for pk, _, _ in gone]).update(deleted_at=now)
    return [(jira_id, keys[issue_id]) for _, jira_id, issue_id in gone]


def _deleted_change(project: Project, noun: str, jira_id: int, key: str) -> Change:
    return Change(
        SOFT_DELETE,
        f"activity.{noun}",
        str(jira_id),
        f"{key} {noun} {jira_id}",
        f"{noun} {jira_id} of {key} is no longer in Jira: soft-deleted",
        {},
        project.instance.slug,
    )


def activity_texts_refresh(*, instance_id: int, project_id: int | None = None, dry_run: bool = False) -> int:
    """Flatten every stored comment body and worklog comment again from its raw JSON (remap_issues: the ADF
    reading improved, or a text stored by an older one); returns how many texts changed. No Jira request."""
    changed = 0
    kinds: tuple[tuple[Any, str, str], ...] = ((Comment, "body", "body_raw"), (Worklog, "comment", "comment_raw"))
    for model, text, raw in kinds:
        rows = model.objects.filter(instance_id=instance_id).order_by("pk")
        if project_id is not None:
            rows = rows.filter(issue__project_id=project_id)
        last = 0
        while batch := list(rows.filter(pk__gt=last).values_list("pk", text, raw)[:REFRESH_BATCH]):
            last = batch[-1][0]
            stale = [
                model(pk=pk, **{text: note_text(value)}) for pk, stored, value in batch if note_text(value) != stored
            ]
            changed += len(stale)
            if stale and not dry_run:
                model.objects.bulk_update(stale, [text], batch_size=500)
    return changed
