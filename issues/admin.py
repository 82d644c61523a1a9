from django.contrib import admin
from django.http import HttpRequest

from issues.models import Issue, IssueMilestone, StatusChange, TimeInStatus


class ReadOnlyAdmin(admin.ModelAdmin):
    """Synced data is read-only: Jira is its source of truth."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class StatusChangeInline(admin.TabularInline):
    model = StatusChange
    fields = ("changed_at", "from_status", "to_status", "author")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class IssueMilestoneInline(admin.TabularInline):
    model = IssueMilestone
    fields = ("milestone", "first_reached", "last_reached", "times_reached")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(Issue)
class IssueAdmin(ReadOnlyAdmin):
    list_display = ("key", "summary", "status", "project", "instance", "updated")
    list_filter = ("instance", "status_category", "has_field_errors")
    list_select_related = ("project", "instance")
    search_fields = ("=key",)
    show_full_result_count = False
    exclude = ()
    inlines = [StatusChangeInline, IssueMilestoneInline]


@admin.register(StatusChange)
class StatusChangeAdmin(ReadOnlyAdmin):
    list_display = ("issue", "changed_at", "from_status", "to_status", "author")
    list_select_related = ("issue",)
    raw_id_fields = ("issue",)
    show_full_result_count = False


@admin.register(IssueMilestone)
class IssueMilestoneAdmin(ReadOnlyAdmin):
    list_display = ("issue", "milestone", "first_reached", "last_reached", "times_reached")
    list_filter = ("milestone",)
    list_select_related = ("issue", "milestone")
    raw_id_fields = ("issue",)
    show_full_result_count = False


@admin.register(TimeInStatus)
class TimeInStatusAdmin(ReadOnlyAdmin):
    list_display = ("issue", "status", "hours", "visits", "first_entered", "last_entered", "current")
    list_filter = ("current", "status")
    list_select_related = ("issue",)
    raw_id_fields = ("issue",)
    show_full_result_count = False

    @admin.display(description="Hours", ordering="seconds")
    def hours(self, obj: TimeInStatus) -> str:
        return f"{obj.seconds / 3600:,.1f}"
