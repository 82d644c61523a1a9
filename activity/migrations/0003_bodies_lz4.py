"""Comment bodies and worklog comments as Jira sent them (ADF documents on Cloud) compressed with lz4 on
PostgreSQL (lib/toast_compression.py)."""

from django.db import migrations

from lib.toast_compression import column_compression_set

COLUMNS = [("activity_comment", "body_raw"), ("activity_worklog", "comment_raw")]


class Migration(migrations.Migration):
    dependencies = [("activity", "0002_worklogpending_spent")]

    operations = [
        migrations.RunPython(
            lambda apps, schema_editor: column_compression_set(schema_editor, COLUMNS),
            lambda apps, schema_editor: column_compression_set(schema_editor, COLUMNS, "default"),
            elidable=False,
        )
    ]
