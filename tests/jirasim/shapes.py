"""Recursive shape comparison: same keys at every level, same JSON types."""

from typing import Any

JSON_TYPES = {dict: "object", list: "array", str: "string", bool: "boolean", int: "number", float: "number"}


def json_type(value: Any) -> str:
    return "null" if value is None else JSON_TYPES[type(value)]


def shape_differences(real: Any, sim: Any, path: str = "$", optional: frozenset[str] = frozenset()) -> list[str]:
    """Where sim's shape departs from real's. Nulls match any type (Jira sends null for empty values);
    keys listed in optional may be absent from sim (real Jira omits them too, depending on data)."""
    if real is None or sim is None:
        return []
    if json_type(real) != json_type(sim):
        return [f"{path}: real {json_type(real)}, sim {json_type(sim)}"]
    problems = []
    if isinstance(real, dict):
        for key in sorted(set(real) - set(sim) - optional):
            problems.append(f"{path}.{key}: missing from sim")
        for key in sorted(set(sim) - set(real) - optional):
            problems.append(f"{path}.{key}: not in real Jira")
        for key in sorted(set(real) & set(sim)):
            problems += shape_differences(real[key], sim[key], f"{path}.{key}", optional)
    elif isinstance(real, list) and real and sim:
        problems += shape_differences(real[0], sim[0], f"{path}[0]", optional)
    return problems


def key_paths(value: Any, path: str = "$", into: set[tuple[str, str]] | None = None) -> set[tuple[str, str]]:
    """Every (path, JSON type) in a value, arrays included item by item (`$.issues[].fields.labels[]`).

    Custom field ids differ from site to site, so `customfield_10020` is written `customfield_*`."""
    into = set() if into is None else into
    into.add((path, json_type(value)))
    if isinstance(value, dict):
        for key, item in value.items():
            name = "customfield_*" if key.startswith("customfield_") and key[12:].isdigit() else key
            key_paths(item, f"{path}.{name}", into)
    elif isinstance(value, list):
        for item in value:
            key_paths(item, f"{path}[]", into)
    return into


def missing_paths(real: set[tuple[str, str]], sim: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """The recorded (path, type) pairs sim never sends. A recorded null is matched by any type at that
    path; any other type only by the same type."""
    sim_paths = {path for path, _ in sim}
    return {
        (path, kind) for path, kind in real if (path not in sim_paths if kind == "null" else (path, kind) not in sim)
    }
