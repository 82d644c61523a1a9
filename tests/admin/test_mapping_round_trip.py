"""Saving a mapping or milestone through admin unchanged changes nothing, and previewing it changes no issue.

The forms are submitted as a browser would: every value read back from the rendered page.
"""

import json
import re

import pytest
from django.core.management import call_command
from django.urls import reverse

from audit.models import AuditLog
from config.mapping_file import document_to_text
from config.models import FieldMapping, StatusMilestone
from config.selectors import mapping_document
from jirasim.testing import running_sim
from syncing.runs.runner import RunOptions, sync_instance
from tests.support.formdata import form_fields
from tests.support.sites import register

PASSWORD = "round-trip-password"


@pytest.fixture
def operator_client(client, django_user_model):
    user = django_user_model.objects.create_superuser("operator", "op@example.com", PASSWORD)
    client.force_login(user)
    return client


def submit_unchanged(client, url: str, form_id: str, button: str, **extra: str):
    page = client.get(url)
    assert page.status_code == 200
    data = form_fields(page.content.decode(), form_id)
    data[button] = ["Save"]
    for name, value in extra.items():
        data[name] = [value]
    return client.post(url, data)


def audited_configuration_changes() -> list[dict]:
    return list(AuditLog.objects.filter(object_type__startswith="config.").values("action", "object_repr", "changes"))


@pytest.mark.django_db
def test_saving_every_reference_mapping_and_milestone_unchanged_changes_nothing(operator_client, reference_mappings):
    exported = document_to_text(mapping_document())
    before = audited_configuration_changes()
    for mapping in FieldMapping.objects.all():
        url = reverse("admin:config_fieldmapping_change", args=[mapping.pk])
        response = submit_unchanged(operator_client, url, "fieldmapping_form", "_save")
        assert response.status_code == 302, f"{mapping.name}: {response.content.decode()[:2000]}"
    for milestone in StatusMilestone.objects.all():
        url = reverse("admin:config_statusmilestone_change", args=[milestone.pk])
        response = submit_unchanged(operator_client, url, "statusmilestone_form", "_save")
        assert response.status_code == 302, f"{milestone.name}: {response.content.decode()[:2000]}"
    assert audited_configuration_changes() == before
    assert document_to_text(mapping_document()) == exported


AWKWARD = {
    "version": 1,
    "field_groups": [
        {
            "name": " Spaced group ",
            "fields": [
                {
                    "name": "joined",
                    "type": "text",
                    "label": "  Leading and trailing  ",
                    "description": "Two lines\nand a trailing space ",
                    "instances": {
                        "instance_2": {
                            "sources": [
                                {"field_id": "customfield_12611", "name": "Second first"},
                                {"field_id": "customfield_12594"},
                            ],
                            "separator": " / ",
                        },
                        "instance_1": {"sources": [{"field_id": "a"}, {"field_id": "b"}], "separator": ""},
                        "*": {"sources": [{"field_id": "c"}, {"path": "d.name"}], "separator": "\t"},
                    },
                },
                {"name": "empty_default", "type": "string", "default": "", "instances": {"*": {"field_id": "x"}}},
                {"name": "zero_default", "type": "integer", "default": 0, "instances": {"*": {"field_id": "y"}}},
                {
                    "name": "false_default",
                    "type": "boolean",
                    "default": False,
                    "required": True,
                    "instances": {"*": {"field_id": "z"}},
                },
                {
                    "name": "list_default",
                    "type": "string_list",
                    "default": ["b", "a"],
                    "instances": {"*": {"sources": [{"field_id": "l2"}, {"field_id": "l1"}], "combine": "first"}},
                },
                {"name": "no_sources", "type": "json"},
            ],
        }
    ],
    "milestones": [
        {
            "name": "spaced",
            "label": " Spaced ",
            "order": 0,
            "description": "a\nb",
            "instances": {"*": {"statuses": ["In  Progress ", "Done"]}, "instance_2": {"status_ids": ["3", "1"]}},
        },
    ],
}


