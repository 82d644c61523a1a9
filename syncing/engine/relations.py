"""An issue's relations read from its JSON — issue links, parent, sub-tasks, fix and affects versions,
components — as the rows the store writes, and their replacement for the issues a page stores.

Pure reading first (`issue_relations`: the issue dict in, rows and field errors out, no I/O), so the page's
prepare step and a re-map of stored raw JSON read them alike. The other issue of a link, parent or sub-task is
kept by its Jira id (and key): a link to an issue not synced (yet), or in a project not synced, is a row all
the same, joinable once that issue is stored.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from issues.models import IssueComponent, IssueLink, IssueVersion
from jirafields.processor import FieldError
from jirafields.timestamps import parse_jira_date
from lib.bulk_sql import rows_insert

# The system fields relations are read from; every sync asks for them (CORE_FIELD_IDS).
RELATION_FIELD_IDS = ("issuelinks", "parent", "subtasks", "fixVersions", "versions", "components")

LINK_COLUMNS = ["issue_id", "kind", "link_id", "link_type", "direction", "description", "other_jira_id", "other_key"]
VERSION_COLUMNS = ["issue_id", "kind", "version_jira_id", "name", "released", "release_date"]
COMPONENT_COLUMNS = ["issue_id", "component_jira_id", "name"]


@dataclass
class IssueRelations:
    """An issue's relation rows without the issue's primary key (the store prepends it)."""

    links: list[tuple] = field(default_factory=list)  # LINK_COLUMNS[1:]
    versions: list[tuple] = field(default_factory=list)  # VERSION_COLUMNS[1:]
    components: list[tuple] = field(default_factory=list)  # COMPONENT_COLUMNS[1:]
    errors: list[FieldError] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.links or self.versions or self.components)


class _Unreadable(ValueError):
    pass


def issue_relations(fields: dict[str, Any]) -> IssueRelations:
    """The relation rows of an issue's `fields`. An item that cannot be read (not an object, no numeric id) is
    a field error naming the field and why — never silently left out; the rest of the field is kept."""
    result = IssueRelations()
    for source, read, identity in _READERS:
        value = fields.get(source)
        if value is None:
            continue
        items = [value] if source == "parent" else value
        if not isinstance(items, list):
            result.errors.append(FieldError(source, source, f"Jira sent {repr(value)[:60]}, not a list"))
            continue
        seen: set[tuple] = set()
        for item in items:
            try:
                row = read(item)
            except _Unreadable as exc:
                result.errors.append(FieldError(source, source, f"{exc}; left out"))
                continue
            if row[:identity] in seen:  # the same relation twice in one answer: one row
                continue
            seen.add(row[:identity])
            _bucket(result, source).append(row)
    return result


def _bucket(result: IssueRelations, source: str) -> list[tuple]:
    if source in ("fixVersions", "versions"):
        return result.versions
    if source == "components":
        return result.components
    return result.links


def _number(item: Any, what: str) -> int:
    if not isinstance(item, dict):
        raise _Unreadable(f"Jira sent {repr(item)[:60]}, not an object")
    try:
        number = int(str(item.get("id")))
    except ValueError:
        raise _Unreadable(f"{what} {repr(item.get('id'))[:40]} is not a numeric id") from None
    if not 0 < number < 2**63:
        raise _Unreadable(f"{what} {number} is out of range")
    return number


def _text(value: Any, limit: int) -> str:
    return str(value or "").replace("\x00", "")[:limit]


def _link(item: Any) -> tuple:
    link_id = _number(item, "link id")
    kind = item.get("type") if isinstance(item.get("type"), dict) else {}
    if isinstance(item.get("outwardIssue"), dict):
        direction, other, description = "outward", item["outwardIssue"], kind.get("outward")
    elif isinstance(item.get("inwardIssue"), dict):
        direction, other, description = "inward", item["inwardIssue"], kind.get("inward")
    else:
        raise _Unreadable(f"link {link_id} names no outwardIssue or inwardIssue")
    other_id = _number(other, f"link {link_id}'s issue id")
    return (
        IssueLink.Kind.LINK.value,
        link_id,
        other_id,
        _text(kind.get("name"), 255),
        direction,
        _text(description, 255),
        _text(other.get("key"), 64),
    )


def _related(kind: str):
    def read(item: Any) -> tuple:
        other_id = _number(item, f"{kind} issue id")
        return (kind, 0, other_id, "", "", "", _text(item.get("key"), 64))

    return read


def _version(kind: str):
    def read(item: Any) -> tuple:
        version_id = _number(item, "version id")
        released = item.get("released")
        return (
            kind,
            version_id,
            _text(item.get("name"), 255),
            released if isinstance(released, bool) else None,
            _date(item.get("releaseDate")),
        )

    return read


def _component(item: Any) -> tuple:
    return (_number(item, "component id"), _text(item.get("name"), 255))


def _date(value: Any) -> date | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return parse_jira_date(value)
    except ValueError:
        return None  # the release date is descriptive; the version's id and name are what rows need


# (field, reader, how many leading values of a row identify it: the table's unique key after the issue)
_READERS = (
    ("issuelinks", _link, 3),
    ("parent", _related(IssueLink.Kind.PARENT.value), 3),
    ("subtasks", _related(IssueLink.Kind.SUBTASK.value), 3),
    ("fixVersions", _version(IssueVersion.Kind.FIX.value), 2),
    ("versions", _version(IssueVersion.Kind.AFFECTS.value), 2),
    ("components", _component, 1),
)


def link_row(issue_id: int, row: tuple) -> tuple:
    """The IssueLink row (LINK_COLUMNS) of a read link: (kind, link id, other id, type, direction, text, key)."""
    kind, link_id, other_id, link_type, direction, description, key = row
    return (issue_id, kind, link_id, link_type, direction, description, other_id, key)


def relations_replace(relations: dict[int, IssueRelations], *, fresh: bool = False) -> int:
    """Make the stored relations of these issues ({issue pk: relations}) exactly these; fresh: the issues were
    created in this transaction (nothing to delete). One DELETE per table for the page's issues, then one
    insert per table that has rows. Returns the rows written."""
    if not relations:
        return 0
    ids = list(relations)
    if not fresh:
        for model in (IssueLink, IssueVersion, IssueComponent):
            model.objects.filter(issue_id__in=ids).delete()  # no cascade, no signals: one DELETE … IN
    written = 0
    for model, columns, rows in (
        (IssueLink, LINK_COLUMNS, (link_row(pk, row) for pk, found in relations.items() for row in found.links)),
        (IssueVersion, VERSION_COLUMNS, ((pk, *row) for pk, found in relations.items() for row in found.versions)),
        (
            IssueComponent,
            COMPONENT_COLUMNS,
            ((pk, *row) for pk, found in relations.items() for row in found.components),
        ),
    ):
        batch = list(rows)
        if batch:
            written += rows_insert(model, columns, batch)
    return written


def relations_differing(relations: dict[int, IssueRelations]) -> dict[int, IssueRelations]:
    """Those of these issues ({issue pk: relations read}) whose stored relation rows are not exactly these: what
    a re-map must rewrite and counts as changed. One read per table."""
    if not relations:
        return {}
    tables: tuple[tuple[Any, list[str]], ...] = (
        (IssueLink, LINK_COLUMNS),
        (IssueVersion, VERSION_COLUMNS),
        (IssueComponent, COMPONENT_COLUMNS),
    )
    stored: dict[int, tuple[set, ...]] = defaultdict(lambda: (set(), set(), set()))
    for place, (model, columns) in enumerate(tables):
        for row in model.objects.filter(issue_id__in=list(relations)).values_list(*columns):
            stored[row[0]][place].add(row)
    return {
        pk: found for pk, found in relations.items() if _row_sets(pk, found) != stored.get(pk, (set(), set(), set()))
    }


def _row_sets(pk: int, found: IssueRelations) -> tuple[set, ...]:
    return (
        {link_row(pk, row) for row in found.links},
        {(pk, *row) for row in found.versions},
        {(pk, *row) for row in found.components},
    )
