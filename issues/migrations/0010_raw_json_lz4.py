"""The raw JSON of issues compressed with lz4 on PostgreSQL (lib/toast_compression.py: ~4x less server CPU)."""

from django.db import migrations

from lib.toast_compression import column_compression_set

COLUMNS = [("issues_issueraw", "body")]


class Migration(migrations.Migration):
    dependencies = [("issues", "0009_issue_relations")]

    operations = [
        migrations.RunPython(
            lambda apps, schema_editor: column_compression_set(schema_editor, COLUMNS),
            lambda apps, schema_editor: column_compression_set(schema_editor, COLUMNS, "default"),
            elidable=False,
        )
    ]
