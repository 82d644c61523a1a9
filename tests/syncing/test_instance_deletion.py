"""#17 item 2: deleting an instance stops it at once, then removes what it synced in batches, resumably."""

import io
import threading

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone
from django_q.models import Schedule

from audit.models import AuditLog
from audit.services import COMMAND, Actor
from issues.models import Issue, IssueMilestone, IssueRaw, StatusChange, TimeInStatus
from jirasim.testing import request_counts
from projects.models import JiraInstance, Project
from syncing.instance_settings import instance_save
from syncing.models import IssueRetry, PendingRefresh, RunTotals, SyncRun, WebhookDelivery, WebhookRefusal
from syncing.runs.bookkeeping import RunOptions, options_for, run_queue
from syncing.runs.instance_deletion import DeletionCounts, instance_data_remove, instance_deletion_start
from syncing.runs.runner import census_project_run, sync_instance, sync_project
from syncing.runs.schedules import schedules_ensure_all
from syncing.webhooks.refresh import issue_refresh
from tests.support.database import OtherConnection
from tests.support.sites import register

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def queued_tasks(monkeypatch) -> list:
    calls = []
    monkeypatch.setattr("syncing.tasks.async_task", lambda *args, **kwargs: calls.append(args))
    return calls


def rows_of(instance_id: int) -> dict[str, int]:
    """Every row that belongs to an instance, by kind."""
    of_issues = {"issue__instance_id": instance_id}
    mine = {"instance_id": instance_id}
    return {
        "issues": Issue.objects.filter(**mine).count(),
        "status changes": StatusChange.objects.filter(**of_issues).count(),
        "milestones": IssueMilestone.objects.filter(**of_issues).count(),
        "time in status": TimeInStatus.objects.filter(**of_issues).count(),
        "raw": IssueRaw.objects.filter(**of_issues).count(),
        "retries": IssueRetry.objects.filter(project__instance_id=instance_id).count(),
        "runs": SyncRun.objects.filter(**mine).count(),
        "run totals": RunTotals.objects.filter(**mine).count(),
        "deliveries": WebhookDelivery.objects.filter(**mine).count(),
        "refusals": WebhookRefusal.objects.filter(**mine).count(),
        "pending": PendingRefresh.objects.filter(**mine).count(),
        "projects": Project.objects.filter(**mine).count(),
    }


@pytest.fixture
def two_synced(cloud_site, dc_site, reference_mappings) -> tuple[JiraInstance, JiraInstance]:
    """Two instances, each fully synced, with a row in every other table of its own."""
    instances = []
    for site, slug in ((cloud_site, "doomed"), (dc_site, "kept")):
        instance = register(site, slug)
        instance_save(instance=instance, actor=COMMAND, webhook_secret="a-webhook-secret-of-16+")
        assert sync_instance(instance.pk, RunOptions(full=True)).status == SyncRun.Status.SUCCEEDED
        project = Project.objects.filter(instance=instance).first()
        IssueRetry.objects.create(project=project, jira_id=999_999, key="X-1", last_failed_at=timezone.now())
        WebhookDelivery.objects.create(instance=instance, identifier="d1", event="jira:issue_updated", issue_jira_id=1)
        PendingRefresh.objects.create(instance=instance, issue_jira_id=1)
        WebhookRefusal.objects.create(instance=instance, reason="backlog", count=1)
        RunTotals.objects.create(instance=instance, kind="full", status="succeeded", runs=3, duration_buckets=[])
        instance.refresh_from_db()
        instances.append(instance)
    assert all(n > 0 for n in rows_of(instances[0].pk).values())
    return instances[0], instances[1]


def test_deleting_stops_the_instance_at_once_then_removes_its_rows_batch_by_batch_and_only_its_own(
    two_synced, queued_tasks
):
    doomed, kept = two_synced
    kept_before = rows_of(kept.pk)
    schedules = list(doomed.schedule_ids.values())
    runs = SyncRun.objects.filter(instance=doomed).count()
    started = instance_deletion_start(instance=doomed, actor=Actor("ops"))
    assert started.counts == DeletionCounts(issues=120, runs=runs, projects=2) and not started.resumed
    assert queued_tasks == [("syncing.tasks.instance_delete_task", doomed.pk)]
    assert doomed.being_deleted and doomed.deleting_by == "ops" and not doomed.enabled
    assert not doomed.has_token and not doomed.webhook_secret_encrypted  # nothing can use them any more
    assert schedules and not Schedule.objects.filter(pk__in=schedules).exists()
    start = AuditLog.objects.get(action="delete_start", object_id=str(doomed.pk))
    assert start.actor == "ops" and f"120 issues, {runs} sync runs and 2 projects" in start.summary
    assert start.changes["token_encrypted"] == ["••••••", ""]  # the configuration removed, secrets masked

    other = OtherConnection(wait_seconds=0.5)
    progress = []

    def between_batches(step: str, removed: int) -> None:
        progress.append((step, removed))
        other.write(kept.pk)  # no transaction spans two batches: another writer goes straight through

    try:
        removal = instance_data_remove(doomed.pk, batch_size=7, progress=between_batches)
    finally:
        other.close()
    assert removal.finished and not removal.stopped
    assert [n for step, n in progress if step == "issues"] == [*range(7, 120, 7), 120]
    assert removal.steps["issues"] == 120 and removal.steps["sync runs"] == runs and removal.steps["projects"] == 2
    assert not JiraInstance.objects.filter(pk=doomed.pk).exists()
    assert all(n == 0 for n in rows_of(doomed.pk).values()), rows_of(doomed.pk)
    assert rows_of(kept.pk) == kept_before
    end = AuditLog.objects.get(action="delete", object_id=str(doomed.pk))
    assert end.actor == "ops" and "120 issues" in end.summary and "status changes" not in end.summary
    # What the runs did stays in the audit log, no longer linked to runs that are gone.
    ends = AuditLog.objects.filter(instance_slug="doomed", action="sync_end")
    assert ends.exists() and not ends.filter(sync_run__isnull=False).exists()


