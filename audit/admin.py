import json

from django.apps import apps
from django.contrib import admin
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponseRedirect
from django.urls import NoReverseMatch, path, reverse
from django.utils.html import format_html, format_html_join

from audit.models import AuditLog
from lib.admin_permissions import permission_required_view
from lib.pagination import CappedCountPaginator

# What an operator wants to see apart: who changed the configuration, who pressed a button, what the
# syncs did to issues, and the syncs' own start and end (many; filtered away from the rest).
ENTRY_KINDS = {
    "configuration": (
        "configuration changes",
        Q(
            object_type__in=[
                "config.fieldmapping",
                "config.statusmilestone",
                "projects.jirainstance",
                "projects.project",
            ]
        )
        & ~Q(action__in=["test_connection", "sync_request"]),
    ),
    "operator": (
        "operator actions (sync now, test connection, re-map)",
        Q(action__in=["test_connection", "sync_request", "remap"]),
    ),
    "sync": ("sync start and end", Q(action__in=["sync_start", "sync_end"])),
    "issues": ("issue changes by syncs", Q(object_type="issues.issue") & ~Q(action="remap")),
}


class EntryKindFilter(admin.SimpleListFilter):
    title = "kind"
    parameter_name = "kind"

    def lookups(self, request: HttpRequest, model_admin) -> list[tuple[str, str]]:
        lookups = [(name, label) for name, (label, _) in ENTRY_KINDS.items()]
        return [*lookups, ("not_sync", "everything but sync start and end")]

    def queryset(self, request: HttpRequest, queryset):
        kind = self.value()
        if kind == "not_sync":
            return queryset.exclude(ENTRY_KINDS["sync"][1])
        if kind is not None and kind in ENTRY_KINDS:
            return queryset.filter(ENTRY_KINDS[kind][1])
        return queryset


# Configuration entries name their object, not its primary key.
LOOKUP_FIELD = {"config.fieldmapping": "name", "config.statusmilestone": "name"}


def _shown(value) -> str:
    if value is None or value == "":
        return "–"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def audited_object_url(entry: AuditLog) -> str | None:
    """The admin page of the object an entry is about, if it still exists."""
    try:
        model = apps.get_model(entry.object_type)
    except (LookupError, ValueError):
        return None
    if not entry.object_id:
        return None
    found = model._default_manager.filter(**{LOOKUP_FIELD.get(entry.object_type, "pk"): entry.object_id})
    pk = found.values_list("pk", flat=True).first()
    if pk is None:
        return None
    try:
        return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_change", args=[pk])
    except NoReverseMatch:
        return None


@admin.register(AuditLog)
class AuditLogAdmin(admin.ModelAdmin):
    list_display = ("at", "actor", "action", "object_type", "object_link", "instance_slug", "summary")
    list_filter = (EntryKindFilter, "action", "object_type", "actor", "instance_slug", "at")
    search_fields = ("object_repr", "summary")
    date_hierarchy = "at"
    show_full_result_count = False
    paginator = CappedCountPaginator
    fields = (
        ("at", "actor"),
        ("action", "object_type"),
        "object_link",
        "instance_slug",
        "summary",
        "changes_table",
        "sync_run",
    )
    readonly_fields = (
        "at",
        "actor",
        "action",
        "object_type",
        "object_link",
        "instance_slug",
        "summary",
        "changes_table",
        "sync_run",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuditLog | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AuditLog | None = None) -> bool:
        return False

    def get_urls(self):
        view = self.admin_site.admin_view(permission_required_view("audit.view_auditlog")(self.object_redirect))
        return [path("<int:pk>/object/", view, name="audit_auditlog_object"), *super().get_urls()]

    def object_redirect(self, request: HttpRequest, pk: int) -> HttpResponseRedirect:
        entry = AuditLog.objects.filter(pk=pk).first()
        url = entry and audited_object_url(entry)
        if not url:
            raise Http404("That object no longer exists.")
        return HttpResponseRedirect(url)

    @admin.display(description="Object")
    def object_link(self, obj: AuditLog) -> str:
        # A redirect, resolved on click: linking every row directly would cost a query per row.
        if not obj.object_id:
            return obj.object_repr or "–"
        return format_html(
            '<a href="{}">{}</a>', reverse("admin:audit_auditlog_object", args=[obj.pk]), obj.object_repr or "?"
        )

    @admin.display(description="Changes")
    def changes_table(self, obj: AuditLog) -> str:
        if not obj.changes:
            return "–"
        rows = format_html_join(
            "",
            '<tr><th scope="row"><code>{}</code></th><td class="audit-old"><del>{}</del></td>'
            '<td>→</td><td class="audit-new"><ins>{}</ins></td></tr>',
            ((name, _shown(pair[0]), _shown(pair[1])) for name, pair in sorted(obj.changes.items())),
        )
        return format_html(
            '<table class="audit-diff"><thead><tr><th>Field</th><th>Before</th><th></th><th>After</th></tr></thead>'
            "<tbody>{}</tbody></table>",
            rows,
        )
