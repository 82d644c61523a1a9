"""lib.toast_compression: the columns holding whole Jira documents are compressed with lz4 on PostgreSQL."""

import orjson
import pytest
from django.db import connection, transaction

from issues.models import Issue, IssueRaw
from lib.bulk_sql import rows_upsert
from lib.toast_compression import column_compression_set
from tests.support.bulk_issues import issues_bulk_create

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif("connection.vendor != 'postgresql'", reason="TOAST compression is PostgreSQL's"),
]
DOCUMENTS = [("issues_issueraw", "body"), ("activity_comment", "body_raw"), ("activity_worklog", "comment_raw")]


def compression(table: str, column: str) -> str:
    """pg_attribute.attcompression: 'l' lz4, 'p' pglz, '' the server's default."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT attcompression FROM pg_attribute WHERE attrelid = %s::regclass AND attname = %s", [table, column]
        )
        return cursor.fetchone()[0]


def test_the_migrations_set_lz4_on_the_document_columns():
    assert {compression(*column) for column in DOCUMENTS} == {"l"}


def test_the_default_is_set_again_and_a_method_the_server_does_not_offer_changes_nothing():
    with connection.schema_editor() as editor:
        column_compression_set(editor, DOCUMENTS[:1], "default")
    assert compression(*DOCUMENTS[0]) == ""
    with connection.schema_editor() as editor:
        column_compression_set(editor, DOCUMENTS[:1], "zstd")  # not a TOAST method of PostgreSQL 15
    assert compression(*DOCUMENTS[0]) == ""
    with connection.schema_editor() as editor:
        column_compression_set(editor, DOCUMENTS[:1])
    assert compression(*DOCUMENTS[0]) == "l"


def test_a_raw_issue_written_through_a_staging_table_is_stored_with_lz4(instance):
    with connection.cursor() as cursor:
        cursor.execute("SHOW default_toast_compression")
        assert cursor.fetchone()[0] == "lz4"  # set as the session opened (issues.apps)
    project = issues_bulk_create(instance=instance, count=1)
    issue = Issue.objects.get(project=project)
    body = orjson.dumps({"fields": {f"customfield_{n}": f"value {n} " * 20 for n in range(200)}})  # ~40 KB
    with transaction.atomic():
        rows_upsert(IssueRaw, ["issue_id", "body"], [(issue.pk, body)], ["issue_id"], ["body"])  # staged on COPY
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_column_compression(body), body FROM issues_issueraw WHERE issue_id = %s", [issue.pk])
        method, stored = cursor.fetchone()
    assert method == "lz4" and bytes(stored) == body
