from django.contrib import admin
from django.urls import path

from jirasync_site.health import healthz, readyz
from jirasync_site.metrics_view import metrics
from syncing.webhook_view import jira_webhook

urlpatterns = [
    path("admin/", admin.site.urls),
    path("metrics", metrics, name="metrics"),
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("webhooks/jira/<slug:slug>/", jira_webhook, name="jira_webhook"),
]
