"""Dropping the index Django gives a foreign key when another index already leads with its column.

Each table a sync writes per issue (status changes, field changes, milestones, …) has a unique key that leads
with `issue_id`; Django's own index on `issue_id` alone doubled the index work of every row written and answers
no query the unique key does not. Setting `db_index=False` in a migration's AlterField makes SQLite copy the
whole table to drop one index; this drops it by the name Django gave it instead, on both databases.
"""

from django.db import migrations


def fk_indexes_dropped(app_label: str, fields: list[tuple[str, str]]) -> migrations.RunPython:
    """A RunPython dropping (IF EXISTS) the single-column index of each (model, foreign key field) of the app,
    reversed by making it again; for the database_operations of a SeparateDatabaseAndState whose
    state_operations are the AlterField(db_index=False)s."""

    def indexes(apps, schema_editor):
        for model_name, field_name in fields:
            model = apps.get_model(app_label, model_name)
            field = model._meta.get_field(field_name)
            yield model, field, schema_editor._create_index_name(model._meta.db_table, [field.column])

    def drop(apps, schema_editor) -> None:
        for _, _, name in indexes(apps, schema_editor):
            schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(name)}")

    def make(apps, schema_editor) -> None:
        for model, field, _ in indexes(apps, schema_editor):
            schema_editor.execute(schema_editor._create_index_sql(model, fields=[field]))

    return migrations.RunPython(drop, make, elidable=False)
