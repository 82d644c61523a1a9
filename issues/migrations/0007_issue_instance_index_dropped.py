"""The single-column index on Issue.instance goes: the unique (instance_id, jira_id) index leads with the same
column, and PostgreSQL planned page lookups by (instance, jira_id) on this one before the table had statistics,
reading every issue of the instance for each page.

Only the index is dropped (the foreign key stays as it is): AlterField would rebuild the table on SQLite and
drop and re-validate the foreign key on PostgreSQL. Django names the index alike on both.
"""

import django.db.models.deletion
from django.db import migrations, models

INDEX = "issues_issue_instance_id_382700b8"


class Migration(migrations.Migration):
    dependencies = [
        ("issues", "0006_partial_indexes"),
        ("projects", "0009_instance_deletion"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="issue",
                    name="instance",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="issues",
                        to="projects.jirainstance",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    f'DROP INDEX IF EXISTS "{INDEX}"',
                    reverse_sql=f'CREATE INDEX "{INDEX}" ON "issues_issue" ("instance_id")',
                ),
            ],
        ),
    ]
