"""The field mapping file: parsed and validated as a whole, every problem named by its JSON path.

Pure: text in, a MappingDocument (or MappingFileError listing every problem) out.
The format is documented in the README ("The mapping file").
"""

import json
import re
from dataclasses import dataclass, replace
from typing import Any

from config.legacy_mapping import is_legacy, legacy_convert
from config.models import ANY_INSTANCE, CombineMode, FieldMapping, FieldSource, FieldType, StatusMilestone
from jirafields.compiler import JOINABLE_TYPES
from jirafields.convert import CONVERTERS, ConversionError
from lib.columns import max_length

FORMAT_VERSION = 1
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")
_SLUG = re.compile(r"^(\*|[-a-zA-Z0-9_]+)$")
# What the database columns hold: a longer value must be a problem in the file, not an error at save.
_MAX_NAME = max_length(FieldMapping, "name")
_MAX_LABEL = max_length(FieldMapping, "label")
_MAX_GROUP = max_length(FieldMapping, "group")
_MAX_SLUG = max_length(FieldSource, "instance_slug")
_MAX_SEPARATOR = max_length(FieldSource, "separator")
_MAX_MILESTONE_LABEL = max_length(StatusMilestone, "label")
_MAX_ORDER = 2**31 - 1  # PositiveIntegerField's range on every database
_PATH = re.compile(r"^[A-Za-z0-9_\-]+(\.[A-Za-z0-9_\-]+)*$")


@dataclass(frozen=True)
class SourceDoc:
    paths: tuple[str, ...]
    names: tuple[str, ...] = ()
    combine: str = CombineMode.JOIN
    separator: str = " "


@dataclass(frozen=True)
class FieldDoc:
    name: str
    field_type: str
    group: str = ""
    label: str = ""
    required: bool = False
    default: Any = None
    description: str = ""
    position: int = 0
    sources: tuple[tuple[str, SourceDoc], ...] = ()  # (instance slug, source), sorted by slug


@dataclass(frozen=True)
class MilestoneDoc:
    name: str
    order: int
    label: str = ""
    description: str = ""
    statuses: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = ()  # (slug, names, ids)


@dataclass(frozen=True)
class MappingDocument:
    fields: tuple[FieldDoc, ...]
    milestones: tuple[MilestoneDoc, ...]
    notes: tuple[str, ...] = ()  # what was done to read it (a legacy file converted)
    keeps_milestones: bool = False  # the file says nothing of milestones: applying it keeps the stored ones


class MappingFileError(Exception):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def parse_mapping_text(text: str | bytes) -> MappingDocument:
    """Return the validated document, or raise MappingFileError with every problem found."""
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise MappingFileError([f"$: invalid JSON: {exc}"]) from None
    if is_legacy(data):
        return _legacy_document(data)
    reader = _Reader()
    document = reader.document(data)
    if reader.problems:
        raise MappingFileError(reader.problems)
    return document


def _legacy_document(data: dict) -> MappingDocument:
    conversion = legacy_convert(data)
    reader = _Reader()
    document = reader.document(conversion.data)
    problems = conversion.problems + [conversion.legacy_path(problem) for problem in reader.problems]
    if problems:
        raise MappingFileError(problems)
    return replace(document, notes=tuple(conversion.notes), keeps_milestones=conversion.keeps_milestones)


