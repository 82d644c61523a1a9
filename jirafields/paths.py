"""Dot paths into Jira issues: `customfield_10020.0.name`, `assignee.displayName`, `components.name`."""

from typing import Any

from jirafields.sprint import is_sprint_string, parse_sprint_string

MISSING = object()


def split_path(path: str) -> tuple[str, ...]:
    return tuple(part for part in path.strip().split(".") if part)


def resolve(issue: dict, parts: tuple[str, ...]) -> Any:
    """Return the value at parts, or MISSING when the path leads nowhere.

    The first part names a field of `issue["fields"]`; when no such field exists
    it may name a top-level key instead (`key`, `id`). A numeric part indexes a
    list; any other part applied to a list is applied to each item. A greenhopper
    sprint string is read as the sprint object it stands for, so
    `customfield_10020.-1.name` works on Data Center too; one that cannot be read
    raises SprintFormatError.
    """
    fields = issue.get("fields") or {}
    head, rest = parts[0], parts[1:]
    if head in fields:
        value = fields[head]
    elif head in issue and head != "fields":
        value = issue[head]
    else:
        return MISSING
    return _descend(value, rest)


def _descend(value: Any, parts: tuple[str, ...]) -> Any:
    for position, part in enumerate(parts):
        if value is None:
            return None
        if is_sprint_string(value) and not part.lstrip("-").isdigit():
            value = parse_sprint_string(value).as_object()
        if isinstance(value, list):
            if part.lstrip("-").isdigit():
                index = int(part)
                value = value[index] if -len(value) <= index < len(value) else None
                continue
            items = [_descend(item, parts[position:]) for item in value]
            return [item for item in items if item is not MISSING and item is not None]
        if isinstance(value, dict):
            if part not in value:
                return MISSING
            value = value[part]
            continue
        return MISSING
    return value
