from django.contrib import admin

from issues.admin import ReadOnlyAdmin
from syncing.models import SyncRun


@admin.register(SyncRun)
class SyncRunAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "instance",
        "project",
        "kind",
        "trigger",
        "status",
        "started_at",
        "fetched",
        "inserted",
        "updated",
        "failed_rows",
        "requests",
        "retries",
        "rate_limited",
    )
    list_filter = ("status", "kind", "trigger", "instance")
    list_select_related = ("instance", "project")
