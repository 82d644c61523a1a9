"""The mapping file of the system jirasync replaces: read, converted, said so, exported in today's format."""

import copy
import json
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from audit.models import AuditLog
from config.mapping_file import MappingFileError, parse_mapping_text
from config.models import FieldMapping, StatusMilestone
from config.selectors import field_specs_for_instance
from tests.support.mappings import stored_state

LEGACY = Path(__file__).parent / "files" / "legacy_field_mappings.json"


def legacy_data() -> dict:
    return json.loads(LEGACY.read_text())


def specs(slug: str) -> dict:
    return {spec.name: spec for spec in field_specs_for_instance(slug)}


@pytest.mark.django_db
def test_a_legacy_file_loads_converted_and_says_so(reference_mappings, capsys):
    milestones = list(StatusMilestone.objects.values_list("name", flat=True))
    call_command("load_field_mappings", str(LEGACY))
    out = capsys.readouterr().out
    assert "converted from the legacy format" in out
    assert "13 fields in 3 groups, 4 combined sources" in out
    assert "the stored milestones are kept" in out
    assert list(StatusMilestone.objects.values_list("name", flat=True)) == milestones

    two, three = specs("instance_2"), specs("instance_3")
    assert two["access_instructions"].paths == ("customfield_12594", "customfield_12611")
    assert (two["access_instructions"].combine, two["access_instructions"].separator) == ("join", " ")
    assert two["special_instructions"].separator == "\n"
    assert three["access_instructions"].paths == ("customfield_20101", "customfield_20102", "customfield_20103")
    assert (three["lockbox_code"].combine, three["lockbox_code"].paths) == (
        "first",
        ("customfield_20110", "customfield_20111"),
    )
    assert three["order_number"].paths == ("customfield_20017",) and three["order_number"].required
    assert "lockbox_code" not in specs("instance_1")
    assert specs("instance_1")["sprint"].paths == ("customfield_10020.-1.name",)
    assert specs("anything")["rooms"].default == 0 and specs("anything")["shoot_date"].required
    mapping = FieldMapping.objects.get(name="access_instructions")
    assert (mapping.group, mapping.field_type) == ("Access", "text")
    assert mapping.sources.get(instance_slug="instance_2").jira_names == ["Access Instructions", "Access Notes"]
    assert list(FieldMapping.objects.order_by("position").values_list("name", flat=True))[:3] == [
        "order_number",
        "property_type",
        "rush",
    ]


@pytest.mark.django_db
def test_export_after_a_legacy_load_writes_todays_format_and_reloads_to_no_change(tmp_path, capsys):
    call_command("load_field_mappings", str(LEGACY))
    out = tmp_path / "today.json"
    call_command("export_field_mappings", "--output", str(out))
    exported = json.loads(out.read_text())
    assert exported["version"] == 1 and isinstance(exported["field_groups"], list)
    access = next(group for group in exported["field_groups"] if group["name"] == "Access")
    field = next(item for item in access["fields"] if item["name"] == "access_instructions")
    assert field["instances"]["instance_2"] == {
        "sources": [
            {"field_id": "customfield_12594", "name": "Access Instructions"},
            {"field_id": "customfield_12611", "name": "Access Notes"},
        ]
    }
    before = stored_state()
    capsys.readouterr()
    call_command("load_field_mappings", str(out))
    assert "0 created, 0 updated, 0 deleted, 13 unchanged" in capsys.readouterr().out
    assert stored_state() == before
    # And the legacy file itself, loaded again, changes nothing either.
    call_command("load_field_mappings", str(LEGACY))
    assert "0 created, 0 updated, 0 deleted" in capsys.readouterr().out


def broken(change) -> dict:
    data = copy.deepcopy(legacy_data())
    change(data)
    return data


def fields_of(data: dict, group: str) -> dict:
    return data["field_groups"][group]["fields"]


