"""Status history and milestones, derived from changelogs and configuration; no status is named in code."""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

from config.models import StatusMilestone
from config.selectors import MilestoneRule
from issues.models import IssueMilestone, StatusChange, TimeInStatus
from syncing.bulk_sql import rows_insert, rows_insert_new
from syncing.fields.convert import user_identity
from syncing.fields.timestamps import parse_jira_datetime

INITIAL_HISTORY_ID = 0  # the synthetic entry for the status an issue was created in
# In the order of Transition's fields, after the issue.
_MILESTONE_COLUMNS = ["issue_id", "milestone_id", "first_reached", "last_reached", "times_reached"]
_STATUS_CHANGE_COLUMNS = [
    "issue_id",
    "history_id",
    "changed_at",
    "from_status_id",
    "from_status",
    "to_status_id",
    "to_status",
    "author",
    "author_id",
]


def _history_time(value: str | int | float) -> datetime:
    """A history's `created`: an ISO string everywhere, but bulkfetch is documented with epoch numbers too."""
    if isinstance(value, (int, float)):
        seconds = value / 1000 if value > 10**11 else value
        return datetime.fromtimestamp(seconds, UTC)
    return parse_jira_datetime(value)


@dataclass(frozen=True)
class Transition:
    history_id: int
    changed_at: datetime
    from_id: str
    from_name: str
    to_id: str
    to_name: str
    author: str
    author_id: str


def is_status_item(item: dict) -> bool:
    """Match on fieldId; Data Center (and some Cloud items) have none, and `field` varies in case."""
    field_id = item.get("fieldId")
    if field_id:
        return field_id == "status"
    return str(item.get("field", "")).lower() == "status"


def status_transitions(histories: Iterable[dict]) -> list[Transition]:
    """Every status change in the histories, oldest first (Cloud sends them newest first)."""
    transitions = []
    for history in histories:
        items = [item for item in history.get("items") or [] if is_status_item(item)]
        if not items:
            continue
        changed_at = _history_time(history["created"])
        identity = user_identity(history.get("author") or {}) or {"id": "", "name": ""}
        for item in items:
            transitions.append(
                Transition(
                    int(history["id"]),
                    changed_at,
                    str(item.get("from") or ""),
                    str(item.get("fromString") or ""),
                    str(item.get("to") or ""),
                    str(item.get("toString") or ""),
                    identity["name"],
                    identity["id"],
                )
            )
    # One entry per (history, from, to): a history seen twice (inline and completed) counts once.
    unique = {(t.history_id, t.from_id, t.to_id): t for t in transitions}
    return sorted(unique.values(), key=lambda t: (t.changed_at, t.history_id))


def status_history(
    created: datetime, current_id: str, current_name: str, transitions: list[Transition]
) -> list[Transition]:
    """The transitions preceded by the initial status (the first transition's `from`, else the current one)."""
    if transitions:
        first = transitions[0]
        initial_id, initial_name = first.from_id, first.from_name
    else:
        initial_id, initial_name = current_id, current_name
    initial = Transition(INITIAL_HISTORY_ID, created, "", "", initial_id, initial_name, "", "")
    return [initial, *transitions]


def status_changes_replace(histories_by_issue: dict[int, list[Transition]], *, fresh: bool = False) -> int:
    """Store each issue's status history: new entries added once each, the initial entry kept current.

    fresh: the issues were created in this transaction, so nothing of theirs is stored yet.
    Returns how many transitions were new (initial entries not counted).
    """
    if not histories_by_issue:
        return 0
    if not fresh:
        # The initial entry may change when a truncated history is completed; the others never do.
        StatusChange.objects.filter(issue_id__in=list(histories_by_issue), history_id=INITIAL_HISTORY_ID).delete()
    inserted = (rows_insert if fresh else rows_insert_new)(
        StatusChange,
        _STATUS_CHANGE_COLUMNS,
        (
            (
                issue_id,
                t.history_id,
                t.changed_at,
                t.from_id,
                t.from_name[:255],
                t.to_id,
                t.to_name[:255],
                t.author[:255],
                t.author_id[:128],
            )
            for issue_id, transitions in histories_by_issue.items()
            for t in transitions
        ),
    )
    return inserted - len(histories_by_issue)  # every issue's initial entry was re-inserted


@dataclass(frozen=True)
class Reached:
    first: datetime
    last: datetime
    times: int


@lru_cache(maxsize=64)
def _milestones_by_status(rules: tuple[MilestoneRule, ...]) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """The milestones each status id, and each case-folded status name, means."""
    by_id: dict[str, list[str]] = defaultdict(list)
    by_name: dict[str, list[str]] = defaultdict(list)
    for rule in rules:
        for status_id in rule.status_ids:
            by_id[status_id].append(rule.name)
        for name in rule.status_names:
            by_name[name].append(rule.name)
    return dict(by_id), dict(by_name)


