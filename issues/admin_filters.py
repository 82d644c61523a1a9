"""Changelist filters for issues that stay index-backed at a million rows."""

from django.contrib import admin
from django.db.models import Exists, OuterRef, QuerySet
from django.http import HttpRequest

from config.models import StatusMilestone
from issues.models import IssueMilestone
from issues.selectors import distinct_issue_statuses
from projects.models import Project


class StatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin) -> list[tuple[str, str]]:
        return [(status, status) for status in distinct_issue_statuses()]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(status=self.value()) if self.value() else queryset


class ProjectFilter(admin.SimpleListFilter):
    title = "project"
    parameter_name = "project__id__exact"

    def lookups(self, request: HttpRequest, model_admin) -> list[tuple[str, str]]:
        projects = Project.objects.select_related("instance").order_by("instance__slug", "key")
        return [(str(project.pk), str(project)) for project in projects]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(project_id=self.value()) if self.value() else queryset


class StatusCategoryFilter(admin.SimpleListFilter):
    """Jira's three categories: known in advance, so no DISTINCT over every issue."""

    title = "status category"
    parameter_name = "status_category__exact"

    def lookups(self, request: HttpRequest, model_admin) -> list[tuple[str, str]]:
        return [("new", "To do (new)"), ("indeterminate", "In progress (indeterminate)"), ("done", "Done")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(status_category=self.value()) if self.value() else queryset


class MilestoneFilter(admin.SimpleListFilter):
    """'Reached X' and 'not reached X' for every configured milestone."""

    title = "milestone"
    parameter_name = "milestone"

    def lookups(self, request: HttpRequest, model_admin) -> list[tuple[str, str]]:
        choices = []
        for name, label in StatusMilestone.objects.values_list("name", "label"):
            choices.append((f"{name}", f"reached {label or name}"))
            choices.append((f"!{name}", f"not reached {label or name}"))
        return choices

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if not value:
            return queryset
        name = value.removeprefix("!")
        reached = Exists(IssueMilestone.objects.filter(issue=OuterRef("pk"), milestone__name=name))
        return queryset.filter(~reached if value.startswith("!") else reached)


class DeletedFilter(admin.SimpleListFilter):
    """Issues deleted in Jira are kept (soft-deleted); the list shows live ones unless asked."""

    title = "deleted in Jira"
    parameter_name = "deleted"

    def lookups(self, request: HttpRequest, model_admin) -> list[tuple[str, str]]:
        return [("no", "Live"), ("yes", "Deleted"), ("all", "All")]

    def choices(self, changelist):
        for lookup, title in self.lookup_choices:
            yield {
                "selected": (self.value() or "no") == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value() or "no"
        if value == "all":
            return queryset
        return queryset.filter(deleted_at__isnull=value == "no")
