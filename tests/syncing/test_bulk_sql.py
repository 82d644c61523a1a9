"""Rows written by bulk_sql (executemany on SQLite, binary or text COPY on PostgreSQL) read back through the ORM
exactly as the ORM would have written them."""

import threading
import time
from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.db import DatabaseError, connection, transaction

from agile.models import Sprint
from agile.services import SPRINT_COLUMNS
from issues.models import Issue, IssueRaw, StatusChange, TimeInStatus
from lib.bulk_sql import rows_insert, rows_insert_new, rows_upsert
from projects.models import Project
from syncing.engine.history import STATUS_CHANGE_COLUMNS, TIME_IN_STATUS_COLUMNS
from tests.support.database import OtherConnection

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


def _sprint_rows(instance_pk: int, ids: list[int], name: str) -> list[tuple]:
    moment = datetime(2024, 2, 3, tzinfo=UTC)
    return [(instance_pk, n, 1, f"{name} {n}", "active", moment, moment, None, "", moment) for n in ids]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has no row locks: a writer holds the database")
def test_two_transactions_upserting_overlapping_rows_in_opposite_orders_do_not_deadlock(transactional_db, instance):
    """A third connection holds the middle row, so each writer stops mid-way until it lets go: written in the
    order passed, the ascending one would then hold the rows the descending one waits for, and the reverse."""
    ids = list(range(1, 21))
    with transaction.atomic():  # the staging table empties at each commit
        rows = _sprint_rows(instance.pk, ids, "old")
        rows_upsert(Sprint, SPRINT_COLUMNS, rows, ["instance_id", "jira_id"], SPRINT_COLUMNS[2:])
    holder = OtherConnection(wait_seconds=120)
    holder.db.execute("BEGIN")
    assert holder.db.execute("SELECT id FROM agile_sprint WHERE jira_id = 10 FOR UPDATE").fetchall()
    failures: list[BaseException] = []

    def write(order: list[int], name: str) -> None:
        try:
            with transaction.atomic():
                rows_upsert(
                    Sprint, SPRINT_COLUMNS, _sprint_rows(instance.pk, order, name), ["instance_id", "jira_id"], ["name"]
                )
        except BaseException as exc:  # reported by the test thread
            failures.append(exc)
        finally:
            connection.close()

    writers = [
        threading.Thread(target=write, args=(ids, "up")),
        threading.Thread(target=write, args=(ids[::-1], "down")),
    ]
    try:
        for writer in writers:
            writer.start()
        deadline = time.monotonic() + 120
        while _waiting_on_locks() < 2 and any(w.is_alive() for w in writers) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _waiting_on_locks() == 2, failures
    finally:
        holder.release()
        holder.close()
        for writer in writers:
            writer.join(timeout=120)
    assert failures == []
    names = set(Sprint.objects.filter(instance=instance).values_list("name", flat=True))
    assert names in ({f"up {n}" for n in ids}, {f"down {n}" for n in ids})  # one writer after the other, whole


def _waiting_on_locks() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]
