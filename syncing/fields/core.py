"""The core columns every issue has, read from the issue dict whatever the flavour."""

from datetime import datetime
from typing import Any

import orjson

from syncing.fields.convert import user_identity
from syncing.fields.timestamps import parse_jira_datetime


def _name(value: Any) -> str:
    return str(value.get("name") or "") if isinstance(value, dict) else ""


def _moment(value: Any) -> datetime | None:
    return parse_jira_datetime(value) if isinstance(value, str) and value else None


def _user(value: Any) -> tuple[str, str]:
    identity = user_identity(value) if isinstance(value, dict) else None
    return (identity["name"], identity["id"]) if identity else ("", "")


def core_columns(issue: dict) -> dict[str, Any]:
    """Return the Issue model's core column values; raise ValueError on a malformed id or timestamp."""
    fields = issue.get("fields") or {}
    status = fields.get("status") or {}
    category = status.get("statusCategory") or {} if isinstance(status, dict) else {}
    assignee, assignee_id = _user(fields.get("assignee"))
    reporter, reporter_id = _user(fields.get("reporter"))
    labels = fields.get("labels")
    return {
        "jira_id": int(issue["id"]),
        "key": str(issue.get("key") or ""),
        "summary": str(fields.get("summary") or ""),
        "issue_type": _name(fields.get("issuetype")),
        "status": _name(status),
        "status_id": str(status.get("id") or "") if isinstance(status, dict) else "",
        "status_category": str(category.get("key") or ""),
        "priority": _name(fields.get("priority")),
        "assignee": assignee,
        "assignee_id": assignee_id,
        "reporter": reporter,
        "reporter_id": reporter_id,
        "created": _moment(fields.get("created")),
        "updated": _moment(fields.get("updated")),
        "resolved": _moment(fields.get("resolutiondate")),
        "resolution": _name(fields.get("resolution")),
        "labels": [str(label) for label in labels] if isinstance(labels, list) else [],
    }


def hollow_core_fields(issue: dict) -> list[str]:
    """What the store needs of an answer that is there but hollow; [] when it can be read.

    Each entry names the field and what it holds, e.g. `status {"self": "…"} (no name)` or
    `created "" (not a date-time)`. The rule, per field the store writes and a sync always asks for:
    `key` and `summary` non-empty strings; `status`, `issuetype` objects with a non-empty string name
    (the row keeps names); `project` an object with an id (routing and moves go by it); `created`,
    `updated` date-time strings with an offset. Absent fields are `prepare`'s "answered without".
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
    for name in ("created", "updated"):
        value = fields.get(name)
        if value is not None and not _is_moment(value):
            hollow.append(f"{name} {_shown(value)} (not a date-time)")
    return hollow


def _has_id(value: Any) -> bool:
    return (isinstance(value, int) and not isinstance(value, bool)) or (isinstance(value, str) and value.isdigit())


def _is_moment(value: Any) -> bool:
    if not isinstance(value, str) or not value:
        return False
    try:
        parse_jira_datetime(value)
    except ValueError:
        return False
    return True


def _shown(value: Any) -> str:
    """A short JSON rendering of a value for a failure reason."""
    try:
        text = orjson.dumps(value).decode()
    except TypeError:
        text = repr(value)
    return text if len(text) <= 60 else text[:59] + "…"


# The columns core_columns returns, in its order.
CORE_COLUMN_NAMES = (
    "jira_id",
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
)

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
