import re

from django.contrib import admin
from django.db.models import Prefetch, QuerySet
from django.db.models.functions import Substr
from django.http import HttpRequest
from django.utils.html import format_html

from activity.selectors import issue_activity
from agile.selectors import issue_sprint_stays
from issues.admin_filters import DeletedFilter, MilestoneFilter, ProjectFilter, StatusCategoryFilter, StatusFilter
from issues.models import FieldChange, Issue, IssueMilestone, StatusChange, TimeInStatus
from issues.resources import IssueResource, StatusChangeResource
from issues.selectors import bounded, issue_detail
from lib.exports import StreamingExportMixin
from lib.pagination import CappedCountPaginator

ISSUE_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_]*-\d+$")


class ReadOnlyAdmin(admin.ModelAdmin):
    """Synced data is read-only: Jira is its source of truth."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


SUMMARY_SHOWN = 300  # characters of a summary a list shows
# The sections of an issue's page shown only to a viewer who may view their model.
SECTION_PERMISSIONS = {
    "field_history": "issues.view_fieldchange",
    "comments": "activity.view_comment",
    "worklogs": "activity.view_worklog",
}
RAW_LISTS = {"comments": "comment", "worklogs": "worklog"}  # the issue fields that carry them in the raw JSON


@admin.register(Issue)
class IssueAdmin(StreamingExportMixin, ReadOnlyAdmin):
    resource_classes = [IssueResource]
    list_display = ("jira_key", "summary_head", "status", "project_key", "instance", "updated", "milestones_reached")
    list_display_links = ("summary_head",)
    list_filter = (
        "instance",
        ProjectFilter,
        StatusFilter,
        StatusCategoryFilter,
        MilestoneFilter,
        "has_field_errors",
        "changelog_complete",
        DeletedFilter,
    )
    list_select_related = ("project", "instance")
    search_fields = ("key", "summary")
    search_help_text = "An issue key (exact, e.g. ABC-123) or words of the summary."
    show_full_result_count = False
    paginator = CappedCountPaginator
    fieldsets = (
        (
            None,
            {
                "fields": (
                    ("instance", "project"),
                    ("key", "jira_id", "issue_type"),
                    "summary_shown",
                    ("status", "status_category", "resolution"),
                    ("priority", "assignee", "reporter"),
                    ("created", "updated", "resolved"),
                    "labels_shown",
                )
            },
        ),
        ("Sync", {"fields": (("changelog_total", "changelog_complete"), ("synced_at", "deleted_at"))}),
    )
    change_form_template = "admin/issues/issue/change_form.html"

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        reached = IssueMilestone.objects.select_related("milestone").order_by("milestone__order")
        # A list shows the start of each summary: a hostile Jira's summary of megabytes is not read whole.
        return (
            super()
            .get_queryset(request)
            .defer("summary", "fields", "field_errors", "labels")
            .annotate(summary_start=Substr("summary", 1, SUMMARY_SHOWN))
            .prefetch_related(Prefetch("milestones", queryset=reached))
        )

    @admin.display(description="Summary", ordering="summary")
    def summary_head(self, obj: Issue) -> str:
        start = obj.summary_start  # type: ignore[attr-defined]  # annotated by get_queryset
        return f"{start}…" if len(start) >= SUMMARY_SHOWN else start

    @admin.display(description="Summary")
    def summary_shown(self, obj: Issue) -> str:
        return bounded(obj.summary)

    @admin.display(description="Labels")
    def labels_shown(self, obj: Issue) -> str:
        return bounded(", ".join(str(label) for label in obj.labels or [])) or "–"

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str):
        term = search_term.strip()
        if not term:
            return queryset, False
        if ISSUE_KEY.match(term):  # a key: one probe of the key index
            return queryset.filter(key=term.upper()), False
        # Words of the summary: on PostgreSQL a trigram index answers the contains.
        for word in term.split():
            queryset = queryset.filter(summary__icontains=word)
        return queryset, False

    @admin.display(description="Key", ordering="key")
    def jira_key(self, obj: Issue) -> str:
        return format_html(
            '<a href="{}/browse/{}" target="_blank" rel="noopener" title="Open in Jira">{} ↗</a>',
            obj.instance.base_url.rstrip("/"),
            obj.key,
            obj.key,
        )

    @admin.display(description="Project", ordering="project__key")
    def project_key(self, obj: Issue) -> str:
        return obj.project.key  # not str(project), which would fetch the project's instance per row

    @admin.display(description="Milestones reached")
    def milestones_reached(self, obj: Issue) -> str:
        return ", ".join(m.milestone.label or m.milestone.name for m in obj.milestones.all()) or "–"

    def get_object(self, request: HttpRequest, object_id: str, from_field=None):
        cached = getattr(request, "_issue", None)
        if cached is not None and str(cached.pk) == str(object_id):
            return cached
        try:
            issue = Issue.objects.select_related("instance", "project__instance").get(pk=int(object_id))
        except (ValueError, Issue.DoesNotExist):
            return None
        request._issue = issue  # type: ignore[attr-defined]  # the change view asks for it more than once
        return issue

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "", extra_context=None):
        issue = self.get_object(request, object_id)
        extra_context = extra_context or {}
        if issue is not None and self.has_view_permission(request, issue):
            # Each section needs its own model's view permission, as its own list would: a viewer of issues
            # does not read restricted comments, worklogs or the field history through the issue's page.
            may = {name: request.user.has_perm(permission) for name, permission in SECTION_PERMISSIONS.items()}
            hidden = frozenset(RAW_LISTS[name] for name in ("comments", "worklogs") if not may[name])
            extra_context["detail"] = issue_detail(issue, field_history=may["field_history"], raw_hidden=hidden)
            extra_context["sprint_stays"] = issue_sprint_stays(issue)  # the agile app's rows, read by its selector
            if may["comments"] or may["worklogs"]:
                extra_context["activity"] = issue_activity(issue, comments=may["comments"], worklogs=may["worklogs"])
            extra_context["jira_url"] = f"{issue.instance.base_url.rstrip('/')}/browse/{issue.key}"
        return super().change_view(request, object_id, form_url, extra_context)


@admin.register(StatusChange)
class StatusChangeAdmin(StreamingExportMixin, ReadOnlyAdmin):
    resource_classes = [StatusChangeResource]
    list_display = ("issue", "changed_at", "from_status", "to_status", "author")
    list_select_related = ("issue__instance",)
    raw_id_fields = ("issue",)
    show_full_result_count = False
    paginator = CappedCountPaginator


@admin.register(FieldChange)
class FieldChangeAdmin(ReadOnlyAdmin):
    list_display = ("issue", "changed_at", "field_name", "from_shown", "to_shown", "author")
    list_select_related = ("issue__instance",)
    raw_id_fields = ("issue",)
    show_full_result_count = False
    paginator = CappedCountPaginator

    @admin.display(description="From")
    def from_shown(self, obj: FieldChange) -> str:
        return bounded(obj.from_string if obj.from_string is not None else obj.from_id or "", 200)

    @admin.display(description="To")
    def to_shown(self, obj: FieldChange) -> str:
        return bounded(obj.to_string if obj.to_string is not None else obj.to_id or "", 200)


@admin.register(IssueMilestone)
class IssueMilestoneAdmin(ReadOnlyAdmin):
    list_display = ("issue", "milestone", "first_reached", "last_reached", "times_reached")
    list_filter = ("milestone",)
    list_select_related = ("issue", "milestone")
    raw_id_fields = ("issue",)
    show_full_result_count = False
    paginator = CappedCountPaginator


@admin.register(TimeInStatus)
class TimeInStatusAdmin(ReadOnlyAdmin):
    list_display = ("issue", "status", "hours", "visits", "first_entered", "last_entered", "current")
    list_filter = ("current",)
    list_select_related = ("issue",)
    raw_id_fields = ("issue",)
    show_full_result_count = False
    paginator = CappedCountPaginator

    @admin.display(description="Hours", ordering="seconds")
    def hours(self, obj: TimeInStatus) -> str:
        return f"{obj.seconds / 3600:,.1f}"
