from django.contrib import admin
from django.utils.html import format_html

from issues.admin import ReadOnlyAdmin
from syncing.dashboard import STATUS_COLOURS
from syncing.models import SyncRun


@admin.register(SyncRun)
class SyncRunAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "instance",
        "project",
        "kind",
        "trigger",
        "status_badge",
        "started_at",
        "duration",
        "fetched",
        "inserted",
        "updated",
        "failed_rows",
        "deleted",
        "rate",
        "requests",
        "retries",
        "rate_limited",
        "short_error",
    )
    list_filter = ("status", "kind", "trigger", "instance", "project")
    list_select_related = ("instance", "project")
    raw_id_fields = ("parent",)
    show_full_result_count = False
    date_hierarchy = "created_at"

    @admin.display(description="Status", ordering="status")
    def status_badge(self, obj: SyncRun) -> str:
        colour = STATUS_COLOURS.get(obj.status, "#000")
        # A dot drawn with SVG's fill attribute: coloured without a style attribute (CSP allows no inline style).
        return format_html(
            '<svg class="run-status" width="10" height="10" aria-hidden="true"><circle cx="5" cy="5" r="5" fill="{}"/>'
            "</svg> <b>{}</b>",
            colour,
            obj.get_status_display(),
        )

    @admin.display(description="Duration")
    def duration(self, obj: SyncRun) -> str:
        seconds = obj.duration_seconds
        return "–" if seconds is None else f"{seconds:.1f} s"

    @admin.display(description="Issues/s")
    def rate(self, obj: SyncRun) -> str:
        seconds = obj.duration_seconds
        return f"{obj.fetched / seconds:,.0f}" if seconds and obj.fetched else "–"

    @admin.display(description="Error")
    def short_error(self, obj: SyncRun) -> str:
        return obj.error[:120]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = extra_context or {}
        run = SyncRun.objects.filter(pk=object_id).only("status").first()
        # A run still going refreshes itself, so progress shows without reloading by hand.
        extra_context["auto_refresh"] = bool(run and run.status in (SyncRun.Status.QUEUED, SyncRun.Status.RUNNING))
        return super().change_view(request, object_id, form_url, extra_context)
