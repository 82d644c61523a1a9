"""What an edited field mapping would make of stored issues, computed before anything is saved."""

from dataclasses import dataclass
from typing import Any

import orjson

from config.mapping_file import FieldDoc, MappingDocument, SourceDoc
from config.selectors import field_specs_for_instance, source_for_instance
from issues.models import Issue
from jirafields import FieldSpec, compile_mapping, process_issue
from projects.models import JiraInstance

DEFAULT_LIMIT = 20
MAX_LIMIT = 500


@dataclass(frozen=True)
class PreviewRow:
    issue_id: int
    key: str
    old_value: Any
    old_error: str
    new_value: Any
    new_error: str

    @property
    def changed(self) -> bool:
        return (self.old_value, self.old_error) != (self.new_value, self.new_error)


@dataclass(frozen=True)
class Preview:
    instance: JiraInstance
    source_slug: str  # the source row used: the instance's own, or "*"
    rows: list[PreviewRow]

    @property
    def changed(self) -> int:
        return sum(row.changed for row in self.rows)


def spec_for_instance(
    name: str, field_type: str, required: bool, default: Any, sources: dict[str, dict], slug: str
) -> tuple[str, FieldSpec] | None:
    """The spec an edited (unsaved) mapping gives one instance, and the slug of the source it uses —
    chosen as for saved mappings; None when nothing maps it there. `sources`: slug -> form row."""
    doc = FieldDoc(
        name=name,
        field_type=field_type,
        required=required,
        default=default,
        sources=tuple(
            sorted(
                (
                    source_slug,
                    SourceDoc(
                        paths=tuple(row["paths"]),
                        combine=row.get("combine") or "join",
                        separator=row.get("separator", " "),
                    ),
                )
                for source_slug, row in sources.items()
            )
        ),
    )
    entry = source_for_instance(doc.sources, slug)
    if entry is None:
        return None
    return entry[0], field_specs_for_instance(slug, MappingDocument((doc,), ()))[0]


def mapping_preview(
    *, old_name: str, spec: FieldSpec, source_slug: str, instance: JiraInstance, limit: int = DEFAULT_LIMIT
) -> Preview:
    """Apply spec to the instance's last `limit` updated live issues; old values are the stored ones.

    Raises ValueError when the spec does not compile (unknown type, no paths, joining non-text types).
    """
    mapping = compile_mapping([spec])
    limit = max(1, min(limit, MAX_LIMIT))
    issues = (
        Issue.objects.filter(instance=instance, deleted_at__isnull=True)
        .order_by("-updated", "-id")
        .values("id", "key", "fields", "field_errors", "raw__body")[:limit]
    )
    rows = []
    for issue in issues:
        old_errors = [e["reason"] for e in issue["field_errors"] or [] if e.get("field") == old_name]
        new = process_issue(orjson.loads(bytes(issue["raw__body"] or b"{}")), mapping)
        rows.append(
            PreviewRow(
                issue_id=issue["id"],
                key=issue["key"],
                old_value=(issue["fields"] or {}).get(old_name),
                old_error="; ".join(old_errors),
                new_value=new.values.get(spec.name),
                new_error="; ".join(error.reason for error in new.errors),
            )
        )
    return Preview(instance=instance, source_slug=source_slug, rows=rows)
