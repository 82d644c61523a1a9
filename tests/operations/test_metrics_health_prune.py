"""/metrics (closed by default, read from the database), /healthz and /readyz, and pruning."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from django_q.models import Schedule

from agile.models import Sprint
from audit.models import AuditLog
from issues.models import Issue
from projects.models import Project
from syncing.models import IssueRetry, RunTotals, SyncRun, WebhookDelivery, WorkerHeartbeat
from syncing.runs.retention import prune
from syncing.runs.runner import RunOptions, sync_instance
from syncing.runs.schedules import schedules_ensure_all
from syncing.tasks import heartbeat_task
from tests.support.metrics import scrape
from tests.support.sites import register

pytestmark = pytest.mark.django_db(transaction=True)


def value(samples: dict, name: str, **labels) -> float:
    return samples[name][tuple(sorted(labels.items()))]


def test_metrics_are_closed_without_configuration_and_open_to_a_token_or_an_allowed_address(client, settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_IPS = []
    assert client.get("/metrics").status_code == 401
    settings.METRICS_TOKEN = "scrape-secret"
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-secret").status_code == 200
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_IPS = ["10.0.0.0/8"]
    assert client.get("/metrics").status_code == 401  # the test client is 127.0.0.1
    settings.METRICS_ALLOWED_IPS = ["127.0.0.1"]
    assert client.get("/metrics").status_code == 200


def test_metrics_tell_what_the_database_holds(client, settings, cloud_site, reference_mappings):
    settings.METRICS_ALLOWED_IPS = ["127.0.0.1"]
    instance = register(cloud_site, "instance_1")
    run = sync_instance(instance.pk, RunOptions(full=True))
    gone = Issue.objects.order_by("id").first()
    Issue.objects.filter(pk=gone.pk).update(deleted_at=timezone.now())
    samples = scrape(client)
    assert value(samples, "jirasync_database_up") == 1
    live = Issue.objects.filter(deleted_at__isnull=True)
    for project in instance.projects.all():
        assert (
            value(samples, "jirasync_issues", jira_instance="instance_1", project=project.key)
            == live.filter(project=project).count()
        )
    for category in ("new", "indeterminate", "done"):
        expected = live.filter(status_category=category).count()
        if expected:
            assert (
                value(samples, "jirasync_issues_by_status_category", jira_instance="instance_1", category=category)
                == expected
            )
    assert value(samples, "jirasync_issues_deleted", jira_instance="instance_1") == 1
    assert value(samples, "jirasync_sync_runs_total", jira_instance="instance_1", kind="full", status="succeeded") == 1
    assert value(samples, "jirasync_jira_requests_total", jira_instance="instance_1") == run.requests
    assert value(samples, "jirasync_issues_fetched_total", jira_instance="instance_1") == 120
    assert value(samples, "jirasync_sync_run_duration_seconds_count", jira_instance="instance_1", kind="full") == 1
    assert (
        value(samples, "jirasync_sync_run_duration_seconds_bucket", jira_instance="instance_1", kind="full", le="+Inf")
        == 1
    )
    project = instance.projects.order_by("key").first()
    project.refresh_from_db()
    lag = value(samples, "jirasync_data_lag_seconds", jira_instance="instance_1", project=project.key)
    assert abs(lag - (timezone.now() - project.sync_watermark).total_seconds()) < 60
    age = value(samples, "jirasync_last_success_age_seconds", jira_instance="instance_1", project=project.key)
    assert 0 <= age < 60  # just synced, however old its newest issue
    assert not any(dict(labels).get("instance") for family in samples.values() for labels in family)
    assert value(samples, "jirasync_census_jira_issues", jira_instance="instance_1", project=project.key) == 60
    # Issue #14: boards and sprints per instance, the relation tables among the rows per table.
    assert value(samples, "jirasync_boards", jira_instance="instance_1") == len(cloud_site.sim.board_list())
    for state in ("future", "active", "closed"):
        expected = Sprint.objects.filter(instance=instance, state=state).count()
        assert value(samples, "jirasync_sprints", jira_instance="instance_1", state=state) == expected
    assert Sprint.objects.filter(instance=instance).count() == len(cloud_site.sim.data.sprint_board)
    # Rows per table: counted on SQLite, PostgreSQL's planner estimate — which ANALYZE of a table this small
    # makes its count (every row sampled).
    tables = ("issues_issue", "issues_issuelink", "issues_issueversion", "issues_issuecomponent", "agile_issuesprint")
    with connection.cursor() as cursor:
        counts = {}
        for table in tables:
            if connection.vendor == "postgresql":
                cursor.execute(f'ANALYZE "{table}"')
            cursor.execute(f'SELECT COUNT(*) FROM "{table}"')
            counts[table] = cursor.fetchone()[0]
    assert counts["issues_issue"] == Issue.objects.count() and all(counts.values())  # each table holds rows
    rescraped = scrape(client)
    for table in tables:
        assert value(rescraped, "jirasync_table_rows", table=table) == counts[table], table
    assert value(samples, "jirasync_database_size_bytes") > 0
    assert "process_cpu_seconds_total" in samples and "python_info" in samples  # the client library's own
    # django-prometheus as wired: middleware, database engine and cache backend all counted.
    cache.get("jirasync:anything")
    samples = scrape(client)
    assert "django_http_requests_total_by_method_total" in samples
    assert "django_db_execute_total" in samples
    assert "django_cache_get_total" in samples


def test_healthz_is_always_up_and_readyz_wants_a_recent_worker(client, settings):
    assert client.get("/healthz").json() == {"status": "ok"}
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["database"] == "ok" and response.json()["checks"]["migrations"] == "ok"
    assert "never seen" in response.json()["checks"]["queue_worker"]
    heartbeat_task()
    assert client.get("/readyz").status_code == 200
    WorkerHeartbeat.objects.update(seen_at=timezone.now() - timedelta(seconds=settings.READYZ_WORKER_MAX_AGE + 5))
    assert client.get("/readyz").status_code == 503


def test_housekeeping_schedules_are_ensured_once(db):
    schedules_ensure_all()
    schedules_ensure_all()
    funcs = sorted(Schedule.objects.values_list("func", flat=True))
    assert funcs == ["syncing.tasks.heartbeat_task", "syncing.tasks.prune_task"]


def test_prune_removes_only_what_is_past_retention_and_keeps_counters_whole(client, settings, instance):
    settings.METRICS_ALLOWED_IPS = ["127.0.0.1"]
    settings.RETENTION_SYNC_RUN_DAYS = 30
    settings.RETENTION_AUDIT_DAYS = 30
    now = timezone.now()

    def run_at(days: int, **fields) -> SyncRun:
        started = now - timedelta(days=days)
        run = SyncRun.objects.create(
            instance=instance,
            kind="incremental",
            trigger="schedule",
            status="succeeded",
            started_at=started,
            finished_at=started + timedelta(seconds=7),
            requests=3,
            rate_limited=1,
            **fields,
        )
        SyncRun.objects.filter(pk=run.pk).update(created_at=started)
        return run

    old = [run_at(40 + n) for n in range(3)]
    young = run_at(10)
    child = SyncRun.objects.create(instance=instance, parent=old[0], kind="incremental", trigger="schedule")
    before = scrape(client)
    audit_old = AuditLog.objects.create(actor="sync", action="update", object_type="issues.issue", object_id="1")
    config_old = AuditLog.objects.create(
        actor="admin", action="update", object_type="config.fieldmapping", object_id="x"
    )
    config_ancient = AuditLog.objects.create(actor="admin", action="update", object_type="config.fieldmapping")
    AuditLog.objects.filter(pk__in=[audit_old.pk, config_old.pk]).update(at=now - timedelta(days=200))
    AuditLog.objects.filter(pk=config_ancient.pk).update(at=now - timedelta(days=400))

    old_delivery = WebhookDelivery.objects.create(instance=instance, identifier="old", event="e", issue_jira_id=1)
    new_delivery = WebhookDelivery.objects.create(instance=instance, identifier="new", event="e", issue_jira_id=1)
    WebhookDelivery.objects.filter(pk=old_delivery.pk).update(received_at=now - timedelta(days=20))
    dry = prune(dry_run=True)
    assert dry.deleted["sync runs"] == 3 and SyncRun.objects.count() == 5
    call_command("prune", "--older-than", "5")  # asking for less than the retention changes nothing more
    assert set(SyncRun.objects.values_list("pk", flat=True)) == {young.pk}
    assert not SyncRun.objects.filter(pk=child.pk).exists()
    remaining = set(AuditLog.objects.values_list("pk", flat=True))
    assert audit_old.pk not in remaining and config_ancient.pk not in remaining
    assert config_old.pk in remaining  # a configuration change younger than a year stays
    assert list(WebhookDelivery.objects.values_list("pk", flat=True)) == [new_delivery.pk]
    totals = RunTotals.objects.get()
    assert (totals.runs, totals.requests, totals.rate_limited, totals.timed_runs) == (3, 9, 3, 3)
    after = scrape(client)
    for name, labels in (
        ("jirasync_sync_runs_total", {"jira_instance": "instance_1", "kind": "incremental", "status": "succeeded"}),
        ("jirasync_jira_requests_total", {"jira_instance": "instance_1"}),
        ("jirasync_jira_rate_limited_total", {"jira_instance": "instance_1"}),
        ("jirasync_sync_run_duration_seconds_count", {"jira_instance": "instance_1", "kind": "incremental"}),
        (
            "jirasync_sync_run_duration_seconds_bucket",
            {"jira_instance": "instance_1", "kind": "incremental", "le": "15.0"},
        ),
    ):
        assert value(after, name, **labels) == value(before, name, **labels), name


def test_issues_waiting_to_be_asked_for_again_are_counted_per_project(client, settings, instance):
    settings.METRICS_ALLOWED_IPS = ["127.0.0.1"]
    ops = Project.objects.create(instance=instance, jira_id="1", key="OPS")
    Project.objects.create(instance=instance, jira_id="2", key="QUIET")
    for jira_id in (101, 102):
        IssueRetry.objects.create(
            project=ops, jira_id=jira_id, key=f"OPS-{jira_id}", reason="too large", last_failed_at=timezone.now()
        )
    samples = scrape(client)
    assert value(samples, "jirasync_issues_retry_pending", jira_instance="instance_1", project="OPS") == 2
    assert value(samples, "jirasync_issues_retry_pending", jira_instance="instance_1", project="QUIET") == 0
