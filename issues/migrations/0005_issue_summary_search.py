"""A trigram index answers the admin's summary search on PostgreSQL (SQLite scans, which is fine at its scale)."""

from django.db import migrations

FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS issue_summary_trgm ON issues_issue USING gin (UPPER(summary) gin_trgm_ops)",
]
BACKWARD = ["DROP INDEX IF EXISTS issue_summary_trgm"]


def _run(statements: list[str]):
    def run(apps, schema_editor) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        for statement in statements:
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("issues", "0004_jira_id_positive")]

    operations = [migrations.RunPython(_run(FORWARD), _run(BACKWARD), elidable=False)]
