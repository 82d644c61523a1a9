from django.contrib import admin
from django.http import HttpRequest

from audit.services import Actor
from projects.forms import JiraInstanceForm
from projects.models import JiraInstance, Project
from projects.services import instance_delete, instance_save


class ProjectInline(admin.TabularInline):
    model = Project
    fields = ("key", "name", "enabled", "sync_watermark", "last_full_sync_at")
    readonly_fields = ("key", "name", "sync_watermark", "last_full_sync_at")
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: JiraInstance | None = None) -> bool:
        return False


@admin.register(JiraInstance)
class JiraInstanceAdmin(admin.ModelAdmin):
    form = JiraInstanceForm
    list_display = ("name", "slug", "base_url", "effective_flavour", "auth_kind", "enabled", "time_zone")
    list_filter = ("enabled", "flavour", "auth_kind")
    search_fields = ("name", "slug", "base_url")
    prepopulated_fields = {"slug": ("name",)}
    readonly_fields = ("detected_flavour", "time_zone", "created_at", "updated_at")
    inlines = [ProjectInline]

    @admin.display(description="Flavour")
    def effective_flavour(self, obj: JiraInstance) -> str:
        return obj.get_flavour_display() if obj.flavour != "auto" else f"auto ({obj.detected_flavour or '?'})"

    def save_model(self, request: HttpRequest, obj: JiraInstance, form: JiraInstanceForm, change: bool) -> None:
        instance_save(instance=obj, actor=Actor.of_user(request.user), token=form.cleaned_data.get("token") or None)

    def delete_model(self, request: HttpRequest, obj: JiraInstance) -> None:
        instance_delete(instance=obj, actor=Actor.of_user(request.user))


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ("key", "name", "instance", "enabled", "sync_watermark", "last_full_sync_at", "last_census_at")
    list_filter = ("enabled", "instance")
    list_select_related = ("instance",)
    search_fields = ("key", "name")
    list_editable = ("enabled",)
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