def milestones_reached(history: list[Transition], rules: list[MilestoneRule]) -> dict[str, Reached]:
    """For each milestone: first and last time the issue entered one of its statuses, and how often."""
    by_id, by_name = _milestones_by_status(tuple(rules))
    reached: dict[str, Reached] = {}
    for transition in history:
        names = set(by_id.get(transition.to_id, ())) | set(by_name.get(transition.to_name.casefold(), ()))
        for name in names:
            before = reached.get(name)
            reached[name] = (
                Reached(transition.changed_at, transition.changed_at, 1)
                if before is None
                else Reached(before.first, transition.changed_at, before.times + 1)
            )
    return reached


def stored_histories(issue_ids: list[int]) -> dict[int, list[Transition]]:
    """The status histories as stored, oldest first."""
    by_issue: dict[int, list[Transition]] = defaultdict(list)
    rows = (
        StatusChange.objects.filter(issue_id__in=issue_ids)
        .order_by("changed_at", "history_id")
        .values_list(*_STATUS_CHANGE_COLUMNS)
    )
    for issue_id, *values in rows:
        by_issue[issue_id].append(Transition(*values))
    return by_issue


def milestones_replace(
    histories_by_issue: dict[int, list[Transition]], rules: list[MilestoneRule], *, fresh: bool = False
) -> int:
    """Make the stored milestones of these issues what their status histories say; return rows rewritten.

    Issues whose milestones come out as stored are left alone (a re-map usually changes none);
    fresh: the issues were created in this transaction, so none are stored yet.
    """
    if not histories_by_issue:
        return 0
    milestone_ids = dict(StatusMilestone.objects.values_list("name", "id"))
    wanted: dict[int, set[tuple]] = {
        issue_id: {
            (milestone_ids[name], reached.first, reached.last, reached.times)
            for name, reached in milestones_reached(history, rules).items()
            if name in milestone_ids
        }
        for issue_id, history in histories_by_issue.items()
    }
    stored: dict[int, set[tuple]] = defaultdict(set)
    if fresh:
        return rows_insert(
            IssueMilestone, _MILESTONE_COLUMNS, [(i, *row) for i, rows in wanted.items() for row in rows]
        )
    for issue_id, *values in IssueMilestone.objects.filter(issue_id__in=list(wanted)).values_list(*_MILESTONE_COLUMNS):
        stored[issue_id].add(tuple(values))
    differing = [issue_id for issue_id, rows in wanted.items() if rows != stored.get(issue_id, set())]
    if not differing:
        return 0
    IssueMilestone.objects.filter(issue_id__in=differing).delete()
    rows = [(issue_id, *row) for issue_id in differing for row in wanted[issue_id]]
    rows_insert_new(
        IssueMilestone, ["issue_id", "milestone_id", "first_reached", "last_reached", "times_reached"], rows
    )
    return len(rows)


@dataclass(frozen=True)
class StatusTime:
    status_id: str
    status: str
    seconds: float
    visits: int
    first_entered: datetime
    last_entered: datetime
    current: bool


def time_in_status(history: list[Transition], as_of: datetime) -> list[StatusTime]:
    """Seconds spent in each status over all visits; history begins with the initial entry (at creation).

    Each entry opens a visit to its `to` status that lasts until the next entry; the last visit, the
    current one, lasts until as_of. Statuses are told apart by id (names are historical), else by name.
    """
    totals: dict[str, dict] = {}
    for position, transition in enumerate(history):
        ends = history[position + 1].changed_at if position + 1 < len(history) else max(as_of, transition.changed_at)
        key = transition.to_id or transition.to_name
        entry = totals.setdefault(
            key,
            {
                "name": transition.to_name,
                "seconds": 0.0,
                "visits": 0,
                "first": transition.changed_at,
                "last": transition.changed_at,
            },
        )
        entry["name"] = transition.to_name or entry["name"]
        entry["seconds"] += max(0.0, (ends - transition.changed_at).total_seconds())
        entry["visits"] += 1
        entry["last"] = transition.changed_at
    current = (history[-1].to_id or history[-1].to_name) if history else None
    return [
        StatusTime(key, entry["name"], entry["seconds"], entry["visits"], entry["first"], entry["last"], key == current)
        for key, entry in totals.items()
    ]


def time_in_status_replace(
    histories_by_issue: dict[int, list[Transition]], as_of: datetime, *, fresh: bool = False
) -> int:
    """Replace the time-in-status rows of these issues, counting current visits up to as_of (fresh: none stored)."""
    if not histories_by_issue:
        return 0
    rows = [
        (
            issue_id,
            item.status[:255],
            item.status_id if item.status_id != item.status else "",
            item.seconds,
            item.visits,
            item.first_entered,
            item.last_entered,
            item.current,
            as_of,
        )
        for issue_id, history in histories_by_issue.items()
        for item in time_in_status(history, as_of)
    ]
    if not fresh:
        TimeInStatus.objects.filter(issue_id__in=list(histories_by_issue)).delete()
    (rows_insert if fresh else rows_insert_new)(
        TimeInStatus,
        ["issue_id", "status", "status_id", "seconds", "visits", "first_entered", "last_entered", "current", "as_of"],
        rows,
    )
    return len(rows)
