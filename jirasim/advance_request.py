"""What an advance of the simulated site may ask for, checked whole before anything changes.

POST /_sim/advance and Dataset.advance() are all-or-nothing: a body with any bad part is refused
(400, every problem named) and the site, its clock and its random streams stay as they were.
"""

import math
from typing import Any

MAX_MINUTES = 10 * 365 * 24 * 60  # ten years a step: timestamps stay within what Jira's format shows
MAX_CREATE = 100_000  # new issues a step (each costs memory for as long as the site runs)
MAX_COUNT = 1_000_000  # anything else counted: deletions, moves, comments, worklogs
ISSUE_KEYS = ("minutes", "update", "create", "delete", "move")
NOTE_ACTIONS = ("add", "edit", "delete")
SPRINT_ACTIONS = ("close", "move")


def advance_arguments(body: Any) -> dict[str, Any]:
    """Dataset.advance()'s keyword arguments from a /_sim/advance body: {"minutes": ≥ 0, "update": share
    0–1, "create"|"delete"|"move": counts, "comments"|"worklogs": {"add"|"edit"|"delete": counts},
    "sprints": {"close": bool, "move": count}}, every key optional. ValueError naming every problem."""
    if not isinstance(body, dict):
        raise ValueError("the body must be a JSON object")
    problems = [f"unknown key {key!r}" for key in body if key not in (*ISSUE_KEYS, "comments", "worklogs", "sprints")]
    arguments: dict[str, Any] = {key: body[key] for key in ISSUE_KEYS if key in body}
    arguments["activity"] = {kind: body[kind] for kind in ("comments", "worklogs", "sprints") if kind in body}
    problems += advance_problems(**arguments)
    if problems:
        raise ValueError("; ".join(problems))
    return arguments


def check_advance(**arguments: Any) -> None:
    """Dataset.advance()'s arguments are all valid, or ValueError naming every problem."""
    problems = advance_problems(**arguments)
    if problems:
        raise ValueError("; ".join(problems))


def advance_problems(
    minutes: Any = 0,
    update: Any = 0.0,
    create: Any = 0,
    delete: Any = 0,
    move: Any = 0,
    activity: Any = None,
) -> list[str]:
    """What is wrong with these advance() arguments (empty: nothing)."""
    problems: list[str] = []
    _number(problems, "minutes", minutes, MAX_MINUTES)
    _number(problems, "update", update, 1)
    _number(problems, "create", create, MAX_CREATE, whole=True)
    _number(problems, "delete", delete, MAX_COUNT, whole=True)
    _number(problems, "move", move, MAX_COUNT, whole=True)
    if activity is None:
        return problems
    if not isinstance(activity, dict):
        return [*problems, "activity must be an object"]
    for kind, wanted in activity.items():
        actions = {"comments": NOTE_ACTIONS, "worklogs": NOTE_ACTIONS, "sprints": SPRINT_ACTIONS}.get(kind)
        if actions is None:
            problems.append(f"unknown key {kind!r}")
        elif not isinstance(wanted, dict):
            problems.append(f"{kind} must be an object with {', '.join(actions)}")
        else:
            for action, value in wanted.items():
                name = f"{kind}.{action}"
                if action not in actions:
                    problems.append(f"unknown key {name!r}")
                elif (kind, action) == ("sprints", "close"):
                    if not isinstance(value, bool):
                        problems.append(f"{name} must be true or false")
                else:
                    _number(problems, name, value, MAX_COUNT, whole=True)
    return problems


def _number(problems: list[str], name: str, value: Any, most: float, *, whole: bool = False) -> None:
    """value is a JSON number (not a boolean) from 0 to `most`, a whole one if `whole`."""
    kind = "a whole number" if whole else "a number"
    if isinstance(value, bool) or not isinstance(value, int | float):
        problems.append(f"{name} must be {kind}, not {value!r}")
    elif not math.isfinite(value) or not 0 <= value <= most or (whole and value != int(value)):
        problems.append(f"{name} must be {kind} from 0 to {most:,}, not {value!r}")
