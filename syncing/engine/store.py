"""Writing issues: batch upserts keyed by (instance, Jira id), unchanged issues skipped, bad rows isolated."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import DatabaseError, connection, transaction
from django.db.models import F
from django.utils import timezone

from issues.models import Issue, IssueRaw
from issues.selectors import issue_rows
from jirafields.core import CORE_COLUMN_NAMES
from lib.bulk_sql import rows_upsert, rows_upsert_returning
from lib.log_redaction import redact
from projects.models import JiraInstance, Project
from syncing.engine.prepare import PreparedIssue
from syncing.models import IssueRetry


@dataclass(frozen=True)
class StoredState:
    """What is stored of an issue that a page's answer is compared with, read before the page's transaction."""

    project_id: int
    raw_hash: str
    deleted: bool
    complete: bool
    changelog_total: int
    updated: datetime | None = None


@dataclass(frozen=True)
class HeldIssue:
    """What the page's transaction holds of a stored issue (locked on PostgreSQL) to write it and audit it."""

    pk: int
    updated: datetime | None
    fields: dict[str, Any]


@dataclass
class StoredIssue:
    pk: int
    prepared: PreparedIssue
    created: bool
    old_fields: dict[str, Any]


@dataclass
class UpsertResult:
    stored: list[StoredIssue] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (key, why)
    superseded: list[str] = field(default_factory=list)  # keys read older than what another run stored meanwhile

    @property
    def inserted(self) -> int:
        return sum(1 for item in self.stored if item.created)

    @property
    def updated(self) -> int:
        return sum(1 for item in self.stored if not item.created)


def stored_issues(instance: JiraInstance, jira_ids: list[int]) -> dict[int, StoredState]:
    """The stored state of these issues of the instance, by Jira id (absent: never stored). One query, light:
    what deciding "unchanged" needs, not the mapped values (the page's transaction reads those of the
    changed issues, issues_upsert)."""
    rows = issue_rows(
        instance, jira_ids, ["project_id", "raw_hash", "deleted_at", "changelog_complete", "changelog_total", "updated"]
    )
    return {
        jira_id: StoredState(project_id, digest, deleted_at is not None, complete, total, updated)
        for jira_id, project_id, digest, deleted_at, complete, total, updated in rows
    }


def issue_unchanged(item: PreparedIssue, stored: StoredState | None, project: Project) -> bool:
    """Stored exactly as it is now: same raw digest, same project, live, with its whole history."""
    return (
        stored is not None
        and stored.raw_hash == item.raw_hash
        and stored.project_id == project.pk
        and not stored.deleted
        and stored.complete
    )


def issues_upsert(
    *,
    instance: JiraInstance,
    project: Project,
    prepared: list[PreparedIssue],
    stored: dict[int, StoredState],
    complete: set[int],
    synced_at: datetime,
    milestones_digest: str = "",
) -> UpsertResult:
    """Insert or update the prepared issues (the last of duplicates wins); stored: stored_issues() of them;
    complete: ids whose history is whole; milestones_digest: the milestone rules the caller derives with.

    Runs inside the caller's transaction. A batch that fails is retried row by row in savepoints, so one
    bad issue costs one row, named in the result with why.
    """
    by_id = {item.jira_id: item for item in prepared}
    looked_up = stored
    held = _held_now(instance, looked_up, list(by_id))
    result = UpsertResult()
    for jira_id, item in list(by_id.items()):
        before = held.get(jira_id)
        stored_meanwhile = before is not None and (
            jira_id not in looked_up or looked_up[jira_id].updated != before.updated
        )
        if (
            stored_meanwhile
            and before is not None
            and before.updated
            and item.columns["updated"]
            and before.updated > item.columns["updated"]
        ):
            result.superseded.append(item.key)  # another run stored a newer version meanwhile: kept
            del by_id[jira_id]
    rows = [
        _row(instance, project, item, item.jira_id in complete, synced_at, milestones_digest) for item in by_id.values()
    ]
    pks = {jira_id: state.pk for jira_id, state in held.items()}
    try:
        with transaction.atomic():
            pks.update(_issues_write(rows))
        written = list(by_id.values())
    except (DatabaseError, OverflowError):  # OverflowError: a number SQLite's driver cannot even send
        written = []
        for row, item in zip(rows, by_id.values(), strict=True):
            try:
                with transaction.atomic():
                    pks.update(_issues_write([row]))
                written.append(item)
            except (DatabaseError, OverflowError) as exc:
                result.failed.append((item.key, f"{type(exc).__name__}: {str(exc).strip()[:300]}"))
    if not written:
        return result
    unknown = [item.jira_id for item in written if item.jira_id not in pks]
    if unknown:  # SQLite: the new rows' ids, read back under the transaction's write lock
        pks.update(issue_rows(instance, unknown, ["id"]))
    rows_upsert(
        IssueRaw,
        ["issue_id", "body"],
        [(pks[item.jira_id], item.raw) for item in written],
        conflict=["issue_id"],
        update=["body"],
    )
    for item in written:
        before = held.get(item.jira_id)
        result.stored.append(StoredIssue(pks[item.jira_id], item, before is None, before.fields if before else {}))
    return result