BAD_FILES = [
    (lambda d: d["field_groups"].update(order=["not", "an", "object"]), "$.field_groups.order: expected an object"),
    (lambda d: d["field_groups"]["shoot"].pop("fields"), "$.field_groups.shoot.fields: missing"),
    (lambda d: d["field_groups"]["shoot"].update(fields=[]), "$.field_groups.shoot.fields: expected an object"),
    (
        lambda d: fields_of(d, "order")["order_number"].update(type="money"),
        '$.field_groups.order.fields.order_number.type: unknown type "money"',
    ),
    (
        lambda d: fields_of(d, "order")["order_number"].pop("type"),
        "$.field_groups.order.fields.order_number.type: missing",
    ),
    (
        lambda d: fields_of(d, "order")["rush"].update(required="no"),
        "$.field_groups.order.fields.rush.required: expected true or false",
    ),
    (
        lambda d: fields_of(d, "shoot")["rooms"].update(default="many"),
        "$.field_groups.shoot.fields.rooms.default: does not fit type integer",
    ),
    (
        lambda d: fields_of(d, "access")["access_instructions"]["instance_2"]["field_id"].__setitem__(1, 42),
        "$.field_groups.access.fields.access_instructions.instance_2.field_id[1]: 42 is not a field id",
    ),
    (
        lambda d: fields_of(d, "access")["access_instructions"]["instance_3"].__setitem__(2, "bad id!"),
        '$.field_groups.access.fields.access_instructions.instance_3[2]: "bad id!" is not a field id',
    ),
    (
        lambda d: fields_of(d, "access")["access_instructions"]["instance_2"]["name"].pop(),
        "$.field_groups.access.fields.access_instructions.instance_2.name: expected a list of 2 names",
    ),
    (
        lambda d: fields_of(d, "access")["lockbox_code"]["instance_3"].update(field_id=[]),
        "$.field_groups.access.fields.lockbox_code.instance_3.field_id: needs at least one field id",
    ),
    (
        lambda d: fields_of(d, "order")["order_number"].update(instance_1="customfield_10501"),
        "$.field_groups.order.fields.order_number.instance_1: expected a source object or a list of field ids",
    ),
    (
        lambda d: fields_of(d, "order")["order_number"]["instance_1"].update(fieldid="x"),
        "$.field_groups.order.fields.order_number.instance_1.fieldid: unknown key",
    ),
    (
        lambda d: fields_of(d, "shoot")["rooms"].update(instance_2=["customfield_1", "customfield_2"]),
        '$.field_groups.shoot.fields.rooms.instance_2.combine: type integer cannot join several sources; use "first"',
    ),
    (
        lambda d: fields_of(d, "order")["order_number"].update({"bad slug": {"field_id": "x"}}),
        "$.field_groups.order.fields.order_number[\"bad slug\"]: 'bad slug' is not an instance slug",
    ),
    (
        lambda d: fields_of(d, "shoot").update(order_number={"type": "string", "*": {"field_id": "x"}}),
        "$.field_groups.shoot.fields.order_number: duplicate target 'order_number' "
        "(first at $.field_groups.order.fields.order_number)",
    ),
    (lambda d: d.update(mappings={}), "$.mappings: unknown key"),
    (lambda d: d["field_groups"]["order"].update(colour="red"), "$.field_groups.order.colour: unknown key"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("change", "expected"), BAD_FILES, ids=[expected[:70] for _, expected in BAD_FILES])
def test_a_bad_legacy_file_names_the_problem_at_its_own_path_and_changes_nothing(
    reference_mappings, tmp_path, capsys, change, expected
):
    path = tmp_path / "legacy.json"
    path.write_text(json.dumps(broken(change)))
    before, entries = stored_state(), AuditLog.objects.count()
    with pytest.raises(CommandError, match="nothing was changed"):
        call_command("load_field_mappings", str(path))
    problems = capsys.readouterr().err
    assert expected in problems, problems
    assert "$.field_groups[" not in problems and ".instances." not in problems  # only the legacy file's paths
    assert stored_state() == before and AuditLog.objects.count() == entries


def test_every_problem_of_a_legacy_file_is_reported_at_once():
    def several(d):
        fields_of(d, "order")["order_number"].update(type="money")
        fields_of(d, "shoot")["rooms"].update(required=1)
        d["field_groups"]["access"].update(fields="none")

    with pytest.raises(MappingFileError) as raised:
        parse_mapping_text(json.dumps(broken(several)))
    assert len(raised.value.problems) == 3


@pytest.mark.django_db
def test_admin_import_reads_a_legacy_file_and_says_it_converted(admin_client, reference_mappings):
    url = reverse("admin:config_fieldmapping_import")
    upload = SimpleUploadedFile("legacy.json", LEGACY.read_bytes(), content_type="application/json")
    response = admin_client.post(url, {"file": upload, "dry_run": "on"})
    text = response.content.decode()
    assert "converted from the legacy format" in text and "Checked, not applied" in text
    upload = SimpleUploadedFile("legacy.json", LEGACY.read_bytes(), content_type="application/json")
    response = admin_client.post(url, {"file": upload}, follow=True)
    assert "converted from the legacy format" in response.content.decode()
    assert FieldMapping.objects.filter(name="lockbox_code").exists()

    bad = broken(lambda d: fields_of(d, "order")["order_number"].update(type="money"))
    before = stored_state()
    upload = SimpleUploadedFile("bad.json", json.dumps(bad).encode(), content_type="application/json")
    text = admin_client.post(url, {"file": upload}).content.decode()
    assert "nothing changed" in text
    assert "$.field_groups.order.fields.order_number.type: unknown type &quot;money&quot;" in text
    assert stored_state() == before
