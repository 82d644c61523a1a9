"""JiraInstance.field_history: `*`, empty, or field ids and names separated by commas — checked before a save,
and stored in one normal form that every reader (KeptFields in Python, the report view's SQL) reads alike.

Jira field names are free text — spaces, slashes, quotes, brackets, colons, non-Latin letters ("Fix Version/s",
"Example 'URL Field' Field", "[CHART] Time in Status", "Σ Time Spent") — so a name is taken as written; what is
refused is what cannot be a name in this list: an empty one, `*` among names, a semicolon or line break (any
Unicode one: another separator typed for the comma), a control or invisible character, whitespace other than a
plain space within a name, a name in quotes, one longer than a field name can be, and a value of blanks alone.

The normal form (field_history_normalised): each name stripped, names joined by ", ", `*` alone when it is
among them; a name that is not ASCII but reads as ASCII when compared without case ("Straße" as "strasse") is
stored so. Names are compared by casefold(); the SQL compares by ASCII lower-casing, which agrees with it on
every normal form (a non-ASCII name never casefolds to an ASCII one there).
"""

import unicodedata

from django.core.exceptions import ValidationError

EVERY_FIELD = "*"
NAME_MAX = 255  # FieldChange.field_id / field_name
SEPARATOR = ", "
# Every character str.splitlines() breaks at: \n \r \v \f, the file/group/record separators, NEL, U+2028, U+2029.
LINE_BREAKS = frozenset("\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029")
# Format characters that join letters in scripts and emoji are part of a name; others are invisible noise.
_JOINERS = frozenset("\u200c\u200d")
# Names a person may type for "every field" or "none": taken as field names, with a hint (field_history_hints).
_MEANT_EVERY = frozenset({"all", "every", "everything", "any"})
_MEANT_NONE = frozenset({"none", "nothing", "-"})


def field_history_names(value: str) -> list[str]:
    """The names of a setting, each stripped, empty ones left out, in their order (`*` among them as written)."""
    return [name for part in value.split(",") if (name := part.strip())]


def field_history_normalised(value: str) -> str:
    """The setting as stored: "*", "" or the names joined by ", " (see the module's docstring)."""
    names = field_history_names(value)
    if EVERY_FIELD in names:
        return EVERY_FIELD
    return SEPARATOR.join(_ascii_when_folded(name) for name in names)


def _ascii_when_folded(name: str) -> str:
    folded = name.casefold()
    return folded if not name.isascii() and folded.isascii() else name


def field_history_problems(value: str) -> list[str]:
    """Why this setting cannot be read as intended ([] when it can)."""
    if not value:
        return []
    if not value.strip():
        return ["only blanks: leave it empty to keep no field's history"]
    if value.strip() == EVERY_FIELD:
        return []
    problems = []
    for place, part in enumerate(value.split(","), start=1):
        if why := _name_problem(part):
            problems.append(f"name {place} ({part.strip()[:40]!r}): {why}")
    return problems


def _name_problem(part: str) -> str:
    name = part.strip()
    if ";" in part or any(char in LINE_BREAKS for char in part):
        return "separate field ids and names with commas, not semicolons or line breaks"
    if not name:
        return "empty — remove the extra comma"
    if name == EVERY_FIELD or EVERY_FIELD in name:
        return "* means every field and stands alone; there are no wildcards within names"
    if odd := next((char for char in name if _odd(char)), None):
        return f"holds a control or invisible character (U+{ord(odd):04X})"
    if blank := next((char for char in name if char.isspace() and char != " "), None):
        return f"holds whitespace other than a plain space (U+{ord(blank):04X}) — write a space"
    if len(name) >= 2 and name[0] == name[-1] and name[0] in "\"'":
        return "write names without quotes (spaces and quotes within a name are fine)"
    if len(name) > NAME_MAX:
        return f"longer than a Jira field name can be ({NAME_MAX} characters)"
    if (folded := _ascii_when_folded(name)) != name:
        return f"reads as {folded!r} when compared without case — write it so"
    return ""


def _odd(char: str) -> bool:
    category = unicodedata.category(char)
    return (category == "Cc" and not char.isspace()) or (category == "Cf" and char not in _JOINERS)


def field_history_hints(value: str) -> list[str]:
    """What a valid setting may not mean as written: a name that reads as "every field" or "none"."""
    hints = []
    for name in field_history_names(value):
        if name.casefold() in _MEANT_EVERY:
            hints.append(f"{name!r} keeps the history of a field named {name!r}; write * to keep every field's")
        elif name.casefold() in _MEANT_NONE:
            hints.append(f"{name!r} keeps the history of a field named {name!r}; leave it empty to keep none")
    return hints


def validate_field_history(value: str) -> None:
    """Model validator: raises ValidationError listing each name that cannot be meant."""
    if problems := field_history_problems(value):
        raise ValidationError(
            [f"{problem}." for problem in problems]
            + [
                "Write * (every field), leave it empty (none), or list field ids or names separated by commas, "
                'e.g. "assignee, priority, customfield_10020, Fix Version/s".'
            ]
        )
