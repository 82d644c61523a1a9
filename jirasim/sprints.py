"""The Sprint field (`customfield_10020`) in the shapes Jira sends it, with names that break naive parsers.

A site with `SimConfig.sprints` has a board of sprints (seeded): names and goals hold `,`, `=`, `]`,
brackets and `name=`, as real teams write them. Each issue was in a run of consecutive sprints (or
none). How a sprint is sent depends on the site (`SimConfig.sprint_format`, `auto` by default):

- `object` — Cloud, and Data Center 10 or later: `{"id", "name", "state", "boardId", "goal", …}`;
- `legacy` — Jira before 7.x Server: the greenhopper toString, `id,rapidViewId,state,name,startDate,
  endDate,completeDate,sequence,goal`;
- `server` — Jira 7.x/8.x Server and Data Center: the toString with the id first and the later
  attributes (`id,rapidViewId,state,name,startDate,endDate,completeDate,activatedDate,sequence,goal,
  autoStartStop,synced,incompleteIssuesDestinationId`);
- `alphabetical` — Data Center 9: the toString with its attributes in alphabetical order
  (`activatedDate,autoStartStop,completeDate,endDate,goal,id,…,name,…,synced`), the goal before the name.

Jira does not escape the values inside the string, and neither does this module.
"""

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from jirasim.streams import below, stream

FORMATS = ("auto", "legacy", "server", "alphabetical", "object")
SPRINT_DAYS = 14
BOARD_ID = 7
FIRST_SPRINT_ID = 260
DAY_MS = 86_400_000

# (name, goal) patterns; {n} is the sprint's number. Each is something a real board holds.
_PATTERNS: list[tuple[str, str | None]] = [
    ("Shoot sprint {n}", None),
    ("[Billing] Sprint {n:02d}", ""),
    ("Sprint {n}, Team Blue", "Ship the export, then the import"),
    ("Sprint {n}", "Move hostname=db{n:02d} to the new cluster"),
    ("Team name=Falcon {n}", "Retire the old API,name=legacy-{n}"),
    ("Ops [EU] wave={n}]", "Close [OPS-{n}] and [OPS-1{n}], then celebrate"),
    ("Édition {n} — «Été», [final]", "Goals: a=1, b=2; c=[3]"),
    ("Sprint {n},rapidViewId=3 (board moved)", "<tag>,state=unknown</tag>"),
    # Attributes only the newer strings send, inside a name and a goal (a Jira 7 string has none of them).
    ("Week {n} - 2023,activatedDate=<null>", "Keep it green,synced=true,autoStartStop=false]"),
]


@dataclass(frozen=True)
class SprintSpec:
    id: int
    number: int
    name: str
    goal: str | None
    state: str  # FUTURE | ACTIVE | CLOSED
    start_ms: int | None
    end_ms: int | None
    complete_ms: int | None


def site_sprints(seed: int, now_ms: int, count: int = 12, *, hostile: bool = True) -> list[SprintSpec]:
    """The board's sprints, oldest first: closed ones up to now, one active, two future ones. Names and
    goals are the hostile patterns, or plain ("Shoot sprint 7", a goal now and then) when not hostile."""
    rng = random.Random(seed * 7907 + 11)
    first_number = rng.randint(1, 40)
    patterns = _PATTERNS[:]
    rng.shuffle(patterns)
    sprints = []
    active_start = now_ms - rng.randint(1, SPRINT_DAYS - 1) * DAY_MS
    for index in range(count):
        number = first_number + index
        offset = index - (count - 3)  # -n … -1 closed, 0 active, 1 and 2 future
        start = active_start + offset * SPRINT_DAYS * DAY_MS + rng.randint(0, 3_600_000)
        name, goal = patterns[index % len(patterns)]
        if not hostile:
            name, goal = "Shoot sprint {n}", "Clear the backlog of {n} listings" if index % 3 == 0 else None
        state = "CLOSED" if offset < 0 else "ACTIVE" if offset == 0 else "FUTURE"
        sprints.append(
            SprintSpec(
                id=FIRST_SPRINT_ID + index,
                number=number,
                name=name.format(n=number),
                goal=None if goal is None else goal.format(n=number),
                state=state,
                start_ms=start if state != "FUTURE" else None,
                end_ms=start + SPRINT_DAYS * DAY_MS if state != "FUTURE" else None,
                complete_ms=start + SPRINT_DAYS * DAY_MS + rng.randint(0, 7_200_000) if state == "CLOSED" else None,
            )
        )
    return sprints


