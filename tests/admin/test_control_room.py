"""The dashboard, mapping preview/import/export/re-map, field discovery and the audit log's pages."""

import json
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.urls import reverse
from django_q.brokers import get_broker

from audit.models import AuditLog
from config.mapping_file import document_to_text
from config.models import FieldMapping, FieldSource
from config.selectors import mapping_document
from issues.models import Issue
from syncing.models import SyncRun
from syncing.runs.runner import RunOptions, sync_instance
from tests.support.mappings import REFERENCE_MAPPINGS

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def synced(reference_mappings, cloud_instance):
    sync_instance(cloud_instance.pk, RunOptions(full=True))
    sync_instance(cloud_instance.pk, RunOptions())
    return cloud_instance


def test_the_dashboard_shows_each_instance_the_queue_and_the_database(admin_client, synced):
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:  # PostgreSQL's row estimates are as fresh as its statistics
            cursor.execute("ANALYZE issues_issue")
    page = admin_client.get(reverse("admin:index")).content.decode()
    card = page[page.index('id="instance-instance_1"') :]
    live = Issue.objects.filter(deleted_at__isnull=True).count()
    assert "js-card ok" in page and "Last success" in card
    assert f">{live}</a>" in card  # issues stored (no thousands yet)
    assert "2 of 2 enabled" in card
    assert "Next scheduled run" in card and "in " in card  # the incremental schedule
    assert card.count("<svg") >= 2 and card.count("<rect") >= 4  # two runs × two charts
    assert 'id="queue"' in page and 'id="database"' in page
    rows = re.search(r'<code>issues_issue</code></td><td class="num">(≈ )?([\d,]+)</td>', page)
    assert rows and int(rows.group(2).replace(",", "")) == Issue.objects.count()
    assert "cdn" not in page.lower()


def test_a_failing_project_turns_its_instance_red(admin_client, synced):
    project = synced.projects.first()
    SyncRun.objects.create(
        instance=synced, project=project, kind="incremental", trigger="schedule", status="failed", error="boom"
    )
    page = admin_client.get(reverse("admin:index")).content.decode()
    assert "js-card failing" in page and project.key in page


def mapping_form(mapping: FieldMapping, paths: dict[str, list[str]] | None = None, **changes) -> dict:
    sources = list(mapping.sources.order_by("id"))
    form = {
        "name": mapping.name,
        "label": mapping.label,
        "group": mapping.group,
        "field_type": mapping.field_type,
        "description": mapping.description,
        "position": str(mapping.position),
        "default": json.dumps(mapping.default),
        "sources-TOTAL_FORMS": str(len(sources)),
        "sources-INITIAL_FORMS": str(len(sources)),
    }
    if mapping.required:
        form["required"] = "on"
    for index, source in enumerate(sources):
        form |= {
            f"sources-{index}-id": str(source.pk),
            f"sources-{index}-mapping": str(mapping.pk),
            f"sources-{index}-instance_slug": source.instance_slug,
            f"sources-{index}-paths": json.dumps((paths or {}).get(source.instance_slug, source.paths)),
            f"sources-{index}-jira_names": json.dumps(source.jira_names),
            f"sources-{index}-combine": source.combine,
            f"sources-{index}-separator": source.separator,
        }
    return form | changes


def test_preview_shows_old_and_new_values_and_saves_nothing(admin_client, synced):
    mapping = FieldMapping.objects.get(name="order_number")
    before = document_to_text(mapping_document())
    audits = AuditLog.objects.count()
    form = mapping_form(mapping, paths={"instance_1": ["summary"]})
    form |= {"_preview": "Preview", "_preview_instance": "instance_1", "_preview_limit": "7"}
    response = admin_client.post(reverse("admin:config_fieldmapping_change", args=[mapping.pk]), form)
    page = response.content.decode()
    assert response.status_code == 200 and 'id="preview-result"' in page
    assert "Please correct" not in page
    newest = list(Issue.objects.filter(instance=synced).order_by("-updated", "-id")[:7])
    assert page.count('<tr class="preview-') == 7
    for issue in newest:
        assert issue.key in page
        assert f"<code>{issue.summary}</code>" in page  # the new value, from the summary
    assert "7 of 7 issues would change" in page
    assert document_to_text(mapping_document()) == before and AuditLog.objects.count() == audits
    assert 'value="[&quot;summary&quot;]"' in page  # the edit survives the preview


def test_preview_reports_a_mapping_that_cannot_compile(admin_client, synced):
    mapping = FieldMapping.objects.get(name="order_number")
    form = mapping_form(mapping, paths={"instance_1": ["summary", "key"]}, field_type="integer")
    form |= {"_preview": "Preview", "_preview_instance": "instance_1"}
    page = admin_client.post(reverse("admin:config_fieldmapping_change", args=[mapping.pk]), form).content.decode()
    assert 'id="preview-problem"' in page and "cannot join several sources" in page


