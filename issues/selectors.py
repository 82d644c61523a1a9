"""Reading synced issues: an issue's page and the cheap lists the admin filters need (for people), and the
stored rows of a page's issues by Jira id (for the sync and the worklog feed)."""

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import orjson
from django.core.cache import cache
from django.db import connection
from django.db.models import Count, OuterRef, Q, Subquery

from issues.models import (
    FieldChange,
    Issue,
    IssueComponent,
    IssueLink,
    IssueMilestone,
    IssueRaw,
    IssueVersion,
    StatusChange,
    TimeInStatus,
)
from projects.models import JiraInstance


@dataclass
class TimelineEntry:
    change: StatusChange
    seconds_in_previous: float | None  # how long the issue stayed in the status it left


@dataclass
class FieldChangeShown:
    change: FieldChange
    from_text: str  # fromString (else from), cut at FIELD_VALUE_SHOWN characters
    to_text: str


@dataclass
class IssueDetail:
    fields: list[tuple[str, str | None]]
    timeline: list[TimelineEntry]
    time_in_status: list[TimeInStatus]
    milestones: list[IssueMilestone]
    raw_json: str
    field_history: list[FieldChangeShown] | None  # the newest FIELD_CHANGES_SHOWN, oldest first; None: not shown
    field_history_cut: bool  # older ones are not shown
    links: list[IssueLink] = field(default_factory=list)  # each with other_pk: the other issue's row, if stored
    versions: list[IssueVersion] = field(default_factory=list)
    components: list[IssueComponent] = field(default_factory=list)


# What an issue's page shows at most of one value and of the raw JSON: a hostile Jira can send a summary or
# a field of megabytes, and a page of megabytes helps nobody.
SHOWN_CHARACTERS = 10_000
RAW_SHOWN_BYTES = 256 * 1024
FIELD_CHANGES_SHOWN = 500  # the newest changes of an issue's field history on its page
FIELD_VALUE_SHOWN = 1000  # characters of one value there (a description's whole text is one)


