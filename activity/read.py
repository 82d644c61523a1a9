"""Comments and worklogs as Jira sends them, read into the rows the store writes. Pure: no I/O.

Shapes (both flavours): a comment `{"id", "author", "updateAuthor", "created", "updated", "body",
"visibility"?}`, a worklog `{"id", "issueId", "author", "started", "timeSpentSeconds", "comment"?, "created",
"updated"}`; bodies are ADF documents on Cloud's v3 API and wiki text elsewhere. An issue's inline field is a
page: `{"comments" | "worklogs": […], "total", "maxResults", "startAt"}`.
https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issue-comments/
https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issue-worklogs/
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from jirafields.adf import adf_problems, adf_to_text, is_adf
from jirafields.convert import user_identity
from jirafields.timestamps import parse_jira_datetime
from lib.nul_characters import without_nul

# What each kind is called: the issue field, the list inside it (and inside the per-issue endpoint's page).
COMMENT_FIELD, COMMENT_ITEMS = "comment", "comments"
WORKLOG_FIELD, WORKLOG_ITEMS = "worklog", "worklogs"
TIMESPENT_FIELD = "timespent"  # the logged seconds, as Jira adds up its worklogs
MAX_ID = 2**63


class UnreadableActivity(ValueError):
    """A comment or worklog lacks what its row needs (an id, its dates, its time spent): storing the rest of
    the list would replace what is stored with less, so the issue costs its row instead."""


@dataclass(frozen=True)
class CommentRow:
    jira_id: int
    author: str
    author_id: str
    update_author: str
    created: datetime
    updated: datetime
    body: str
    body_raw: Any
    visibility_type: str
    visibility_value: str


@dataclass(frozen=True)
class WorklogRow:
    jira_id: int
    author: str
    author_id: str
    started: datetime
    seconds: int
    comment: str
    comment_raw: Any
    created: datetime
    updated: datetime


@dataclass
class InlineList:
    """What an issue's answer holds of one kind: the items and Jira's total (None: it did not say)."""

    items: list[dict[str, Any]]
    total: int | None

    @property
    def whole(self) -> bool:
        return self.total is not None and len(self.items) >= self.total


def note_text(raw: Any) -> str:
    """A comment's body or a worklog's comment as plain text: ADF flattened (README, Rich text), text as is."""
    if raw is None:
        return ""
    if is_adf(raw):
        return adf_to_text(raw)
    return raw if isinstance(raw, str) else str(raw)


def note_problems(raw: Any) -> list[str]:
    """What makes a body (ADF or text) less than readable ([]: nothing): a malformed ADF tree (its text is
    still flattened: jirafields.adf), or an object or list that is no ADF document (kept as its JSON)."""
    if is_adf(raw):
        return adf_problems(raw)
    if isinstance(raw, dict | list):
        return ["an object that is no ADF document (no doc type and content)"]
    return []


def inline_list(fields: dict[str, Any], field_id: str, items_key: str) -> InlineList | None:
    """The inline page of comments or worklogs in an issue's fields; None when the answer has none (not asked
    for, or left out: the caller reads the whole list from the per-issue endpoint)."""
    page = fields.get(field_id)
    if not isinstance(page, dict) or not isinstance(page.get(items_key), list):
        return None
    items = page[items_key]
    total = page.get("total")
    counted = isinstance(total, int) and not isinstance(total, bool) and total >= len(items)
    return InlineList(items, total if counted else None)


def comment_read(value: Any) -> CommentRow:
    """Raise UnreadableActivity when the comment has no numeric id or unreadable dates."""
    item = _object(value, "comment")
    jira_id = _id(item, "comment")
    author = _user(item.get("author"))
    shown = item.get("visibility")
    visibility: dict[str, Any] = shown if isinstance(shown, dict) else {}
    raw = _storable(item.get("body"))
    return CommentRow(
        jira_id=jira_id,
        author=author[1],
        author_id=author[0],
        update_author=_user(item.get("updateAuthor"))[1],
        created=_moment(item, "created", f"comment {jira_id}"),
        updated=_moment(item, "updated", f"comment {jira_id}", default=item.get("created")),
        body=note_text(raw),
        body_raw=raw,
        visibility_type=str(visibility.get("type") or "")[:16],
        visibility_value=str(visibility.get("value") or visibility.get("identifier") or "")[:255],
    )


def worklog_read(value: Any) -> WorklogRow:
    """Raise UnreadableActivity when the worklog has no numeric id, no started date-time or no time spent."""
    item = _object(value, "worklog")
    jira_id = _id(item, "worklog")
    seconds = item.get("timeSpentSeconds")
    if isinstance(seconds, bool) or not isinstance(seconds, int) or not 0 <= seconds < MAX_ID:
        raise UnreadableActivity(f"worklog {jira_id} has no time spent in seconds ({str(seconds)[:40]!r})")
    author = _user(item.get("author"))
    raw = _storable(item.get("comment"))
    return WorklogRow(
        jira_id=jira_id,
        author=author[1],
        author_id=author[0],
        started=_moment(item, "started", f"worklog {jira_id}"),
        seconds=seconds,
        comment=note_text(raw),
        comment_raw=raw,
        created=_moment(item, "created", f"worklog {jira_id}"),
        updated=_moment(item, "updated", f"worklog {jira_id}", default=item.get("created")),
    )


def _storable(raw: Any) -> Any:
    """The body without NUL characters, which PostgreSQL stores in no text or JSON; walked (in Python) only
    when the C serializer shows one, since an ADF document is hundreds of nodes."""
    if raw is None or (isinstance(raw, str) and "\x00" not in raw):
        return raw
    try:
        has_nul = b"\\u0000" in orjson.dumps(raw)
    except TypeError:  # a lone surrogate or nesting orjson refuses: cleaned the slow way
        has_nul = True
    return without_nul(raw) if has_nul else raw


def _object(value: Any, kind: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise UnreadableActivity(f"a {kind} is {type(value).__name__}, not an object")
    return value


def _id(item: dict[str, Any], kind: str) -> int:
    value: Any = item.get("id")
    try:
        jira_id = int(value)
    except (TypeError, ValueError):
        raise UnreadableActivity(f"a {kind} without a numeric id ({str(item.get('id'))[:40]!r})") from None
    if not 0 < jira_id < MAX_ID:
        raise UnreadableActivity(f"{kind} id {jira_id} is not a positive 64-bit number")
    return jira_id


def _user(value: Any) -> tuple[str, str]:
    identity = user_identity(value) if isinstance(value, dict) else None
    if identity is None:
        return "", ""
    return str(identity["id"])[:128], str(identity["name"])[:255]


def _moment(item: dict[str, Any], name: str, label: str, default: Any = None) -> datetime:
    value = item.get(name, default)
    try:
        return parse_jira_datetime(value)
    except (AttributeError, TypeError, ValueError):
        raise UnreadableActivity(f"{label}: {name} {str(value)[:40]!r} is not a date-time with an offset") from None


def timespent_read(fields: dict[str, Any]) -> int | None:
    """The issue's timespent in seconds as its answer's fields say it (None: not said, or no count of seconds)."""
    value = fields.get(TIMESPENT_FIELD)
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def worklogs_whole(total: int, spent: int | None, live: int, seconds: int | None) -> bool:
    """Whether the live worklogs stored (how many, their seconds) are those Jira counted: as many as its total,
    and (when the answer said its timespent) their seconds adding up to it. A worklog edited since that answer
    disagrees too: read again, which costs a request, never a failure."""
    return live == total and (spent is None or (seconds or 0) == spent)
