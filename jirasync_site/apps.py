from django.contrib.admin.apps import AdminConfig


class JirasyncAdminConfig(AdminConfig):
    default_site = "jirasync_site.admin_site.JirasyncAdminSite"
