"""The mapping file of the system jirasync replaces, converted to today's format.

Its documented shape: `field_groups` is an object of groups (keyed by group), each with `fields` as an
object keyed by target name; a field holds `type`, `required` (and `label`, `default`, `description`)
and, beside them, one entry per instance slug — a source object (`{"field_id": …, "name": …}`), whose
`field_id` (or `path`) may be a list of several field ids to combine, or just such a list:

    {"field_groups": {"order": {"fields": {"order_number": {
        "type": "string", "required": true,
        "instance_1": {"field_id": "customfield_10501", "name": "NDPU Order Number"},
        "instance_2": {"field_id": ["customfield_12594", "customfield_12611"]}}}}}}

Pure: the converted data goes through the same validation as any file; its problems are reported at
the paths of the legacy file, and so are the shape problems found here.
"""

import json
import re
from dataclasses import dataclass, field
from typing import Any

FIELD_ATTRIBUTES = {"type", "required", "default", "label", "description"}
GROUP_KEYS = {"fields", "name", "label", "description"}
SOURCE_KEYS = {"field_id", "path", "name", "combine", "separator"}
TOP_KEYS = {"field_groups", "description", "milestones"}
_PLAIN_KEY = re.compile(r"^[A-Za-z_*][A-Za-z0-9_\-*]*$")
_INNER_PATH = re.compile(r"\$(?:\.[^\s.\[\]:,)'\"]+|\[\d+\])+")


def is_legacy(data: Any) -> bool:
    """The legacy format is told apart by its field groups: an object, where today's are a list."""
    return isinstance(data, dict) and isinstance(data.get("field_groups"), dict)


def key_path(base: str, key: str) -> str:
    return f"{base}.{key}" if _PLAIN_KEY.match(key) else f"{base}[{json.dumps(key, ensure_ascii=False)}]"


@dataclass
class LegacyConversion:
    data: dict[str, Any]  # in today's format, to validate as any file
    problems: list[str] = field(default_factory=list)  # shape problems, at legacy paths
    notes: list[str] = field(default_factory=list)
    keeps_milestones: bool = False
    _paths: list[tuple[str, str]] = field(default_factory=list)  # (today's path, legacy path)

    def legacy_path(self, problem: str) -> str:
        """A problem found in the converted data, said at the paths of the legacy file (where it is, and
        any other place it names, as a duplicate's first occurrence)."""
        path, _, message = problem.partition(": ")
        return f"{self._translate(path)}: {_INNER_PATH.sub(lambda m: self._translate(m.group(0)), message)}"

    def _translate(self, path: str) -> str:
        for new, old in sorted(self._paths, key=lambda pair: -len(pair[0])):
            if path == new or (path.startswith(new) and path[len(new)] in ".["):
                return old + path[len(new) :]
        return path


def legacy_convert(data: dict[str, Any]) -> LegacyConversion:
    """Convert a legacy file (see the module's docstring) to today's format, noting what was done."""
    conversion = LegacyConversion(data={"version": 1, "field_groups": []})
    for key in sorted(set(data) - TOP_KEYS):
        conversion.problems.append(f"$.{key}: unknown key (expected one of: {', '.join(sorted(TOP_KEYS))})")
    if "description" in data:
        conversion.data["description"] = data["description"]
    if "milestones" in data:
        conversion.data["milestones"] = data["milestones"]  # the same list as today's files
    else:
        conversion.keeps_milestones = True
    fields = combined = 0
    for g, (group_key, group) in enumerate(data["field_groups"].items()):
        converted = _group(conversion, g, group_key, group)
        if converted is None:
            continue
        conversion.data["field_groups"].append(converted)
        fields += len(converted["fields"])
        combined += sum(
            "sources" in source and len(source["sources"]) > 1
            for item in converted["fields"]
            for source in item["instances"].values()
        )
    conversion.notes.append(
        f"converted from the legacy format (field groups as an object): {fields} fields in "
        f"{len(conversion.data['field_groups'])} groups, {combined} combined sources (joined with a space unless "
        "they say otherwise)"
    )
    if conversion.keeps_milestones:
        conversion.notes.append("the file has no milestones: the stored milestones are kept")
    return conversion


