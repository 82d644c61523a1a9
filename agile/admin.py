from django.contrib import admin

from agile.models import Board, Sprint
from issues.admin import ReadOnlyAdmin


@admin.register(Board)
class BoardAdmin(ReadOnlyAdmin):
    list_display = ("name", "jira_id", "type", "project_key", "instance", "deleted_at", "synced_at")
    list_filter = ("instance", "type")
    list_select_related = ("instance",)
    search_fields = ("name",)


@admin.register(Sprint)
class SprintAdmin(ReadOnlyAdmin):
    list_display = ("name", "jira_id", "state", "start_date", "end_date", "complete_date", "board_jira_id", "instance")
    list_filter = ("instance", "state")
    list_select_related = ("instance",)
    search_fields = ("name",)
