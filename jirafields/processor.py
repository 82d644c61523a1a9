"""One Jira issue dict and a compiled mapping in; mapped values and per-field errors out."""

from dataclasses import dataclass, field
from typing import Any

from jirafields.compiler import LIST_TYPES, CompiledField, CompiledMapping
from jirafields.convert import ConversionError
from jirafields.paths import MISSING, resolve
from jirafields.sprint import SprintFormatError


@dataclass(frozen=True)
class FieldError:
    field: str
    source: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "source": self.source, "reason": self.reason}


@dataclass
class ProcessedFields:
    values: dict[str, Any] = field(default_factory=dict)
    errors: list[FieldError] = field(default_factory=list)


def is_empty(value: Any) -> bool:
    """None, MISSING, "", [] or {} (called a few times per mapped field: no list or dict made to compare)."""
    return value is None or value is MISSING or (not value and isinstance(value, (str, list, dict)))


def process_issue(issue: dict, mapping: CompiledMapping) -> ProcessedFields:
    """Return every mapped value of issue; a field that fails is None in values and explained in errors."""
    result = ProcessedFields()
    for target in mapping.fields:
        try:
            value = _field_value(issue, target)
        except _SourceError as exc:
            result.values[target.name] = None
            result.errors.append(FieldError(target.name, exc.source, exc.reason))
            continue
        if is_empty(value):
            if target.default is not None:
                value = target.default
            elif target.required:
                sources = ", ".join(path for path, _ in target.sources)
                result.errors.append(FieldError(target.name, sources, "required field has no value"))
                value = None
            else:
                value = None
        result.values[target.name] = value
    return result


class _SourceError(Exception):
    def __init__(self, source: str, reason: str) -> None:
        super().__init__(reason)
        self.source = source
        self.reason = reason


def _field_value(issue: dict, target: CompiledField) -> Any:
    converted = []
    for path, parts in target.sources:
        try:
            raw = resolve(issue, parts)
        except SprintFormatError as exc:
            raise _SourceError(path, str(exc)) from None
        if is_empty(raw):
            continue
        try:
            value = target.convert(raw)
        except ConversionError as exc:
            raise _SourceError(path, str(exc)) from None
        if is_empty(value):
            continue
        if target.combine == "first":
            return value
        converted.append(value)
    if not converted:
        return None
    if len(converted) == 1:
        return converted[0]
    if target.field_type in LIST_TYPES:
        return [item for values in converted for item in values]
    return target.separator.join(str(value) for value in converted)
