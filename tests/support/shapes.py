"""The shape of Jira's JSON: compared with a recorded answer (same keys at every level, same JSON types), and
validated against the Cloud platform's OpenAPI schemas."""

import json
from functools import cache
from typing import Any

import jsonschema

from tests.support.reference import reference_dir

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


@cache
def openapi() -> dict:
    """The Cloud platform's OpenAPI document from the reference folder, nulls allowed, amended where real answers
    differ from it."""
    spec = json.loads((reference_dir() / "jira-cloud-platform-swagger-v3.v3.json").read_text())
    spec = nulls_allowed(spec)
    # Real responses (recorded/cloud-v3-field-list.json) carry a property the schema forbids.
    spec["components"]["schemas"]["FieldDetails"]["properties"]["untranslatedName"] = {"type": "string"}
    # Real REST changelogs carry these on user items (recorded/cloud-agile-issue-EE-17…, the 2026 webhook)
    # and real serverInfo a defaultLocale (recorded/cloud-serverinfo.json); the schemas forbid them.
    for name in ("tmpFromAccountId", "tmpToAccountId"):
        spec["components"]["schemas"]["ChangeDetails"]["properties"][name] = {"type": ["string", "null"]}
    spec["components"]["schemas"]["ServerInformation"]["properties"]["defaultLocale"] = {"type": "object"}
    return spec


def nulls_allowed(node):
    """Every typed value may also be null: real responses (e.g. recorded changelog items' "from") send
    nulls where the spec does not say `nullable`, and JSON Schema validators ignore that keyword anyway."""
    if isinstance(node, dict):
        node = {key: nulls_allowed(value) for key, value in node.items()}
        if isinstance(node.get("type"), str) and node["type"] != "object":
            node["type"] = [node["type"], "null"]
        return node
    if isinstance(node, list):
        return [nulls_allowed(item) for item in node]
    return node


def validate(instance: dict, schema_name: str) -> None:
    """Raise jsonschema.ValidationError unless the value validates against the named component schema."""
    spec = openapi()
    schema = {"$ref": f"#/components/schemas/{schema_name}", "components": spec["components"]}
    jsonschema.validate(instance, schema, cls=jsonschema.Draft4Validator)