class _Reader:
    def __init__(self) -> None:
        self.problems: list[str] = []

    def problem(self, path: str, message: str) -> None:
        self.problems.append(f"{path}: {message}")

    def keys(self, obj: dict, path: str, required: set[str], optional: set[str]) -> bool:
        for key in sorted(required - set(obj)):
            self.problem(f"{path}.{key}", "missing")
        for key in sorted(set(obj) - required - optional):
            self.problem(f"{path}.{key}", f"unknown key (expected one of: {', '.join(sorted(required | optional))})")
        return required <= set(obj)

    def typed(self, value: Any, kind: type | tuple, path: str, what: str) -> bool:
        # bool is an int subclass in Python, never a whole number in a mapping file.
        ok = isinstance(value, kind) and not (isinstance(value, bool) and kind is int)
        if not ok:
            self.problem(path, f"expected {what}, got {json.dumps(value)[:60]}")
        return ok

    def fits(self, value: Any, path: str, limit: int) -> bool:
        """True unless value is text longer than limit (other types are typed()'s business)."""
        if isinstance(value, str) and len(value) > limit:
            self.problem(path, f"longer than {limit} characters ({len(value)})")
            return False
        return True

    def document(self, data: Any) -> MappingDocument:
        if not self.typed(data, dict, "$", "an object"):
            return MappingDocument((), ())
        self.keys(data, "$", {"version", "field_groups"}, {"milestones", "description"})
        if "version" in data and data["version"] != FORMAT_VERSION:
            self.problem("$.version", f"unsupported version {data['version']!r} (this jirasync reads {FORMAT_VERSION})")
        fields: list[FieldDoc] = []
        seen: dict[str, str] = {}
        groups = data.get("field_groups", [])
        if self.typed(groups, list, "$.field_groups", "a list"):
            for g, group in enumerate(groups):
                gpath = f"$.field_groups[{g}]"
                if not self.typed(group, dict, gpath, "an object"):
                    continue
                self.keys(group, gpath, {"name", "fields"}, {"description"})
                group_name = group.get("name", "")
                self.typed(group_name, str, f"{gpath}.name", "text")
                self.fits(group_name, f"{gpath}.name", _MAX_GROUP)
                items = group.get("fields", [])
                if not self.typed(items, list, f"{gpath}.fields", "a list"):
                    continue
                for f, item in enumerate(items):
                    fpath = f"{gpath}.fields[{f}]"
                    parsed = self.field(item, fpath, str(group_name), position=len(fields))
                    if parsed is None:
                        continue
                    if parsed.name in seen:
                        first = seen[parsed.name]
                        self.problem(f"{fpath}.name", f"duplicate target {parsed.name!r} (first at {first})")
                        continue
                    seen[parsed.name] = fpath
                    fields.append(parsed)
        milestones = self.milestones(data.get("milestones", []))
        return MappingDocument(tuple(fields), tuple(milestones))

    def field(self, item: Any, path: str, group: str, position: int) -> FieldDoc | None:
        if not self.typed(item, dict, path, "an object"):
            return None
        complete = self.keys(item, path, {"name", "type"}, {"label", "required", "default", "description", "instances"})
        name, field_type = item.get("name"), item.get("type")
        valid = complete
        if "name" in item and (not isinstance(name, str) or not _IDENTIFIER.match(name)):
            self.problem(f"{path}.name", f"{json.dumps(name)[:80]} is not a valid target name (a-z, 0-9, _)")
            valid = False
        valid &= self.fits(name, f"{path}.name", _MAX_NAME)
        if "type" in item and (not isinstance(field_type, str) or field_type not in FieldType.values):
            self.problem(
                f"{path}.type",
                f"unknown type {json.dumps(field_type)} (expected one of: {', '.join(FieldType.values)})",
            )
            valid = False
        required = item.get("required", False)
        valid &= self.typed(required, bool, f"{path}.required", "true or false")
        for key in ("label", "description"):
            valid &= self.typed(item.get(key, ""), str, f"{path}.{key}", "text")
        valid &= self.fits(item.get("label", ""), f"{path}.label", _MAX_LABEL)
        default = item.get("default")
        if valid and default is not None:
            try:
                CONVERTERS[field_type](default)
            except ConversionError as exc:
                self.problem(f"{path}.default", f"does not fit type {field_type}: {exc}")
                valid = False
        sources = self.sources(item.get("instances", {}), f"{path}.instances", field_type)
        if not valid or sources is None:
            return None
        return FieldDoc(
            name=name,
            field_type=field_type,
            group=group,
            label=item.get("label", ""),
            required=required,
            default=default,
            description=item.get("description", ""),
            position=position,
            sources=sources,
        )

    def sources(self, instances: Any, path: str, field_type: Any) -> tuple | None:
        if not self.typed(instances, dict, path, "an object of instance slug → source"):
            return None
        result = []
        ok = True
        for slug, spec in sorted(instances.items()):
            spath = f"{path}.{slug}"
            if not _SLUG.match(slug):
                self.problem(spath, f'{slug[:80]!r} is not an instance slug (or "{ANY_INSTANCE}")')
                ok = False
                continue
            if not self.fits(slug, spath, _MAX_SLUG):
                ok = False
                continue
            source = self.source(spec, spath, field_type)
            if source is None:
                ok = False
                continue
            result.append((slug, source))
        return tuple(result) if ok else None

    def source(self, spec: Any, path: str, field_type: Any) -> SourceDoc | None:
        if not self.typed(spec, dict, path, "an object"):
            return None
        if "sources" in spec:
            self.keys(spec, path, {"sources"}, {"combine", "separator"})
            entries = spec["sources"]
            if not self.typed(entries, list, f"{path}.sources", "a list") or not entries:
                if isinstance(entries, list):
                    self.problem(f"{path}.sources", "needs at least one source")
                return None
            maybe = [self.located(entry, f"{path}.sources[{i}]") for i, entry in enumerate(entries)]
        else:
            maybe = [self.located(spec, path)]
        located = [entry for entry in maybe if entry is not None]
        if len(located) != len(maybe):
            return None
        combine = spec.get("combine", CombineMode.JOIN)
        separator = spec.get("separator", " ")
        if combine not in CombineMode.values:
            self.problem(f"{path}.combine", f"expected one of: {', '.join(CombineMode.values)}")
            return None
        if not self.typed(separator, str, f"{path}.separator", "text") or not self.fits(
            separator, f"{path}.separator", _MAX_SEPARATOR
        ):
            return None
        joinable = isinstance(field_type, str) and field_type in JOINABLE_TYPES
        if combine == CombineMode.JOIN and len(located) > 1 and not joinable:
            self.problem(f"{path}.combine", f'type {field_type} cannot join several sources; use "first"')
            return None
        names = tuple(n for _, n in located)
        return SourceDoc(
            paths=tuple(p for p, _ in located),
            names=names if any(names) else (),
            combine=combine,
            separator=separator,
        )

    def located(self, entry: Any, path: str) -> tuple[str, str] | None:
        if not self.typed(entry, dict, path, "an object"):
            return None
        allowed = (
            {"field_id", "path", "name"} if path.endswith("]") else {"field_id", "path", "name", "combine", "separator"}
        )
        self.keys(entry, path, set(), allowed)
        where = [key for key in ("field_id", "path") if key in entry]
        if len(where) != 1:
            self.problem(path, "needs exactly one of field_id or path")
            return None
        value = entry[where[0]]
        if not isinstance(value, str) or not _PATH.match(value):
            self.problem(f"{path}.{where[0]}", f"{json.dumps(value)} is not a field id or dot path")
            return None
        name = entry.get("name", "")
        if not self.typed(name, str, f"{path}.name", "text"):
            return None
        return value, name

    def milestones(self, items: Any) -> list[MilestoneDoc]:
        result: list[MilestoneDoc] = []
        if not self.typed(items, list, "$.milestones", "a list"):
            return result
        seen: set[str] = set()
        for m, item in enumerate(items):
            path = f"$.milestones[{m}]"
            if not self.typed(item, dict, path, "an object"):
                continue
            self.keys(item, path, {"name", "instances"}, {"label", "order", "description"})
            name = item.get("name")
            if not isinstance(name, str) or not _IDENTIFIER.match(name):
                self.problem(f"{path}.name", f"{json.dumps(name)[:80]} is not a valid milestone name (a-z, 0-9, _)")
                continue
            label = item.get("label", "")
            if not (
                self.fits(name, f"{path}.name", _MAX_NAME)
                and self.typed(label, str, f"{path}.label", "text")
                and self.fits(label, f"{path}.label", _MAX_MILESTONE_LABEL)
            ):
                continue
            if name in seen:
                self.problem(f"{path}.name", f"duplicate milestone {name!r}")
                continue
            seen.add(name)
            order = item.get("order", m + 1)
            if not self.typed(order, int, f"{path}.order", "a whole number"):
                continue
            if not 0 <= order <= _MAX_ORDER:
                self.problem(f"{path}.order", f"expected 0 to {_MAX_ORDER}, got {order}")
                continue
            statuses = self.milestone_statuses(item.get("instances", {}), f"{path}.instances")
            if statuses is None:
                continue
            result.append(
                MilestoneDoc(
                    name=name,
                    order=order,
                    label=label,
                    description=str(item.get("description", "")),
                    statuses=statuses,
                )
            )
        return result

    def milestone_statuses(self, instances: Any, path: str) -> tuple | None:
        if not self.typed(instances, dict, path, "an object of instance slug → statuses"):
            return None
        result = []
        for slug, spec in sorted(instances.items()):
            spath = f"{path}.{slug}"
            if not _SLUG.match(slug):
                self.problem(spath, f"{slug[:80]!r} is not an instance slug")
                return None
            if not self.fits(slug, spath, _MAX_SLUG):
                return None
            if not self.typed(spec, dict, spath, "an object"):
                return None
            self.keys(spec, spath, set(), {"statuses", "status_ids"})
            names, ids = spec.get("statuses", []), spec.get("status_ids", [])
            for key, values in (("statuses", names), ("status_ids", ids)):
                if not isinstance(values, list) or not all(isinstance(v, str) and v for v in values):
                    self.problem(f"{spath}.{key}", "expected a list of non-empty strings")
                    return None
            if not names and not ids:
                self.problem(spath, "needs at least one status name or id")
                return None
            result.append((slug, tuple(names), tuple(ids)))
        return tuple(result)


