"""Mappings compiled once per instance: paths pre-split, converters looked up, requested fields known."""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from jirafields.convert import CONVERTERS
from jirafields.paths import split_path

# The types whose values can be joined from several sources.
JOINABLE_TYPES = {"string", "text", "string_list", "sprint_list", "version_list", "component_list"}
LIST_TYPES = {"string_list", "sprint_list", "version_list", "component_list"}
# The types that read a Sprint field: the fields their sources name are where sprint membership is read from.
SPRINT_TYPES = {"sprint", "sprint_list"}


@dataclass(frozen=True)
class FieldSpec:
    """One target field as one instance fills it (plain data, built from config or by hand)."""

    name: str
    field_type: str
    paths: tuple[str, ...]
    required: bool = False
    default: Any = None
    combine: str = "join"  # join | first
    separator: str = " "


@dataclass(frozen=True)
class CompiledField:
    name: str
    field_type: str
    sources: tuple[tuple[str, tuple[str, ...]], ...]  # (path as written, split path)
    convert: Callable[[Any], Any]
    required: bool
    default: Any
    combine: str
    separator: str


@dataclass(frozen=True)
class CompiledMapping:
    fields: tuple[CompiledField, ...]
    version: str = ""
    jira_field_ids: frozenset[str] = field(default_factory=frozenset)
    sprint_field_ids: frozenset[str] = field(default_factory=frozenset)  # read by sprint / sprint_list fields


def compile_mapping(specs: list[FieldSpec], version: str = "") -> CompiledMapping:
    """Return the compiled form of specs; raise ValueError on an unknown type or an empty path list."""
    compiled = []
    for spec in specs:
        if spec.field_type not in CONVERTERS:
            raise ValueError(f"field {spec.name!r}: unknown type {spec.field_type!r}")
        if not spec.paths:
            raise ValueError(f"field {spec.name!r}: no source paths")
        if spec.combine == "join" and len(spec.paths) > 1 and spec.field_type not in JOINABLE_TYPES:
            raise ValueError(f"field {spec.name!r}: type {spec.field_type} cannot join several sources")
        compiled.append(
            CompiledField(
                name=spec.name,
                field_type=spec.field_type,
                sources=tuple((path, split_path(path)) for path in spec.paths),
                convert=CONVERTERS[spec.field_type],
                required=spec.required,
                default=spec.default,
                combine=spec.combine,
                separator=spec.separator,
            )
        )
    field_ids = frozenset(parts[0] for item in compiled for _, parts in item.sources)
    sprint_ids = frozenset(
        parts[0] for item in compiled if item.field_type in SPRINT_TYPES for _, parts in item.sources if parts
    )
    return CompiledMapping(
        fields=tuple(compiled), version=version, jira_field_ids=field_ids, sprint_field_ids=sprint_ids
    )
