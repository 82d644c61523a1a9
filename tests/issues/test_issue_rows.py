"""issues.selectors.issue_rows: plain SQL on both databases, giving the values the ORM would."""

import pytest
from django.utils import timezone

from issues.models import Issue
from issues.selectors import issue_rows
from syncing.runs.runner import RunOptions, sync_instance

# Every kind of column the sync reads back: ids, text, JSON, booleans, numbers, date-times, NULLs.
COLUMNS = [
    "id",
    "project_id",
    "key",
    "raw_hash",
    "fields",
    "changelog_complete",
    "changelog_total",
    "created",
    "updated",
    "deleted_at",
    "status_id",
    "status",
    "labels",
]

pytestmark = pytest.mark.django_db(transaction=True)


def test_issue_rows_gives_what_the_orm_gives_for_every_kind_of_column(reference_mappings, cloud_instance):
    run = sync_instance(cloud_instance.pk, RunOptions(full=True))
    assert run.status == "succeeded", run.error
    stored = list(Issue.objects.filter(instance=cloud_instance).order_by("jira_id"))
    gone = stored[0]
    Issue.objects.filter(pk=gone.pk).update(deleted_at=timezone.now(), changelog_complete=False)
    wanted = [issue.jira_id for issue in stored[:7]] + [999_999_999]  # one Jira id never stored

    rows = issue_rows(cloud_instance, wanted, COLUMNS)

    expected = list(
        Issue.objects.filter(instance=cloud_instance, jira_id__in=wanted)
        .order_by("jira_id")
        .values_list("jira_id", *COLUMNS)
    )
    assert sorted(rows) == expected
    assert len(rows) == 7
    by_id = {row[0]: row for row in rows}
    assert by_id[gone.jira_id][COLUMNS.index("deleted_at") + 1].tzinfo is not None
    assert by_id[gone.jira_id][COLUMNS.index("changelog_complete") + 1] is False
    assert isinstance(by_id[gone.jira_id][COLUMNS.index("fields") + 1], dict)
    assert issue_rows(cloud_instance, [], COLUMNS) == []
