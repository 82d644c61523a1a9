"""django-axes' admin (login attempts and lockouts), with its one action declaring the permission it needs.

Unlocking a user is deleting their access attempts (the delete permission on "access attempts"), or
`manage.py axes_reset_username NAME`.
"""

from axes import admin as axes_admin
from axes.models import AccessAttempt
from django.contrib import admin


class AccessAttemptAdmin(axes_admin.AccessAttemptAdmin):
    actions = ["cleanup_expired_attempts"]

    @admin.action(description="Clean up expired attempts", permissions=["delete"])
    def cleanup_expired_attempts(self, request, queryset) -> None:
        count = self.handler.clean_expired_user_attempts(request=request)
        self.message_user(request, f"Cleaned up {count} expired access attempts.")

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # a record of what happened: deleted to unlock, never edited


def login_admin_register(site: admin.AdminSite) -> None:
    if site.is_registered(AccessAttempt):
        site.unregister(AccessAttempt)
        site.register(AccessAttempt, AccessAttemptAdmin)
