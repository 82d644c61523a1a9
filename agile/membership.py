"""An issue's stays in sprints, read from its Sprint field and the changelog's Sprint items (pure: no I/O).

The Sprint field lists every sprint the issue is in or was in when that sprint closed (Cloud objects, or Data
Center's greenhopper strings: jirafields/sprint.py reads both). Its history says when: each changelog item
of the Sprint field carries the sprint ids before (`from`, "260, 261") and after (`to`). Walked oldest first,
the ids in `to` are the issue's sprints from that moment: an id that appears opens a stay, one that disappears
closes it. The sprints of the first item's `from` were set when the issue was created (Jira records no item
for a value given at creation), and so are those of an issue with no Sprint item at all. Whatever the held
history leaves different from the field as it is now (a history cut short, a value set by an import) is made
to agree with the field at the issue's last update, as for status (syncing/engine/history.py's inferred moves).

Items are the Sprint field's when their `fieldId` is the field's id (Cloud), or — Data Center sends no
fieldId — when they are a custom field named "Sprint" (Jira Software's locked field).
"""

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, NamedTuple

from jirafields.processor import FieldError
from jirafields.sprint import Sprint, SprintFormatError, parse_sprint
from jirafields.timestamps import datetime_from_epoch_ms, parse_jira_datetime

SPRINT_FIELD_NAME = "Sprint"


class SprintMove(NamedTuple):
    """One change of an issue's sprints: when, which history, the sprint ids before and after, and the names
    Jira wrote after (by id, when they could be told apart)."""

    history_id: int
    changed_at: datetime
    before: tuple[int, ...]
    after: tuple[int, ...]
    names: tuple[tuple[int, str], ...]


class SprintStay(NamedTuple):
    sprint_jira_id: int
    sprint_name: str
    added_at: datetime
    removed_at: datetime | None


def is_sprint_item(item: dict, field_ids: frozenset[str]) -> bool:
    field_id = item.get("fieldId")
    if field_id:
        return field_id in field_ids
    return item.get("fieldtype") == "custom" and item.get("field") == SPRINT_FIELD_NAME


def sprint_moves(history: dict, field_ids: frozenset[str]) -> list[SprintMove]:
    """The Sprint changes of one history (most have none); ValueError/KeyError for an unreadable one."""
    moves = []
    for item in history.get("items") or []:
        if not isinstance(item, dict) or not is_sprint_item(item, field_ids):
            continue
        after = _ids(item.get("to"))
        names = _names(after, item.get("toString"))
        moves.append(SprintMove(int(history["id"]), _moment(history["created"]), _ids(item.get("from")), after, names))
    return moves


def _ids(text: Any) -> tuple[int, ...]:
    return tuple(int(part) for part in str(text or "").split(",") if part.strip())


def _names(ids: tuple[int, ...], text: Any) -> tuple[tuple[int, str], ...]:
    """The name of a lone sprint id: with several, the text cannot be split (a name may hold ", " itself)."""
    return ((ids[0], str(text).strip()),) if len(ids) == 1 and text else ()


def _moment(value: Any) -> datetime:
    if isinstance(value, (int, float)):
        return datetime_from_epoch_ms(value) if value > 10**11 else datetime.fromtimestamp(value, UTC)
    return parse_jira_datetime(value)


def sprints_read(value: Any, source: str) -> tuple[list[Sprint], list[FieldError]]:
    """The sprints a Sprint field's value holds (a list, one value, or None), each once, and a field error for
    each value that cannot be read (left out, never guessed)."""
    sprints: dict[int, Sprint] = {}
    errors = []
    for item in value if isinstance(value, list) else ([] if value is None else [value]):
        try:
            sprint = parse_sprint(item)
        except SprintFormatError as exc:
            errors.append(FieldError("sprint membership", source, f"{exc}; left out"))
            continue
        sprints.setdefault(sprint.id, sprint)
    return list(sprints.values()), errors


def sprint_stays(
    current: list[Sprint], moves: Iterable[SprintMove], *, created: datetime, updated: datetime | None
) -> list[SprintStay]:
    """The issue's stays in sprints from the sprints its field holds now and its Sprint moves (any order)."""
    names = {sprint.id: sprint.name for sprint in current}
    ordered = sorted(moves, key=lambda move: (move.changed_at, move.history_id))
    for move in ordered:
        for sprint_id, name in move.names:
            names.setdefault(sprint_id, name)
    opened: dict[int, datetime] = {}
    stays: list[SprintStay] = []
    start = ordered[0].before if ordered else tuple(sprint.id for sprint in current)
    for sprint_id in start:
        opened.setdefault(sprint_id, created)
    for move in ordered:
        _move_to(opened, set(move.after), move.changed_at, stays, names)
    if ordered:  # what the held history leaves different from the field now: made to agree at the last update
        end = max(created, updated) if updated else created
        _move_to(opened, {sprint.id for sprint in current}, max(end, ordered[-1].changed_at), stays, names)
    stays += [SprintStay(sprint_id, names.get(sprint_id, ""), at, None) for sprint_id, at in opened.items()]
    return _distinct(stays)


def _move_to(
    opened: dict[int, datetime], after: set[int], at: datetime, stays: list[SprintStay], names: dict[int, str]
) -> None:
    for sprint_id in [sprint_id for sprint_id in opened if sprint_id not in after]:
        stays.append(SprintStay(sprint_id, names.get(sprint_id, ""), opened.pop(sprint_id), at))
    for sprint_id in after:
        opened.setdefault(sprint_id, at)


def _distinct(stays: list[SprintStay]) -> list[SprintStay]:
    """One stay per (sprint, added_at) — the table's key; a stay that lasted no time at all is dropped."""
    kept: dict[tuple[int, datetime], SprintStay] = {}
    for stay in stays:
        if stay.removed_at is not None and stay.removed_at <= stay.added_at:
            continue
        kept[(stay.sprint_jira_id, stay.added_at)] = stay
    return sorted(kept.values(), key=lambda stay: (stay.added_at, stay.sprint_jira_id))