def issue_sprints(issue_seed: int, board: Sequence[SprintSpec], created_ms: int) -> list[SprintSpec]:
    """The sprints an issue was in, oldest first: none, or a run carried over from sprint to sprint.

    As in Jira, the run holds at most one open (active or future) sprint, its last; closed sprints
    accumulate before it. It starts at a sprint not completed before the issue was created."""
    rng = stream(issue_seed ^ 0x5B1A7)
    if rng.random() < 0.2:
        return []
    first = below(rng, len(board))  # randrange(len(board)), randint(1, 3): the same draws
    length = 1 + below(rng, 3)
    while first < len(board) and (board[first].complete_ms or created_ms + 1) <= created_ms:
        first += 1
    run: list[SprintSpec] = []
    for sprint in board[first : first + length]:
        run.append(sprint)
        if sprint.state != "CLOSED":
            break
    return run


def site_format(requested: str, cloud: bool, dc_version: str) -> str:
    """The format a site sends: forced, or as its flavour and version decide."""
    if requested != "auto":
        return requested
    if cloud:
        return "object"
    major = int(dc_version.split(".")[0])
    return "legacy" if major < 7 else "server" if major < 9 else "alphabetical" if major < 10 else "object"


def sprint_value(sprint: SprintSpec, form: str, zone: ZoneInfo) -> Any:
    """One sprint as the site sends it: an object, or a greenhopper string in the form's attribute order."""
    if form == "object":
        return _object(sprint)
    attributes = _attributes(sprint, zone)
    order = _ORDERS[form] if form in _ORDERS else sorted(attributes)
    body = ",".join(f"{name}={attributes[name]}" for name in order)
    return f"com.atlassian.greenhopper.service.sprint.Sprint@{(sprint.id * 2654435761) & 0xFFFFFFFF:x}[{body}]"


_ORDERS = {
    "legacy": ("id", "rapidViewId", "state", "name", "startDate", "endDate", "completeDate", "sequence", "goal"),
    "server": (
        "id",
        "rapidViewId",
        "state",
        "name",
        "startDate",
        "endDate",
        "completeDate",
        "activatedDate",
        "sequence",
        "goal",
        "autoStartStop",
        "synced",
        "incompleteIssuesDestinationId",
    ),
}


def _attributes(sprint: SprintSpec, zone: ZoneInfo) -> dict[str, str]:
    def moment(ms: int | None) -> str:
        if ms is None:
            return "<null>"
        return datetime.fromtimestamp(ms / 1000, UTC).astimezone(zone).isoformat(timespec="milliseconds")

    return {
        "activatedDate": moment(sprint.start_ms),
        "autoStartStop": "false",
        "completeDate": moment(sprint.complete_ms),
        "endDate": moment(sprint.end_ms),
        "goal": "<null>" if sprint.goal is None else sprint.goal,
        "id": str(sprint.id),
        "incompleteIssuesDestinationId": "<null>",
        "name": sprint.name,
        "rapidViewId": str(BOARD_ID),
        "sequence": str(sprint.id),
        "startDate": moment(sprint.start_ms),
        "state": sprint.state,
        "synced": "false",
    }


def new_sprint(board: list[SprintSpec], now_ms: int, *, hostile: bool) -> SprintSpec:
    """The next future sprint after the board's last one (when a closed sprint leaves no future one)."""
    last = board[-1]
    index = len(board)
    name, goal = _PATTERNS[index % len(_PATTERNS)] if hostile else ("Shoot sprint {n}", None)
    number = last.number + 1
    return SprintSpec(
        id=last.id + 1,
        number=number,
        name=name.format(n=number),
        goal=None if goal is None else goal.format(n=number),
        state="FUTURE",
        start_ms=None,
        end_ms=None,
        complete_ms=None,
    )


def moment(ms: int) -> str:
    """A sprint date as Cloud's agile API sends it: UTC with milliseconds and a Z."""
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _object(sprint: SprintSpec) -> dict[str, Any]:
    value: dict[str, Any] = {
        "id": sprint.id,
        "name": sprint.name,
        "state": sprint.state.lower(),
        "boardId": BOARD_ID,
        "goal": sprint.goal or "",
    }
    for key, ms in (("startDate", sprint.start_ms), ("endDate", sprint.end_ms), ("completeDate", sprint.complete_ms)):
        if ms is not None:
            value[key] = moment(ms)
    return value
