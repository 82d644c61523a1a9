"""Reading the mapping configuration: as a document, as compiled specs per instance, as a version."""

import hashlib
from dataclasses import dataclass

from config.mapping_file import FieldDoc, MappingDocument, MilestoneDoc, SourceDoc, document_to_text
from config.models import ANY_INSTANCE, FieldMapping, StatusMilestone
from jirafields.compiler import FieldSpec


def mapping_document() -> MappingDocument:
    """Return the stored configuration in the mapping file's terms."""
    fields = []
    for position, mapping in enumerate(FieldMapping.objects.prefetch_related("sources").order_by("position", "id")):
        sources = tuple(
            sorted(
                (
                    source.instance_slug,
                    SourceDoc(
                        paths=tuple(source.paths),
                        names=tuple(source.jira_names) if any(source.jira_names) else (),
                        combine=source.combine,
                        separator=source.separator,
                    ),
                )
                for source in mapping.sources.all()
            )
        )
        fields.append(
            FieldDoc(
                name=mapping.name,
                field_type=mapping.field_type,
                group=mapping.group,
                label=mapping.label,
                required=mapping.required,
                default=mapping.default,
                description=mapping.description,
                position=position,
                sources=sources,
            )
        )
    milestones = [
        MilestoneDoc(
            name=m.name,
            order=m.order,
            label=m.label,
            description=m.description,
            statuses=tuple(
                sorted((s.instance_slug, tuple(s.status_names), tuple(s.status_ids)) for s in m.statuses.all())
            ),
        )
        for m in StatusMilestone.objects.prefetch_related("statuses").order_by("order", "name")
    ]
    return MappingDocument(tuple(fields), tuple(milestones))


def mapping_version(document: MappingDocument | None = None) -> str:
    """A short digest of the whole configuration; it changes whenever any mapping or milestone does."""
    text = document_to_text(document or mapping_document())
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def source_for_instance(entries: tuple, slug: str):
    """The (slug, …) entry that applies to an instance: its own, else the "*" one, else None."""
    by_slug = {entry[0]: entry for entry in entries}
    return by_slug.get(slug) or by_slug.get(ANY_INSTANCE)


def field_specs_for_instance(slug: str, document: MappingDocument | None = None) -> list[FieldSpec]:
    """Return the specs of the fields that have a source on this instance (or on every instance)."""
    specs = []
    for item in (document or mapping_document()).fields:
        entry = source_for_instance(item.sources, slug)
        if entry is None:
            continue
        source: SourceDoc = entry[1]
        specs.append(
            FieldSpec(
                name=item.name,
                field_type=item.field_type,
                paths=source.paths,
                required=item.required,
                default=item.default,
                combine=source.combine,
                separator=source.separator,
            )
        )
    return specs


@dataclass(frozen=True)
class MilestoneRule:
    """The statuses that mean a milestone on one instance."""

    name: str
    order: int
    status_names: frozenset[str]
    status_ids: frozenset[str]

    def matches(self, status_id: str, status_name: str) -> bool:
        return status_id in self.status_ids or status_name.casefold() in self.status_names


def milestones_digest(rules: list["MilestoneRule"]) -> str:
    """A digest of an instance's milestone rules: equal digests derive equal milestones."""
    text = repr(sorted((r.name, r.order, sorted(r.status_names), sorted(r.status_ids)) for r in rules))
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def milestone_ids() -> dict[str, int]:
    """{milestone name: StatusMilestone id}: what derived milestone rows point at (read once per run)."""
    return dict(StatusMilestone.objects.values_list("name", "id"))


def milestone_rules_for_instance(slug: str, document: MappingDocument | None = None) -> list[MilestoneRule]:
    rules = []
    for milestone in (document or mapping_document()).milestones:
        entry = source_for_instance(milestone.statuses, slug)
        if entry is None:
            continue
        _, names, ids = entry
        rules.append(
            MilestoneRule(milestone.name, milestone.order, frozenset(n.casefold() for n in names), frozenset(ids))
        )
    return rules