def document_to_data(document: MappingDocument) -> dict[str, Any]:
    """Return the canonical file form of document (what export writes)."""
    groups: dict[str, list[dict]] = {}
    for item in document.fields:
        entry: dict[str, Any] = {"name": item.name, "type": item.field_type}
        if item.label:
            entry["label"] = item.label
        if item.required:
            entry["required"] = True
        if item.default is not None:
            entry["default"] = item.default
        if item.description:
            entry["description"] = item.description
        entry["instances"] = {slug: _source_data(source) for slug, source in item.sources}
        groups.setdefault(item.group, []).append(entry)
    data: dict[str, Any] = {
        "version": FORMAT_VERSION,
        "field_groups": [{"name": name, "fields": fields} for name, fields in groups.items()],
    }
    data["milestones"] = [
        {
            "name": m.name,
            **({"label": m.label} if m.label else {}),
            "order": m.order,
            **({"description": m.description} if m.description else {}),
            "instances": {
                slug: {**({"statuses": list(names)} if names else {}), **({"status_ids": list(ids)} if ids else {})}
                for slug, names, ids in m.statuses
            },
        }
        for m in sorted(document.milestones, key=lambda m: (m.order, m.name))  # as stored: a file's order is not kept
    ]
    return data


def _located_data(path: str, name: str) -> dict[str, str]:
    entry = {"path": path} if "." in path else {"field_id": path}
    if name:
        entry["name"] = name
    return entry


def _source_data(source: SourceDoc) -> dict[str, Any]:
    names = source.names or ("",) * len(source.paths)
    entry: dict[str, Any]
    if len(source.paths) == 1:
        entry = _located_data(source.paths[0], names[0])
    else:
        entry = {"sources": [_located_data(p, n) for p, n in zip(source.paths, names, strict=True)]}
    if source.combine != CombineMode.JOIN:
        entry["combine"] = source.combine
    if source.separator != " ":
        entry["separator"] = source.separator
    return entry


def document_to_text(document: MappingDocument) -> str:
    return json.dumps(document_to_data(document), indent=2, ensure_ascii=False) + "\n"
