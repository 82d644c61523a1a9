from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Model
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from audit.services import Actor
from config.mapping_file import MappingFileError, document_to_text, parse_mapping_text
from config.models import FieldMapping, FieldSource, MilestoneStatuses, StatusMilestone
from config.selectors import mapping_document, mapping_version
from config.services import configuration_record_change, configuration_snapshot, mappings_apply
from issues.mapping_preview import DEFAULT_LIMIT, mapping_preview, spec_for_instance
from issues.models import Issue
from lib.admin_fields import ExactValuesMixin
from lib.admin_permissions import permission_required_view
from projects.models import JiraInstance
from syncing.tasks import enqueue

PREVIEW_NOTE = "Preview only: nothing has been saved. Press Save to keep these edits."
# An import makes the stored mappings and milestones equal to the file: it may add, change and delete both.
IMPORT_PERMISSIONS = tuple(
    f"config.{verb}_{model}" for model in ("fieldmapping", "statusmilestone") for verb in ("add", "change", "delete")
)
EXPORT_PERMISSIONS = ("config.view_fieldmapping", "config.view_statusmilestone")


class FieldSourceInline(ExactValuesMixin, admin.TabularInline):
    model = FieldSource
    fields = ("instance_slug", "paths", "jira_names", "combine", "separator")
    extra = 0


class MilestoneStatusesInline(ExactValuesMixin, admin.TabularInline):
    model = MilestoneStatuses
    fields = ("instance_slug", "status_names", "status_ids")
    extra = 0


def _remap_offer(request: HttpRequest) -> None:
    url = reverse("admin:config_fieldmapping_remap")
    messages.info(
        request,
        format_html('Stored issues still carry the old values. <a href="{}">Re-map stored issues now</a>.', url),
    )


