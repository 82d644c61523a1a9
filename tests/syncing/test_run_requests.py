"""A run's `requests` is every request it caused, as Jira (jirasim) counted them: discovery, search pages,
the census after a full sync, history completion, the issues asked for again, and every retry."""

import pytest

from issues.models import Issue
from jirasim.faults import FaultPlan, FaultRule
from jirasim.testing import running_sim
from projects.models import Project
from syncing.models import SyncRun
from syncing.runs.runner import RunOptions, sync_instance, sync_project
from tests.support.sites import jira_requests, register, served

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("flavour", ["cloud", "datacenter"])
def test_a_full_sync_counts_every_request_jira_saw_census_histories_and_retries_included(
    flavour, reference_mappings, settings
):
    settings.JIRASYNC_PAGE_SIZE = 10  # several pages, long histories on several of them
    # Failed attempts are requests too: resets and 500s are retried, and Jira saw each of them.
    faults = FaultPlan([FaultRule("500", rate=0.05), FaultRule("reset", rate=0.03)], seed=5)
    with running_sim(flavour=flavour, projects=2, issues=40, seed=41, long_history_share=0.15, faults=faults) as server:
        instance = register(server, "instance_1" if flavour == "cloud" else "instance_2")
        run = sync_instance(instance.pk, RunOptions(full=True))
        assert run.status == SyncRun.Status.SUCCEEDED, run.error
        censuses = run.children.filter(kind=SyncRun.Kind.CENSUS)
        assert censuses.count() == 2 and all(census.requests >= 1 for census in censuses)
        assert run.retries > 0, "the faults must have made the run retry"
        if flavour == "cloud":
            assert served(server, "/changelog/bulkfetch") >= 1
        assert run.requests == jira_requests(server)
        # The project runs and censuses add up to the instance run, with its own discovery requests.
        own = run.requests - sum(child.requests for child in run.children.all())
        assert own >= 2  # serverInfo, myself, the project list


def test_an_incremental_sync_that_asks_again_for_short_histories_counts_those_requests_too(
    reference_mappings, settings
):
    settings.JIRASYNC_PAGE_SIZE = 10
    faults = FaultPlan([FaultRule("500", endpoint="POST /rest/api/3/changelog/bulkfetch", times=1000)])
    with running_sim(flavour="cloud", projects=1, issues=30, seed=42, long_history_share=0.2, faults=faults) as server:
        instance = register(server, "instance_1")
        first = sync_instance(instance.pk, RunOptions(full=True))
        assert first.incomplete_histories > 0 and first.requests == jira_requests(server)
        server.sim.faults.replace([])
        server.sim.stats.reset()
        again = sync_instance(instance.pk, RunOptions())  # the short histories are asked for again, by id
        assert again.status == SyncRun.Status.SUCCEEDED and again.incomplete_histories == 0, again.error
        assert not Issue.objects.filter(changelog_complete=False).exists()
        assert served(server, "/changelog/bulkfetch") >= 1
        assert again.requests == jira_requests(server)


def test_a_project_synced_full_on_its_own_counts_the_census_that_follows_it(reference_mappings):
    with running_sim(flavour="cloud", projects=1, issues=25, seed=43, long_history_share=0.1) as server:
        instance = register(server, "instance_1")
        sync_instance(instance.pk, RunOptions())  # discovers the project
        server.sim.stats.reset()
        project = Project.objects.get(instance=instance)
        run = sync_project(project.pk, RunOptions(full=True))
        assert run.status == SyncRun.Status.SUCCEEDED, run.error
        census = run.children.get(kind=SyncRun.Kind.CENSUS)  # the census is the run's own, shown with it
        assert census.status == SyncRun.Status.SUCCEEDED and census.requests >= 1
        assert run.requests == jira_requests(server)
