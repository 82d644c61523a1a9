"""Writing boards, sprints and sprint stays: upserts keyed by (instance, Jira id), stays replaced per issue."""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from agile.membership import SprintStay
from agile.models import Board, IssueSprint, Sprint
from jirafields.sprint import Sprint as SprintValue
from jirafields.sprint import SprintFormatError, parse_sprint_object
from lib.bulk_sql import rows_insert, rows_upsert
from projects.models import JiraInstance
from syncing.jira.client import JiraClient
from syncing.jira.errors import JiraBadRequestError, JiraNotFoundError, JiraResponseError

SPRINT_COLUMNS = [
    "instance_id",
    "jira_id",
    "board_jira_id",
    "name",
    "state",
    "start_date",
    "end_date",
    "complete_date",
    "goal",
    "synced_at",
]
STAY_COLUMNS = ["issue_id", "sprint_jira_id", "sprint_name", "added_at", "removed_at"]
BOARD_COLUMNS = ["instance_id", "jira_id", "name", "type", "project_key", "deleted_at", "synced_at"]
_STATES = {"future", "active", "closed"}


def _rank(column: str) -> str:
    return f"(CASE {column} WHEN 'closed' THEN 2 WHEN 'active' THEN 1 ELSE 0 END)"


def sprint_row(instance_id: int, sprint: SprintValue, synced_at: datetime) -> tuple:
    """The Sprint row (SPRINT_COLUMNS) of a sprint as the Sprint field or the Agile API describes it."""
    state = (sprint.state or "").lower()
    return (
        instance_id,
        sprint.id,
        sprint.board_id,
        sprint.name.replace("\x00", "")[:255],
        state if state in _STATES else "",
        sprint.start,
        sprint.end,
        sprint.complete,
        (sprint.goal or "").replace("\x00", ""),
        synced_at,
    )


def sprints_upsert(instance: JiraInstance, sprints: Iterable[SprintValue], synced_at: datetime, *, listed: bool) -> int:
    """Insert or update sprints by (instance, Jira id); the last description of a duplicate wins.

    listed: they come from the Agile API's sprint list (a full sync), which is the truth and overwrites. From
    issues' Sprint fields a description never moves a sprint's state back (future → active → closed): pages of
    parallel project runs may carry one read before the sprint started or closed.
    """
    # Pages of parallel project runs upsert the same sprints: rows_upsert locks them in key order (no deadlock).
    rows = list({sprint.id: sprint_row(instance.pk, sprint, synced_at) for sprint in sprints}.values())
    if not rows:
        return 0
    table = Sprint._meta.db_table
    where = "" if listed else f"{_rank('excluded.state')} >= {_rank(f'{table}.state')}"
    return rows_upsert(
        Sprint, SPRINT_COLUMNS, rows, conflict=["instance_id", "jira_id"], update=SPRINT_COLUMNS[2:], where=where
    )


def issue_sprints_replace(stays: dict[int, list[SprintStay]], *, fresh: bool = False) -> int:
    """Make the stored sprint stays of these issues ({issue pk: stays}) exactly these; fresh: the issues were
    created in this transaction. Returns the rows written."""
    if not stays:
        return 0
    if not fresh:
        IssueSprint.objects.filter(issue_id__in=list(stays)).delete()
    rows = [
        (pk, stay.sprint_jira_id, stay.sprint_name[:255], stay.added_at, stay.removed_at)
        for pk, found in stays.items()
        for stay in found
    ]
    return rows_insert(IssueSprint, STAY_COLUMNS, rows) if rows else 0


def boards_replace(
    instance: JiraInstance, boards: list[dict], sprints: list[SprintValue], synced_at: datetime
) -> tuple[int, int]:
    """Store what a full read of the Agile API found, in one transaction: every board listed (upserted), boards
    no longer listed marked deleted, and the listed boards' sprints (upserted; a sprint is never deleted: issues
    keep naming it). boards: {"id", "name", "type", "project_key"}. Returns (boards, sprints) written."""
    rows = [
        (instance.pk, board["id"], board["name"][:255], board["type"][:32], board["project_key"][:64], None, synced_at)
        for board in boards
    ]
    with transaction.atomic():
        written = rows_upsert(Board, BOARD_COLUMNS, rows, conflict=["instance_id", "jira_id"], update=BOARD_COLUMNS[2:])
        Board.objects.filter(instance=instance, deleted_at__isnull=True).exclude(
            jira_id__in=[board["id"] for board in boards]
        ).update(deleted_at=synced_at)
        return written, sprints_upsert(instance, sprints, synced_at, listed=True)


@dataclass
class BoardsResult:
    boards: int = 0
    sprints: int = 0
    skipped: list[str] = field(default_factory=list)  # why a board's sprints or the whole API were not read
    warnings: list[str] = field(default_factory=list)  # a change worth a look: stored boards no longer readable


def boards_sync(*, instance: JiraInstance, client: JiraClient) -> BoardsResult:
    """Read every board of the instance and the sprints of each (Agile API), then store them in one transaction.

    Every request comes first, none inside the transaction. A site without the Agile API (404: Jira without
    Jira Software) stores nothing and says so — a warning when boards read from it are stored (it answered
    before: Jira Software removed, or the account lost access), which are kept as they were; a board
    that has no sprints (Jira answers 400: kanban) keeps its row without sprints. Other errors propagate (the
    caller decides what a failed read costs).
    """
    result = BoardsResult()
    try:
        listed = client.boards()
    except JiraNotFoundError as exc:
        # Boards come from this API alone (sprints from issues' Sprint fields too): stored ones say it answered.
        if stored := Board.objects.filter(instance=instance, deleted_at__isnull=True).count():
            sprints_stored = Sprint.objects.filter(instance=instance).count()
            result.warnings.append(
                f"the Agile API now answers 404 ({exc}), yet {stored} boards read from it are stored: they and the "
                f"{sprints_stored} sprints are kept as they were until it answers again (Jira Software removed, or "
                "the account lost access to the boards?)"
            )
        else:
            result.skipped.append(f"no Agile API on this site ({exc})")
        return result
    boards, sprints = [], []
    for item in listed:
        location = item["location"] if isinstance(item.get("location"), dict) else {}
        board = {
            "id": item["id"],
            "name": str(item.get("name") or ""),
            "type": str(item.get("type") or ""),
            "project_key": str(location.get("projectKey") or ""),
        }
        boards.append(board)
        if board["type"] == "kanban":
            continue  # Jira answers 400 for a kanban board's sprints: not asked
        try:
            values = client.board_sprints(board["id"])
        except JiraBadRequestError as exc:
            result.skipped.append(f"board {board['id']} has no sprints ({exc})")
            continue
        for value in values:
            value = {"originBoardId": board["id"], **value}
            try:
                sprints.append(parse_sprint_object(value))
            except SprintFormatError as exc:
                raise JiraResponseError(f"GET /rest/agile/1.0/board/{board['id']}/sprint: {exc}") from None
    result.boards, result.sprints = boards_replace(instance, boards, sprints, timezone.now())
    return result
