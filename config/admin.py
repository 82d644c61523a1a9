from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest

from audit.services import Actor
from config.models import FieldMapping, FieldSource, MilestoneStatuses, StatusMilestone
from config.services import configuration_record_change, configuration_snapshot


class FieldSourceInline(admin.TabularInline):
    model = FieldSource
    fields = ("instance_slug", "paths", "jira_names", "combine", "separator")
    extra = 0


class MilestoneStatusesInline(admin.TabularInline):
    model = MilestoneStatuses
    fields = ("instance_slug", "status_names", "status_ids")
    extra = 0


class AuditedConfigurationAdmin(admin.ModelAdmin):
    """Records one audit entry per save or delete, covering the inlines too."""

    audit_kind = ""

    def save_model(self, request: HttpRequest, obj: Model, form, change: bool) -> None:
        request._audit_before = configuration_snapshot(self.audit_kind, form.initial.get("name", "")) if change else {}
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

    def delete_model(self, request: HttpRequest, obj: Model) -> None:
        before = configuration_snapshot(self.audit_kind, obj.name)
        super().delete_model(request, obj)
        configuration_record_change(
            actor=Actor.of_user(request.user), kind=self.audit_kind, name=obj.name, before=before, after={}
        )


@admin.register(FieldMapping)
class FieldMappingAdmin(AuditedConfigurationAdmin):
    audit_kind = "field"
    list_display = ("name", "label", "group", "field_type", "required", "instances")
    list_filter = ("group", "field_type", "required")
    search_fields = ("name", "label", "description")
    inlines = [FieldSourceInline]

    def get_queryset(self, request: HttpRequest):
        return super().get_queryset(request).prefetch_related("sources")

    @admin.display(description="Instances")
    def instances(self, obj: FieldMapping) -> str:
        return ", ".join(sorted(source.instance_slug for source in obj.sources.all()))


@admin.register(StatusMilestone)
class StatusMilestoneAdmin(AuditedConfigurationAdmin):
    audit_kind = "milestone"
    list_display = ("name", "label", "order")
    search_fields = ("name", "label")
    inlines = [MilestoneStatusesInline]
