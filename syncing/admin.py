from django.contrib import admin
from django.utils import timezone
from django.utils.html import format_html
from django.utils.timesince import timesince

from issues.admin import ReadOnlyAdmin
from jirasync_site.exports import StreamingExportMixin
from syncing.dashboard import STATUS_COLOURS
from syncing.models import SyncRun
from syncing.resources import SyncRunResource


def status_dot(status: str, label: str) -> str:
    """A run's result: a dot coloured with SVG's fill attribute (the CSP allows no style attribute)."""
    return format_html(
        '<svg class="run-status" width="10" height="10" aria-hidden="true"><circle cx="5" cy="5" r="5" fill="{}"/>'
        "</svg> <b>{}</b>",
        STATUS_COLOURS.get(status, "#000"),
        label,
    )


@admin.register(SyncRun)
class SyncRunAdmin(StreamingExportMixin, ReadOnlyAdmin):
    resource_classes = [SyncRunResource]
    # What an operator reads first, in six columns that fit a 1,400-px window beside the filters:
    # what ran, its result, when, how long, what it did, and why it failed.
    list_display = ("what", "status_badge", "when", "duration", "counts", "short_error")
    list_filter = ("status", "kind", "trigger", "instance", "project")
    list_select_related = ("instance", "project")
    raw_id_fields = ("parent",)
    show_full_result_count = False
    date_hierarchy = "created_at"

    @admin.display(description="Run", ordering="-id")
    def what(self, obj: SyncRun) -> str:
        scope = f"{obj.instance.slug}/{obj.project.key}" if obj.project_id else obj.instance.slug
        return format_html(
            '#{} {}<br><span class="quiet">{} · {}</span>', obj.pk, obj.get_kind_display(), scope, obj.trigger
        )

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

    @admin.display(description="When", ordering="created_at")
    def when(self, obj: SyncRun) -> str:
        at = timezone.localtime(obj.started_at or obj.created_at)
        return format_html(
            '<span title="{}">{}</span><br><span class="quiet">{} ago</span>',
            at.isoformat(timespec="seconds"),
            at.strftime("%b %d %H:%M"),
            timesince(at, depth=1),
        )

    @admin.display(description="Duration")
    def duration(self, obj: SyncRun) -> str:
        seconds = obj.duration_seconds
        if seconds is None:
            return "–"
        if not (seconds and obj.fetched):
            return f"{seconds:,.1f} s"
        return format_html("{} s<br>{}/s", f"{seconds:,.1f}", f"{obj.fetched / seconds:,.0f}")

    @admin.display(description="Counts")
    def counts(self, obj: SyncRun) -> str:
        failed = format_html("<b>{} failed</b>", obj.failed_rows) if obj.failed_rows else "0 failed"
        limited = format_html(", <b>{} × 429</b>", obj.rate_limited) if obj.rate_limited else ""
        return format_html(
            '<span title="issues read, inserted, updated">{} read, {} new, {} upd.</span><br>'
            '<span title="issues that could not be stored; requests to Jira">{}, {} req.{}</span>',
            f"{obj.fetched:,}",
            f"{obj.inserted:,}",
            f"{obj.updated:,}",
            failed,
            f"{obj.requests:,}",
            limited,
        )

    @admin.display(description="Error")
    def short_error(self, obj: SyncRun) -> str:
        if not obj.error:
            return ""
        short = obj.error if len(obj.error) <= 120 else obj.error[:119] + "…"
        return format_html('<span class="run-error" title="{}">{}</span>', obj.error, short)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = extra_context or {}
        run = SyncRun.objects.filter(pk=object_id).only("status").first()
        # A run still going refreshes itself, so progress shows without reloading by hand.
        extra_context["auto_refresh"] = bool(run and run.status in (SyncRun.Status.QUEUED, SyncRun.Status.RUNNING))
        return super().change_view(request, object_id, form_url, extra_context)
