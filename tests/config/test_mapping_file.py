"""The mapping file loader: all or nothing, every problem with its JSON path; export is its fixed point."""

import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from audit.models import AuditLog
from config.mapping_file import document_to_text, parse_mapping_text
from config.models import FieldMapping
from config.selectors import (
    field_specs_for_instance,
    mapping_document,
    mapping_version,
    milestone_rules_for_instance,
)
from tests.support.mappings import REFERENCE_MAPPINGS, stored_state


def load(tmp_path, data, *args) -> str:
    path = tmp_path / "mappings.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    call_command("load_field_mappings", str(path), *args)
    return str(path)


def reference_data() -> dict:
    return json.loads(REFERENCE_MAPPINGS.read_text())


def test_the_reference_file_loads_with_combined_fields_and_every_milestone(reference_mappings):
    assert len(reference_mappings.created) == 26  # issue #14 added sprint_names (sprint_list)
    specs = {spec.name: spec for spec in field_specs_for_instance("instance_2")}
    assert specs["access_instructions"].paths == ("customfield_12594", "customfield_12611")
    assert specs["special_instructions"].paths == ("customfield_12595", "customfield_12612")
    assert specs["order_number"].paths == ("customfield_10501",)
    assert field_specs_for_instance("instance_1")[1].paths == ("customfield_10700",)
    milestones = [rule.name for rule in milestone_rules_for_instance("anything")]
    assert milestones == [
        "scheduled",
        "acknowledged",
        "at_listing",
        "shoot_complete",
        "uploaded",
        "edit_start",
        "final_review",
        "escalated_editing",
        "closed",
    ]


def test_load_then_export_then_load_is_a_fixed_point(reference_mappings, tmp_path, capsys):
    call_command("export_field_mappings")
    first = capsys.readouterr().out
    before = stored_state()
    version = mapping_version()
    load(tmp_path, first)
    assert stored_state() == before
    assert mapping_version() == version
    call_command("export_field_mappings", "--output", str(tmp_path / "again.json"))
    assert (tmp_path / "again.json").read_text() == first


def test_milestones_listed_out_of_order_or_sharing_an_order_read_as_what_is_stored(reference_mappings, tmp_path):
    """The canonical form (export, the mapping version) orders milestones by (order, name), as they are
    stored: a file listing them otherwise, or giving two the same order, is the same configuration."""
    data = json.loads(REFERENCE_MAPPINGS.read_text())
    data["milestones"].reverse()
    data["milestones"][0]["order"] = data["milestones"][-1]["order"]  # a tie, listed apart
    path = load(tmp_path, data)
    document = parse_mapping_text(Path(path).read_text())
    assert mapping_version(document) == mapping_version()
    assert document_to_text(document) == document_to_text(mapping_document())


BAD_FILES = {
    "invalid JSON": ("{ not json", "$: invalid JSON"),
    "missing key": ({"version": 1}, "$.field_groups: missing"),
    "field without type": (
        {"version": 1, "field_groups": [{"name": "g", "fields": [{"name": "x", "instances": {}}]}]},
        "$.field_groups[0].fields[0].type: missing",
    ),
    "unknown type": (
        {"version": 1, "field_groups": [{"name": "g", "fields": [{"name": "x", "type": "money"}]}]},
        '$.field_groups[0].fields[0].type: unknown type "money"',
    ),
    "duplicate target": (
        {
            "version": 1,
            "field_groups": [
                {"name": "a", "fields": [{"name": "x", "type": "string"}]},
                {"name": "b", "fields": [{"name": "x", "type": "text"}]},
            ],
        },
        "$.field_groups[1].fields[0].name: duplicate target 'x' (first at $.field_groups[0].fields[0])",
    ),
    "bad default": (
        {
            "version": 1,
            "field_groups": [{"name": "g", "fields": [{"name": "x", "type": "integer", "default": "many"}]}],
        },
        "$.field_groups[0].fields[0].default: does not fit type integer",
    ),
    "join of integers": (
        {
            "version": 1,
            "field_groups": [
                {
                    "name": "g",
                    "fields": [
                        {
                            "name": "x",
                            "type": "integer",
                            "instances": {
                                "i1": {"sources": [{"field_id": "customfield_1"}, {"field_id": "customfield_2"}]}
                            },
                        }
                    ],
                }
            ],
        },
        "$.field_groups[0].fields[0].instances.i1.combine: type integer cannot join several sources",
    ),
    "milestone without statuses": (
        {"version": 1, "field_groups": [], "milestones": [{"name": "closed", "instances": {"*": {}}}]},
        "$.milestones[0].instances.*: needs at least one status name or id",
    ),
    "label longer than its column": (
        {
            "version": 1,
            "field_groups": [{"name": "g", "fields": [{"name": "x", "type": "string", "label": "L" * 201}]}],
        },
        "$.field_groups[0].fields[0].label: longer than 200 characters (201)",
    ),
    "milestone order out of range": (
        {
            "version": 1,
            "field_groups": [],
            "milestones": [{"name": "closed", "order": -1, "instances": {"*": {"statuses": ["Closed"]}}}],
        },
        "$.milestones[0].order: expected 0 to 2147483647, got -1",
    ),
    "typo in a key": (
        {"version": 1, "field_groups": [{"name": "g", "fields": [{"name": "x", "type": "string", "requird": True}]}]},
        "$.field_groups[0].fields[0].requird: unknown key",
    ),
}


@pytest.mark.parametrize("case", BAD_FILES, ids=list(BAD_FILES))
def test_a_bad_file_changes_nothing_and_names_the_problem_by_json_path(case, reference_mappings, tmp_path, capsys):
    data, expected = BAD_FILES[case]
    if isinstance(data, dict) and "field_groups" in data:
        # Also carry valid changes: none of them may be applied.
        data["field_groups"].append({"name": "new", "fields": [{"name": "brand_new", "type": "string"}]})
    before, audit_count = stored_state(), AuditLog.objects.count()
    with pytest.raises(CommandError, match="nothing was changed"):
        load(tmp_path, data)
    assert expected in capsys.readouterr().err
    assert stored_state() == before
    assert AuditLog.objects.count() == audit_count


def test_every_problem_of_a_file_is_reported_at_once(db, tmp_path, capsys):
    data = {
        "version": 2,
        "field_groups": [
            {"name": "g", "fields": [{"name": "Bad Name", "type": "string"}, {"name": "y", "type": "nope"}]}
        ],
    }
    with pytest.raises(CommandError, match="3 problem"):
        load(tmp_path, data)
    err = capsys.readouterr().err
    assert "$.version: unsupported version 2" in err
    assert "$.field_groups[0].fields[0].name" in err and "$.field_groups[0].fields[1].type" in err


def test_dry_run_reports_without_changing(db, tmp_path, capsys):
    load(tmp_path, reference_data(), "--dry-run")
    assert "would change: 26 created" in capsys.readouterr().out
    assert FieldMapping.objects.count() == 0


def test_loading_audits_each_change_with_old_and_new_values(reference_mappings, tmp_path):
    data = reference_data()
    data["field_groups"][0]["fields"][0]["type"] = "text"
    del data["milestones"][-1]
    load(tmp_path, data)
    update = AuditLog.objects.get(action="update", object_id="order_number")
    assert update.changes["type"] == ["string", "text"]
    assert update.actor == "command"
    assert AuditLog.objects.filter(action="delete", object_id="closed").exists()


def test_an_unreadable_file_is_a_clear_error(db, tmp_path):
    with pytest.raises(CommandError, match="cannot read"):
        call_command("load_field_mappings", str(tmp_path / "missing.json"))