def _issues_write(rows: list[tuple]) -> dict[int, int]:
    """Upsert issue rows; {jira_id: pk} of those written, where the database says it in the same statement
    (PostgreSQL's RETURNING; SQLite's executemany cannot: {})."""
    if connection.vendor == "postgresql":
        written = rows_upsert_returning(
            Issue, _COLUMNS, rows, conflict=_CONFLICT, update=_UPDATE, returning=["jira_id", "id"]
        )
        return dict(written)
    rows_upsert(Issue, _COLUMNS, rows, conflict=_CONFLICT, update=_UPDATE)
    return {}


def _held_now(instance: JiraInstance, looked_up: dict[int, StoredState], jira_ids: list[int]) -> dict[int, HeldIssue]:
    """The page's stored issues as they are now, inside the caller's transaction, held to its end: one lookup
    that gives what the write needs (pk, and `updated` for the newer-version guard) and the audit (the
    mapped values before).

    The page looked stored state up before its transaction (it asked Jira things in between); another
    project's sync may have stored one of its issues since (an issue moved between projects is read by
    both), a newer version of it even. Inside the transaction this read is exact: SQLite's IMMEDIATE
    transactions hold the write lock from their start; on PostgreSQL the stored rows are locked (FOR
    UPDATE) and, for the ids believed new, a transaction-scoped advisory lock per id makes every inserter
    of an id wait for the one before it to commit — a statement of its own, before the read, so the read's
    snapshot sees what that one committed. Locks are taken in id order, so two pages cannot deadlock.
    """
    new = [jira_id for jira_id in jira_ids if jira_id not in looked_up]
    if new and connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s, x) FROM unnest(%s::int[]) AS x",  # unnest keeps the order
                [_NEW_ISSUE_LOCK_SPACE ^ instance.pk, [jira_id % 2**31 for jira_id in sorted(new)]],
            )
    rows = issue_rows(instance, jira_ids, ["id", "updated", "fields"], lock=True)
    return {jira_id: HeldIssue(pk, updated, values) for jira_id, pk, updated, values in rows}


# The first key of the advisory locks on new issue ids (the second is the id): jirasync's own key space.
_NEW_ISSUE_LOCK_SPACE = 0x4A53
_CONFLICT = ["instance_id", "jira_id"]
_CORE = [name for name in CORE_COLUMN_NAMES if name not in ("jira_id", "labels")]
_UPDATE = [
    "project_id",
    *_CORE,
    "labels",
    "fields",
    "field_errors",
    "has_field_errors",
    "changelog_total",
    "changelog_complete",
    "raw_hash",
    "milestones_digest",
    "deleted_at",
    "synced_at",
]
_COLUMNS = [*_CONFLICT, *_UPDATE]


def _row(
    instance: JiraInstance, project: Project, item: PreparedIssue, complete: bool, synced_at: datetime, digest: str
) -> tuple:
    columns: Mapping[str, Any] = item.columns
    return (
        instance.pk,
        item.jira_id,
        project.pk,
        *(columns[name] for name in _CORE),
        *item.encoded,
        bool(item.errors),
        item.changelog_total,
        complete,
        item.raw_hash,
        digest,
        None,
        synced_at,
    )


def retry_ids(project: Project, *, before: datetime) -> dict[int, str]:
    """The issues of the project a run must ask for again, by Jira id with their keys: the rows that could
    not be stored, and the stored issues whose history is still incomplete — as they were before `before`
    (the run's start: what the run itself already tried is not asked for twice)."""
    wanted = dict(IssueRetry.objects.filter(project=project, last_failed_at__lt=before).values_list("jira_id", "key"))
    wanted.update(
        Issue.objects.filter(
            project=project, changelog_complete=False, deleted_at__isnull=True, synced_at__lt=before
        ).values_list("jira_id", "key")
    )
    return wanted


def retries_record(project: Project, failures: dict[int, tuple[str, str]]) -> None:
    """Keep the issues that could not be stored, {jira_id: (key, why)}, counting each further attempt."""
    now = timezone.now()
    for jira_id, (key, why) in failures.items():
        values = {"key": key[:64], "reason": redact(why)[:2000], "last_failed_at": now}
        if not IssueRetry.objects.filter(project=project, jira_id=jira_id).update(attempts=F("attempts") + 1, **values):
            IssueRetry.objects.get_or_create(project=project, jira_id=jira_id, defaults=values)


def retries_clear(project: Project, jira_ids: Iterable[int]) -> int:
    """Forget the failures of issues now stored; returns how many were forgotten."""
    ids = list(jira_ids)
    return IssueRetry.objects.filter(project=project, jira_id__in=ids).delete()[0] if ids else 0