def _group(conversion: LegacyConversion, g: int, key: str, group: Any) -> dict | None:
    path = key_path("$.field_groups", key)
    if not isinstance(group, dict):
        conversion.problems.append(f"{path}: expected an object with fields, got {json.dumps(group)[:60]}")
        return None
    for unknown in sorted(set(group) - GROUP_KEYS):
        conversion.problems.append(f"{path}.{unknown}: unknown key (expected one of: {', '.join(sorted(GROUP_KEYS))})")
    items = group.get("fields")
    if not isinstance(items, dict):
        what = (
            "missing" if items is None else f"expected an object of target name → field, got {json.dumps(items)[:60]}"
        )
        conversion.problems.append(f"{path}.fields: {what}")
        return None
    new_path = f"$.field_groups[{g}]"
    conversion._paths += [(new_path, path), (f"{new_path}.name", path), (f"{new_path}.fields", f"{path}.fields")]
    fields: list[dict[str, Any]] = []
    for name, item in items.items():
        entry = _field(conversion, f"{new_path}.fields[{len(fields)}]", key_path(f"{path}.fields", name), name, item)
        if entry is not None:
            fields.append(entry)
    return {"name": group.get("name", group.get("label", key)), "fields": fields}


def _field(conversion: LegacyConversion, new_path: str, path: str, name: str, item: Any) -> dict | None:
    if not isinstance(item, dict):
        conversion.problems.append(
            f"{path}: expected an object with type and instance sources, got {json.dumps(item)[:60]}"
        )
        return None
    conversion._paths += [(new_path, path), (f"{new_path}.name", path), (f"{new_path}.instances", path)]
    entry: dict[str, Any] = {"name": name}
    entry.update({key: value for key, value in item.items() if key in FIELD_ATTRIBUTES})
    entry["instances"] = {}
    for slug, spec in item.items():
        if slug in FIELD_ATTRIBUTES:
            continue
        source = _source(conversion, f"{new_path}.instances.{slug}", key_path(path, slug), spec)
        if source is not None:
            entry["instances"][slug] = source
    return entry


def _source(conversion: LegacyConversion, new_path: str, path: str, spec: Any) -> dict | None:
    conversion._paths.append((new_path, path))
    bare = isinstance(spec, list)
    if bare:  # just the field ids to combine
        spec = {"field_id": spec}
        conversion._paths.append((f"{new_path}.sources", path))
    elif isinstance(spec, dict):
        for unknown in sorted(set(spec) - SOURCE_KEYS):
            conversion.problems.append(
                f"{path}.{unknown}: unknown key (expected one of: {', '.join(sorted(SOURCE_KEYS))})"
            )
        spec = {key: value for key, value in spec.items() if key in SOURCE_KEYS}
    else:
        conversion.problems.append(
            f"{path}: expected a source object or a list of field ids, got {json.dumps(spec)[:60]}"
        )
        return None
    where = next((key for key in ("field_id", "path") if isinstance(spec.get(key), list)), None)
    if where is None:
        return spec  # one field id or path: today's single-source form already
    located = spec.pop(where)
    names = spec.pop("name", None)
    if not located:
        conversion.problems.append(f"{path}.{where}: needs at least one field id")
        return None
    if names is not None and (not isinstance(names, list) or len(names) != len(located)):
        conversion.problems.append(f"{path}.name: expected a list of {len(located)} names, one per {where}")
        return None
    sources = []
    for i, value in enumerate(located):
        source = {where: value}
        element = f"{path}[{i}]" if bare else f"{path}.{where}[{i}]"
        if names is not None:
            source["name"] = names[i]
            conversion._paths.append((f"{new_path}.sources[{i}].name", f"{path}.name[{i}]"))
        conversion._paths.append((f"{new_path}.sources[{i}].{where}", element))
        conversion._paths.append((f"{new_path}.sources[{i}]", element))
        sources.append(source)
    return {"sources": sources, **spec}