class AuditedConfigurationAdmin(ExactValuesMixin, admin.ModelAdmin):
    """Records one audit entry per save or delete, covering the inlines too, then offers a re-map."""

    audit_kind = ""

    def save_model(self, request: HttpRequest, obj: Model, form, change: bool) -> None:
        before = configuration_snapshot(self.audit_kind, form.initial.get("name", "")) if change else {}
        request._audit_before = before  # type: ignore[attr-defined]  # read by save_related
        super().save_model(request, obj, form, change)

    def save_related(self, request: HttpRequest, form, formsets, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        configuration_record_change(
            actor=Actor.of_user(request.user),
            kind=self.audit_kind,
            name=form.instance.name,
            before=getattr(request, "_audit_before", {}),
            after=configuration_snapshot(self.audit_kind, form.instance.name),
        )
        if Issue.objects.exists():
            _remap_offer(request)

    def delete_model(self, request: HttpRequest, obj: Model) -> None:
        name = obj.name  # type: ignore[attr-defined]  # a FieldMapping or a StatusMilestone
        before = configuration_snapshot(self.audit_kind, name)
        super().delete_model(request, obj)
        configuration_record_change(
            actor=Actor.of_user(request.user), kind=self.audit_kind, name=name, before=before, after={}
        )


class MappingImportForm(forms.Form):
    file = forms.FileField(
        help_text="A mapping file as `export_field_mappings` writes it (JSON), or a legacy one (field groups as an "
        "object), which is converted."
    )
    dry_run = forms.BooleanField(required=False, label="Only check it and show what would change")


class RemapForm(forms.Form):
    instance = forms.ModelChoiceField(
        JiraInstance.objects.order_by("name"), required=False, empty_label="every instance", to_field_name="slug"
    )


@admin.register(FieldMapping)
class FieldMappingAdmin(AuditedConfigurationAdmin):
    audit_kind = "field"
    list_display = ("name", "label", "group", "field_type", "required", "instances")
    list_filter = ("group", "field_type", "required")
    search_fields = ("name", "label", "description")
    inlines = [FieldSourceInline]
    change_form_template = "admin/config/fieldmapping/change_form.html"
    change_list_template = "admin/config/fieldmapping/change_list.html"

    def get_queryset(self, request: HttpRequest):
        return super().get_queryset(request).prefetch_related("sources")

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None):
        may = request.user.has_perms
        extra_context = {
            "can_import": may(IMPORT_PERMISSIONS),
            "can_export": may(EXPORT_PERMISSIONS),
            "can_remap": may(["config.change_fieldmapping"]),
            **(extra_context or {}),
        }
        return super().changelist_view(request, extra_context)

    @admin.display(description="Instances")
    def instances(self, obj: FieldMapping) -> str:
        return ", ".join(sorted(source.instance_slug for source in obj.sources.all()))

    def get_urls(self):
        def view(function, *permissions):
            return self.admin_site.admin_view(permission_required_view(*permissions)(function))

        own = [
            path("import/", view(self.import_view, *IMPORT_PERMISSIONS), name="config_fieldmapping_import"),
            path("export/", view(self.export_view, *EXPORT_PERMISSIONS), name="config_fieldmapping_export"),
            path("remap/", view(self.remap_view, "config.change_fieldmapping"), name="config_fieldmapping_remap"),
        ]
        return own + super().get_urls()

    # Preview: the edited form is validated as for a save, then refused with a note, so Django
    # re-renders it with the operator's edits while render_change_form adds the preview.
    def get_form(self, request: HttpRequest, obj=None, change: bool = False, **kwargs):
        form_class = super().get_form(request, obj, change, **kwargs)
        if request.method != "POST" or "_preview" not in request.POST:
            return form_class

        def clean(form):
            form_class.clean(form)  # the fields' own validation, so the preview sees clean values
            raise ValidationError(PREVIEW_NOTE, code="preview")

        return type(form_class.__name__, (form_class,), {"clean": clean})

    def render_change_form(self, request: HttpRequest, context: dict, add=False, change=False, form_url="", obj=None):
        context["preview_instances"] = JiraInstance.objects.order_by("name")
        context["preview_limit"] = request.POST.get("_preview_limit") or DEFAULT_LIMIT
        context["preview_slug"] = request.POST.get("_preview_instance", "")
        if request.method == "POST" and "_preview" in request.POST:
            self._add_preview(request, context)
        return super().render_change_form(request, context, add, change, form_url, obj)

    def _add_preview(self, request: HttpRequest, context: dict) -> None:
        form = context["adminform"].form
        other_errors = [e for e in form.non_field_errors() if e != PREVIEW_NOTE] or any(
            name for name in form.errors if name != "__all__"
        )
        formsets = [f.formset for f in context["inline_admin_formsets"]]
        if other_errors or not all(formset.is_valid() for formset in formsets):
            context["preview_problem"] = "Fix the errors below before previewing."
            return
        context["errors"] = []  # the refusal note is not an error to correct
        sources = {
            row["instance_slug"]: row
            for formset in formsets
            for row in formset.cleaned_data
            if row and not row.get("DELETE")
        }
        instance = JiraInstance.objects.filter(slug=context["preview_slug"]).first()
        if instance is None:
            context["preview_problem"] = "Choose an instance to preview on."
            return
        data = form.cleaned_data
        found = spec_for_instance(
            data["name"], data["field_type"], data["required"], data.get("default"), sources, instance.slug
        )
        if found is None:
            context["preview_problem"] = f'No source for instance "{instance.slug}" (nor "*"): nothing would be mapped.'
            return
        try:
            limit = int(context["preview_limit"])
        except ValueError:
            limit = DEFAULT_LIMIT
        old_name = form.initial.get("name") or data["name"]
        try:
            context["preview"] = mapping_preview(
                old_name=old_name, spec=found[1], source_slug=found[0], instance=instance, limit=limit
            )
        except ValueError as exc:
            context["preview_problem"] = str(exc)

    def import_view(self, request: HttpRequest) -> HttpResponse:
        form = MappingImportForm(request.POST or None, request.FILES or None)
        context = {**self.admin_site.each_context(request), "opts": self.opts, "form": form, "title": "Import mappings"}
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                document = parse_mapping_text(upload.read())
            except MappingFileError as exc:
                context["problems"] = exc.problems
            else:
                report = mappings_apply(
                    document=document,
                    actor=Actor.of_user(request.user),
                    dry_run=form.cleaned_data["dry_run"],
                    origin=f"admin upload {upload.name}",
                )
                context["report"] = report
                context["dry_run"] = form.cleaned_data["dry_run"]
                if report.changed and not form.cleaned_data["dry_run"]:
                    notes = "".join(f"; {note}" for note in report.notes)
                    messages.success(request, f"Imported {upload.name}: {report.summary()}{notes}")
                    if Issue.objects.exists():
                        _remap_offer(request)
                    return HttpResponseRedirect(reverse("admin:config_fieldmapping_changelist"))
        return TemplateResponse(request, "admin/config/fieldmapping/import.html", context)

    def export_view(self, request: HttpRequest) -> HttpResponse:
        document = mapping_document()
        response = HttpResponse(document_to_text(document), content_type="application/json")
        response["Content-Disposition"] = f'attachment; filename="field_mappings-{mapping_version(document)}.json"'
        return response

    def remap_view(self, request: HttpRequest) -> HttpResponse:
        form = RemapForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            instance = form.cleaned_data["instance"]
            slug = instance.slug if instance else None
            enqueue("syncing.tasks.remap_task", slug, request.user.get_username(), task_name="remap issues")
            messages.success(
                request,
                f"Re-map of the stored issues of {slug or 'every instance'} queued; "
                "the audit log records it when done.",
            )
            return HttpResponseRedirect(reverse("admin:config_fieldmapping_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "form": form,
            "title": "Re-map stored issues",
            "issues": Issue.objects.filter(deleted_at__isnull=True).count(),
            "version": mapping_version(),
        }
        return TemplateResponse(request, "admin/config/fieldmapping/remap.html", context)


@admin.register(StatusMilestone)
class StatusMilestoneAdmin(AuditedConfigurationAdmin):
    audit_kind = "milestone"
    list_display = ("name", "label", "order")
    search_fields = ("name", "label")
    inlines = [MilestoneStatusesInline]
