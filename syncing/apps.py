from django.apps import AppConfig


class SyncingConfig(AppConfig):
    name = "syncing"
    verbose_name = "Sync engine"

    def ready(self) -> None:
        from django.conf import settings
        from prometheus_client import REGISTRY

        from syncing.engine.memory import malloc_arenas_limit

        # Early, before sync threads exist: their per-thread malloc arenas are what made RSS creep.
        malloc_arenas_limit(settings.JIRASYNC_MALLOC_ARENAS)

        from syncing.monitoring.metrics import DatabaseCollector

        # Once per process, even if ready() runs again (tests re-populate apps).
        if not any(isinstance(c, DatabaseCollector) for c in list(REGISTRY._collector_to_names)):
            REGISTRY.register(DatabaseCollector())
