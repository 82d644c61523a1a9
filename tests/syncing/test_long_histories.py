"""Issues with long histories end with every status change stored; Cloud completes them in bulk."""

import pytest

from issues.models import Issue
from jirasim.testing import running_sim
from syncing.models import SyncRun
from syncing.runner import RunOptions, sync_instance
from tests.syncing.conftest import register
from tests.syncing.truth import assert_database_equals_truth

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("flavour", ["cloud", "datacenter"])
def test_histories_of_150_and_400_entries_are_stored_whole(flavour, reference_mappings):
    with running_sim(flavour=flavour, projects=1, issues=30, seed=31, long_history_share=0) as server:
        data = server.sim.data
        data.set_history_length("OPS-3", 150)
        data.set_history_length("OPS-7", 400)
        instance = register(server, "instance_1" if flavour == "cloud" else "instance_2")
        run = sync_instance(instance.pk, RunOptions(full=True))
        assert run.status == SyncRun.Status.SUCCEEDED and run.incomplete_histories == 0
        assert_database_equals_truth(server, instance)
        for key, total in (("OPS-3", 150), ("OPS-7", 400)):
            issue = Issue.objects.get(key=key)
            assert issue.changelog_total == total and issue.changelog_complete
        requests = server.sim.stats.snapshot()
        per_issue = sum(sum(codes.values()) for name, codes in requests.items() if name.endswith("/changelog"))
        if flavour == "cloud":
            # Truncated to 40 inline; completed by one bulk call for the page, none per issue.
            assert requests["POST /rest/api/3/changelog/bulkfetch"] == {"200": 1}
            assert per_issue == 0
        else:
            assert per_issue == 0  # Data Center sends the whole history inline


def test_a_history_that_cannot_be_completed_is_flagged_and_counted_never_silently_short(reference_mappings):
    from jirasim.faults import FaultPlan, FaultRule

    faults = FaultPlan([FaultRule("500", endpoint="POST /rest/api/3/changelog/bulkfetch", times=1000)])
    with running_sim(flavour="cloud", projects=1, issues=10, seed=32, long_history_share=0, faults=faults) as server:
        server.sim.data.set_history_length("OPS-2", 120)
        instance = register(server, "instance_1")
        run = sync_instance(instance.pk, RunOptions(full=True))
        assert run.incomplete_histories == 1
        issue = Issue.objects.get(key="OPS-2")
        assert not issue.changelog_complete and issue.changelog_total == 120
        server.sim.faults.replace([])
        sync_instance(instance.pk, RunOptions())  # the next run completes it: incomplete issues are never "unchanged"
        issue.refresh_from_db()
        assert issue.changelog_complete
        assert_database_equals_truth(server, instance)
