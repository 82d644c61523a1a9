"""One Jira issue dict turned into what the store writes: core columns, mapped values, raw bytes, histories."""

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeGuard

import orjson
from django.db.models import CharField

from agile.membership import sprints_read
from issues.models import Issue
from jirafields import CompiledMapping, process_issue
from jirafields.core import CORE_COLUMN_NAMES, CoreColumns, core_read, hollow_core_fields
from jirafields.processor import FieldError
from jirafields.sprint import Sprint
from lib.columns import max_length
from lib.nul_characters import without_nul
from syncing.engine.relations import IssueRelations, issue_relations
from syncing.jira.paging import UNREADABLE


class UnstorableIssue(ValueError):
    """The issue lacks what every row needs (a numeric id, its fields, the core fields with readable values —
    see hollow_core_fields): storing it would replace what is stored with less, so it costs its row instead."""


# The system fields every Jira issue has and every sync asks for: an answer without one of them holds less
# than was asked for (Jira sends `"fields": null`, drops `fields`, or omits fields that failed to load).
REQUIRED_FIELDS = ("summary", "status", "issuetype", "project", "created", "updated")


@dataclass
class PreparedIssue:
    jira_id: int
    key: str
    project_jira_id: str
    columns: CoreColumns
    fields: dict[str, Any]
    errors: list[dict[str, str]]
    encoded: tuple[str, str, str]  # labels, fields and errors as JSON text, as the store writes them
    raw: bytes
    raw_hash: str
    histories: list[dict[str, Any]] = field(default_factory=list)
    changelog_total: int | None = 0  # None: the total is unknown (no changelog, or one without its total)
    relations: IssueRelations = field(default_factory=IssueRelations)
    # The sprints its Sprint field holds now; None when the mapping names no Sprint field (no membership kept).
    sprints: list[Sprint] | None = None

    @property
    def created(self) -> datetime:
        """When Jira says the issue was created (prepare_issue refuses an issue without a readable one)."""
        created = self.columns["created"]
        if created is None:
            raise UnstorableIssue(f"{self.key}: Jira answered without created")
        return created

    @property
    def changelog_missing(self) -> bool:
        """Jira's total is unknown: the answer had no changelog, or one that did not say (rightly) how long."""
        return self.changelog_total is None

    @property
    def changelog_truncated(self) -> bool:
        """The answer holds less history than Jira has (or none at all, when the changelog was left out)."""
        return self.changelog_total is None or self.changelog_total > len(self.histories)


# Core text columns and their lengths: a longer value costs its row on both databases (PostgreSQL would
# refuse it, SQLite would store it), never a page.
_COLUMN_LIMITS = {
    field.name: max_length(Issue, field.name)
    for field in Issue._meta.concrete_fields
    if isinstance(field, CharField) and field.name in CORE_COLUMN_NAMES
}


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


def _raw_json(issue: dict[str, Any]) -> bytes:
    """The issue as kept, without its changelog: histories are stored as status changes, and the
    digest of the rest recognises an issue that did not change."""
    return orjson.dumps({key: value for key, value in issue.items() if key != "changelog"})


def _missing_fields(issue: dict[str, Any], *, dates: bool = True) -> str:
    """Why the answer holds less than a whole issue, or "" when it holds what every sync asks for: a core
    field absent, or there but hollow (a status without a name, a created that is no date-time, …; the
    date-times only when `dates`)."""
    fields = issue.get("fields")
    if "fields" not in issue:
        return "Jira answered without its fields"
    if not isinstance(fields, dict):
        return f"Jira answered with fields {orjson.dumps(fields).decode()[:20]}"
    absent = [name for name in REQUIRED_FIELDS if fields.get(name) is None or fields[name] == {}]
    if absent:
        return f"Jira answered without {', '.join(absent)}"
    hollow = hollow_core_fields(issue, dates=dates)
    return f"Jira answered with a hollow {'; '.join(hollow)}" if hollow else ""


def _changelog(issue: dict[str, Any]) -> tuple[list[dict[str, Any]], int | None]:
    """The histories the answer holds and Jira's total; (…, None) when the total is unknown: no usable
    changelog, or one that does not say its total or says one its own histories contradict (a total or a
    maxResults below the histories held). Such a history is completed from the changelog endpoint, which
    reports totals, or stays flagged incomplete — never taken as whole because nothing said it was not."""
    changelog = issue.get("changelog")
    if not isinstance(changelog, dict) or not isinstance(changelog.get("histories"), list):
        return [], None
    histories = [history for history in changelog["histories"] if isinstance(history, dict)]
    total, shown = changelog.get("total"), changelog.get("maxResults", len(histories))
    if not _count(total) or not _count(shown) or total < len(histories) or shown < len(histories):
        return histories, None
    return histories, total


