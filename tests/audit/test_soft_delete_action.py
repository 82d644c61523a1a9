"""A synced row Jira no longer has is audited `soft_delete` whoever noticed; entries written under the old names
(the webhook's `delete`, `comment_deleted`, `worklog_deleted`) are renamed by audit's migration 0002, and back."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from audit.services import SOFT_DELETE

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("audit", "0001_initial")]
AFTER = [("audit", "0002_soft_delete_action")]
OLD = [
    ("delete", "issues.issue", "OPS-1 deleted in Jira (webhook)"),
    ("comment_deleted", "activity.comment", "comment 7 of OPS-1 is no longer in Jira: soft-deleted"),
    ("worklog_deleted", "activity.worklog", "worklog 9 of OPS-1 is no longer in Jira: soft-deleted"),
    ("soft_delete", "issues.issue", "OPS-2 is gone from Jira (404): marked deleted"),
    ("delete", "projects.jirainstance", "deleted Jira instance Cloud: removed 3 projects"),  # really removed
    ("delete", "config.fieldmapping", "deleted field mapping team"),
]


def migrated(targets: list[tuple[str, str]]):
    """The historical AuditLog model once the database is migrated to targets."""
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor.loader.project_state(targets).apps.get_model("audit", "AuditLog")


def test_old_names_of_a_soft_delete_become_soft_delete_and_come_back_when_migrated_back():
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes()
    try:
        old_model = migrated(BEFORE)
        for action, object_type, summary in OLD:
            old_model.objects.create(actor="sync", action=action, object_type=object_type, summary=summary)
        new_model = migrated(AFTER)
        assert list(new_model.objects.order_by("pk").values_list("action", flat=True)) == [
            SOFT_DELETE,
            SOFT_DELETE,
            SOFT_DELETE,
            SOFT_DELETE,
            "delete",
            "delete",
        ]
        back = migrated(BEFORE)
        # The census' own entry was soft_delete before too: only the webhook's (its summary says so) goes back.
        assert list(back.objects.order_by("pk").values_list("action", flat=True)) == [row[0] for row in OLD]
    finally:
        migrated(latest)
