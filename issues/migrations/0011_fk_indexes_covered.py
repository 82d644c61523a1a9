"""Foreign keys whose column leads a unique key lose their own index (lib/covered_indexes.py)."""

import django.db.models.deletion
from django.db import migrations, models

from lib.covered_indexes import fk_indexes_dropped


class Migration(migrations.Migration):

    dependencies = [
        ('config', '0002_sprint_version_component_types'),
        ('issues', '0010_raw_json_lz4'),
        ('projects', '0014_field_history_normalised'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='fieldchange',
                    name='issue',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='field_changes', to='issues.issue'),
                ),
                migrations.AlterField(
                    model_name='issue',
                    name='project',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='issues', to='projects.project'),
                ),
                migrations.AlterField(
                    model_name='issuecomponent',
                    name='issue',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='components', to='issues.issue'),
                ),
                migrations.AlterField(
                    model_name='issuelink',
                    name='issue',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='links', to='issues.issue'),
                ),
                migrations.AlterField(
                    model_name='issuemilestone',
                    name='issue',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='milestones', to='issues.issue'),
                ),
                migrations.AlterField(
                    model_name='issuemilestone',
                    name='milestone',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='issue_milestones', to='config.statusmilestone'),
                ),
                migrations.AlterField(
                    model_name='issueversion',
                    name='issue',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='versions', to='issues.issue'),
                ),
                migrations.AlterField(
                    model_name='statuschange',
                    name='issue',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='status_changes', to='issues.issue'),
                ),
                migrations.AlterField(
                    model_name='timeinstatus',
                    name='issue',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='time_in_status', to='issues.issue'),
                ),
            ],
            database_operations=[fk_indexes_dropped('issues', [('fieldchange', 'issue'), ('issue', 'project'), ('issuecomponent', 'issue'), ('issuelink', 'issue'), ('issuemilestone', 'issue'), ('issuemilestone', 'milestone'), ('issueversion', 'issue'), ('statuschange', 'issue'), ('timeinstatus', 'issue')])],
        )
    ]
