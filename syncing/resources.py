"""Columns of the sync-run export (a django-import-export resource)."""

from import_export.fields import Field

from lib.exports import StreamingResource
from syncing.models import SyncRun

RUN_COLUMNS = (
    "id",
    "instance",
    "project",
    "parent",
    "kind",
    "trigger",
    "status",
    "created_at",
    "started_at",
    "finished_at",
    "duration_seconds",
    "fetched",
    "inserted",
    "updated",
    "unchanged",
    "failed_rows",
    "status_changes",
    "incomplete_histories",
    "deleted",
    "field_changes",
    "comments",
    "worklogs",
    "comments_deleted",
    "worklogs_deleted",
    "pages",
    "requests",
    "retries",
    "rate_limited",
    "error",
)


class SyncRunResource(StreamingResource):
    instance = Field(attribute="instance__slug", column_name="instance")
    project = Field(attribute="project__key", column_name="project")
    parent = Field(attribute="parent_id", column_name="parent")
    duration_seconds = Field(column_name="duration_seconds")

    class Meta:
        model = SyncRun
        fields = RUN_COLUMNS
        export_order = RUN_COLUMNS

    def dehydrate_duration_seconds(self, run: SyncRun) -> float | None:
        return run.duration_seconds
