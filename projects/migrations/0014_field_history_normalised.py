"""JiraInstance.field_history stored in its normal form (projects/field_history_setting.py), which the report
view's SQL reads: each name stripped (tabs and every other blank too), names joined by ", ", `*` alone."""

from django.db import migrations


def normalise(apps, schema_editor) -> None:
    # The app's own function: the normal form is whatever it says now, and it only ever reads a setting.
    from projects.field_history_setting import field_history_normalised

    JiraInstance = apps.get_model("projects", "JiraInstance")
    for pk, value in JiraInstance.objects.values_list("pk", "field_history"):
        if (normal := field_history_normalised(value)) != value:
            JiraInstance.objects.filter(pk=pk).update(field_history=normal)


class Migration(migrations.Migration):
    dependencies = [("projects", "0013_field_history_validated")]

    operations = [migrations.RunPython(normalise, migrations.RunPython.noop)]
