"""Sprint values as Jira sends them, read into a typed Sprint.

Two shapes reach us in the Sprint field (`com.pyxis.greenhopper.jira:gh-sprint`, an array):

- the object form of Cloud and newer Data Center:
  `{"id": 37, "name": "Sprint 4", "state": "closed", "boardId": 1, "goal": "", "startDate": "…Z", …}`;
- the greenhopper string of Data Center's REST v2 (and of old Cloud webhooks), the Java
  `toString()` of the sprint:
  `com.atlassian.greenhopper.service.sprint.Sprint@1a2b3c[id=266,rapidViewId=174,state=CLOSED,
  name=Team Sprint 26,startDate=2026-02-03T09:10:57.810+01:00,…,goal=<null>]`.

Jira does not escape the string's values: a name or a goal may hold `,`, `=`, `]`, brackets or
even `,name=`. So the string is read by its attribute structure (`parse_sprint_string`), in any order:

1. the body between `Sprint@<hash>[` and the last `]` is cut only at a `,` followed by a known
   attribute name and `=` (`KNOWN_ATTRIBUTES`, every attribute any Jira version's toString emits);
2. a reading takes each attribute at most once, in whatever order the string has them, and every
   typed value must be valid (integers, dates, `true`/`false`, an upper-case state; `<null>` is
   null). Only `name` and `goal` are free text, so only they can hold a cut point of the string;
3. the readings that are exactly a Jira version's toString (`KNOWN_ORDERS`: its attributes in its
   order) are preferred; then those with exactly a version's attribute set in another order; then
   any. Within the first group that has one, the reading with the most attributes wins (a value's
   text can only hide attributes, never add them). So a name holding `,activatedDate=…` in a Jira 7
   string, which has no activatedDate, or `,goal=` in a Jira 6 one, stays whole.
   If two different readings tie, or none passes, or it has no id or name, or its name or goal
   holds `,someAttribute=` of an attribute no version emits (a newer Jira's, which it would
   otherwise swallow), the value is refused with `SprintFormatError` — a field error on the
   issue, never a wrong name.

pycontribs/jira #820 and ICTU/quality-time #12884 show what a regex on `name=` gets wrong.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from jirafields.timestamps import format_utc

SPRINT_STRING_PREFIX = "com.atlassian.greenhopper.service.sprint.Sprint@"

# The attribute orders of the toString() across Jira versions (the parser takes any order; jirasim sends these).
KNOWN_ORDERS: tuple[tuple[str, ...], ...] = (
    # Jira 6: no goal yet, the id last.
    ("rapidViewId", "state", "name", "startDate", "endDate", "completeDate", "sequence", "id"),
    # Jira 7 Server: the goal appended at the end.
    ("id", "rapidViewId", "state", "name", "startDate", "endDate", "completeDate", "sequence", "goal"),
    # Jira 7 and Cloud webhooks until 2020: the goal after the name.
    ("id", "rapidViewId", "state", "name", "goal", "startDate", "endDate", "completeDate", "sequence"),
    # Jira 7.x/8.x Server: the id first, activatedDate after completeDate, the goal after the sequence.
    (
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
    # Newer Data Center: alphabetical (the goal before the name).
    (
        "activatedDate",
        "autoStartStop",
        "completeDate",
        "endDate",
        "goal",
        "id",
        "incompleteIssuesDestinationId",
        "name",
        "rapidViewId",
        "sequence",
        "startDate",
        "state",
        "synced",
    ),
)
KNOWN_ATTRIBUTES = frozenset(name for order in KNOWN_ORDERS for name in order)
# The attribute sets a whole string of some version has: the readings that match one are preferred.
_VERSION_SETS = frozenset(frozenset(order) for order in KNOWN_ORDERS)
_FREE_TEXT = frozenset({"name", "goal"})
_NULL = "<null>"
_MAX_SPLIT_POINTS = 200  # more is not a sprint but an attack on the search
_MAX_STEPS = 200_000  # readings tried before the value is refused as too tangled to read
_MAX_TYPED_LENGTH = 64  # no integer, date, boolean or state is longer
_HEAD = re.compile(r"com\.atlassian\.greenhopper\.service\.sprint\.Sprint@[0-9A-Za-z]*\[")
_SPLIT = re.compile(r"(?<![^,])(" + "|".join(sorted(KNOWN_ATTRIBUTES, key=len, reverse=True)) + ")=")
_ATTRIBUTE_LIKE = re.compile(r",([a-z][A-Za-z0-9]{2,})=")  # a Java field name; `,d=e` is text
_INTEGER = re.compile(r"-?\d{1,19}")
_STATE = re.compile(r"[A-Za-z_]{1,32}")


class SprintFormatError(ValueError):
    """The sprint value cannot be read unambiguously; the message says why."""


@dataclass(frozen=True)
class Sprint:
    id: int
    name: str
    state: str | None = None
    board_id: int | None = None  # rapidViewId in the string form
    goal: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    complete: datetime | None = None
    activated: datetime | None = None
    sequence: int | None = None

    def as_object(self) -> dict[str, Any]:
        """The sprint in Cloud's object shape (dates as UTC ISO strings), for dot paths into a string."""
        moments = {"startDate": self.start, "endDate": self.end, "completeDate": self.complete}
        moments["activatedDate"] = self.activated
        shown = {key: format_utc(value) for key, value in moments.items() if value is not None}
        return {
            "id": self.id,
            "name": self.name,
            "state": self.state,
            "boardId": self.board_id,
            "rapidViewId": self.board_id,
            "goal": self.goal,
            "sequence": self.sequence,
            **shown,
        }


