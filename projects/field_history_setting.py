"""The syntax of JiraInstance.field_history, checked before a save: `*`, empty, or field ids and names separated
by commas.

Jira field names are free text — spaces, slashes, quotes, brackets, colons, non-Latin letters ("Fix Version/s",
"Example 'URL Field' Field", "[CHART] Time in Status", "Σ Time Spent") — so a name is taken as written; what is
refused is what cannot be a name in this list: an empty one, `*` among names, a semicolon or line break (another
separator typed for the comma), a control character, a name in quotes, one longer than a field name can be.
"""

import unicodedata

from django.core.exceptions import ValidationError

EVERY_FIELD = "*"
NAME_MAX = 255  # FieldChange.field_id / field_name


def field_history_problems(value: str) -> list[str]:
    """Why this setting cannot be read as intended ([] when it can)."""
    if not value.strip() or value.strip() == EVERY_FIELD:
        return []
    problems = []
    for place, part in enumerate(value.split(","), start=1):
        name = part.strip()
        if why := _name_problem(name):
            problems.append(f"name {place} ({name[:40]!r}): {why}")
    return problems


def _name_problem(name: str) -> str:
    if not name:
        return "empty — remove the extra comma"
    if name == EVERY_FIELD or EVERY_FIELD in name:
        return "* means every field and stands alone; there are no wildcards within names"
    if ";" in name or "\n" in name or "\r" in name:
        return "separate field ids and names with commas, not semicolons or line breaks"
    if any(unicodedata.category(char) == "Cc" for char in name):
        return "holds a control character"
    if len(name) >= 2 and name[0] == name[-1] and name[0] in "\"'":
        return "write names without quotes (spaces and quotes within a name are fine)"
    if len(name) > NAME_MAX:
        return f"longer than a Jira field name can be ({NAME_MAX} characters)"
    return ""


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
