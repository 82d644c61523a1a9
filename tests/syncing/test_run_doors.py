"""Every door keeps its run the same way (issue #16): a kind becomes options in one place, and a census asked
for through the project door is a census — against jirasim over HTTP."""

import pytest

from issues.models import Issue
from syncing.clients import client_for
from syncing.jira.client import RequestCounters
from syncing.models import SyncRun
from syncing.runner import RunOptions, sync_instance
from syncing.runs import options_for
from syncing.tasks import sync_project_task
from tests.syncing.conftest import register

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
