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