def bounded(text: str, limit: int = SHOWN_CHARACTERS) -> str:
    """The text, cut at limit characters with a note of how long it is."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]} … [cut: {len(text):,} characters in all]"


def _shown(value: object) -> str | None:
    text = _readable(value)
    return None if text is None else bounded(text)


def _readable(value: object) -> str | None:
    """A mapped value as people read it: lists joined, users and options by their name, else JSON."""
    if value is None or value == [] or value == "":
        return None
    if isinstance(value, list):
        return ", ".join(str(_readable(item)) for item in value)
    if isinstance(value, dict):
        for key in ("displayName", "name", "value"):
            if value.get(key):
                return str(value[key])
        return orjson.dumps(value).decode()
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _field_change_shown(change: FieldChange) -> FieldChangeShown:
    def text(string: str | None, value: str | None) -> str:
        return bounded(string if string is not None else value or "", FIELD_VALUE_SHOWN)

    return FieldChangeShown(change, text(change.from_string, change.from_id), text(change.to_string, change.to_id))


def _raw_shown(body: bytes, hidden: frozenset[str]) -> str:
    """The raw JSON as a page shows it: indented, or as stored and cut when large; the `hidden` issue fields
    replaced by a note (the JSON is read whatever its size, so a large one cannot carry them past the cut)."""
    if hidden:
        issue = orjson.loads(body)
        fields = issue.get("fields") if isinstance(issue, dict) else None
        if isinstance(fields, dict):
            for name in hidden & fields.keys():
                fields[name] = "[not shown: you may not view these]"
            body = orjson.dumps(issue)
    if len(body) > RAW_SHOWN_BYTES:  # not indented: shown as stored, cut
        return f"{body[:RAW_SHOWN_BYTES].decode('utf-8', 'replace')} … [cut: {len(body):,} bytes in all]"
    return orjson.dumps(orjson.loads(body), option=orjson.OPT_INDENT_2).decode()


def issue_detail(issue: Issue, *, field_history: bool = True, raw_hidden: frozenset[str] = frozenset()) -> IssueDetail:
    """Return what an issue's page shows besides its columns: nine queries whatever the history's length or
    the number of its links (the other issue's row and a sprint's state are subqueries, not a query each).

    field_history: False when the viewer may not see it (not read). raw_hidden: the issue fields left out of the
    raw JSON shown (`comment`, `worklog`: the lists a viewer without their view permission may not read)."""
    changes = list(StatusChange.objects.filter(issue=issue).order_by("changed_at", "history_id"))
    timeline = []
    previous_at: datetime | None = None
    for change in changes:
        seconds = (change.changed_at - previous_at).total_seconds() if previous_at else None
        timeline.append(TimelineEntry(change, seconds))
        previous_at = change.changed_at
    raw = IssueRaw.objects.filter(issue=issue).values_list("body", flat=True).first()
    raw_json = _raw_shown(bytes(raw), raw_hidden) if raw else ""
    newest = []
    if field_history:
        newest = list(
            FieldChange.objects.filter(issue=issue).order_by("-changed_at", "-history_id", "-position")[
                : FIELD_CHANGES_SHOWN + 1
            ]
        )
    return IssueDetail(
        field_history=[_field_change_shown(change) for change in reversed(newest[:FIELD_CHANGES_SHOWN])]
        if field_history
        else None,
        field_history_cut=len(newest) > FIELD_CHANGES_SHOWN,
        fields=[(name, _shown(value)) for name, value in sorted((issue.fields or {}).items())],
        timeline=timeline,
        time_in_status=list(TimeInStatus.objects.filter(issue=issue).order_by("-seconds")),
        milestones=list(
            IssueMilestone.objects.filter(issue=issue).select_related("milestone").order_by("milestone__order")
        ),
        raw_json=raw_json,
        **_relations(issue),
    )


@dataclass(frozen=True)
class FieldValue:
    """A field's value as its changelog says: Jira's `from`/`to` (id or raw value) and `fromString`/`toString`."""

    id: str | None
    string: str | None
    since: datetime | None  # when it took this value; None: it had it before its first change stored


def field_changes_of(field: str) -> Q:
    """The changes (FieldChange) of a field named by its id (Cloud's fieldId: `assignee`, `customfield_10020`) or,
    on Data Center, whose items carry no fieldId, by its name, case-insensitively (`assignee`, `Sprint`)."""
    return Q(field_id=field) | Q(field_id="", field_name__iexact=field)


def field_value_at(issue: Issue | int, field: str, moment: datetime) -> FieldValue | None:
    """The value field of issue had at moment, from its stored field history: the `to` of its last change at or
    before moment; earlier than its first change, that change's `from`. None when no change of the field is
    stored (it never changed — its current value is the answer — or the instance does not keep it). Two queries."""
    changes = FieldChange.objects.filter(field_changes_of(field), issue=issue)
    last = (
        changes.filter(changed_at__lte=moment)
        .order_by("-changed_at", "-history_id", "-position")
        .values_list("to_id", "to_string", "changed_at")
        .first()
    )
    if last is not None:
        return FieldValue(*last)
    first = changes.order_by("changed_at", "history_id", "position").values_list("from_id", "from_string").first()
    return FieldValue(*first, None) if first is not None else None


def _relations(issue: Issue) -> dict[str, list]:
    other = Issue.objects.filter(instance_id=issue.instance_id, jira_id=OuterRef("other_jira_id")).values("pk")[:1]
    return {
        "links": list(
            IssueLink.objects.filter(issue=issue)
            .annotate(other_pk=Subquery(other))
            .order_by("kind", "link_type", "other_key")
        ),
        "versions": list(IssueVersion.objects.filter(issue=issue).order_by("kind", "name")),
        "components": list(IssueComponent.objects.filter(issue=issue).order_by("name")),
    }


def issue_counts(*group_by: str, deleted: bool = False) -> dict[tuple, int]:
    """Issues per group of columns: live ones, or with deleted=True the soft-deleted ones.

    Live counts are COUNT(*) over every issue minus the deleted ones: on the indexed columns that is an
    index-only scan plus a partial-index probe, where filtering the live rows would read every row of a
    million-issue table.
    """

    def counted(queryset) -> dict[tuple, int]:
        return {tuple(row[g] for g in group_by): row["n"] for row in queryset.values(*group_by).annotate(n=Count("*"))}

    gone = counted(Issue.objects.filter(deleted_at__isnull=False))
    if deleted:
        return gone
    return {key: n - gone.get(key, 0) for key, n in counted(Issue.objects.all()).items()}


def distinct_issue_statuses() -> list[str]:
    """Return the status names stored issues have, cached for a minute.

    On PostgreSQL a recursive skip scan over the status index costs one index probe per distinct
    status, not a pass over every issue — the difference between 1 ms and a second at a million.
    """
    cached = cache.get("jirasync:issue-statuses")
    if cached is not None:
        return cached
    table = Issue._meta.db_table
    if connection.vendor == "postgresql":
        sql = f"""
            WITH RECURSIVE s(status) AS (
                (SELECT status FROM {table} ORDER BY status LIMIT 1)
                UNION ALL
                SELECT (SELECT status FROM {table} WHERE status > s.status ORDER BY status LIMIT 1)
                FROM s WHERE s.status IS NOT NULL
            )
            SELECT status FROM s WHERE status IS NOT NULL"""
    else:
        sql = f"SELECT DISTINCT status FROM {table} ORDER BY status"
    with connection.cursor() as cursor:
        cursor.execute(sql)
        statuses = [row[0] for row in cursor.fetchall() if row[0]]
    cache.set("jirasync:issue-statuses", statuses, 60)
    return statuses


def issue_rows(
    instance: JiraInstance, jira_ids: Collection[int], columns: Sequence[str], *, lock: bool = False
) -> list[tuple]:
    """(jira_id, *columns) of the instance's stored issues with these Jira ids, found through the unique
    (instance, jira_id) index whatever the planner's statistics say; lock: FOR UPDATE (PostgreSQL), in id order.

    PostgreSQL plans `instance_id = X AND jira_id IN (…)` on the index it believes narrows most. On a table
    never analysed, or analysed before this instance had many rows, it believes instance_id alone does, and
    reads every issue of the instance for each page — quadratic over a first full sync (20,000 issues: 8.5 ms
    a page against 0.43). Here each id is a probe of its own (a lateral subquery, LIMIT 1) naming the whole
    unique key, which that index is known to answer with one row: no index on instance_id alone can look
    cheaper, and none is left (migration 0007 dropped the redundant one). The probes run in id order, so the
    rows are locked in id order. SQLite's planner takes the unique index for the IN list as it is.
    """
    ids = sorted(set(jira_ids))
    if not ids:
        return []
    names = ", ".join(connection.ops.quote_name(name) for name in ["jira_id", *columns])
    table = connection.ops.quote_name(Issue._meta.db_table)
    if connection.vendor != "postgresql":
        # Plain SQL: the ORM's building of the IN list was a few per cent of a sync's CPU.
        sql = f"SELECT {names} FROM {table} WHERE instance_id = %s AND jira_id IN ({', '.join(['%s'] * len(ids))})"
        params: list = [instance.pk, *ids]
    else:
        sql = (
            f"SELECT issue.* FROM unnest(%s::bigint[]) AS wanted (jira_id) CROSS JOIN LATERAL ("
            f"SELECT {names} FROM {table} "
            f"WHERE instance_id = %s AND jira_id = wanted.jira_id LIMIT 1{' FOR UPDATE' if lock else ''}) AS issue"
        )
        params = [ids, instance.pk]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    # Rows as the ORM would give them: the backend's and the field's converters (JSON comes as text here; SQLite
    # gives naive date-times and integers for booleans).
    by_name = {name: field for field in Issue._meta.concrete_fields for name in (field.name, field.attname)}
    converters = []
    for position, model_field in enumerate((by_name[name] for name in columns), start=1):
        column = model_field.get_col(Issue._meta.db_table)
        found = connection.ops.get_db_converters(column) + model_field.get_db_converters(connection)
        converters += [(position, convert, column) for convert in found]
    if not converters:
        return rows
    converted = []
    for row in rows:
        values = list(row)
        for position, convert, column in converters:
            values[position] = convert(values[position], column, connection)
        converted.append(tuple(values))
    return converted
