"""Re-mapping from stored JSON without Jira, time in status in the database, and the reporting view."""

import io
import json

import pytest
from django.core.management import call_command
from django.db import connection

from audit.models import AuditLog
from config.report_view import VIEW
from issues.models import Issue, IssueMilestone, TimeInStatus
from syncing.runs.runner import RunOptions, sync_instance
from tests.support.mappings import REFERENCE_MAPPINGS
from tests.support.sites import register
from tests.support.truth import assert_database_equals_truth

pytestmark = pytest.mark.django_db(transaction=True)


def report_rows(where: str = "") -> list[dict]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {VIEW} {where}")
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def test_changing_a_mapping_and_remapping_changes_stored_values_with_no_request_to_jira(
    cloud_site, reference_mappings, tmp_path
):
    instance = register(cloud_site, "instance_1")
    sync_instance(instance.pk, RunOptions(full=True))
    data = json.loads(REFERENCE_MAPPINGS.read_text())
    shoot = next(group for group in data["field_groups"] if group["name"] == "Shoot")
    shoot["fields"].append(
        {"name": "listing_domain", "type": "string", "instances": {"*": {"field_id": "customfield_10039"}}}
    )
    rooms = next(field for field in shoot["fields"] if field["name"] == "rooms")
    rooms["type"] = "decimal"
    (tmp_path / "m.json").write_text(json.dumps(data))
    call_command("load_field_mappings", str(tmp_path / "m.json"), stdout=io.StringIO())
    cloud_site.sim.stats.reset()
    out = io.StringIO()
    call_command("remap_issues", stdout=out)
    assert cloud_site.sim.stats.snapshot() == {}  # not a single request to Jira
    assert "120 issues checked (" in out.getvalue() and "120 changed (mapped values)" in out.getvalue()
    issue = Issue.objects.first()
    assert issue.fields["listing_domain"].startswith("https://listings.example.com/")
    assert AuditLog.objects.filter(action="remap").exists()
    again = io.StringIO()
    call_command("remap_issues", "--dry-run", stdout=again)
    assert "0 would change" in again.getvalue()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT listing_domain, rooms FROM {VIEW} WHERE key = %s", [issue.key])
        listing, rooms_value = cursor.fetchone()
    assert listing == issue.fields["listing_domain"] and float(rooms_value) == issue.fields["rooms"]


def test_remapping_reapplies_changed_milestones(reference_mappings, tmp_path, cloud_instance):
    sync_instance(cloud_instance.pk, RunOptions(full=True))
    call_command("remap_issues", stdout=io.StringIO())  # milestones as they are: recorded as applied
    before = IssueMilestone.objects.filter(milestone__name="closed").count()
    data = json.loads(REFERENCE_MAPPINGS.read_text())
    next(m for m in data["milestones"] if m["name"] == "closed")["instances"] = {"*": {"statuses": ["Final Review"]}}
    (tmp_path / "m.json").write_text(json.dumps(data))
    call_command("load_field_mappings", str(tmp_path / "m.json"), stdout=io.StringIO())
    call_command("remap_issues", stdout=io.StringIO())
    after = IssueMilestone.objects.filter(milestone__name="closed").count()
    review = IssueMilestone.objects.filter(milestone__name="final_review").count()
    assert after == review and after != before


def test_time_in_status_is_stored_and_adds_up_to_each_issues_age(cloud_site, reference_mappings):
    instance = register(cloud_site, "instance_1")
    sync_instance(instance.pk, RunOptions(full=True))
    assert_database_equals_truth(cloud_site, instance)
    for issue in Issue.objects.all()[:20]:
        rows = list(TimeInStatus.objects.filter(issue=issue))
        as_of = rows[0].as_of
        assert sum(row.seconds for row in rows) == pytest.approx((as_of - issue.created).total_seconds(), abs=1)
        current = [row for row in rows if row.current]
        assert len(current) == 1 and current[0].status == issue.status


def test_the_report_view_has_a_row_per_live_issue_with_typed_fields_and_milestones(reference_mappings, cloud_instance):
    sync_instance(cloud_instance.pk, RunOptions(full=True))
    rows = {row["key"]: row for row in report_rows()}
    assert len(rows) == 120
    issue = Issue.objects.filter(milestones__milestone__name="scheduled").first()
    row = rows[issue.key]
    assert row["order_number"] == issue.fields["order_number"]
    assert row["rooms"] == issue.fields["rooms"]
    assert row["photographer"] == issue.fields["photographer"]["name"]
    reached = issue.milestones.get(milestone__name="scheduled").first_reached
    assert str(row["scheduled_at"])[:19].replace("T", " ") == reached.strftime("%Y-%m-%d %H:%M:%S")
    in_scheduled = sum(TimeInStatus.objects.filter(issue=issue, status="Scheduled").values_list("seconds", flat=True))
    assert row["scheduled_seconds"] == pytest.approx(in_scheduled)
    Issue.objects.filter(pk=issue.pk).update(deleted_at=issue.updated)
    assert issue.key not in {row["key"] for row in report_rows()}


def test_build_report_view_command_lists_its_columns(cloud_site, reference_mappings):
    out = io.StringIO()
    call_command("build_report_view", stdout=out)
    assert "order_number" in out.getvalue() and "closed_seconds" in out.getvalue()


def test_the_readmes_sample_query_runs_on_the_view(cloud_site, reference_mappings):
    import re
    from pathlib import Path

    from django.conf import settings

    readme = Path(settings.BASE_DIR, "README.md").read_text()
    query = re.search(r"```sql\n(.*?)```", readme, re.S).group(1).strip().rstrip(";")
    instance = register(cloud_site, "instance_1")
    sync_instance(instance.pk, RunOptions(full=True))
    with connection.cursor() as cursor:
        cursor.execute(query)
        rows = cursor.fetchall()
    houses = Issue.objects.filter(fields__property_type="House")
    assert sum(row[1] for row in rows) == houses.count() > 0