def _count(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def prepare_issue(issue: dict[str, Any], mapping: CompiledMapping) -> PreparedIssue:
    """Raise UnstorableIssue (with the key when there is one) when the issue cannot become a row: no
    numeric id, no fields or not the core ones, unreadable timestamps.

    An answer without its changelog (asked for by every caller) is an issue whose history is truncated to
    nothing: changelog_total is None, and the caller completes the history or keeps the stored one. So is
    one whose changelog does not say its total (see _changelog): its histories are kept, the rest fetched.
    """
    label = str(issue.get("key") or issue.get("id") or "?")
    if UNREADABLE in issue:
        raise UnstorableIssue(f"{label}: {issue[UNREADABLE]}")
    try:
        raw = _raw_json(issue)
        if b"\\u0000" in raw:
            issue = without_nul(issue)
            raw = _raw_json(issue)
    except TypeError as exc:  # orjson: a lone surrogate (an emoji cut in half), nesting past 254 levels
        raise UnstorableIssue(f"{label}: cannot be kept as JSON ({exc})") from None
    # created and updated are read once, by core_read; only an issue it refuses has them checked for the reason.
    if _missing_fields(issue, dates=False):
        raise UnstorableIssue(f"{label}: {_missing_fields(issue)}")
    try:
        columns, core_errors = core_read(issue)
    except (KeyError, TypeError, ValueError) as exc:
        raise UnstorableIssue(f"{label}: {_missing_fields(issue) or f'{type(exc).__name__}: {exc}'}") from None
    if not -(2**63) <= columns["jira_id"] < 2**63:
        raise UnstorableIssue(f"{columns['key'] or issue.get('id')}: id {issue.get('id')} is not a 64-bit number")
    texts: Mapping[str, Any] = columns
    too_long = [name for name, limit in _COLUMN_LIMITS.items() if len(texts[name]) > limit]
    if too_long:
        raise UnstorableIssue(
            f"{label}: {', '.join(f'{name} longer than {_COLUMN_LIMITS[name]} characters' for name in too_long)}"
        )
    processed = process_issue(issue, mapping)
    relations, sprints, read_errors = relations_read(issue["fields"], mapping)
    errors = [error.as_dict() for error in [*core_errors, *processed.errors, *read_errors]]
    try:
        encoded = (_json(columns["labels"]), _json(processed.values), _json(errors))
    except TypeError as exc:
        raise UnstorableIssue(f"{label}: a mapped value cannot be kept as JSON ({exc})") from None
    histories, total = _changelog(issue)
    project = (issue.get("fields") or {}).get("project") or {}
    return PreparedIssue(
        jira_id=columns["jira_id"],
        key=columns["key"],
        project_jira_id=str(project.get("id") or "") if isinstance(project, dict) else "",
        columns=columns,
        fields=processed.values,
        errors=errors,
        encoded=encoded,
        raw=raw,
        raw_hash=hashlib.blake2b(raw, digest_size=16).hexdigest(),
        histories=histories,
        changelog_total=total,
        relations=relations,
        sprints=sprints,
    )


def relations_read(
    fields: dict[str, Any], mapping: CompiledMapping
) -> tuple[IssueRelations, list[Sprint] | None, list[FieldError]]:
    """An issue's relations, the sprints of its Sprint field (None: the mapping reads none) and the field errors
    of both, in the order a sync and a re-map record them."""
    relations = issue_relations(fields)
    sprints, sprint_errors = _sprints(fields, mapping)
    return relations, sprints, [*relations.errors, *sprint_errors]


def _sprints(fields: dict[str, Any], mapping: CompiledMapping) -> tuple[list[Sprint] | None, list[FieldError]]:
    """The sprints of the first Sprint field the mapping reads that the issue has (None: the mapping reads none)."""
    if not mapping.sprint_field_ids:
        return None, []
    for field_id in sorted(mapping.sprint_field_ids):
        if fields.get(field_id) is not None:
            return sprints_read(fields[field_id], field_id)
    return [], []
