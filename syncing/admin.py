import logging
import re

from django.contrib import admin
from django.contrib.admin import ActionLocation
from django.contrib.admin.views.main import ChangeList
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.timesince import timesince

from issues.admin import ReadOnlyAdmin
from lib.admin_permissions import permission_required_view, user_has_perms
from lib.exports import StreamingExportMixin
from syncing import admin_actions
from syncing.models import RunLogLine, SyncRun
from syncing.monitoring.dashboard import STATUS_COLOURS
from syncing.resources import SyncRunResource
from syncing.runs.progress import pages_expected, run_progress_of, runs_live_counts
from syncing.runs.retry import RETRYABLE

BOTH = [ActionLocation.CHANGE_LIST, ActionLocation.CHANGE_FORM]
LOG_LINES_SHOWN = 1000  # a page of a run's log
RUN_REFERENCE = re.compile(r"\brun #(\d+)")


def status_dot(status: str, label: str) -> str:
    """A run's result: a dot coloured with SVG's fill attribute (the CSP allows no style attribute)."""
    return format_html(
        '<svg class="run-status" width="10" height="10" aria-hidden="true"><circle cx="5" cy="5" r="5" fill="{}"/>'
        "</svg> <b>{}</b>",
        STATUS_COLOURS.get(status, "#000"),
        label,
    )


def error_html(text: str) -> SafeString:
    """A run's error, escaped, with each "run #N" it names (the run holding a project, a retry) linked."""
    return mark_safe(
        RUN_REFERENCE.sub(
            lambda m: f'<a href="{reverse("admin:syncing_syncrun_change", args=[m.group(1)])}">{m.group(0)}</a>',
            escape(text),
        )
    )


class RunChangeList(ChangeList):
    """The run list, an instance run still going showing its project runs' counts so far."""

    def get_results(self, request: HttpRequest) -> None:
        super().get_results(request)
        runs_live_counts(list(self.result_list))


