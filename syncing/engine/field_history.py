"""Field history: every changelog item of the fields an instance keeps, stored once each by (history id, place).

The status history (history.py) is derived from the same changelog by its own rules and is kept whatever
this keeps; here an item is only read into a lean tuple of its scalar values and written.
"""

import sys
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

import orjson
from django.db.models import Q

from issues.models import FieldChange, Issue
from jirafields.convert import user_identity
from lib.bulk_sql import rows_insert, rows_insert_new
from projects.field_history_setting import EVERY_FIELD, field_history_names, field_history_normalised
from syncing.engine.history import _history_time

# In the order of FieldItem's fields, after the issue.
FIELD_CHANGE_COLUMNS = [
    "issue_id",
    "history_id",
    "position",
    "changed_at",
    "field_id",
    "field_name",
    "field_type",
    "from_id",
    "from_string",
    "to_id",
    "to_string",
    "author",
    "author_id",
]
_INTERNED_UP_TO = 64  # characters: names, ids, options and users repeat across histories; long texts do not


class FieldItem(NamedTuple):
    """One changelog item, its values cut to their columns' lengths (a NamedTuple: thousands per pack)."""

    history_id: int
    position: int
    changed_at: datetime
    field_id: str
    field_name: str
    field_type: str
    from_id: str | None
    from_string: str | None
    to_id: str | None
    to_string: str | None
    author: str
    author_id: str


@dataclass(frozen=True)
class KeptFields:
    """Which fields' items an instance keeps: every one, or those named (by field id or name, case-folded)."""

    every: bool
    names: frozenset[str]

    @classmethod
    def parse(cls, setting: str) -> "KeptFields":
        """From JiraInstance.field_history: "*" (every field), "" (none), or ids and names, comma separated; read
        in its stored form (field_history_normalised), which the report view's SQL reads too."""
        names = frozenset(name.casefold() for name in field_history_names(field_history_normalised(setting)))
        return cls(EVERY_FIELD in names, names - {EVERY_FIELD})

    @property
    def none(self) -> bool:
        return not self.every and not self.names

    def keeps(self, field_id: str, field_name: str) -> bool:
        return self.every or field_id.casefold() in self.names or field_name.casefold() in self.names

    def widened_from(self, before: "KeptFields") -> bool:
        """Whether this keeps a field that `before` did not (its history must then be read again)."""
        if before.every:
            return False
        return self.every or not self.names <= before.names


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = value if isinstance(value, str) else orjson.dumps(value).decode()
    text = text.replace("\x00", "")
    return sys.intern(text) if len(text) <= _INTERNED_UP_TO else text


def _name(value: Any, limit: int) -> str:
    return sys.intern(str(value or "").replace("\x00", "")[:limit])


def field_items(history: dict, kept: KeptFields) -> list[FieldItem]:
    """The items of one history whose field is kept, each with its place among all the history's items."""
    if kept.none:
        return []
    found = []
    changed_at = None
    for position, item in enumerate(history.get("items") or []):
        field_id, field_name = _name(item.get("fieldId"), 255), _name(item.get("field"), 255)
        if not kept.keeps(field_id, field_name):
            continue
        if changed_at is None:  # once a history, and only for one with a kept item
            changed_at = _history_time(history["created"])
            identity = user_identity(history.get("author") or {}) or {"id": "", "name": ""}
            history_id, author, author_id = int(history["id"]), _name(identity["name"], 255), _name(identity["id"], 128)
        found.append(
            FieldItem(
                history_id,
                position,
                changed_at,
                field_id,
                field_name,
                _name(item.get("fieldtype"), 64),
                _text(item.get("from")),
                _text(item.get("fromString")),
                _text(item.get("to")),
                _text(item.get("toString")),
                author,
                author_id,
            )
        )
    return found


def field_items_of(histories: Iterable[dict], kept: KeptFields) -> list[FieldItem]:
    """The kept items of these histories, each once (a history seen twice, inline and completed, counts once)."""
    unique = {(item.history_id, item.position): item for history in histories for item in field_items(history, kept)}
    return list(unique.values())


STALE_BATCH = 500  # stale rows deleted per statement


def field_changes_replace(wanted: dict[int, list[FieldItem]], whole: set[int], *, fresh: bool = False) -> int:
    """Store each issue's field history: items not stored yet inserted, items stored otherwise replaced, and for
    the issues in `whole` (their changelog is whole) the stored items it no longer holds deleted (a field no
    longer kept). A partial history never deletes. Returns how many items were inserted or replaced.

    fresh: the issues were created in this transaction, so nothing of theirs is stored (no read, no statement
    when there is nothing to write).
    """
    if not wanted:
        return 0
    if fresh:
        rows = [_row(issue_id, item) for issue_id, items in wanted.items() for item in items]
        return rows_insert(FieldChange, FIELD_CHANGE_COLUMNS, rows) if rows else 0
    stored: dict[int, dict[tuple[int, int], tuple[int, tuple]]] = defaultdict(dict)
    for pk, issue_id, *values in FieldChange.objects.filter(issue_id__in=list(wanted)).values_list(
        "pk", *FIELD_CHANGE_COLUMNS
    ):
        stored[issue_id][(values[0], values[1])] = (pk, tuple(values))
    rows, stale = [], []
    for issue_id, items in wanted.items():
        held = stored.get(issue_id, {})
        for item in items:
            before = held.pop((item.history_id, item.position), None)
            if before is not None and before[1] == item:
                continue  # stored as it is: not written again
            if before is not None:
                stale.append(before[0])
            rows.append(_row(issue_id, item))
        if issue_id in whole:
            stale += [pk for pk, _ in held.values()]
    for start in range(0, len(stale), STALE_BATCH):
        FieldChange.objects.filter(pk__in=stale[start : start + STALE_BATCH]).delete()
    rows_insert_new(FieldChange, FIELD_CHANGE_COLUMNS, rows)
    return len(rows)


def _row(issue_id: int, item: FieldItem) -> tuple:
    return (issue_id, *item)


def field_changes_not_kept(kept: KeptFields) -> Q:
    """The stored items of fields that `kept` does not keep (a Q over FieldChange)."""
    if kept.every:
        return Q(pk__in=[])
    if kept.none:
        return Q()
    named = Q()
    for name in kept.names:
        named |= Q(field_id__iexact=name) | Q(field_name__iexact=name)
    return ~named


def field_changes_prune(*, instance_id: int, kept: KeptFields, project_id: int | None = None) -> int:
    """Delete the stored items of the fields an instance no longer keeps; returns how many."""
    if kept.every:
        return 0
    issues = Issue.objects.filter(instance_id=instance_id)
    if project_id is not None:
        issues = issues.filter(project_id=project_id)
    query = FieldChange.objects.filter(field_changes_not_kept(kept), issue__in=issues)
    return query.delete()[0]
