"""Liveness and readiness for load balancers and orchestrators: cheap, unauthenticated, no secrets."""

from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from syncing.models import WorkerHeartbeat


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """The process is up and answering."""
    return JsonResponse({"status": "ok"})


def _migrations_applied() -> bool:
    """True when no migration is pending; remembered for a minute (the check reads every migration file)."""
    applied = cache.get("jirasync:migrations-applied")
    if applied is None:
        executor = MigrationExecutor(connection)
        applied = not executor.migration_plan(executor.loader.graph.leaf_nodes())
        cache.set("jirasync:migrations-applied", applied, 60)
    return applied


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """Database reachable, migrations applied, a queue worker seen recently; 503 naming what is not."""
    checks: dict[str, str] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except DatabaseError as exc:
        checks["database"] = f"unreachable: {type(exc).__name__}"
        return JsonResponse({"status": "unavailable", "checks": checks}, status=503)
    checks["migrations"] = "ok" if _migrations_applied() else "pending: run manage.py migrate"
    limit = timedelta(seconds=settings.READYZ_WORKER_MAX_AGE)
    seen = WorkerHeartbeat.objects.order_by("-seen_at").values_list("seen_at", flat=True).first()
    if seen and timezone.now() - seen <= limit:
        checks["queue_worker"] = "ok"
    else:
        age = f"last seen {int((timezone.now() - seen).total_seconds())} s ago" if seen else "never seen"
        checks["queue_worker"] = f"no qcluster heartbeat within {int(limit.total_seconds())} s ({age})"
    ready = all(value == "ok" for value in checks.values())
    return JsonResponse({"status": "ok" if ready else "unavailable", "checks": checks}, status=200 if ready else 503)
