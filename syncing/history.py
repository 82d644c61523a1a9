"""Status history and milestones, derived from changelogs and configuration; no status is named in code."""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from config.models import StatusMilestone
from config.selectors import MilestoneRule
from issues.models import IssueMilestone, StatusChange
from syncing.fields.convert import user_identity
from syncing.fields.timestamps import parse_jira_datetime

INITIAL_HISTORY_ID = 0  # the synthetic entry for the status an issue was created in


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
        changed_at = parse_jira_datetime(history["created"])
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
    return sorted(transitions, key=lambda t: (t.changed_at, t.history_id))


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


def status_changes_replace(histories_by_issue: dict[int, list[Transition]]) -> int:
    """Store each issue's status history: new entries added once each, the initial entry kept current."""
    if not histories_by_issue:
        return 0
    issue_ids = list(histories_by_issue)
    # The initial entry may change when a truncated history is completed; the others never do.
    StatusChange.objects.filter(issue_id__in=issue_ids, history_id=INITIAL_HISTORY_ID).delete()
    existing = set(
        StatusChange.objects.filter(issue_id__in=issue_ids).values_list(
            "issue_id", "history_id", "from_status_id", "to_status_id"
        )
    )
    rows = [
        StatusChange(
            issue_id=issue_id,
            history_id=t.history_id,
            changed_at=t.changed_at,
            from_status_id=t.from_id,
            from_status=t.from_name,
            to_status_id=t.to_id,
            to_status=t.to_name,
            author=t.author[:255],
            author_id=t.author_id[:128],
        )
        for issue_id, transitions in histories_by_issue.items()
        for t in transitions
        if (issue_id, t.history_id, t.from_id, t.to_id) not in existing
    ]
    StatusChange.objects.bulk_create(rows, batch_size=1000, ignore_conflicts=True)
    return sum(1 for row in rows if row.history_id != INITIAL_HISTORY_ID)


@dataclass(frozen=True)
class Reached:
    first: datetime
    last: datetime
    times: int


def milestones_reached(history: list[Transition], rules: list[MilestoneRule]) -> dict[str, Reached]:
    """For each milestone: first and last time the issue entered one of its statuses, and how often."""
    reached: dict[str, Reached] = {}
    for transition in history:
        for rule in rules:
            if not rule.matches(transition.to_id, transition.to_name):
                continue
            before = reached.get(rule.name)
            reached[rule.name] = (
                Reached(transition.changed_at, transition.changed_at, 1)
                if before is None
                else Reached(before.first, transition.changed_at, before.times + 1)
            )
    return reached


def milestones_recompute(issue_ids: list[int], rules: list[MilestoneRule]) -> int:
    """Replace the milestones of these issues with what their stored status histories say."""
    if not issue_ids:
        return 0
    by_issue: dict[int, list[Transition]] = defaultdict(list)
    for row in StatusChange.objects.filter(issue_id__in=issue_ids).order_by("changed_at", "history_id"):
        by_issue[row.issue_id].append(
            Transition(
                row.history_id,
                row.changed_at,
                row.from_status_id,
                row.from_status,
                row.to_status_id,
                row.to_status,
                row.author,
                row.author_id,
            )
        )
    milestone_ids = dict(StatusMilestone.objects.values_list("name", "id"))
    rows = []
    for issue_id in issue_ids:
        for name, reached in milestones_reached(by_issue.get(issue_id, []), rules).items():
            if name in milestone_ids:
                rows.append(
                    IssueMilestone(
                        issue_id=issue_id,
                        milestone_id=milestone_ids[name],
                        first_reached=reached.first,
                        last_reached=reached.last,
                        times_reached=reached.times,
                    )
                )
    IssueMilestone.objects.filter(issue_id__in=issue_ids).delete()
    IssueMilestone.objects.bulk_create(rows, batch_size=1000)
    return len(rows)