def test_saving_a_mapping_offers_a_remap_which_queues_it(admin_client, synced, django_capture_on_commit_callbacks):
    mapping = FieldMapping.objects.get(name="order_number")
    form = mapping_form(mapping, label="Customer (renamed)")
    page = admin_client.post(
        reverse("admin:config_fieldmapping_change", args=[mapping.pk]), form, follow=True
    ).content.decode()
    remap_url = reverse("admin:config_fieldmapping_remap")
    assert f'href="{remap_url}"' in page
    assert "Re-map" in admin_client.get(remap_url).content.decode()
    broker = get_broker()
    waiting = broker.queue_size()
    with django_capture_on_commit_callbacks(execute=True):
        page = admin_client.post(remap_url, {"instance": "instance_1"}, follow=True).content.decode()
    assert "Re-map of the stored issues of instance_1 queued" in page
    assert broker.queue_size() == waiting + 1


def test_import_is_all_or_nothing_and_export_downloads_the_configuration(admin_client, reference_mappings):
    url = reverse("admin:config_fieldmapping_import")
    before = document_to_text(mapping_document())
    data = json.loads(REFERENCE_MAPPINGS.read_text())
    data["field_groups"][0]["fields"][0]["type"] = "money"
    bad = SimpleUploadedFile("bad.json", json.dumps(data).encode())
    page = admin_client.post(url, {"file": bad}).content.decode()
    assert 'id="import-problems"' in page and "unknown type" in page and "nothing changed" in page
    assert document_to_text(mapping_document()) == before

    data = json.loads(REFERENCE_MAPPINGS.read_text())
    removed = data["field_groups"][0]["fields"].pop()
    good = SimpleUploadedFile("good.json", json.dumps(data).encode())
    page = admin_client.post(url, {"file": good, "dry_run": "on"}).content.decode()
    assert "Checked, not applied" in page and document_to_text(mapping_document()) == before
    good.seek(0)
    response = admin_client.post(url, {"file": good}, follow=True)
    assert "Imported good.json" in response.content.decode()
    assert not FieldMapping.objects.filter(name=removed["name"]).exists()
    assert AuditLog.objects.filter(action="delete", object_id=removed["name"], actor="admin").exists()

    export = admin_client.get(reverse("admin:config_fieldmapping_export"))
    assert export["Content-Disposition"].startswith('attachment; filename="field_mappings-')
    assert export.content.decode() == document_to_text(mapping_document())


def test_discover_fields_marks_used_fields_and_lists_missing_ones(admin_client, synced):
    mapping = FieldMapping.objects.get(name="order_number")
    FieldSource.objects.create(
        mapping=FieldMapping.objects.get(name="rooms"), instance_slug="instance_1", paths=["customfield_99999"]
    )
    response = admin_client.post(
        reverse("admin:projects_jirainstance_changelist"),
        {"action": "discover_fields", "_selected_action": [synced.pk]},
        follow=True,
    )
    page = response.content.decode()
    assert response.redirect_chain[-1][0] == reverse("admin:projects_jirainstance_fields", args=[synced.pk])
    assert 'id="fields-table"' in page and "<code>summary</code>" in page
    path = mapping.sources.get(instance_slug="instance_1").paths[0].split(".")[0]
    row = page[page.index(f"<code>{path}</code>") - 200 : page.index(f"<code>{path}</code>") + 400]
    assert "field-used" in row and "order_number" in row
    assert 'id="fields-missing"' in page and "customfield_99999" in page and "rooms" in page


def test_actions_also_run_from_an_instance_s_own_page(admin_client, synced):
    url = reverse("admin:projects_jirainstance_change", args=[synced.pk])
    page = admin_client.get(url).content.decode()
    assert 'value="test_connection"' in page
    response = admin_client.post(
        url, {"CHANGE_FORM-action": "test_connection", "_selected_action": [synced.pk]}, follow=True
    )
    assert "authenticated; cloud" in response.content.decode()


def test_the_audit_log_shows_a_readable_diff_links_the_object_and_is_read_only(admin_client, reference_mappings):
    mapping = FieldMapping.objects.get(name="rooms")
    admin_client.post(
        reverse("admin:config_fieldmapping_change", args=[mapping.pk]), mapping_form(mapping, label="Rooms!")
    )
    entry = AuditLog.objects.get(object_id="rooms", actor="admin")
    page = admin_client.get(reverse("admin:audit_auditlog_change", args=[entry.pk])).content.decode()
    assert '<table class="audit-diff">' in page and "<ins>Rooms!</ins>" in page
    target = admin_client.get(reverse("admin:audit_auditlog_object", args=[entry.pk]))
    assert target.status_code == 302 and target["Location"] == reverse(
        "admin:config_fieldmapping_change", args=[mapping.pk]
    )
    assert (
        admin_client.post(reverse("admin:audit_auditlog_delete", args=[entry.pk]), {"post": "yes"}).status_code == 403
    )
    assert admin_client.get(reverse("admin:audit_auditlog_add")).status_code == 403
    assert AuditLog.objects.filter(pk=entry.pk).exists()
