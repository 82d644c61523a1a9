from django.apps import AppConfig
from django.db.backends.signals import connection_created
from django.db.models.signals import post_migrate, pre_migrate

from lib.toast_compression import session_compression_set


def _drop_report_view(sender, using: str = "default", **kwargs) -> None:
    # SQLite rebuilds a table to alter it, which fails while a view reads that table.
    from config.report_view import report_view_drop

    report_view_drop()


def _build_report_view(sender, using: str = "default", **kwargs) -> None:
    from config.report_view import report_view_build

    report_view_build()


class IssuesConfig(AppConfig):
    name = "issues"
    verbose_name = "Synced issues"

    def ready(self) -> None:
        pre_migrate.connect(_drop_report_view, sender=self, dispatch_uid="jirasync-report-view-drop")
        post_migrate.connect(_build_report_view, sender=self, dispatch_uid="jirasync-report-view-build")
        # Raw issues and comment bodies compressed with lz4 all the way through their staging tables.
        connection_created.connect(session_compression_set, dispatch_uid="jirasync-session-compression")
