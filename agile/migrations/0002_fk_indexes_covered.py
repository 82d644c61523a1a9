"""Foreign keys whose column leads a unique key lose their own index (lib/covered_indexes.py)."""

import django.db.models.deletion
from django.db import migrations, models

from lib.covered_indexes import fk_indexes_dropped


class Migration(migrations.Migration):

    dependencies = [
        ('agile', '0001_initial'),
        ('issues', '0010_raw_json_lz4'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='issuesprint',
                    name='issue',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='sprint_stays', to='issues.issue'),
                ),
            ],
            database_operations=[fk_indexes_dropped('agile', [('issuesprint', 'issue')])],
        )
    ]
