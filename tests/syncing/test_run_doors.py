"""Every door keeps its run the same way (issue #16): a kind becomes options in one place, a census asked for
through the project door is a census, and the webhook refresh is a run like the others — started, claimed,
ended — against jirasim over HTTP."""

import pytest

from audit.models import AuditLog
from issues.models import Issue
from projects.models import Project
from syncing.jira.client import RequestCounters
from syncing.models import SyncRun
from syncing.runs.bookkeeping import options_for
from syncing.runs.claims import project_claim, project_claim_release
from syncing.runs.runner import RunOptions, sync_instance
from syncing.site.clients import client_for
from syncing.tasks import refresh_issue, sync_project_task
from tests.support.sites import register

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


def test_the_webhook_refresh_takes_the_projects_claim_and_waits_a_quarter_lease_at_most(
    cloud_site, reference_mappings, settings
):
    settings.JIRASYNC_CLAIM_LEASE_SECONDS = 40  # the refresh waits 10 s for a claim held this long
    instance = register(cloud_site, "instance_1")
    assert sync_instance(instance.pk, RunOptions(full=True)).status == SyncRun.Status.SUCCEEDED
    key = cloud_site.sim.data.advance(minutes=5, update=0.05)["updated"][0]
    record = cloud_site.sim.data.find(key)
    issue = Issue.objects.get(instance=instance, jira_id=record.id)
    before = issue.raw_hash
    assert project_claim(issue.project_id, "another-worker")  # a run of the project holds it

    held = SyncRun.objects.get(pk=refresh_issue(instance.pk, record.id))

    assert (held.kind, held.status, held.project_id) == (SyncRun.Kind.WEBHOOK, SyncRun.Status.SKIPPED, issue.project_id)
    assert "already being synced by worker another-worker" in held.error
    issue.refresh_from_db()
    assert issue.raw_hash == before  # left to the run that holds the project, or the next incremental sync

    project_claim_release(issue.project_id, "another-worker")
    done = SyncRun.objects.get(pk=refresh_issue(instance.pk, record.id))

    assert done.status == SyncRun.Status.SUCCEEDED and done.owner and done.heartbeat_at and done.started_at
    issue.refresh_from_db()
    assert issue.raw_hash != before
    assert Project.objects.get(pk=issue.project_id).claimed_by == ""  # released
    # Audited once each, by their ends, as before: a refresh's start says nothing its end does not.
    audited = AuditLog.objects.filter(sync_run_id__in=[held.pk, done.pk], action__in=["sync_start", "sync_end"])
    assert sorted(audited.values_list("action", flat=True)) == ["sync_end", "sync_end"]