def test_an_interrupted_removal_resumes_where_it_stopped(two_synced, queued_tasks):
    doomed, _kept = two_synced
    instance_deletion_start(instance=doomed, actor=COMMAND, queue=False)
    assert queued_tasks == []
    stop = threading.Event()
    first = instance_data_remove(doomed.pk, batch_size=10, progress=lambda step, n: n >= 20 and stop.set(), stop=stop)
    assert first.stopped and not first.finished and first.steps["issues"] == 20
    assert Issue.objects.filter(instance=doomed).count() == 100
    assert JiraInstance.objects.get(pk=doomed.pk).being_deleted
    out = io.StringIO()
    call_command("remove_jira_instance", doomed.slug, "--batch-size", "25", stdout=out)  # no confirmation to resume
    text = out.getvalue()
    assert "is being deleted since" in text and "left: 100 issues" in text and "resuming" in text
    assert "issues: 25 removed" in text and "issues: 100 removed" in text and "deleted Doomed" in text
    assert not JiraInstance.objects.filter(pk=doomed.pk).exists()
    assert all(n == 0 for n in rows_of(doomed.pk).values())


def test_an_instance_being_deleted_no_longer_syncs_in_any_way(two_synced, cloud_site, queued_tasks, client):
    doomed, _kept = two_synced
    project = Project.objects.filter(instance=doomed).first()
    queued = run_queue(doomed, None, options_for("incremental", SyncRun.Trigger.ADMIN))
    now = timezone.now()
    running = SyncRun.objects.create(
        instance=doomed, project=project, status=SyncRun.Status.RUNNING, started_at=now, heartbeat_at=now
    )
    instance_deletion_start(instance=doomed, actor=COMMAND)
    queued.refresh_from_db()
    running.refresh_from_db()
    assert queued.status == SyncRun.Status.CANCELLED and "being deleted" in queued.error
    assert running.cancel_requested  # it stops at its next page
    asked = request_counts(cloud_site)
    for run in (
        sync_instance(doomed.pk, RunOptions(full=True)),
        sync_project(project.pk, RunOptions()),
        census_project_run(project.pk, RunOptions(census=True)),
    ):
        assert (run.status, run.error) == (SyncRun.Status.SKIPPED, "the instance is being deleted")
    assert issue_refresh(doomed.pk, 10001) is None
    schedules_ensure_all()
    assert JiraInstance.objects.get(pk=doomed.pk).schedule_ids == {}
    assert not Schedule.objects.filter(name__startswith="jirasync doomed").exists()
    with pytest.raises(ValidationError, match="being deleted"):
        instance_save(instance=JiraInstance.objects.get(pk=doomed.pk), actor=COMMAND)
    with pytest.raises(CommandError, match="being deleted"):
        call_command("sync_jira", "doomed", stdout=io.StringIO())
    with pytest.raises(CommandError, match="being deleted"):
        call_command("check_jira", "doomed", stdout=io.StringIO())
    body = b'{"webhookEvent": "jira:issue_updated", "issue": {"id": "10001", "key": "A-1"}}'
    url = reverse("jira_webhook", args=["doomed"]) + "?token=a-webhook-secret-of-16+"
    assert client.post(url, body, content_type="application/json").status_code == 401
    stats = request_counts(cloud_site)
    assert {k: v for k, v in stats.items() if "_sim" not in k} == {k: v for k, v in asked.items() if "_sim" not in k}


def test_remove_jira_instance_says_what_goes_and_asks_before_it_deletes(two_synced, queued_tasks):
    doomed, _kept = two_synced
    before = rows_of(doomed.pk)
    with pytest.raises(CommandError, match="--yes"):
        call_command("remove_jira_instance", "doomed", stdout=io.StringIO())  # no terminal to confirm on
    out = io.StringIO()
    call_command("remove_jira_instance", "Doomed", "--dry-run", stdout=out)
    assert f"Doomed (doomed): 120 issues, {before['runs']} sync runs and 2 projects go with it" in out.getvalue()
    assert rows_of(doomed.pk) == before and not JiraInstance.objects.get(pk=doomed.pk).being_deleted
    with pytest.raises(CommandError, match="no Jira instance"):
        call_command("remove_jira_instance", "nothing-by-that-name", "--yes", stdout=io.StringIO())
    out = io.StringIO()
    call_command("remove_jira_instance", "doomed", "--yes", "--queue", stdout=out)
    assert "queued" in out.getvalue() and JiraInstance.objects.get(pk=doomed.pk).being_deleted
    assert queued_tasks == [("syncing.tasks.instance_delete_task", doomed.pk)]
    assert AuditLog.objects.get(action="delete_start").actor == "command"
