"""CSV and Excel export of filtered admin lists: exactly the filtered rows, the mapped fields as columns,
a permission, and memory that stays flat however many rows."""

import csv
import io
import tracemalloc
from collections import Counter
from itertools import zip_longest

import openpyxl
import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from config.models import FieldMapping, StatusMilestone
from issues.models import Issue, StatusChange
from syncing.models import SyncRun
from syncing.runs.runner import RunOptions, sync_instance
from tests.support.bulk_issues import issues_bulk_create
from tests.support.formdata import EXPORT_FORMATS, form_fields
from tests.support.sites import register


def export(client, model: str, query: str, kind: str = "csv"):
    """What the operator does: the Export button of the filtered list, then the form's Submit."""
    url = reverse(f"admin:{model}_export") + query
    page = client.get(url)
    assert page.status_code == 200
    data = form_fields(page.content.decode(), None)
    data["format"] = [EXPORT_FORMATS[kind]]
    return client.post(url, data)


def content(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def csv_rows(response) -> list[dict]:
    assert response["Content-Type"].startswith("text/csv")
    text = content(response).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def xlsx_rows(response) -> list[dict]:
    book = openpyxl.load_workbook(io.BytesIO(content(response)), read_only=True)
    rows = list(book.active.iter_rows(values_only=True))
    return [dict(zip_longest(rows[0], row)) for row in rows[1:]]  # a row's empty last cells are not written


@pytest.fixture
def synced(db, cloud_site, dc_site, reference_mappings):
    for site, slug in ((cloud_site, "instance_1"), (dc_site, "instance_2")):
        sync_instance(register(site, slug).pk, RunOptions(full=True))


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_exporting_a_filtered_issue_list_gives_exactly_its_rows_with_mapped_fields_and_milestones(
    admin_client, synced, kind
):
    issue = Issue.objects.filter(instance__slug="instance_2", status_category="indeterminate").first()
    summaries = issue.project.issues.filter(status_category="indeterminate").values_list("summary", flat=True)
    word = Counter(w for summary in summaries for w in set(summary.lower().split())).most_common(1)[0][0]
    Issue.objects.filter(pk=issue.pk).update(deleted_at="2026-02-01T00:00Z")  # the list hides it: so does the file
    query = f"?project__id__exact={issue.project_id}&status_category__exact=indeterminate&q={word}"
    expected = Issue.objects.filter(
        project=issue.project, status_category="indeterminate", deleted_at__isnull=True, summary__icontains=word
    )
    assert 0 < expected.count() < Issue.objects.count()
    response = export(admin_client, "issues_issue", query, kind)
    assert response.status_code == 200
    rows = csv_rows(response) if kind == "csv" else xlsx_rows(response)
    assert sorted(row["key"] for row in rows) == sorted(expected.values_list("key", flat=True))
    columns = set(rows[0])
    assert set(FieldMapping.objects.values_list("name", flat=True)) <= columns
    assert {f"{name}_at" for name in StatusMilestone.objects.values_list("name", flat=True)} <= columns
    by_key = {issue.key: issue for issue in expected}
    for row in rows:
        issue = by_key[row["key"]]
        assert row["instance"] == "instance_2"
        assert (row["access_instructions"] or None) == issue.fields.get("access_instructions")
        reached = issue.milestones.filter(milestone__name="scheduled").first()
        assert bool(row["scheduled_at"]) == bool(reached)


@pytest.mark.django_db(transaction=True)
def test_sync_runs_and_status_changes_export_their_filtered_rows(admin_client, synced):
    rows = csv_rows(export(admin_client, "syncing_syncrun", "?kind__exact=census&status__exact=succeeded"))
    expected = SyncRun.objects.filter(kind="census", status="succeeded")
    assert sorted(int(row["id"]) for row in rows) == sorted(expected.values_list("id", flat=True))
    assert {"instance", "project", "duration_seconds", "fetched", "error"} <= set(rows[0])
    issue = max(Issue.objects.all(), key=lambda issue: issue.status_changes.count())
    rows = xlsx_rows(export(admin_client, "issues_statuschange", f"?issue__id__exact={issue.pk}", "xlsx"))
    assert len(rows) == StatusChange.objects.filter(issue=issue).count() > 1
    assert {row["issue"] for row in rows} == {issue.key}


@pytest.mark.django_db
def test_export_needs_the_view_permission(client, django_user_model, instance):
    user = django_user_model.objects.create_user("clerk", password="x", is_staff=True)
    client.force_login(user)
    url = reverse("admin:issues_issue_export")
    assert client.get(url).status_code == 403
    assert client.post(url, {"format": "0"}).status_code == 403
    user.user_permissions.add(Permission.objects.get(codename="view_issue"))
    assert client.get(url).status_code == 200
    page = client.get(reverse("admin:issues_issue_changelist")).content.decode()
    assert url in page  # the Export button


def test_a_spreadsheet_never_runs_a_cell_as_a_formula():
    from lib.exports import csv_cell, xlsx_response, xlsx_value

    assert csv_cell('=HYPERLINK("http://x")') == '\'=HYPERLINK("http://x")'
    assert csv_cell("plain") == "plain" and csv_cell(None) == ""
    assert xlsx_value("a\x00b") == "ab"
    response = xlsx_response(["summary", "n"], iter([["=1+1", 2], ["plain", None]]), "x.xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(content(response))).active
    assert (sheet["A2"].value, sheet["A2"].data_type, sheet["B2"].value) == ("=1+1", "s", 2)


def export_peak(client, count_before: int) -> tuple[int, int]:
    """(rows, peak bytes traced) of streaming the whole issue list as CSV."""
    tracemalloc.start(1)
    try:
        response = export(client, "issues_issue", "?deleted=all")
        rows = sum(chunk.count(b"\n") for chunk in response.streaming_content) - 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return rows, peak


@pytest.mark.django_db
def test_the_memory_of_an_export_does_not_grow_with_its_rows(admin_client, instance, reference_mappings):
    issues_bulk_create(instance=instance, count=3_000, key="SMALL")
    small_rows, small_peak = export_peak(admin_client, 0)
    issues_bulk_create(instance=instance, count=27_000, key="LARGE")
    large_rows, large_peak = export_peak(admin_client, small_rows)
    assert (small_rows, large_rows) == (3_000, 30_000)
    # Ten times the rows: the peak is what a chunk of rows holds either way, nowhere near 10×.
    assert large_peak < small_peak * 1.5 + 2_000_000, (small_peak, large_peak)
    print(f"export peak: {small_rows:,} rows {small_peak / 1e6:.1f} MB, {large_rows:,} rows {large_peak / 1e6:.1f} MB")