@admin.register(SyncRun)
class SyncRunAdmin(StreamingExportMixin, ReadOnlyAdmin):
    resource_classes = [SyncRunResource]
    # What an operator reads first, in six columns that fit a 1,400-px window beside the filters:
    # what ran, its result, when, how long, what it did, and why it failed.
    list_display = ("what", "status_badge", "when", "duration", "counts", "short_error")
    list_filter = ("status", "kind", "trigger", "dry_run", "instance", "project")
    list_select_related = ("instance", "project")
    raw_id_fields = ("parent",)
    show_full_result_count = False
    date_hierarchy = "created_at"
    actions = ["cancel_runs", "retry_runs"]
    fieldsets = (
        (
            None,
            {
                "fields": (
                    ("instance", "project", "parent"),
                    ("kind", "trigger", "status", "dry_run"),
                    ("created_at", "started_at", "finished_at"),
                    ("owner", "heartbeat_at", "cancel_requested"),
                    ("watermark_before", "watermark_after"),
                )
            },
        ),
        (
            "Counts as stored",
            {
                # An instance run's columns are written when it ends; Progress above sums its project runs live.
                "classes": ("collapse",),
                "description": "An instance run's counts are stored when it ends; Progress above is live.",
                "fields": (
                    ("fetched", "inserted", "updated", "unchanged", "failed_rows", "status_changes"),
                    ("requests", "retries", "rate_limited", "pages", "expected_issues", "expected_children"),
                    ("incomplete_histories", "deleted", "recovered"),
                    ("field_changes", "comments", "worklogs", "comments_deleted", "worklogs_deleted"),
                    "error",
                ),
            },
        ),
    )

    def has_cancel_permission(self, request: HttpRequest) -> bool:
        return user_has_perms(request, "syncing.cancel_syncrun")

    def has_retry_permission(self, request: HttpRequest) -> bool:
        return user_has_perms(request, "syncing.retry_syncrun")

    @admin.action(
        description="Cancel",
        description_plural="Cancel the selected runs (a running run stops at its next page)",
        location=BOTH,
        permissions=["cancel"],
    )
    def cancel_runs(self, request: HttpRequest, queryset) -> None:
        admin_actions.runs_cancel(request, queryset)

    @admin.action(
        description="Retry",
        description_plural="Retry the selected runs (queue the same kind of run again)",
        location=BOTH,
        permissions=["retry"],
    )
    def retry_runs(self, request: HttpRequest, queryset) -> None:
        admin_actions.runs_retry(request, queryset)

    def get_changelist(self, request: HttpRequest, **kwargs):
        return RunChangeList

    @admin.display(description="Run", ordering="-id")
    def what(self, obj: SyncRun) -> str:
        scope = f"{obj.instance.slug}/{obj.project.key}" if obj.project is not None else obj.instance.slug
        return format_html(
            '#{} {}{}<br><span class="quiet">{} · {}</span>',
            obj.pk,
            obj.get_kind_display(),
            " (dry run)" if obj.dry_run else "",
            scope,
            obj.trigger,
        )

    @admin.display(description="Status", ordering="status")
    def status_badge(self, obj: SyncRun) -> str:
        badge = status_dot(obj.status, obj.get_status_display())
        expected = pages_expected(obj) if obj.status == SyncRun.Status.RUNNING else None
        if obj.status == SyncRun.Status.RUNNING and obj.pages:
            pages = f"page {obj.pages:,} of ~{expected:,}" if expected else f"page {obj.pages:,}"
            return format_html('{}<br><span class="quiet run-pages">{}</span>', badge, pages)
        return badge

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
            '<span title="issues that could not be stored; requests to Jira">{}, {} req.{}</span>{}',
            f"{obj.fetched:,}",
            f"{obj.inserted:,}",
            f"{obj.updated:,}",
            failed,
            f"{obj.requests:,}",
            limited,
            self._activity_counts(obj),
        )

    @staticmethod
    def _activity_counts(obj: SyncRun) -> str:
        """A third line when the run stored field history, comments or worklogs (or soft-deleted some)."""
        parts = [
            f"{value:,} {label}"
            for value, label in (
                (obj.field_changes, "field ch."),
                (obj.comments, "comm."),
                (obj.worklogs, "worklogs"),
                (obj.comments_deleted, "comm. del."),
                (obj.worklogs_deleted, "worklogs del."),
            )
            if value
        ]
        if not parts:
            return ""
        return format_html(
            '<br><span class="run-activity" title="field history items, comments and worklogs written; comments and '
            'worklogs soft-deleted">{}</span>',
            ", ".join(parts),
        )

    @admin.display(description="Error")
    def short_error(self, obj: SyncRun) -> str:
        if not obj.error:
            return ""
        short = obj.error if len(obj.error) <= 120 else obj.error[:119] + "…"
        return format_html('<span class="run-error" title="{}">{}</span>', obj.error, error_html(short))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = extra_context or {}
        run = SyncRun.objects.select_related("instance", "project", "parent").filter(pk=object_id).first()
        if run is not None:
            # A run still going refreshes itself, so progress shows without reloading by hand.
            extra_context["auto_refresh"] = run.is_active or any(
                child.is_active for child in run.children.only("status")
            )
            extra_context["progress"] = run_progress_of(run)
            extra_context["error_html"] = error_html(run.error)
            extra_context["log_lines"] = RunLogLine.objects.filter(run__in=_with_children(run)).count()
            # A run that succeeded may still have said something worth a look (stored boards it could not read).
            extra_context["log_warnings"] = _log_lines(run, logging.WARNING).count()
            applicable = {"cancel_runs"} if run.is_active else set()
            if run.status in RETRYABLE and not run.dry_run and run.kind != SyncRun.Kind.WEBHOOK:
                applicable.add("retry_runs")
            extra_context["run_actions"] = applicable
        return super().change_view(request, object_id, form_url, extra_context)

    # --- the run's log ---------------------------------------------------------------------------
    def get_urls(self):
        def viewing(view):
            return self.admin_site.admin_view(permission_required_view("syncing.view_syncrun")(view))

        return [
            path("<int:pk>/log/", viewing(self.log_view), name="syncing_syncrun_log"),
            path("<int:pk>/log/download/", viewing(self.log_download), name="syncing_syncrun_log_download"),
            *super().get_urls(),
        ]

    def log_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """The run's log lines (and its project runs'), oldest first, a page at a time; ?level=20 hides DEBUG."""
        run = _run_or_404(pk)
        level = _level(request)
        lines = _log_lines(run, level).select_related("run__project")
        page = Paginator(lines, LOG_LINES_SHOWN).get_page(request.GET.get("page"))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": run,
            "title": f"Log of {run}",
            "page": page,
            "level": level,
            "levels": [(logging.DEBUG, "everything"), (logging.INFO, "info and above"), (logging.WARNING, "warnings")],
            "with_children": run.project_id is None,
        }
        return TemplateResponse(request, "admin/syncing/syncrun/log.html", context)

    def log_download(self, request: HttpRequest, pk: int) -> StreamingHttpResponse:
        """The whole log as text, streamed (a long run's log is never held whole in memory)."""
        run = _run_or_404(pk)
        lines = _log_lines(run, _level(request)).select_related("run__project")

        def text():
            for line in lines.iterator(chunk_size=2000):
                scope = f"[{line.run.project.key} #{line.run_id}] " if line.run.project_id else ""
                at = line.at.isoformat(timespec="milliseconds")
                yield f"{at} {logging.getLevelName(line.level)} {scope}{line.logger}: {line.message}\n"

        response = StreamingHttpResponse(text(), content_type="text/plain; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="sync-run-{run.pk}.log"'
        return response


def _run_or_404(pk: int) -> SyncRun:
    run = SyncRun.objects.select_related("instance", "project").filter(pk=pk).first()
    if run is None:
        raise Http404
    return run


def _with_children(run: SyncRun) -> list[int]:
    return [run.pk, *run.children.values_list("pk", flat=True)]


def _level(request: HttpRequest) -> int:
    value = request.GET.get("level", "")
    return int(value) if value.isdigit() else logging.DEBUG


def _log_lines(run: SyncRun, level: int):
    return RunLogLine.objects.filter(run__in=_with_children(run), level__gte=level).order_by("at", "id")
