from django.apps import AppConfig


class SyncingConfig(AppConfig):
    name = "syncing"
    verbose_name = "Sync engine"

    def ready(self) -> None:
        from prometheus_client import REGISTRY

        from syncing.metrics import DatabaseCollector

        # Once per process, even if ready() runs again (tests re-populate apps).
        if not any(isinstance(c, DatabaseCollector) for c in list(REGISTRY._collector_to_names)):
            REGISTRY.register(DatabaseCollector())