@pytest.mark.django_db
def test_awkward_values_survive_an_unchanged_save(operator_client, tmp_path):
    path = tmp_path / "awkward.json"
    path.write_text(json.dumps(AWKWARD))
    call_command("load_field_mappings", str(path))
    exported = document_to_text(mapping_document())
    for model, form_id in ((FieldMapping, "fieldmapping_form"), (StatusMilestone, "statusmilestone_form")):
        for item in model.objects.all():
            url = reverse(f"admin:config_{model._meta.model_name}_change", args=[item.pk])
            response = submit_unchanged(operator_client, url, form_id, "_save")
            assert response.status_code == 302, f"{item.name}: {response.content.decode()[:2000]}"
    assert not AuditLog.objects.filter(action="update").exists()
    assert document_to_text(mapping_document()) == exported


@pytest.mark.django_db
def test_editing_a_label_and_a_path_audits_only_those(operator_client, reference_mappings):
    mapping = FieldMapping.objects.get(name="access_instructions")
    url = reverse("admin:config_fieldmapping_change", args=[mapping.pk])
    data = form_fields(operator_client.get(url).content.decode(), "fieldmapping_form")
    data["label"] = ["Access notes"]
    slugs = {data[f"sources-{i}-instance_slug"][0]: i for i in range(int(data["sources-TOTAL_FORMS"][0]))}
    data[f"sources-{slugs['instance_1']}-paths"] = ['["customfield_10701"]']
    data["_save"] = ["Save"]
    assert operator_client.post(url, data).status_code == 302
    entry = AuditLog.objects.get(object_type="config.fieldmapping", action="update")
    assert entry.changes == {
        "label": ["Access instructions", "Access notes"],
        "sources[instance_1]": [
            {"paths": ["customfield_10700"], "combine": "join", "separator": " ", "names": ["Access Instructions"]},
            {"paths": ["customfield_10701"], "combine": "join", "separator": " ", "names": ["Access Instructions"]},
        ],
    }
    exported = document_to_text(mapping_document())
    assert '"separator"' not in exported  # every separator is still the default " "


@pytest.mark.django_db(transaction=True)
def test_previewing_every_mapping_unchanged_shows_no_issue_changing(operator_client, reference_mappings):
    with (
        running_sim(flavour="cloud", projects=1, issues=25, seed=5) as cloud,
        running_sim(flavour="datacenter", profile="instance_2", projects=1, issues=25, seed=6) as dc,
    ):
        for site, slug in ((cloud, "instance_1"), (dc, "instance_2")):
            sync_instance(register(site, slug).pk, RunOptions(full=True))
    previews = 0
    for mapping in FieldMapping.objects.all():
        url = reverse("admin:config_fieldmapping_change", args=[mapping.pk])
        for slug in ("instance_1", "instance_2"):
            page = submit_unchanged(
                operator_client, url, "fieldmapping_form", "_preview", _preview_instance=slug, _preview_limit="20"
            )
            text = page.content.decode()
            found = re.search(r"(\d+) of (\d+) issues would change", text)
            assert found, f"{mapping.name}@{slug}: no preview in {text[:3000]}"
            assert found.group(1) == "0", f"{mapping.name}@{slug}: {found.group(0)}"
            assert found.group(2) == "20"
            previews += 1
    assert previews == 2 * FieldMapping.objects.count()
    assert not AuditLog.objects.filter(object_type__startswith="config.", action="update").exists()


@pytest.mark.django_db
def test_saving_an_instance_and_a_project_unchanged_changes_nothing(operator_client, instance):
    instance.jql_filter = "issuetype != Epic "
    instance.request_budget = 2.5
    instance.save()
    project = instance.projects.create(jira_id="10000", key="OPS", name=" Operations ", enabled=True)
    before = AuditLog.objects.count()
    response = submit_unchanged(
        operator_client,
        reverse("admin:projects_jirainstance_change", args=[instance.pk]),
        "jirainstance_form",
        "_save",
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    response = submit_unchanged(
        operator_client, reverse("admin:projects_project_change", args=[project.pk]), "project_form", "_save"
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    assert AuditLog.objects.count() == before
    instance.refresh_from_db()
    project.refresh_from_db()
    assert (instance.jql_filter, instance.request_budget, project.name) == ("issuetype != Epic ", 2.5, " Operations ")
