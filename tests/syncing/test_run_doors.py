"""Every door keeps its run the same way (issue #16): a kind becomes options in one place, a census asked for
through the project door is a census, and the webhook refresh is a run like the others — started, claimed,
ended — against jirasim over HTTP."""

import time

import pytest
from django_q.models import OrmQ
from django_q.signing import SignedPackage

from audit.models import AuditLog
from issues.models import Issue
from projects.models import Project
from syncing.jira.client import RequestCounters
from syncing.models import PendingRefresh, SyncRun
from syncing.runs import bookkeeping
from syncing.runs.bookkeeping import lease, options_for
from syncing.runs.claims import project_claim, project_claim_release
from syncing.runs.runner import RunOptions, sync_instance
from syncing.site.clients import client_for
from syncing.tasks import refresh_issue, sync_project_task
from syncing.webhooks import refresh
from tests.support.sites import register
from tests.support.waiting import GENEROUS, in_background, wait_for

pytestmark = pytest.mark.django_db(transaction=True)  # runs commit as in production


def test_a_kind_becomes_its_options_in_one_place():
    assert [options_for(kind, SyncRun.Trigger.ADMIN).kind for kind in ("incremental", "full", "census")] == [
        SyncRun.Kind.INCREMENTAL,
        SyncRun.Kind.FULL,
        SyncRun.Kind.CENSUS,
    ]
    assert options_for("full", SyncRun.Trigger.COMMAND, dry_run=True, project_keys=("OPS",)).project_keys == ("OPS",)
    with pytest.raises(ValueError, match="unknown run kind 'webhook'"):
        options_for("webhook", SyncRun.Trigger.WEBHOOK)


def test_a_census_asked_for_through_the_project_door_is_a_census(cloud_site, reference_mappings):
    instance = register(cloud_site, "instance_1")
    assert sync_instance(instance.pk, RunOptions(full=True)).status == SyncRun.Status.SUCCEEDED
    (key,) = cloud_site.sim.data.advance(minutes=5, delete=1)["deleted"]
    gone = Issue.objects.get(instance=instance, key=key)

    run = SyncRun.objects.get(pk=sync_project_task(gone.project_id, "census", SyncRun.Trigger.ADMIN))

    assert (run.kind, run.status, run.project_id) == (SyncRun.Kind.CENSUS, SyncRun.Status.SUCCEEDED, gone.project_id)
    assert run.deleted == 1 and run.fetched == Issue.objects.filter(project_id=gone.project_id).count() - 1
    gone.refresh_from_db()
    assert gone.deleted_at is not None  # the census found it gone; an incremental sync would not have


def test_a_client_built_with_the_flavour_known_asks_jira_nothing_to_learn_it(cloud_site):
    instance = register(cloud_site, "instance_1")
    counters = RequestCounters()
    client = client_for(instance, counters, flavour="cloud")
    assert client.flavour == "cloud" and counters.requests == 0


def queued_refreshes() -> list[tuple]:
    """The refresh tasks waiting in the queue (the database broker's), as their (instance id, Jira id)."""
    tasks = [SignedPackage.loads(item.payload) for item in OrmQ.objects.all()]
    return [task["args"] for task in tasks if task["func"] == "syncing.tasks.refresh_issue"]


