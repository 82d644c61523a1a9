"""Foreign keys whose column leads a unique key lose their own index (lib/covered_indexes.py)."""

import django.db.models.deletion
from django.db import migrations, models

from lib.covered_indexes import fk_indexes_dropped


class Migration(migrations.Migration):

    dependencies = [
        ('activity', '0003_bodies_lz4'),
        ('issues', '0010_raw_json_lz4'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='comment',
                    name='issue',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='comments', to='issues.issue'),
                ),
                migrations.AlterField(
                    model_name='worklog',
                    name='issue',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='worklogs', to='issues.issue'),
                ),
            ],
            database_operations=[fk_indexes_dropped('activity', [('comment', 'issue'), ('worklog', 'issue')])],
        )
    ]