def is_sprint_string(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(SPRINT_STRING_PREFIX)


def parse_sprint(value: str | dict) -> Sprint:
    """Return the Sprint of a greenhopper string or a sprint object; raise SprintFormatError."""
    if isinstance(value, str):
        return parse_sprint_string(value)
    if isinstance(value, dict):
        return parse_sprint_object(value)
    raise SprintFormatError(f"a sprint is a string or an object, not {type(value).__name__}")


def parse_sprint_object(value: dict) -> Sprint:
    """The object form: {"id", "name", "state", "boardId", "goal", "startDate", "endDate", "completeDate"}."""
    name = value.get("name")
    if not isinstance(name, str):
        raise SprintFormatError("sprint object has no name")
    attributes = {"id": value.get("id"), "state": value.get("state"), "sequence": value.get("sequence")}
    attributes["rapidViewId"] = value.get("boardId", value.get("originBoardId", value.get("rapidViewId")))
    for key in ("startDate", "endDate", "completeDate", "activatedDate"):
        attributes[key] = value.get(key)
    goal = value.get("goal")
    converted: dict[str, Any] = {"name": name, "goal": goal if goal is None else str(goal)}
    for key, raw in attributes.items():
        parsed = _typed(key, raw if raw is None else str(raw))
        if parsed is _INVALID:
            raise SprintFormatError(f"sprint object {name!r}: {key} {raw!r} is not valid")
        converted[key] = parsed
    if converted["id"] is None:
        raise SprintFormatError(f"sprint object {name!r} has no id")
    return _sprint(converted)


def parse_sprint_string(text: str) -> Sprint:
    """Read a greenhopper sprint string by its attribute structure (see the module docstring)."""
    body = _body(text.strip())
    starts = [(match.start(), match.group(1), match.end()) for match in _SPLIT.finditer(body)]
    if not starts or starts[0][0] != 0:
        raise SprintFormatError(f"sprint string does not start with a known attribute: {_short(text)}")
    if len(starts) > _MAX_SPLIT_POINTS:
        raise SprintFormatError(f"sprint string has too many attribute-like parts ({len(starts)})")
    readings = _ReadingSearch(body, starts).readings()
    if not readings:
        raise SprintFormatError(f"sprint string has no valid reading of its attributes: {_short(text)}")
    in_order = [reading for reading in readings if tuple(reading) in KNOWN_ORDERS]
    versioned = [reading for reading in readings if frozenset(reading) in _VERSION_SETS]
    pool = in_order or versioned or readings
    longest = max(len(reading) for reading in pool)
    chosen = [reading for reading in pool if len(reading) == longest]
    if len(chosen) > 1:
        names = " or ".join(repr(_short(reading.get("name") or "", 60)) for reading in chosen[:3])
        raise SprintFormatError(f"ambiguous sprint string: it reads as {len(chosen)} different sprints ({names})")
    attributes = chosen[0]
    if attributes.get("id") is None or attributes.get("name") is None:
        raise SprintFormatError(f"sprint string has no id or no name: {_short(text)}")
    for free in _FREE_TEXT:
        unknown = [
            found for found in _ATTRIBUTE_LIKE.findall(attributes.get(free) or "") if found not in KNOWN_ATTRIBUTES
        ]
        if unknown:
            raise SprintFormatError(
                f"sprint string has an unknown attribute {unknown[0]!r} (or a {free} holding ',{unknown[0]}='): "
                f"{_short(text)}"
            )
    return _sprint(attributes)


def sprint_name(value: Any) -> str:
    """The name of one sprint value (string or object); raise SprintFormatError."""
    return parse_sprint(value).name


# --- the search ---------------------------------------------------------------------------------

_INVALID = object()


def _body(text: str) -> str:
    head = _HEAD.match(text)
    if head is None or not text.endswith("]"):
        raise SprintFormatError(f"not a greenhopper sprint string: {_short(text)}")
    return text[head.end() : -1]


class _ReadingSearch:
    """Every valid reading of one body: which cut points start an attribute, in any order.

    A typed value holds no `,`, so after a typed attribute the next cut point starts the next attribute;
    only after a name or a goal may cut points be skipped (they are part of its text). With each
    attribute read at most once that leaves few readings (at most one name and one goal span).
    """

    def __init__(self, body: str, starts: list[tuple[int, str, int]]) -> None:
        self.body = body
        self.starts = starts
        self.steps = 0
        self._values: dict[tuple[int, int], Any] = {}

    def value(self, index: int, end: int) -> Any:
        """The typed value of cut point index running to end (exclusive), or _INVALID."""
        key = (index, end)
        if key not in self._values:
            _, name, begin = self.starts[index]
            if name not in _FREE_TEXT and end - begin > _MAX_TYPED_LENGTH:
                self._values[key] = _INVALID
            else:
                self._values[key] = _typed(name, self.body[begin:end])
        return self._values[key]

    def end_of(self, following: int) -> int:
        return len(self.body) if following == len(self.starts) else self.starts[following][0] - 1

    def readings(self) -> list[dict[str, Any]]:
        """The distinct attribute dicts of every reading that covers the body; raise when too tangled."""
        found: list[dict[str, Any]] = []
        self._walk(0, {}, found)
        return found

    def _walk(self, index: int, attributes: dict[str, Any], found: list[dict[str, Any]]) -> None:
        self.steps += 1
        if self.steps > _MAX_STEPS:
            raise SprintFormatError("sprint string has too many possible readings to tell which is meant")
        name = self.starts[index][1]
        if name in attributes:
            return
        count = len(self.starts)
        following = range(index + 1, count + 1) if name in _FREE_TEXT else (index + 1,)
        for after in following:
            if after < count and self.starts[after][1] in attributes:
                continue
            value = self.value(index, self.end_of(after))
            if value is _INVALID:
                continue
            extended = {**attributes, name: value}
            if after == count:
                if extended not in found:
                    found.append(extended)
            else:
                self._walk(after, extended, found)


# --- typed values -------------------------------------------------------------------------------


def _integer(text: str) -> Any:
    return int(text) if _INTEGER.fullmatch(text) else _INVALID


def _moment(text: str) -> Any:
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return _INVALID
    if len(text) == 10:  # a bare date: midnight UTC
        return datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
    return parsed.astimezone(UTC) if parsed.tzinfo is not None else _INVALID


def _boolean(text: str) -> Any:
    return {"true": True, "false": False}.get(text, _INVALID)


def _state(text: str) -> Any:
    return text if _STATE.fullmatch(text) else _INVALID


_PARSERS: dict[str, Callable[[str], Any]] = {
    "id": _integer,
    "rapidViewId": _integer,
    "sequence": _integer,
    "incompleteIssuesDestinationId": _integer,
    "startDate": _moment,
    "endDate": _moment,
    "completeDate": _moment,
    "activatedDate": _moment,
    "autoStartStop": _boolean,
    "synced": _boolean,
    "state": _state,
}


def _typed(name: str, text: str | None) -> Any:
    """Null for <null> (or None); the text of name and goal; else the parsed value or _INVALID."""
    if text is None or text == _NULL:
        return None
    parser = _PARSERS.get(name)
    return text if parser is None else parser(text)


def _sprint(attributes: dict[str, Any]) -> Sprint:
    return Sprint(
        id=attributes["id"],
        name=attributes["name"],
        state=attributes.get("state"),
        board_id=attributes.get("rapidViewId"),
        goal=attributes.get("goal"),
        start=attributes.get("startDate"),
        end=attributes.get("endDate"),
        complete=attributes.get("completeDate"),
        activated=attributes.get("activatedDate"),
        sequence=attributes.get("sequence"),
    )


def _short(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
