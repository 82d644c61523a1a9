"""A run's life: leases that only expire, Cancel, abandoned runs, oversized answers."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import AuditLog
from audit.services import Actor
from issues.models import Issue
from jirasim.faults import FaultPlan
from jirasim.testing import running_sim
from projects.models import Project
from syncing.models import SyncRun
from syncing.runs.bookkeeping import run_cancel, run_queue, runs_abandoned_close
from syncing.runs.claims import project_claim, project_claim_release
from syncing.runs.runner import RunOptions, sync_instance, sync_project
from syncing.tasks import heartbeat_task
from tests.support.sites import register
from tests.support.waiting import in_background, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_live_lease_is_never_taken_whatever_the_holders_name_and_an_expired_one_is(instance, settings):
    settings.JIRASYNC_CLAIM_LEASE_SECONDS = 1
    project = Project.objects.create(instance=instance, jira_id="1", key="OPS", name="Ops")
    # Two containers: same host name, same pid, different workers.
    assert project_claim(project.pk, "worker:1:aaaa")
    assert not project_claim(project.pk, "worker:1:bbbb")
    wait_for(lambda: project_claim(project.pk, "worker:1:bbbb"), what="the lease to expire")
    assert Project.objects.get(pk=project.pk).claimed_by == "worker:1:bbbb"
    project_claim_release(project.pk, "worker:1:aaaa")  # not the holder: nothing happens
    assert Project.objects.get(pk=project.pk).claimed_by == "worker:1:bbbb"


def test_a_holder_that_loses_its_lease_stops_and_says_why(reference_mappings, settings):
    settings.JIRASYNC_CLAIM_LEASE_SECONDS = 1  # renewed every quarter second
    settings.JIRASYNC_PAGE_SIZE = 5
    with running_sim(flavour="cloud", projects=1, issues=200, seed=31, faults=FaultPlan(latency_ms=60)) as server:
        instance = register(server, "instance_1")
        project = Project.objects.create(instance=instance, jira_id=str(server.sim.data.projects[0].id), key="OPS")
        thread, result = in_background(sync_project, project.pk, RunOptions(full=True))
        wait_for(lambda: Issue.objects.exists(), what="the sync to store a page")
        Project.objects.filter(pk=project.pk).update(claimed_by="another:2:cccc")  # taken after an expiry
        thread.join(60)
        run = result[0]
        assert run.status == SyncRun.Status.FAILED and "taken by another worker" in run.error
        assert Issue.objects.count() < 200


def test_cancel_stops_a_running_run_at_its_next_page_and_a_queued_one_at_once(reference_mappings, settings):
    settings.JIRASYNC_PAGE_SIZE = 5
    with running_sim(flavour="datacenter", projects=1, issues=200, seed=32, faults=FaultPlan(latency_ms=80)) as server:
        instance = register(server, "instance_2")
        thread, result = in_background(sync_instance, instance.pk, RunOptions(full=True))
        wait_for(lambda: Issue.objects.exists(), what="the sync to store a page")
        parent = SyncRun.objects.get(parent__isnull=True, kind=SyncRun.Kind.FULL)
        asked = time.monotonic()
        assert run_cancel(parent, actor=Actor("ops")) == 2
        thread.join(60)
        assert time.monotonic() - asked < 15
        child = parent.children.get()
        assert child.status == SyncRun.Status.CANCELLED and "stopped on request" in child.error
        assert result[0].status == SyncRun.Status.CANCELLED
        assert not Project.objects.exclude(claimed_by="").exists()
        assert AuditLog.objects.filter(action="sync_cancel", actor="ops").exists()
        queued = run_queue(instance, None, RunOptions())
        assert run_cancel(queued, actor=Actor("ops")) == 1
        queued.refresh_from_db()
        assert queued.status == SyncRun.Status.CANCELLED and "before it started" in queued.error


def test_runs_whose_worker_died_are_ended_as_abandoned_and_the_next_run_of_the_project_proceeds(
    reference_mappings, settings
):
    settings.JIRASYNC_CLAIM_LEASE_SECONDS = 60
    with running_sim(flavour="cloud", projects=1, issues=20, seed=33) as server:
        instance = register(server, "instance_1")
        first = sync_instance(instance.pk, RunOptions(full=True))
        project = Project.objects.get(instance=instance)
        # A worker died mid-run two minutes ago: its runs still say running, its claim still names it.
        long_ago = timezone.now() - timedelta(minutes=2)
        dead_parent = SyncRun.objects.create(
            instance=instance,
            kind="incremental",
            trigger="schedule",
            status="running",
            started_at=long_ago,
            heartbeat_at=long_ago,
            owner="dead:1:dddd",
        )
        dead = SyncRun.objects.create(
            instance=instance,
            project=project,
            parent=dead_parent,
            kind="incremental",
            trigger="schedule",
            status="running",
            started_at=long_ago,
            heartbeat_at=long_ago,
            owner="dead:1:dddd",
        )
        Project.objects.filter(pk=project.pk).update(claimed_by="dead:1:dddd", claimed_until=long_ago)
        after = sync_instance(instance.pk, RunOptions())
        assert after.status == SyncRun.Status.SUCCEEDED, after.error
        dead.refresh_from_db()
        assert dead.status == SyncRun.Status.ABANDONED and "stopped renewing its lease" in dead.error
        # The next run ends the dead instance run too: no housekeeping left to do.
        assert runs_abandoned_close() == 0
        assert not SyncRun.objects.filter(status=SyncRun.Status.RUNNING).exists()
        dead_parent.refresh_from_db()
        assert dead_parent.status == SyncRun.Status.ABANDONED and dead_parent.finished_at is not None
        assert "stopped renewing its lease" in dead_parent.error
        assert first.status == SyncRun.Status.SUCCEEDED
        assert AuditLog.objects.filter(action="sync_end", object_id=str(dead_parent.pk)).exists()


def dead_runs(instance, project, owner: str) -> tuple[SyncRun, SyncRun]:
    """An instance run and its project run that a worker killed two minutes ago left "running"."""
    long_ago = timezone.now() - timedelta(minutes=2)
    common = {"instance": instance, "kind": "full", "trigger": "manual", "status": "running", "owner": owner}
    parent = SyncRun.objects.create(**common, started_at=long_ago, heartbeat_at=long_ago)
    child = SyncRun.objects.create(**common, project=project, parent=parent, started_at=long_ago, heartbeat_at=long_ago)
    Project.objects.filter(pk=project.pk).update(claimed_by=owner, claimed_until=long_ago)
    return parent, child


def test_a_dead_instance_run_is_ended_by_the_next_project_run_and_by_the_queues_heartbeat(reference_mappings, settings):
    settings.JIRASYNC_CLAIM_LEASE_SECONDS = 60
    with running_sim(flavour="cloud", projects=1, issues=10, seed=34) as server:
        instance = register(server, "instance_1")
        sync_instance(instance.pk, RunOptions())
        project = Project.objects.get(instance=instance)
        parent, child = dead_runs(instance, project, "dead:1:aaaa")
        assert sync_project(project.pk, RunOptions()).status == SyncRun.Status.SUCCEEDED
        for run in (parent, child):
            run.refresh_from_db()
            assert run.status == SyncRun.Status.ABANDONED and "dead:1:aaaa" in run.error, run.error
        # The periodic housekeeping: the instance run and its project run end in one pass, whatever their order.
        parent, child = dead_runs(instance, project, "dead:2:bbbb")
        heartbeat_task()
        assert not SyncRun.objects.filter(status=SyncRun.Status.RUNNING).exists()
        ended = AuditLog.objects.filter(action="sync_end", object_id=str(parent.pk), summary__contains="abandoned")
        assert ended.exists()


def test_an_issue_larger_than_the_answer_cap_costs_its_own_row(reference_mappings, settings):
    settings.JIRASYNC_MAX_RESPONSE_MB = 0.5
    settings.JIRASYNC_PAGE_SIZE = 20
    with running_sim(flavour="cloud", projects=1, issues=30, seed=34) as server:
        data = server.sim.data
        sample = server.sim.r.issue(data.live()[0], "3", None, set(), None)
        huge = {**sample, "id": "990001", "key": "OPS-9901", "fields": {**sample["fields"], "summary": "x" * 800_000}}
        data.add_replayed(huge)
        instance = register(server, "instance_1")
        run = sync_instance(instance.pk, RunOptions(full=True))
        assert run.status == SyncRun.Status.PARTIAL
        assert "OPS-9901" in run.error and "larger than" in run.error
        assert Issue.objects.filter(instance=instance).count() == 30  # every other issue stored
        failed = AuditLog.objects.get(action="sync_row_failed", object_repr="OPS-9901")
        assert "larger than" in failed.summary
