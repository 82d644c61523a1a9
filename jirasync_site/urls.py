from django.contrib import admin
from django.urls import path
from django.views.generic import RedirectView

from jirasync_site.health import healthz, readyz
from jirasync_site.metrics_view import metrics
from syncing.webhooks.view import jira_webhook

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index"), name="home"),  # the product is its admin
    path("admin/", admin.site.urls),
    path("metrics", metrics, name="metrics"),
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("webhooks/jira/<slug:slug>/", jira_webhook, name="jira_webhook"),
]
