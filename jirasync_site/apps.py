from django.contrib.admin.apps import AdminConfig


class JirasyncAdminConfig(AdminConfig):
    default_site = "jirasync_site.admin_site.JirasyncAdminSite"

    def ready(self) -> None:
        super().ready()  # every app's admin module is registered now
        from django.contrib import admin

        from jirasync_site.login_admin import login_admin_register
        from syncing.queue_admin import queue_admin_register

        # Third-party admins whose actions or edits declare no permission, replaced by ours.
        queue_admin_register(admin.site)
        login_admin_register(admin.site)