def test_a_refresh_meeting_a_sync_of_its_project_is_parked_and_queued_again_when_the_sync_lets_go(
    cloud_site, reference_mappings, settings
):
    settings.JIRASYNC_CLAIM_LEASE_SECONDS = 4000  # waiting a quarter of it would show
    instance = register(cloud_site, "instance_1")
    assert sync_instance(instance.pk, RunOptions(full=True)).status == SyncRun.Status.SUCCEEDED
    key = cloud_site.sim.data.advance(minutes=5, update=0.05)["updated"][0]
    record = cloud_site.sim.data.find(key)
    issue = Issue.objects.get(instance=instance, jira_id=record.id)
    before = issue.raw_hash
    assert project_claim(issue.project_id, "another-worker")  # a sync of the project holds it
    OrmQ.objects.all().delete()

    started = time.monotonic()
    held = SyncRun.objects.get(pk=refresh_issue(instance.pk, record.id))

    assert time.monotonic() - started < lease().total_seconds() / 8  # a sync is not waited for: the worker is free
    assert (held.kind, held.status, held.project_id) == (SyncRun.Kind.WEBHOOK, SyncRun.Status.SKIPPED, issue.project_id)
    assert "already being synced by worker another-worker" in held.error
    issue.refresh_from_db()
    assert issue.raw_hash == before
    assert PendingRefresh.objects.filter(issue_jira_id=record.id, parked_for_id=issue.project_id).exists()
    assert queued_refreshes() == []  # parked, not lost: the row stays, and later events for it add to it

    project_claim_release(issue.project_id, "another-worker")

    assert queued_refreshes() == [(instance.pk, record.id)]  # the sync let go: queued again
    assert not PendingRefresh.objects.filter(parked_for__isnull=False).exists()
    done = SyncRun.objects.get(pk=refresh_issue(instance.pk, record.id))  # what the worker does with it
    assert done.status == SyncRun.Status.SUCCEEDED and done.owner and done.heartbeat_at and done.started_at
    issue.refresh_from_db()
    assert issue.raw_hash != before
    assert Project.objects.get(pk=issue.project_id).claimed_by == ""  # released
    assert not PendingRefresh.objects.exists()
    # Audited once each, by their ends, as before: a refresh's start says nothing its end does not.
    audited = AuditLog.objects.filter(sync_run_id__in=[held.pk, done.pk], action__in=["sync_start", "sync_end"])
    assert sorted(audited.values_list("action", flat=True)) == ["sync_end", "sync_end"]


def test_a_refresh_parked_just_after_the_sync_let_go_is_queued_at_once(cloud_site, reference_mappings):
    instance = register(cloud_site, "instance_1")
    assert sync_instance(instance.pk, RunOptions(full=True)).status == SyncRun.Status.SUCCEEDED
    issue = Issue.objects.filter(instance=instance).first()
    OrmQ.objects.all().delete()
    project_claim(issue.project_id, "another-worker")
    real_park = refresh._park

    def park_after_the_release(*args):  # the sync lets go between the refused claim and the park
        project_claim_release(issue.project_id, "another-worker")
        real_park(*args)

    refresh._park = park_after_the_release
    try:
        held = SyncRun.objects.get(pk=refresh_issue(instance.pk, issue.jira_id))
    finally:
        refresh._park = real_park
    assert held.status == SyncRun.Status.SKIPPED
    assert queued_refreshes() == [(instance.pk, issue.jira_id)]  # not left parked on a project nobody holds


@pytest.mark.parametrize("holder_kind", [SyncRun.Kind.WEBHOOK, SyncRun.Kind.INCREMENTAL])
def test_a_sync_waits_for_a_refresh_holding_its_project_but_not_for_another_sync(
    holder_kind, cloud_site, reference_mappings, settings, monkeypatch
):
    settings.JIRASYNC_CLAIM_LEASE_SECONDS = 600  # a quarter: far longer than the refresh below holds the project
    instance = register(cloud_site, "instance_1")
    assert sync_instance(instance.pk, RunOptions(full=True)).status == SyncRun.Status.SUCCEEDED
    project = Project.objects.filter(instance=instance).first()
    SyncRun.objects.create(
        instance=instance,
        project=project,
        kind=holder_kind,
        trigger=SyncRun.Trigger.WEBHOOK if holder_kind == SyncRun.Kind.WEBHOOK else SyncRun.Trigger.SCHEDULE,
        status=SyncRun.Status.RUNNING,
        owner="holder",
    )
    assert project_claim(project.pk, "holder")
    asked = []

    def claim(*args):
        asked.append(args)
        return project_claim(*args)

    monkeypatch.setattr(bookkeeping, "project_claim", claim)
    thread, result = in_background(sync_project_task, project.pk, "incremental", SyncRun.Trigger.SCHEDULE)
    if holder_kind == SyncRun.Kind.WEBHOOK:
        wait_for(lambda: len(asked) >= 3, what="the sync asking again for the project a refresh holds")
        assert not SyncRun.objects.filter(project=project, status=SyncRun.Status.SKIPPED).exists()
        project_claim_release(project.pk, "holder")
    thread.join(timeout=GENEROUS)
    run = SyncRun.objects.get(pk=result[0])
    if holder_kind == SyncRun.Kind.WEBHOOK:
        assert run.status == SyncRun.Status.SUCCEEDED, run.error
    else:
        assert run.status == SyncRun.Status.SKIPPED and "already being synced by run #" in run.error
