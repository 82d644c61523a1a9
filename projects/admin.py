from dataclasses import dataclass
from weakref import WeakKeyDictionary

from django.contrib import admin, messages
from django.contrib.admin import ActionLocation
from django.contrib.admin.actions import delete_selected as delete_selected_confirmation
from django.contrib.admin.options import csrf_protect_m
from django.contrib.admin.views.main import ChangeList
from django.db.models import Count, OuterRef, Q, Subquery
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.defaultfilters import pluralize
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.timesince import timesince

from audit.services import Actor
from config.selectors import field_specs_for_instance
from lib.admin_fields import ExactValuesMixin
from lib.admin_form_actions import FormActionsOutsideTransactionMixin
from lib.admin_permissions import permission_required_view, user_has_perms
from lib.log_redaction import redact
from projects.field_history_setting import field_history_hints
from projects.forms import JiraInstanceForm
from projects.models import JiraInstance, Project
from projects.services import project_save, projects_set_enabled
from syncing import admin_actions
from syncing.admin import status_dot
from syncing.instance_settings import instance_save, instances_set_schedules_paused
from syncing.jira.errors import JiraError
from syncing.models import SyncRun
from syncing.monitoring.dashboard import InstanceHealth, instances_health
from syncing.runs.instance_deletion import DeletionStart, instance_deletion_counts, instance_deletion_start
from syncing.runs.schedules import instances_schedule_states
from syncing.site.connection_test import InstanceReport, instance_check_unsaved, without_name
from syncing.site.field_discovery import instance_fields_discover
from syncing.site.jql_validation import instance_jql_parse_problems

# Actions offered on the list (for the selected rows) and on each object's own page.
BOTH = [ActionLocation.CHANGE_LIST, ActionLocation.CHANGE_FORM]
# Starting syncs and censuses (of instances and of projects) is a permission of its own.
SYNC_PERMISSION = "projects.sync_jirainstance"


class SyncPermissionMixin:
    def has_sync_permission(self, request: HttpRequest) -> bool:
        return user_has_perms(request, SYNC_PERMISSION)


class ProjectInline(admin.TabularInline):
    model = Project
    fields = ("key", "name", "enabled", "sync_watermark", "last_full_sync_at")
    readonly_fields = ("key", "name", "sync_watermark", "last_full_sync_at")
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: JiraInstance | None = None) -> bool:
        return False


class InstanceChangeList(ChangeList):
    """The instance list, each row carrying its health and schedules (a few queries for the page, not per row)."""

    def get_results(self, request: HttpRequest) -> None:
        super().get_results(request)
        health = instances_health(self.result_list)
        schedules = instances_schedule_states(self.result_list)
        for instance in self.result_list:
            instance.health = health[instance.pk]
            instance.schedule_states = schedules[instance.pk]


@dataclass
class SaveCheck:
    """What an instance's change form learnt from Jira before Django's save began (see changeform_view)."""

    report: InstanceReport | None = None  # the connection test of what was typed, when it ran
    note: str = ""  # for the audit entry
    jql_parse_problems: list[str] | None = None


# One per POST being saved, read by get_form and save_model of the same request.
_save_checks: "WeakKeyDictionary[HttpRequest, SaveCheck]" = WeakKeyDictionary()


