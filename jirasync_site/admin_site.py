"""The admin site: Django's, with the operations dashboard on its index page."""

from django.contrib import admin
from django.http import HttpRequest
from django.template.response import TemplateResponse


class JirasyncAdminSite(admin.AdminSite):
    site_header = "jirasync"
    site_title = "jirasync"
    index_title = "Control room"

    def index(self, request: HttpRequest, extra_context: dict | None = None) -> TemplateResponse:
        from syncing.dashboard import dashboard  # apps are loaded by the time a page is served

        return super().index(request, {"dashboard": dashboard(), **(extra_context or {})})
