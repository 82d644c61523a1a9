from django.contrib import admin
from django.urls import path

from jirasync_site.health import healthz, readyz
from jirasync_site.metrics_view import metrics

urlpatterns = [
    path("admin/", admin.site.urls),
    path("metrics", metrics, name="metrics"),
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
]
