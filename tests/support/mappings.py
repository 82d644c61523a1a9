"""The field mappings of the tests: the bundled reference file, and what the database holds of mappings."""

from pathlib import Path

from django.conf import settings

from config.models import FieldMapping, FieldSource, MilestoneStatuses, StatusMilestone

REFERENCE_MAPPINGS = Path(settings.BASE_DIR) / "config" / "field_mappings.json"


def stored_state() -> list:
    """Every mapping, source, milestone and milestone's statuses stored, as lists of value tuples in a fixed order."""
    return [
        list(FieldMapping.objects.values_list("name", "field_type", "required", "default", "group").order_by("name")),
        list(FieldSource.objects.values_list("mapping__name", "instance_slug", "paths", "combine").order_by("id")),
        list(StatusMilestone.objects.values_list("name", "order").order_by("name")),
        list(MilestoneStatuses.objects.values_list("milestone__name", "instance_slug", "status_names").order_by("id")),
    ]
