"""Replay: issues loaded from files in Jira's own JSON shapes, served through every endpoint.

A file may hold a search response page ({"issues": [...]}), a single issue ({"id", "key",
"fields"}), a webhook payload ({"issue": {...}}), or a list of any of these.
"""

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any


@dataclass
class RawEvent:
    """A recorded history entry, served as it was recorded."""

    history_id: int
    at_ms: int
    body: dict[str, Any]

    def items_matching(self, field_ids: list[str]) -> list[dict[str, Any]]:
        items = self.body.get("items") or []
        if not field_ids:
            return items
        wanted = {f.lower() for f in field_ids}
        return [i for i in items if (i.get("fieldId") or str(i.get("field", "")).lower()) in wanted]


def issues_in(document: Any) -> list[dict[str, Any]]:
    """Every issue a recorded document holds."""
    if isinstance(document, list):
        return [issue for part in document for issue in issues_in(part)]
    if not isinstance(document, dict):
        return []
    if isinstance(document.get("issues"), list):
        return [issue for issue in document["issues"] if isinstance(issue, dict) and "id" in issue]
    if isinstance(document.get("issue"), dict):
        return [document["issue"]]
    if "id" in document and "key" in document and isinstance(document.get("fields"), dict):
        return [document]
    return []


def load_replay_files(paths: list[str | Path]) -> list[dict[str, Any]]:
    """The issues of every file, later files winning for the same id; ValueError names a bad file."""
    by_id: dict[str, dict[str, Any]] = {}
    for path in paths:
        try:
            document = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ValueError(f"cannot replay {path}: {exc}") from exc
        issues = issues_in(document)
        if not issues:
            raise ValueError(f"cannot replay {path}: no Jira issue in it (a search page, an issue or a webhook)")
        for issue in issues:
            by_id[str(issue["id"])] = issue
    return list(by_id.values())


def epoch_ms(timestamp: str | None, default: int) -> int:
    """A recorded timestamp in epoch ms; the default when it is missing or not a date (hostile test data)."""
    if not timestamp:
        return default
    try:
        return int(datetime.fromisoformat(str(timestamp)).timestamp() * 1000)
    except ValueError:
        return default


def raw_events(issue: dict[str, Any]) -> list[RawEvent]:
    """The recorded histories, oldest first whatever order they were recorded in."""
    histories = (issue.get("changelog") or {}).get("histories") or []
    events = [RawEvent(int(h.get("id", 0)), epoch_ms(h.get("created"), 0), h) for h in histories]
    return sorted(events, key=lambda e: (e.at_ms, e.history_id))
