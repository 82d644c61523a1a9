"""Columns of the issue and status-change exports (django-import-export resources)."""

from functools import partial

from import_export.fields import Field

from config.models import FieldMapping, StatusMilestone
from issues.models import Issue, IssueMilestone, StatusChange
from lib.exports import StreamingResource

ISSUE_COLUMNS = (
    "id",
    "instance",
    "project",
    "jira_id",
    "key",
    "summary",
    "issue_type",
    "status",
    "status_category",
    "priority",
    "assignee",
    "reporter",
    "created",
    "updated",
    "resolved",
    "resolution",
    "labels",
    "has_field_errors",
    "deleted_at",
    "synced_at",
)


def _mapped(name: str, issue: Issue):
    return (issue.fields or {}).get(name)


def _first_reached(name: str, issue: Issue):
    return issue.reached.get(name)  # type: ignore[attr-defined]  # set per chunk of rows (IssueResource.chunk_load)


class IssueResource(StreamingResource):
    """The core columns, then one column per field mapping (named like the reporting view's: a name that
    clashes with a core column gets `_field`) and `<milestone>_at`, when each milestone was first reached."""

    instance = Field(attribute="instance__slug", column_name="instance")
    project = Field(attribute="project__key", column_name="project")

    class Meta:
        model = Issue
        fields = ISSUE_COLUMNS
        export_order = ISSUE_COLUMNS

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        for name in FieldMapping.objects.order_by("position", "id").values_list("name", flat=True):
            column = f"{name}_field" if name in ISSUE_COLUMNS else name
            self.fields[column] = Field(column_name=column, dehydrate_method=partial(_mapped, name))
        for name in StatusMilestone.objects.order_by("order", "name").values_list("name", flat=True):
            column = f"{name}_at"
            self.fields[column] = Field(column_name=column, dehydrate_method=partial(_first_reached, name))

    def chunk_load(self, chunk: list[Issue]) -> None:
        reached: dict[int, dict] = {issue.pk: {} for issue in chunk}
        rows = IssueMilestone.objects.filter(issue_id__in=list(reached)).values_list(
            "issue_id", "milestone__name", "first_reached"
        )
        for issue_id, name, first in rows:
            reached[issue_id][name] = first
        for issue in chunk:
            issue.reached = reached[issue.pk]  # type: ignore[attr-defined]


class StatusChangeResource(StreamingResource):
    instance = Field(attribute="issue__instance__slug", column_name="instance")
    issue = Field(attribute="issue__key", column_name="issue")
    issue_jira_id = Field(attribute="issue__jira_id", column_name="issue_jira_id")

    class Meta:
        model = StatusChange
        fields = (
            "id",
            "instance",
            "issue",
            "issue_jira_id",
            "history_id",
            "changed_at",
            "from_status",
            "to_status",
            "from_status_id",
            "to_status_id",
            "author",
        )
        export_order = fields
