"""Rows written by bulk_sql (executemany on SQLite, binary or text COPY on PostgreSQL) read back through the ORM
exactly as the ORM would have written them."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.db import DatabaseError, connection, transaction

from issues.models import Issue, IssueRaw, StatusChange, TimeInStatus
from projects.models import Project
from syncing.bulk_sql import rows_insert, rows_insert_new, rows_upsert
from syncing.history import STATUS_CHANGE_COLUMNS, TIME_IN_STATUS_COLUMNS

MOMENTS = [
    datetime(2024, 2, 3, 4, 5, 6, tzinfo=UTC),  # no fraction: Django's text has none either
    datetime(2024, 2, 3, 4, 5, 6, 789000, tzinfo=UTC),
    datetime(2024, 2, 3, 6, 5, 7, 1, tzinfo=timezone(timedelta(hours=2))),  # another zone: converted, not cut
]


@pytest.fixture
def issue(instance) -> Issue:
    project = Project.objects.create(instance=instance, jira_id="1", key="OPS", name="Ops")
    return Issue.objects.create(instance=instance, project=project, jira_id=10001, key="OPS-1")


def _status_change(issue: Issue, history_id: int, moment: datetime, to_id: str = "2") -> tuple:
    return (issue.pk, history_id, moment, "1", "Open", to_id, "Done", "Ada", "ada")


@pytest.mark.parametrize("write", [rows_insert, rows_insert_new])
def test_date_times_written_in_bulk_are_found_by_exact_orm_lookups(issue, write):
    write(StatusChange, STATUS_CHANGE_COLUMNS, [_status_change(issue, n, moment) for n, moment in enumerate(MOMENTS)])

    for n, moment in enumerate(MOMENTS):  # on SQLite an exact lookup compares the stored text with Django's
        assert StatusChange.objects.get(issue=issue, changed_at=moment).history_id == n
    assert list(
        StatusChange.objects.filter(issue=issue).order_by("changed_at").values_list("changed_at", flat=True)
    ) == [moment.astimezone(UTC) for moment in MOMENTS]
    assert StatusChange.objects.filter(changed_at__gt=MOMENTS[0], changed_at__lt=MOMENTS[2]).count() == 1


def test_bytes_numbers_flags_and_text_round_trip(issue):
    body = b'{"summary":"tab\\t newline\\n backslash\\\\ quote\\" nul \\u0000 \xc3\xa9"}'
    rows_upsert(IssueRaw, ["issue_id", "body"], [(issue.pk, b"{}")], conflict=["issue_id"], update=["body"])
    rows_upsert(IssueRaw, ["issue_id", "body"], [(issue.pk, body)], conflict=["issue_id"], update=["body"])
    rows = [
        (issue.pk, "In \t Progress \\ é", "3", 12.5, 2, MOMENTS[0], MOMENTS[1], True, MOMENTS[2]),
        (issue.pk, "Done", "", 0.0, 1, MOMENTS[1], MOMENTS[1], False, MOMENTS[2]),
    ]
    rows_insert(TimeInStatus, TIME_IN_STATUS_COLUMNS, rows)

    assert bytes(IssueRaw.objects.get(issue=issue).body) == body
    stored = TimeInStatus.objects.filter(issue=issue).order_by("status").values_list(*TIME_IN_STATUS_COLUMNS)
    assert list(stored) == sorted(
        [(*row[:5], *(moment.astimezone(UTC) for moment in row[5:7]), row[7], row[8].astimezone(UTC)) for row in rows],
        key=lambda row: row[1],
    )


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite does not enforce varchar lengths")
def test_a_value_a_column_refuses_is_a_database_error(issue):
    with pytest.raises(DatabaseError), transaction.atomic():
        rows_insert(StatusChange, STATUS_CHANGE_COLUMNS, [_status_change(issue, 1, MOMENTS[0], to_id="9" * 40)])
    assert not StatusChange.objects.filter(issue=issue).exists()
