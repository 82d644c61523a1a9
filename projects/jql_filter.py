"""An instance's extra JQL must stay inside the project it is ANDed to.

The sync asks for `project = X AND (<filter>) ORDER BY …`. A filter that closes the parenthesis
itself (`…) OR (project = Y`) turns that into "project X, or all of project Y", and Y's issues
would be stored under X. This module checks the filter locally (balanced parentheses outside quoted
strings, closed quotes, no ORDER BY of its own) — always, before a save and before every sync.
Jira's own parser (POST /rest/api/3/jql/parse) is asked too where it exists: see
syncing.site.jql_validation.
"""

import re

_ORDER_BY = re.compile(r"\border\s+by\b", re.IGNORECASE)


class UnsafeJqlFilter(ValueError):
    """The JQL filter could escape the project scope of a sync; it is not used."""


def _outside_strings(jql: str) -> tuple[str, list[str]]:
    """The JQL with quoted strings blanked out, and the problems met while reading them."""
    kept: list[str] = []
    problems: list[str] = []
    quote = ""
    escaped = False
    for char in jql:
        if quote:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == quote:
                quote = ""
            kept.append(" ")
        elif char in "\"'":
            quote = char
            kept.append(" ")
        elif char == "\\":
            # Jira's lexer takes \" or \' inside an unquoted word as part of the word, where a quote would
            # begin a string for a reader that does not know it: the two readings would differ on where
            # the filter's parentheses are. Escapes belong inside quotes.
            problems.append(f"a backslash outside quotes (character {len(kept) + 1}): put escaped text in quotes")
            kept.append(" ")
        else:
            kept.append(char)
    if quote:
        problems.append(f"a {quote} quote is never closed")
    return "".join(kept), problems


def jql_filter_problems(jql: str) -> list[str]:
    """Why this filter is unsafe to AND to a project query (empty when it is safe)."""
    code, problems = _outside_strings(jql)
    depth = 0
    for position, char in enumerate(code, start=1):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth < 0:
                problems.append(f"the ) at character {position} closes a parenthesis the filter did not open")
                break
    if depth > 0:
        problems.append(f"{depth} parenthesis left open")
    if _ORDER_BY.search(code):
        problems.append("ORDER BY is not allowed in the filter (the sync sets the order)")
    return problems


def jql_filter_check(jql: str) -> str:
    """Return the filter when it is safe; raise UnsafeJqlFilter naming the problems otherwise."""
    problems = jql_filter_problems(jql) if jql else []
    if problems:
        raise UnsafeJqlFilter(f"the instance's JQL filter is refused: {'; '.join(problems)}")
    return jql
