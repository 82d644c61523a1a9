"""Changing the mapping configuration: a whole document applied in one transaction, audited."""

from dataclasses import dataclass, field, replace
from pathlib import Path

from django.db import transaction

from audit.services import Actor, Change, audit_record_many, changes_between
from config.mapping_file import FieldDoc, MappingDocument, MilestoneDoc, parse_mapping_text
from config.models import FieldMapping, FieldSource, MilestoneStatuses, StatusMilestone
from config.report_view import report_view_build
from config.selectors import mapping_document


@dataclass
class ApplyReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    unchanged: int = 0
    notes: tuple[str, ...] = ()  # how the file was read (a legacy file converted)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.deleted)

    def summary(self) -> str:
        return (
            f"{len(self.created)} created, {len(self.updated)} updated, {len(self.deleted)} deleted, "
            f"{self.unchanged} unchanged"
        )


def mappings_load_file(*, path: Path, actor: Actor, dry_run: bool = False) -> ApplyReport:
    """Validate the whole file, then apply it in one transaction (or only report, with dry_run).

    Raises MappingFileError (nothing changed) or OSError when the file cannot be read.
    """
    document = parse_mapping_text(Path(path).read_bytes())
    return mappings_apply(document=document, actor=actor, dry_run=dry_run, origin=str(path))


def mappings_apply(*, document: MappingDocument, actor: Actor, dry_run: bool = False, origin: str = "") -> ApplyReport:
    """Make the stored configuration equal document: create, update and delete, one audit entry each.

    A document that says nothing of milestones (a converted legacy file) keeps the stored ones.
    """
    current = mapping_document()
    if document.keeps_milestones:
        document = replace(document, milestones=current.milestones, keeps_milestones=False)
    report = ApplyReport(notes=document.notes)
    changes: list[Change] = []
    old_fields = {item.name: item for item in current.fields}
    new_fields = {item.name: item for item in document.fields}
    old_milestones = {item.name: item for item in current.milestones}
    new_milestones = {item.name: item for item in document.milestones}
    suffix = f" from {origin}" if origin else ""
    for kind, old, new in (("field mapping", old_fields, new_fields), ("milestone", old_milestones, new_milestones)):
        object_type = "config.fieldmapping" if kind == "field mapping" else "config.statusmilestone"
        for name in sorted(new.keys() - old.keys()):
            report.created.append(f"{kind} {name}")
            changes.append(
                Change(
                    "create",
                    object_type,
                    name,
                    name,
                    f"created {kind} {name}{suffix}",
                    changes_between({}, _flat(new[name])),
                )
            )
        for name in sorted(old.keys() - new.keys()):
            report.deleted.append(f"{kind} {name}")
            changes.append(
                Change(
                    "delete",
                    object_type,
                    name,
                    name,
                    f"deleted {kind} {name}{suffix}",
                    changes_between(_flat(old[name]), {}),
                )
            )
        for name in sorted(old.keys() & new.keys()):
            diff = changes_between(_flat(old[name]), _flat(new[name]))
            if not diff:
                report.unchanged += 1
                continue
            report.updated.append(f"{kind} {name}")
            changes.append(Change("update", object_type, name, name, f"updated {kind} {name}{suffix}", diff))
    if dry_run or not report.changed:
        return report
    with transaction.atomic():
        _replace_configuration(document)
        audit_record_many(actor=actor, changes=changes)
        transaction.on_commit(report_view_build)
    return report


def _mapping_values(item: FieldDoc) -> dict:
    """A field mapping's own columns, as the document has them."""
    return {
        "field_type": item.field_type,
        "group": item.group,
        "label": item.label,
        "required": item.required,
        "default": item.default,
        "description": item.description,
        "position": item.position,
    }


def _flat(item: FieldDoc | MilestoneDoc) -> dict:
    if isinstance(item, FieldDoc):
        values = _mapping_values(item)
        values["type"] = values.pop("field_type")
        for slug, source in item.sources:
            values[f"sources[{slug}]"] = {
                "paths": list(source.paths),
                "combine": source.combine,
                "separator": source.separator,
                "names": list(source.names),
            }
        return values
    values = {"order": item.order, "label": item.label, "description": item.description}
    for slug, names, ids in item.statuses:
        values[f"statuses[{slug}]"] = {"names": list(names), "ids": list(ids)}
    return values


def _replace_configuration(document: MappingDocument) -> None:
    FieldMapping.objects.exclude(name__in=[f.name for f in document.fields]).delete()
    StatusMilestone.objects.exclude(name__in=[m.name for m in document.milestones]).delete()
    for item in document.fields:
        mapping, _ = FieldMapping.objects.update_or_create(name=item.name, defaults=_mapping_values(item))
        mapping.sources.all().delete()
        FieldSource.objects.bulk_create(
            FieldSource(
                mapping=mapping,
                instance_slug=slug,
                paths=list(source.paths),
                jira_names=list(source.names),
                combine=source.combine,
                separator=source.separator,
            )
            for slug, source in item.sources
        )
    for wanted in document.milestones:
        milestone, _ = StatusMilestone.objects.update_or_create(
            name=wanted.name, defaults={"order": wanted.order, "label": wanted.label, "description": wanted.description}
        )
        milestone.statuses.all().delete()
        MilestoneStatuses.objects.bulk_create(
            MilestoneStatuses(milestone=milestone, instance_slug=slug, status_names=list(names), status_ids=list(ids))
            for slug, names, ids in wanted.statuses
        )


def configuration_snapshot(kind: str, name: str) -> dict:
    """The audited form of one field mapping ("field") or milestone ("milestone"), {} when absent."""
    document = mapping_document()
    items = document.fields if kind == "field" else document.milestones
    return next((_flat(item) for item in items if item.name == name), {})


def configuration_record_change(*, actor: Actor, kind: str, name: str, before: dict, after: dict) -> None:
    """Audit an edit made outside mappings_apply (the admin's forms)."""
    diff = changes_between(before, after)
    if not diff:
        return
    action = "create" if not before else "delete" if not after else "update"
    label = "field mapping" if kind == "field" else "milestone"
    object_type = "config.fieldmapping" if kind == "field" else "config.statusmilestone"
    audit_record_many(actor=actor, changes=[Change(action, object_type, name, name, f"{action}d {label} {name}", diff)])
    transaction.on_commit(report_view_build)
