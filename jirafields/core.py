"""The core columns every issue has, read from the issue dict whatever the flavour."""

from datetime import datetime
from typing import Any, TypedDict

import orjson

from jirafields.convert import user_identity
from jirafields.processor import FieldError
from jirafields.timestamps import parse_jira_datetime


class CoreColumns(TypedDict):
    """The Issue model's core columns as core_read gives them, in the store's order: the one declaration of
    them (CORE_COLUMN_NAMES, the store's upsert and the bench's yardstick follow it). Texts are "" when Jira
    sent nothing readable; `created` and `updated` are None only outside a sync (a remap of stored rows)."""

    jira_id: int
    key: str
    summary: str
    issue_type: str
    status: str
    status_id: str
    status_category: str
    priority: str
    assignee: str
    assignee_id: str
    reporter: str
    reporter_id: str
    created: datetime | None
    updated: datetime | None
    resolved: datetime | None
    resolution: str
    labels: list[str]


# The columns core_read returns, in their order.
CORE_COLUMN_NAMES: tuple[str, ...] = tuple(CoreColumns.__annotations__)


class _Reader:
    """Reads the core values of one issue, noting as a FieldError each present value of the wrong shape
    (a value that cannot be read is never stored as an empty one without a word)."""

    def __init__(self, fields: dict) -> None:
        self.fields = fields
        self.errors: list[FieldError] = []

    def wrong(self, column: str, source: str, value: Any, what: str) -> None:
        shown = repr(value)[:60]
        self.errors.append(FieldError(column, source, f"Jira sent {shown}, not {what}; stored empty"))

    def name(self, column: str, source: str) -> str:
        value = self.fields.get(source)
        if isinstance(value, dict):
            return str(value.get("name") or "")
        if value is not None:
            self.wrong(column, source, value, "an object with a name")
        return ""

    def moment(self, column: str, source: str) -> datetime | None:
        value = self.fields.get(source)
        if value is None:
            return None
        try:
            return _moment(value, source)
        except ValueError as exc:
            self.errors.append(FieldError(column, source, f"{exc}; stored empty"))
            return None

    def user(self, column: str, source: str) -> tuple[str, str]:
        value = self.fields.get(source)
        identity = user_identity(value) if isinstance(value, dict) else None
        if value is not None and not isinstance(value, dict):
            self.wrong(column, source, value, "a user")
        return (identity["name"], identity["id"]) if identity else ("", "")

    def labels(self) -> list[str]:
        value = self.fields.get("labels")
        if value is not None and not isinstance(value, list):
            self.wrong("labels", "labels", value, "a list")
        return [str(label) for label in value] if isinstance(value, list) else []


def _moment(value: Any, source: str) -> datetime:
    """ValueError unless value is a Jira date-time with its offset."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"{source} {repr(value)[:60]} is not a date-time")
    try:
        return parse_jira_datetime(value)
    except ValueError:
        raise ValueError(f"{source} {value[:60]!r} is not a date-time with an offset") from None


def _strict_moment(fields: dict, source: str) -> datetime | None:
    """None when absent (prepare refuses an issue without created or updated), else a readable date-time."""
    value = fields.get(source)
    return None if value is None else _moment(value, source)


def core_read(issue: dict, *, strict: bool = True) -> tuple[CoreColumns, list[FieldError]]:
    """The Issue model's core column values and the values Jira sent in a shape they cannot be read from.

    Raises ValueError on a malformed id and, when strict, when created or updated is there but cannot be read: `updated`
    drives the watermark and both are what every row needs, so such an issue is not stored
    (prepare.UnstorableIssue). Not strict (a remap of stored rows), they are field errors like the rest.
    """
    fields = issue.get("fields") or {}
    read = _Reader(fields)
    status = fields.get("status") or {}
    category = status.get("statusCategory") or {} if isinstance(status, dict) else {}
    assignee, assignee_id = read.user("assignee", "assignee")
    reporter, reporter_id = read.user("reporter", "reporter")
    columns: CoreColumns = {
        "jira_id": int(issue["id"]),
        "key": str(issue.get("key") or ""),
        "summary": str(fields.get("summary") or ""),
        "issue_type": read.name("issue_type", "issuetype"),
        "status": read.name("status", "status"),
        "status_id": str(status.get("id") or "") if isinstance(status, dict) else "",
        "status_category": str(category.get("key") or "") if isinstance(category, dict) else "",
        "priority": read.name("priority", "priority"),
        "assignee": assignee,
        "assignee_id": assignee_id,
        "reporter": reporter,
        "reporter_id": reporter_id,
        "created": _strict_moment(fields, "created") if strict else read.moment("created", "created"),
        "updated": _strict_moment(fields, "updated") if strict else read.moment("updated", "updated"),
        "resolved": read.moment("resolved", "resolutiondate"),
        "resolution": read.name("resolution", "resolution"),
        "labels": read.labels(),
    }
    return columns, read.errors


def core_columns(issue: dict) -> CoreColumns:
    """core_read's columns alone."""
    return core_read(issue)[0]


def hollow_core_fields(issue: dict, *, dates: bool = True) -> list[str]:
    """What the store needs of an answer that is there but hollow; [] when it can be read.

    Each entry names the field and what it holds, e.g. `status {"self": "…"} (no name)` or
    `created '' is not a date-time`. The rule, per field the store writes and a sync always asks for:
    `key` and `summary` non-empty strings; `status`, `issuetype` objects with a non-empty string name
    (the row keeps names); `project` an object with an id (routing and moves go by it); `created`,
    `updated` date-time strings with an offset (`_moment`'s reason; not read when not `dates`, for a caller
    that reads them next anyway). Absent fields are `prepare`'s "answered without".
    """
    fields = issue.get("fields")
    if not isinstance(fields, dict):
        return []
    hollow = []
    key = issue.get("key")
    if not isinstance(key, str) or not key.strip():
        hollow.append(f"key {_shown(key)} (not a key)")
    summary = fields.get("summary")
    if summary is not None and (not isinstance(summary, str) or not summary):
        hollow.append(f"summary {_shown(summary)} (not a text)")
    for name in ("status", "issuetype"):
        value = fields.get(name)
        if value is not None and not (isinstance(value, dict) and isinstance(value.get("name"), str) and value["name"]):
            hollow.append(f"{name} {_shown(value)} (no name)")
    project = fields.get("project")
    if project is not None and not (isinstance(project, dict) and _has_id(project.get("id"))):
        hollow.append(f"project {_shown(project)} (no id)")
    for name in ("created", "updated") if dates else ():
        if fields.get(name) is not None:
            try:
                _moment(fields[name], name)
            except ValueError as exc:
                hollow.append(str(exc))
    return hollow


def _has_id(value: Any) -> bool:
    return (isinstance(value, int) and not isinstance(value, bool)) or (isinstance(value, str) and value.isdigit())


def _shown(value: Any) -> str:
    """A short JSON rendering of a value for a failure reason."""
    try:
        text = orjson.dumps(value).decode()
    except TypeError:
        text = repr(value)
    return text if len(text) <= 60 else text[:59] + "…"


# The system fields core_columns reads; the client asks Jira for these plus the mapped ones.
CORE_FIELD_IDS = (
    "summary",
    "issuetype",
    "status",
    "priority",
    "assignee",
    "reporter",
    "created",
    "updated",
    "resolutiondate",
    "resolution",
    "labels",
    "project",
)
