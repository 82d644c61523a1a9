"""Every foreign key of the project's models is found by an index: its own, or another leading with its column
(lib/covered_indexes.py drops the own one where a unique key already leads with it). Without one, deleting an
issue or a project (CASCADE) would read whole tables, and PostgreSQL would check each reference by a scan."""

from django.apps import apps
from django.db import models

PROJECT_APPS = {"activity", "agile", "audit", "config", "issues", "projects", "syncing"}


def leading_columns(model: type[models.Model]) -> set[str]:
    """The first column of each index the model's table has: its own, its unique keys', its Meta's."""
    meta = model._meta
    column_of = {field.name: field.column for field in meta.concrete_fields}
    column_of.update({field.attname: field.column for field in meta.concrete_fields})
    leading = {field.column for field in meta.concrete_fields if field.primary_key or field.unique or field.db_index}
    for index in meta.indexes:
        if index.fields and index.condition is None:
            leading.add(column_of[index.fields[0].lstrip("-")])
    for constraint in meta.constraints:
        if isinstance(constraint, models.UniqueConstraint) and constraint.fields and constraint.condition is None:
            leading.add(column_of[constraint.fields[0]])
    leading.update(column_of[together[0]] for together in meta.unique_together)
    return leading


def test_every_foreign_key_leads_an_index():
    unfound = [
        f"{model._meta.label}.{field.name}"
        for model in apps.get_models()
        if model._meta.app_label in PROJECT_APPS and not model._meta.proxy and model._meta.managed
        for field in model._meta.concrete_fields
        if isinstance(field, models.ForeignKey) and field.column not in leading_columns(model)
    ]
    assert unfound == []


def test_the_per_issue_tables_have_no_index_on_issue_alone():
    """What the sync writes per issue carries one index less a row (the unique key leads with issue_id)."""
    doubled = [
        model._meta.label
        for model in apps.get_models()
        if model._meta.app_label in PROJECT_APPS
        for field in model._meta.concrete_fields
        if isinstance(field, models.ForeignKey) and field.name == "issue" and field.db_index and not field.unique
    ]
    assert doubled == []
