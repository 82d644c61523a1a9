"""An instance's Jira fields next to the mappings: which are used, and which mappings point at nothing."""

from dataclasses import dataclass, field

from config.selectors import field_specs_for_instance
from projects.models import JiraInstance
from syncing.site.clients import client_for


@dataclass
class JiraField:
    id: str
    name: str
    type: str  # schema type, with the custom type's short name for custom fields
    custom: bool
    used_by: list[str] = field(default_factory=list)  # target field names reading it


@dataclass
class FieldCatalogue:
    fields: list[JiraField]
    missing: dict[str, list[str]]  # referenced field id -> target fields that read it, absent on the instance

    @property
    def used(self) -> int:
        return sum(1 for item in self.fields if item.used_by)


def _type_of(schema: dict) -> str:
    kind = schema.get("type") or "?"
    if kind == "array" and schema.get("items"):
        kind = f"array of {schema['items']}"
    custom = schema.get("custom")
    if custom:
        kind += f" ({custom.rsplit(':', 1)[-1]})"
    return kind


def instance_field_catalogue(instance: JiraInstance, remote_fields: list[dict]) -> FieldCatalogue:
    """Join Jira's field list with the mappings that apply to the instance."""
    readers: dict[str, list[str]] = {}
    for spec in field_specs_for_instance(instance.slug):
        for path in spec.paths:
            readers.setdefault(path.split(".")[0], []).append(spec.name)
    fields = [
        JiraField(
            id=str(item.get("id", "")),
            name=str(item.get("name", "")),
            type=_type_of(item.get("schema") or {}),
            custom=bool(item.get("custom")),
            used_by=sorted(set(readers.get(str(item.get("id", "")), []))),
        )
        for item in remote_fields
    ]
    fields.sort(key=lambda f: (not f.used_by, not f.custom, f.name.casefold()))
    present = {f.id for f in fields}
    missing = {field_id: sorted(set(names)) for field_id, names in sorted(readers.items()) if field_id not in present}
    return FieldCatalogue(fields, missing)


def instance_fields_discover(instance: JiraInstance) -> FieldCatalogue:
    """Ask Jira for the instance's fields; raises JiraError when it cannot."""
    client = client_for(instance, interactive=True)
    try:
        return instance_field_catalogue(instance, client.fields())
    finally:
        client.close()