@admin.register(JiraInstance)
class JiraInstanceAdmin(FormActionsOutsideTransactionMixin, SyncPermissionMixin, ExactValuesMixin, admin.ModelAdmin):
    form = JiraInstanceForm
    list_display = ("name", "slug", "health", "last_run", "next_runs", "effective_flavour", "enabled")
    list_filter = ("enabled", "schedules_paused", "flavour", "auth_kind")
    search_fields = ("name", "slug", "base_url")
    prepopulated_fields = {"slug": ("name",)}
    readonly_fields = ("detected_flavour", "time_zone", "webhook_url", "schedule_state", "created_at", "updated_at")
    fieldsets = [
        (None, {"fields": ("name", "slug", "enabled")}),
        (
            "Connection",
            {
                "fields": (
                    "base_url",
                    "allow_insecure_http",
                    "flavour",
                    "detected_flavour",
                    "auth_kind",
                    "username",
                    "token",
                    "save_anyway",
                    "time_zone",
                )
            },
        ),
        (
            "Syncing",
            {
                "fields": (
                    "request_budget",
                    "max_parallel_projects",
                    "jql_filter",
                    "enable_new_projects",
                    "field_history",
                    ("sync_comments", "sync_worklogs"),
                )
            },
        ),
        (
            "Schedule",
            {
                "fields": (
                    "schedules_paused",
                    "incremental_every_minutes",
                    "full_every_minutes",
                    "full_cron",
                    "census_every_minutes",
                    "schedule_state",
                ),
                "description": "Times are UTC. A full sync (by schedule, Sync now or sync_jira --full) moves the next "
                "scheduled full, census and incremental an interval after it ends.",
            },
        ),
        ("Webhooks", {"fields": ("webhook_secret", "webhook_url")}),
        ("Record", {"fields": ("created_at", "updated_at")}),
    ]
    inlines = [ProjectInline]
    actions = [
        "test_connection",
        "discover_projects",
        "discover_fields",
        "sync_incremental",
        "sync_full",
        "census",
        "pause_schedules",
        "resume_schedules",
        "delete_selected",
    ]
    delete_confirmation_template = "admin/projects/jirainstance/delete_confirmation.html"
    delete_selected_confirmation_template = "admin/projects/jirainstance/delete_selected_confirmation.html"

    # Test connection and the discoveries send the stored token and record what Jira said: change permission.
    @admin.action(description="Test connection", location=BOTH, permissions=["change"])
    def test_connection(self, request: HttpRequest, queryset) -> None:
        admin_actions.instances_test_connection(request, queryset)

    @admin.action(description="Discover projects", location=BOTH, permissions=["change"])
    def discover_projects(self, request: HttpRequest, queryset) -> None:
        admin_actions.instances_discover_projects(request, queryset)

    @admin.action(description="Discover fields", location=BOTH, permissions=["change"])
    def discover_fields(self, request: HttpRequest, queryset) -> HttpResponse | None:
        if queryset.count() != 1:
            messages.warning(request, "Discover fields looks at one instance at a time: select exactly one.")
            return None
        if not admin_actions.instances_not_being_deleted(request, queryset):
            return None
        return HttpResponseRedirect(reverse("admin:projects_jirainstance_fields", args=[queryset.get().pk]))

    @admin.action(description="Sync now (incremental)", location=BOTH, permissions=["sync"])
    def sync_incremental(self, request: HttpRequest, queryset) -> None:
        admin_actions.instances_sync_now(request, queryset, "incremental")

    @admin.action(description="Sync now (full, then census)", location=BOTH, permissions=["sync"])
    def sync_full(self, request: HttpRequest, queryset) -> None:
        admin_actions.instances_sync_now(request, queryset, "full")

    @admin.action(description="Census now (deleted and moved issues)", location=BOTH, permissions=["sync"])
    def census(self, request: HttpRequest, queryset) -> None:
        admin_actions.instances_sync_now(request, queryset, "census")

    # Pausing and resuming change an instance's settings (as editing its intervals does): change permission.
    @admin.action(description="Pause schedules", location=BOTH, permissions=["change"])
    def pause_schedules(self, request: HttpRequest, queryset) -> None:
        changed = instances_set_schedules_paused(instances=queryset, paused=True, actor=Actor.of_user(request.user))
        self.message_user(request, f"schedules of {changed} instance{pluralize(changed)} paused")

    @admin.action(description="Resume schedules", location=BOTH, permissions=["change"])
    def resume_schedules(self, request: HttpRequest, queryset) -> None:
        changed = instances_set_schedules_paused(instances=queryset, paused=False, actor=Actor.of_user(request.user))
        self.message_user(request, f"schedules of {changed} instance{pluralize(changed)} resumed")

    # Deleting: Django's confirmation and delete views, with the counts of what goes and the work left to a task.
    @admin.action(
        description="Delete the selected Jira instances (data removed in the background)", permissions=["delete"]
    )
    def delete_selected(self, request: HttpRequest, queryset) -> HttpResponse | None:
        if not request.POST.get("post"):
            return delete_selected_confirmation(self, request, queryset)  # the counts, from get_deleted_objects
        instances = list(queryset)
        self.log_deletions(request, instances)  # type: ignore[arg-type]  # a list serves as the queryset does
        self.delete_queryset(request, instances)
        return None

    @csrf_protect_m
    def delete_view(self, request: HttpRequest, object_id, extra_context=None) -> HttpResponse:
        # Django's view, without the transaction it wraps a post in (on SQLite's IMMEDIATE mode the write lock,
        # held while everything is counted): instance_deletion_start opens its own short one.
        return self._delete_view(request, object_id, extra_context)  # type: ignore[attr-defined]

    def get_deleted_objects(self, objs, request: HttpRequest):
        """What goes with the instances, counted on indexes rather than listed row by row (an instance holds
        millions); they go with it by design, so the instance's delete permission is all it takes."""
        instances = list(objs)
        counts = instance_deletion_counts([instance.pk for instance in instances])
        listed = [
            f"{i.name} (being deleted since {i.deleting_since:%Y-%m-%d %H:%M} UTC: confirm to resume)"
            if i.being_deleted
            else i.name
            for i in instances
        ]
        model_count = {
            "Jira instances": len(instances),
            "issues (with their histories and raw JSON)": counts.issues,
            "sync runs": counts.runs,
            "projects": counts.projects,
        }
        return listed, model_count, set(), []

    def delete_model(self, request: HttpRequest, obj: JiraInstance) -> None:
        started = instance_deletion_start(instance=obj, actor=Actor.of_user(request.user))
        self.message_user(request, self._deletion_message(obj, started), messages.SUCCESS)

    def delete_queryset(self, request: HttpRequest, queryset) -> None:
        for instance in queryset:
            self.delete_model(request, instance)

    def response_delete(self, request: HttpRequest, obj_display: str, obj_id) -> HttpResponse:
        # Not Django's "deleted successfully": it is being deleted, and delete_model said so.
        return HttpResponseRedirect(reverse("admin:projects_jirainstance_changelist"))

    @staticmethod
    def _deletion_message(instance: JiraInstance, started: DeletionStart) -> str:
        if started.resumed:
            return (
                f"{instance.name} was already being deleted: its removal is queued again and resumes where it "
                f"stopped ({started.counts.phrase()} left)"
            )
        return (
            f"{instance.name} is being deleted: it no longer syncs, and {started.counts.phrase()} are removed in "
            "the background; it stays in this list, marked, until it is gone"
        )

    def has_change_permission(self, request: HttpRequest, obj: JiraInstance | None = None) -> bool:
        if obj is not None and obj.being_deleted:
            return False  # its page stays readable; nothing of it can change any more
        return super().has_change_permission(request, obj)

    def get_changelist(self, request: HttpRequest, **kwargs):
        return InstanceChangeList

    @admin.display(description="Next runs")
    def next_runs(self, obj: JiraInstance) -> str:
        states = obj.schedule_states  # type: ignore[attr-defined]  # set per page by InstanceChangeList
        if not states:
            return "none scheduled"
        return format_html_join("", "<div>{}: {}</div>", ((state.purpose, state.when()) for state in states))

    @admin.display(description="Schedules now")
    def schedule_state(self, obj: JiraInstance) -> str:
        if not obj.pk:
            return "created when the instance is saved"
        states = instances_schedule_states([obj])[obj.pk]
        if not states:
            return "none scheduled"
        rows = (
            (
                state.purpose,
                state.every,
                state.next_run.strftime("%Y-%m-%d %H:%M UTC") if state.next_run else "–",
                state.when(),
            )
            for state in states
        )
        return format_html(
            '<table class="js-schedules"><tr><th>schedule</th><th>how often</th><th>next run</th><th></th></tr>'
            "{}</table>",
            format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", rows),
        )

    @admin.display(description="Health")
    def health(self, obj: JiraInstance) -> str:
        if obj.deleting_since is not None:  # being deleted
            return format_html(
                '{} <span class="quiet">since {} ago, asked by {}; its data is being removed</span>',
                status_dot("cancelled", "being deleted"),
                timesince(obj.deleting_since, depth=1),
                obj.deleting_by,
            )
        item: InstanceHealth = obj.health  # type: ignore[attr-defined]  # set per page by InstanceChangeList
        colour = {"ok": "succeeded", "warning": "partial", "failing": "failed"}.get(item.state, "skipped")
        if item.failing_projects:
            why = f"last run failed: {', '.join(item.failing_projects)}"
        elif item.last_success:
            why = f"last success {timesince(item.last_success, depth=1)} ago"
        else:
            why = "no successful sync yet"
        if item.failed_runs_24h:
            why += f"; {item.failed_runs_24h} failed run{pluralize(item.failed_runs_24h)} in 24 h"
        return format_html('{} <span class="quiet">{}</span>', status_dot(colour, item.state), why)

    @admin.display(description="Last run")
    def last_run(self, obj: JiraInstance) -> str:
        run: SyncRun | None = obj.health.last_run  # type: ignore[attr-defined]
        if run is None:
            return "never"
        return format_html(
            '<a href="{}">#{} {} {}</a> <span class="quiet">{} ago</span>',
            reverse("admin:syncing_syncrun_change", args=[run.pk]),
            run.pk,
            run.get_kind_display().lower(),
            run.get_status_display().lower(),
            timesince(run.created_at, depth=1),
        )

    def get_urls(self):
        view = self.admin_site.admin_view(permission_required_view("projects.change_jirainstance")(self.fields_view))
        return [path("<int:pk>/fields/", view, name="projects_jirainstance_fields"), *super().get_urls()]

    def fields_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        instance = JiraInstance.objects.filter(pk=pk).first()
        if instance is None:
            raise Http404
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": instance,
            "title": f"Fields of {instance.name}",
        }
        if instance.being_deleted:
            context["problem"] = "it is being deleted: Jira is no longer asked anything for it"
            return TemplateResponse(request, "admin/projects/jirainstance/fields.html", context)
        try:
            context["catalogue"] = instance_fields_discover(instance)
        except JiraError as exc:
            # Jira (or a proxy) may echo the credentials it was sent; the page is about the instance already.
            context["problem"] = without_name(instance, redact(str(exc)))
        return TemplateResponse(request, "admin/projects/jirainstance/fields.html", context)

    @admin.display(description="Webhook URL")
    def webhook_url(self, obj: JiraInstance) -> str:
        if not obj.pk:
            return "–"
        path = reverse("jira_webhook", args=[obj.slug])
        state = "enabled" if obj.webhook_secret_encrypted else "disabled until a webhook secret is set"
        return format_html(
            "<code>https://&lt;this host&gt;{}</code> — Cloud: set the secret on the webhook; "
            "Data Center: append <code>?token=&lt;the webhook secret&gt;</code>. Webhooks are {}.",
            path,
            state,
        )

    @admin.display(description="Flavour")
    def effective_flavour(self, obj: JiraInstance) -> str:
        return obj.get_flavour_display() if obj.flavour != "auto" else f"auto ({obj.detected_flavour or '?'})"

    def changeform_view(self, request: HttpRequest, object_id=None, form_url="", extra_context=None):
        may_save = self.has_change_permission(request) if object_id else self.has_add_permission(request)
        if request.method == "POST" and may_save and not self.is_form_action(request):
            # Jira is asked here, before Django opens the save's transaction: no Jira request inside a
            # transaction (on SQLite it would hold the write lock meanwhile).
            edited = self._edited_instance(request, object_id)
            check = self._connection_test(request, edited)
            check.jql_parse_problems = instance_jql_parse_problems(edited, request.POST.get("jql_filter", "").strip())
            _save_checks[request] = check
        return super().changeform_view(request, object_id, form_url, extra_context)

    def _connection_test(self, request: HttpRequest, edited: JiraInstance) -> "SaveCheck":
        """Test what was typed (a new instance, or a token typed again) unless the operator insists on saving."""
        if edited.pk or not edited.has_token:
            return SaveCheck()  # the stored token and the URL it was entered for: nothing new to test
        if request.POST.get("save_anyway"):
            return SaveCheck(note="saved without a connection test")
        report = instance_check_unsaved(edited, field_specs_for_instance(edited.slug))
        if report is None or not report.ok:
            return SaveCheck(report=report)
        return SaveCheck(
            report=report,
            note=f"connection tested: {report.flavour} {report.version}, {len(report.projects)} projects visible",
        )

    def _edited_instance(self, request: HttpRequest, object_id) -> JiraInstance:
        """The instance as the POST has it, not saved: with the token typed, else the stored instance when
        the URL, auth kind and user name are unchanged (its token goes only where it was entered for)."""
        stored = JiraInstance.objects.filter(pk=object_id).first() if object_id else None
        edited = JiraInstance(
            name=request.POST.get("name", ""),
            slug=request.POST.get("slug", ""),
            base_url=request.POST.get("base_url", "").strip(),
            auth_kind=request.POST.get("auth_kind", ""),
            username=request.POST.get("username", ""),
            flavour=request.POST.get("flavour", "auto"),
            allow_insecure_http=bool(request.POST.get("allow_insecure_http")),
        )
        token = request.POST.get("token", "").strip()
        if not token and stored is not None and not edited.credentials_changed(stored):
            edited = stored  # the stored token, with the URL it was entered for
        elif token:
            edited.set_token(token)
        return edited

    def get_form(self, request: HttpRequest, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        check = _save_checks.get(request, SaveCheck())
        form.jql_parse_problems = check.jql_parse_problems  # type: ignore[attr-defined]  # a JiraInstanceForm
        form.connection_problem = check.report.problem if check.report and not check.report.ok else None  # type: ignore[attr-defined]
        return form

    def save_model(self, request: HttpRequest, obj: JiraInstance, form: JiraInstanceForm, change: bool) -> None:
        check = _save_checks.get(request, SaveCheck())
        report = check.report
        if report is not None and report.ok:  # what Jira said of the URL being saved
            obj.detected_flavour, obj.time_zone = report.flavour, report.time_zone
        instance_save(
            instance=obj,
            actor=Actor.of_user(request.user),
            token=form.cleaned_data.get("token") or None,
            webhook_secret=form.cleaned_data.get("webhook_secret") or None,
            note=check.note,
        )
        if report is not None and report.ok:
            messages.success(request, f"{obj.name}: " + " · ".join(report.lines()))
        for hint in field_history_hints(obj.field_history):
            messages.warning(request, f"{obj.name}: field history: {hint}.")

    def save_formset(self, request: HttpRequest, form, formset, change: bool) -> None:
        """The projects inline: each change audited and written as project_save writes it."""
        for project in formset.save(commit=False):
            project_save(project=project, actor=Actor.of_user(request.user))


@admin.register(Project)
class ProjectAdmin(FormActionsOutsideTransactionMixin, SyncPermissionMixin, ExactValuesMixin, admin.ModelAdmin):
    list_display = (
        "key",
        "name",
        "instance",
        "enabled",
        "issues_stored",
        "census_count",
        "sync_watermark",
        "last_run",
        "last_full_sync_at",
        "last_census_at",
    )
    list_filter = ("enabled", "instance")
    list_select_related = ("instance",)
    search_fields = ("key", "name")
    list_editable = ("enabled",)
    actions = ["enable", "disable", "sync_incremental", "sync_full"]

    def get_queryset(self, request: HttpRequest):
        last = SyncRun.objects.filter(project=OuterRef("pk")).exclude(kind=SyncRun.Kind.CENSUS).order_by("-created_at")
        return (
            super()
            .get_queryset(request)
            .annotate(
                live_issues=Count("issues", filter=Q(issues__deleted_at__isnull=True)),
                last_status=Subquery(last.values("status")[:1]),
                last_at=Subquery(last.values("created_at")[:1]),
            )
        )

    @admin.display(description="Issues", ordering="live_issues")
    def issues_stored(self, obj: Project) -> int:
        return obj.live_issues  # type: ignore[attr-defined]  # annotated by get_queryset

    @admin.display(description="Last run")
    def last_run(self, obj: Project) -> str:
        status, at = obj.last_status, obj.last_at  # type: ignore[attr-defined]  # annotated by get_queryset
        if not status:
            return "never"
        return f"{status}, {timesince(at)} ago"

    @admin.action(description="Enable the selected projects", permissions=["change"])
    def enable(self, request: HttpRequest, queryset) -> None:
        changed = projects_set_enabled(projects=queryset, enabled=True, actor=Actor.of_user(request.user))
        self.message_user(request, f"{changed} projects enabled")

    @admin.action(description="Disable the selected projects", permissions=["change"])
    def disable(self, request: HttpRequest, queryset) -> None:
        changed = projects_set_enabled(projects=queryset, enabled=False, actor=Actor.of_user(request.user))
        self.message_user(request, f"{changed} projects disabled")

    def save_model(self, request: HttpRequest, obj: Project, form, change: bool) -> None:
        """The change form and the list's enable toggles: audited, and only the editable column written."""
        project_save(project=obj, actor=Actor.of_user(request.user))

    @admin.action(description="Sync now (incremental)", location=BOTH, permissions=["sync"])
    def sync_incremental(self, request: HttpRequest, queryset) -> None:
        admin_actions.projects_sync_now(request, queryset, "incremental")

    @admin.action(description="Sync now (full)", location=BOTH, permissions=["sync"])
    def sync_full(self, request: HttpRequest, queryset) -> None:
        admin_actions.projects_sync_now(request, queryset, "full")

    readonly_fields = (
        "instance",
        "jira_id",
        "key",
        "name",
        "sync_watermark",
        "last_full_sync_at",
        "last_census_at",
        "created_at",
        "updated_at",
    )
