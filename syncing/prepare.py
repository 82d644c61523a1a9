"""One Jira issue dict turned into what the store writes: core columns, mapped values, raw bytes, histories."""

import hashlib
from dataclasses import dataclass, field
from typing import Any

import orjson

from syncing.fields import CompiledMapping, process_issue
from syncing.fields.core import core_columns


class UnstorableIssue(ValueError):
    """The issue lacks what every row needs (a numeric id, readable timestamps)."""


@dataclass
class PreparedIssue:
    jira_id: int
    key: str
    project_jira_id: str
    columns: dict[str, Any]
    fields: dict[str, Any]
    errors: list[dict[str, str]]
    raw: bytes
    raw_hash: str
    histories: list[dict[str, Any]] = field(default_factory=list)
    changelog_total: int = 0

    @property
    def changelog_truncated(self) -> bool:
        return self.changelog_total > len(self.histories)


def without_nul(value: Any) -> Any:
    """The value with NUL characters removed from every string: PostgreSQL stores none, in text or JSON."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, list):
        return [without_nul(item) for item in value]
    if isinstance(value, dict):
        return {without_nul(key): without_nul(item) for key, item in value.items()}
    return value


def _raw_json(issue: dict[str, Any]) -> bytes:
    """The issue as kept, without its changelog: histories are stored as status changes, and the
    digest of the rest recognises an issue that did not change."""
    return orjson.dumps({key: value for key, value in issue.items() if key != "changelog"})


def prepare_issue(issue: dict[str, Any], mapping: CompiledMapping) -> PreparedIssue:
    """Raise UnstorableIssue (with the key when there is one) when the issue cannot become a row."""
    raw = _raw_json(issue)
    if b"\\u0000" in raw or b"\\u0000" in orjson.dumps(issue.get("changelog")):
        issue = without_nul(issue)
        raw = _raw_json(issue)
    try:
        columns = core_columns(issue)
    except (KeyError, TypeError, ValueError) as exc:
        raise UnstorableIssue(f"{issue.get('key') or issue.get('id') or '?'}: {type(exc).__name__}: {exc}") from None
    if not -(2**63) <= columns["jira_id"] < 2**63:
        raise UnstorableIssue(f"{columns['key'] or issue.get('id')}: id {issue.get('id')} is not a 64-bit number")
    processed = process_issue(issue, mapping)
    changelog = issue.get("changelog") or {}
    project = (issue.get("fields") or {}).get("project") or {}
    return PreparedIssue(
        jira_id=columns["jira_id"],
        key=columns["key"],
        project_jira_id=str(project.get("id") or "") if isinstance(project, dict) else "",
        columns=columns,
        fields=processed.values,
        errors=[error.as_dict() for error in processed.errors],
        raw=raw,
        raw_hash=hashlib.blake2b(raw, digest_size=16).hexdigest(),
        histories=list(changelog.get("histories") or []),
        changelog_total=int(changelog.get("total") or len(changelog.get("histories") or [])),
    )
