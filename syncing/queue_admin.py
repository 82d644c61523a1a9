"""django-q2's models in admin, read-only: a schedule or task names any importable function, so editing
one from admin would run arbitrary code (`subprocess.getoutput`) as the worker, with its secrets.

Schedules are made by `ensure_schedules` and by saving an instance; tasks by jirasync's own code.
Here they can be looked at, queued tasks deleted, and failed or finished jirasync tasks resubmitted
by whoever may change them — never a function outside syncing.tasks.TASK_FUNCTIONS.
"""

from django.contrib import admin, messages
from django.http import HttpRequest
from django_q import admin as django_q_admin
from django_q.models import Failure, OrmQ, Schedule, Success
from django_q.tasks import async_task

from lib.admin_mixin import ModelAdminMixin
from lib.admin_permissions import user_has_perms
from syncing.tasks import TASK_FUNCTIONS


class ReadOnlyQueueAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class ScheduleAdmin(ReadOnlyQueueAdmin, django_q_admin.ScheduleAdmin):
    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # an instance's schedules follow its settings; ensure_schedules recreates the others


class ResubmitMixin(ModelAdminMixin):
    actions = ["resubmit"]

    def has_resubmit_permission(self, request: HttpRequest) -> bool:
        return user_has_perms(request, f"django_q.change_{self.opts.model_name}")

    @admin.action(description="Resubmit the selected tasks to the queue", permissions=["resubmit"])
    def resubmit(self, request: HttpRequest, queryset) -> None:
        queued, refused = 0, []
        for task in queryset:
            if task.func not in TASK_FUNCTIONS:
                refused.append(task.func)
                continue
            async_task(task.func, *(task.args or ()), group=task.group, **(task.kwargs or {}))
            if isinstance(task, Failure):
                task.delete()
            queued += 1
        self.message_user(request, f"{queued} tasks resubmitted")
        if refused:
            messages.error(request, f"not jirasync's tasks, not resubmitted: {', '.join(sorted(set(refused)))}")


class SuccessAdmin(ResubmitMixin, ReadOnlyQueueAdmin, django_q_admin.TaskAdmin):
    pass


class FailureAdmin(ResubmitMixin, ReadOnlyQueueAdmin, django_q_admin.FailAdmin):
    pass


class QueuedAdmin(ReadOnlyQueueAdmin, django_q_admin.QueueAdmin):
    pass


def queue_admin_register(site: admin.AdminSite) -> None:
    """Replace django-q2's own registrations (editable schedules, unguarded resubmit) with these."""
    for model, model_admin in (
        (Schedule, ScheduleAdmin),
        (Success, SuccessAdmin),
        (Failure, FailureAdmin),
        (OrmQ, QueuedAdmin),
    ):
        if site.is_registered(model):
            site.unregister(model)
            site.register(model, model_admin)
