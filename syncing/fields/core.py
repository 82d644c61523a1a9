"""The core columns every issue has, read from the issue dict whatever the flavour."""

from datetime import datetime
from typing import Any

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
