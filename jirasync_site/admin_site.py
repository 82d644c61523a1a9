"""The admin site: Django's, with the operations dashboard on its index page."""

from django.contrib import admin
from django.http import HttpRequest
from django.template.response import TemplateResponse

from syncing.monitoring.dashboard import dashboard

# The dashboard shows instances and what their runs did: both view permissions are needed to see it.
DASHBOARD_PERMISSIONS = ("projects.view_jirainstance", "syncing.view_syncrun")


class JirasyncAdminSite(admin.AdminSite):
    site_header = "jirasync"
    site_title = "jirasync"
    index_title = "Control room"
    site_url = None  # there is no site besides admin: no "View site" link leading to a 404

    def index(self, request: HttpRequest, extra_context: dict | None = None) -> TemplateResponse:
        shown = {"dashboard": dashboard()} if request.user.has_perms(DASHBOARD_PERMISSIONS) else {}
        return super().index(request, {**shown, **(extra_context or {})})
