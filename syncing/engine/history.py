"""Status history and milestones, derived from changelogs and configuration; no status is named in code."""

import operator
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime
from functools import lru_cache, reduce
from typing import NamedTuple

from django.db.models import Q

from config.selectors import MilestoneRule
from issues.models import IssueMilestone, StatusChange, TimeInStatus
from jirafields.convert import user_identity
from jirafields.timestamps import parse_jira_datetime
from lib.bulk_sql import rows_insert, rows_insert_new

INITIAL_HISTORY_ID = 0  # the synthetic entry for the status an issue was created in
# The synthetic entry for a move to the issue's current status that its changelog does not hold (history
# imported from another tracker, a workflow migration): dated at the issue's last update, marked by this id.
INFERRED_HISTORY_ID = -1
SYNTHETIC_HISTORY_IDS = (INITIAL_HISTORY_ID, INFERRED_HISTORY_ID)
MILESTONE_COLUMNS = ["issue_id", "milestone_id", "first_reached", "last_reached", "times_reached"]
TIME_IN_STATUS_COLUMNS = [
    "issue_id",
    "status",
    "status_id",
    "seconds",
    "visits",
    "first_entered",
    "last_entered",
    "current",
    "as_of",
]
# In the order of Transition's fields, after the issue.
STATUS_CHANGE_COLUMNS = [
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


class Transition(NamedTuple):
    """One status change. A named tuple, not a dataclass: a page makes ~10 per issue, hashes and compares them,
    and a frozen dataclass costs several times as much to make and to hash (issue #15)."""

    history_id: int
    changed_at: datetime
    from_id: str
    from_name: str
    to_id: str
    to_name: str
    author: str
    author_id: str


def is_status_item(item: dict) -> bool:
    """Whether a changelog item changes the workflow status (the system field), not a field named like it.

    Cloud: `fieldId == "status"`. Data Center sends no fieldId: `fieldtype == "jira"` (a system field) and
    `field == "status"`; a custom field whose display name is "Status" has fieldtype "custom".
    """
    field_id = item.get("fieldId")
    if field_id:
        return field_id == "status"
    return item.get("fieldtype") == "jira" and str(item.get("field", "")).lower() == "status"


def status_transitions(histories: Iterable[dict]) -> list[Transition]:
    """Every status change in the histories, oldest first (Cloud sends them newest first)."""
    return transitions_ordered(move for history in histories for move in status_moves(history))


def status_moves(history: dict) -> list[Transition]:
    """The status changes of one history (none for most; a history may move the status once at most)."""
    moves = []
    changed_at = None
    for item in history.get("items") or []:
        field_id = item.get("fieldId")  # is_status_item, its common case first: most items are other fields
        if field_id != "status" and (field_id or not is_status_item(item)):
            continue
        if changed_at is None:  # read once a history, and only for one that changes the status
            changed_at = _history_time(history["created"])
            identity = user_identity(history.get("author") or {}) or {"id": "", "name": ""}
            history_id, author, author_id = int(history["id"]), identity["name"][:255], identity["id"][:128]
        # Cut to the columns' lengths here, so a stored entry compares equal to the one it came from.
        moves.append(
            Transition(
                history_id,
                changed_at,
                str(item.get("from") or "")[:32],
                str(item.get("fromString") or "").replace("\x00", "")[:255],
                str(item.get("to") or "")[:32],
                str(item.get("toString") or "").replace("\x00", "")[:255],
                author,
                author_id,
            )
        )
    return moves


def transitions_ordered(transitions: Iterable[Transition]) -> list[Transition]:
    """The transitions oldest first, one per (history, from, to): a history seen twice (inline and completed)
    counts once."""
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


def same_status(transition: Transition, status_id: str, status_name: str) -> bool:
    """Whether a transition ends in this status: by id when both have one, else by case-folded name."""
    if transition.to_id and status_id:
        return transition.to_id == status_id
    return transition.to_name.casefold() == status_name.casefold()


def history_reconciled(
    history: list[Transition],
    current_id: str,
    current_name: str,
    updated: datetime | None,
    known: Iterable[Transition] = (),
) -> list[Transition]:
    """The history made a chain that ends in the issue's current status.

    When the changelog skips a move (history imported from another tracker, a status set outside the
    workflow) — an entry leaving another status than the one before it entered, or the last entry ending
    elsewhere than the issue's `status` — the move Jira did not record is added as an inferred entry
    (INFERRED_HISTORY_ID), so status history, time in status and milestones agree with the issue. Its date:
    the one it had when it was first inferred (`known`: the stored history), else, for a gap, when the next
    recorded entry left it, and for the end, the issue's last update (never before the last entry).
    history starts with the initial entry; synthetic entries in it are dropped first.
    """
    dated = {
        _move(t.from_id, t.from_name, t.to_id, t.to_name): t.changed_at
        for t in known
        if t.history_id == INFERRED_HISTORY_ID
    }
    chain: list[Transition] = []
    for t in (t for t in history if t.history_id != INFERRED_HISTORY_ID):
        if chain and not same_status(chain[-1], t.from_id, t.from_name) and (t.from_id or t.from_name):
            chain.append(_inferred(chain[-1], t.from_id, t.from_name, t.changed_at, dated))
        chain.append(t)
    if not chain or not (current_id or current_name) or same_status(chain[-1], current_id, current_name):
        return _distinct(chain)
    last = chain[-1]
    moment = max(last.changed_at, updated) if updated else last.changed_at
    return _distinct([*chain, _inferred(last, current_id, current_name, moment, dated)])


def _inferred(
    before: Transition, to_id: str, to_name: str, moment: datetime, dated: dict[tuple, datetime]
) -> Transition:
    to_id, to_name = to_id[:32], to_name[:255]
    known = dated.get(_move(before.to_id, before.to_name, to_id, to_name))
    if known is not None and before.changed_at <= known <= moment:
        moment = known
    return Transition(INFERRED_HISTORY_ID, moment, before.to_id, before.to_name, to_id, to_name, "", "")


def _move(from_id: str, from_name: str, to_id: str, to_name: str) -> tuple[str, str]:
    return (from_id or from_name.casefold(), to_id or to_name.casefold())


def _distinct(history: list[Transition]) -> list[Transition]:
    """The history without a second inferred entry of the same move (they would share a row's key)."""
    seen: set[tuple] = set()
    kept = []
    for t in history:
        if t.history_id == INFERRED_HISTORY_ID:
            if (t.from_id, t.to_id) in seen:
                continue
            seen.add((t.from_id, t.to_id))
        kept.append(t)
    return kept


def history_wanted(
    created: datetime,
    status_id: str,
    status_name: str,
    updated: datetime | None,
    transitions: list[Transition],
    stored: list[Transition],
    *,
    whole: bool,
) -> list[Transition]:
    """The status history to keep for an issue: from its whole changelog when `whole`; else the stored
    history with what these transitions add (a partial answer never replaces what is stored); made to end
    in the issue's current status either way (history_reconciled)."""
    if whole or not stored:
        history = status_history(created, status_id, status_name, transitions)
    else:
        recorded = {(t.history_id, t.from_id, t.to_id): t for t in stored if t.history_id not in SYNTHETIC_HISTORY_IDS}
        recorded.update({(t.history_id, t.from_id, t.to_id): t for t in transitions})
        merged = sorted(recorded.values(), key=lambda t: (t.changed_at, t.history_id))
        initial = next((t for t in stored if t.history_id == INITIAL_HISTORY_ID), None)
        history = status_history(created, status_id, status_name, merged)
        if initial is not None:
            history[0] = initial
    return history_reconciled(history, status_id, status_name, updated, stored)


STALE_BATCH = 200  # stale status rows deleted per statement


def status_changes_replace(
    wanted: dict[int, list[Transition]], stored: dict[int, list[Transition]], *, fresh: bool = False
) -> int:
    """Make each issue's stored status history exactly `wanted`: stale rows deleted, missing ones inserted.

    stored: what is stored now for these issues (stored_histories); fresh: the issues were created in this
    transaction, so nothing of theirs is stored. Returns how many recorded transitions were new (synthetic
    entries not counted).
    """
    if not wanted:
        return 0
    if fresh:  # nothing stored to compare with (and no frozen dataclass hashed per transition)
        rows = [status_change_row(issue_id, t) for issue_id, history in wanted.items() for t in history]
        rows_insert(StatusChange, STATUS_CHANGE_COLUMNS, rows)
        return sum(t.history_id not in SYNTHETIC_HISTORY_IDS for history in wanted.values() for t in history)
    stale: list[Q] = []
    rows = []
    new = 0
    for issue_id, history in wanted.items():
        before = set(stored.get(issue_id, ()))
        known = {(t.history_id, t.from_id, t.to_id) for t in before}
        for t in before.difference(history):
            stale.append(Q(issue_id=issue_id, history_id=t.history_id, from_status_id=t.from_id, to_status_id=t.to_id))
        for t in history:
            if t not in before:
                rows.append(status_change_row(issue_id, t))
                new += t.history_id not in SYNTHETIC_HISTORY_IDS and (t.history_id, t.from_id, t.to_id) not in known
    # In batches: SQLite refuses an expression deeper than 1,000, and every stale row is one OR more (a
    # page whose histories all changed, as a re-generated simulator's do, has thousands).
    for start in range(0, len(stale), STALE_BATCH):
        StatusChange.objects.filter(reduce(operator.or_, stale[start : start + STALE_BATCH])).delete()
    rows_insert_new(StatusChange, STATUS_CHANGE_COLUMNS, rows)
    return new


def status_change_row(issue_id: int, t: Transition) -> tuple:
    """The StatusChange row (STATUS_CHANGE_COLUMNS) of one transition of an issue."""
    return (
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


class Reached(NamedTuple):
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


def _reached(
    history: list[Transition], by_id: dict[str, list[str]], by_name: dict[str, list[str]]
) -> dict[str, Reached]:
    reached: dict[str, Reached] = {}
    for transition in history:
        ids, names = by_id.get(transition.to_id, ()), by_name.get(transition.to_name.casefold(), ())
        if not ids and not names:
            continue
        for name in {*ids, *names}:
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
        .values_list(*STATUS_CHANGE_COLUMNS)
    )
    for issue_id, *values in rows:
        by_issue[issue_id].append(Transition(*values))
    return by_issue


def milestones_replace(
    histories_by_issue: dict[int, list[Transition]],
    rules: list[MilestoneRule],
    milestone_ids: dict[str, int],
    *,
    fresh: bool = False,
) -> int:
    """Make the stored milestones of these issues what their status histories say; return rows rewritten.

    milestone_ids: config.selectors.milestone_ids(), read once by the caller (a run: its plan).
    Issues whose milestones come out as stored are left alone (a re-map usually changes none);
    fresh: the issues were created in this transaction, so none are stored yet.
    """
    if not histories_by_issue:
        return 0
    wanted = milestone_rows(histories_by_issue, rules, milestone_ids)
    stored: dict[int, set[tuple]] = defaultdict(set)
    if fresh:
        return rows_insert(IssueMilestone, MILESTONE_COLUMNS, [(i, *row) for i, rows in wanted.items() for row in rows])
    for issue_id, *values in IssueMilestone.objects.filter(issue_id__in=list(wanted)).values_list(*MILESTONE_COLUMNS):
        stored[issue_id].add(tuple(values))
    differing = [issue_id for issue_id, rows in wanted.items() if rows != stored.get(issue_id, set())]
    if not differing:
        return 0
    IssueMilestone.objects.filter(issue_id__in=differing).delete()
    rows = [(issue_id, *row) for issue_id in differing for row in wanted[issue_id]]
    rows_insert_new(IssueMilestone, MILESTONE_COLUMNS, rows)
    return len(rows)


def milestone_rows(
    histories_by_issue: dict[int, list[Transition]], rules: list[MilestoneRule], milestone_ids: dict[str, int]
) -> dict[int, set[tuple]]:
    """{issue id: {(milestone id, first reached, last reached, times reached), …}}, each milestone's reaching;
    milestone_ids: {milestone name: StatusMilestone id} (a rule without a stored milestone gives no row)."""
    by_status = _milestones_by_status(tuple(rules))  # once a page, not once an issue
    return {
        issue_id: {
            (milestone_ids[name], *reached)
            for name, reached in _reached(history, *by_status).items()
            if name in milestone_ids
        }
        for issue_id, history in histories_by_issue.items()
    }


class StatusTime(NamedTuple):
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
    totals: dict[str, list] = {}  # status -> [name, seconds, visits, first entered, last entered]
    last = len(history) - 1
    for position, transition in enumerate(history):
        entered = transition.changed_at
        ends = history[position + 1].changed_at if position < last else max(as_of, entered)
        seconds = max(0.0, (ends - entered).total_seconds())
        key = transition.to_id or transition.to_name
        entry = totals.get(key)
        if entry is None:
            totals[key] = [transition.to_name, seconds, 1, entered, entered]
        else:
            entry[0] = transition.to_name or entry[0]
            entry[1] += seconds
            entry[2] += 1
            entry[4] = entered
    current = (history[-1].to_id or history[-1].to_name) if history else None
    return [
        StatusTime(key, name, seconds, visits, first, last, key == current)
        for key, (name, seconds, visits, first, last) in totals.items()
    ]


def time_in_status_replace(
    histories_by_issue: dict[int, list[Transition]], as_of: datetime, *, fresh: bool = False
) -> int:
    """Replace the time-in-status rows of these issues, counting current visits up to as_of (fresh: none stored)."""
    if not histories_by_issue:
        return 0
    rows = time_in_status_rows(histories_by_issue, as_of)
    if not fresh:
        TimeInStatus.objects.filter(issue_id__in=list(histories_by_issue)).delete()
    (rows_insert if fresh else rows_insert_new)(TimeInStatus, TIME_IN_STATUS_COLUMNS, rows)
    return len(rows)


def time_in_status_rows(histories_by_issue: dict[int, list[Transition]], as_of: datetime) -> list[tuple]:
    """The TimeInStatus rows (TIME_IN_STATUS_COLUMNS) of these histories, current visits counted up to as_of."""
    return [
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
