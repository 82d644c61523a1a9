"""Issues with long histories end with every status change stored; Cloud completes them in bulk."""

import pytest

from issues.models import Issue
from jirasim.testing import running_sim
from syncing.models import SyncRun
from syncing.runs.runner import RunOptions, sync_instance
from tests.support.sites import register
from tests.support.truth import assert_database_equals_truth

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


@pytest.mark.parametrize("flavour", ["cloud", "datacenter"])
def test_long_histories_of_many_pages_are_completed_by_one_bulkfetch_per_thousand_issues(
    flavour, reference_mappings, settings
):
    settings.JIRASYNC_PAGE_SIZE = 10  # 12 pages, long histories on most of them
    with running_sim(flavour=flavour, projects=1, issues=120, seed=33, long_history_share=0.2) as server:
        instance = register(server, "instance_1" if flavour == "cloud" else "instance_2")
        run = sync_instance(instance.pk, RunOptions(full=True))
        assert run.status == SyncRun.Status.SUCCEEDED and run.incomplete_histories == 0
        assert_database_equals_truth(server, instance)
        assert not Issue.objects.filter(changelog_complete=False).exists()
        requests = server.sim.stats.snapshot()
        if flavour == "cloud":
            long = sum(1 for issue in Issue.objects.all() if issue.changelog_total > 40)
            assert long > 10, "the site must have long histories on several pages"
            assert sum(requests["POST /rest/api/3/changelog/bulkfetch"].values()) == 1


def test_histories_deferred_by_a_run_that_stopped_before_completing_them_stay_flagged_and_are_completed_next_run(
    reference_mappings, settings, monkeypatch
):
    from syncing.runs import runner

    settings.JIRASYNC_PAGE_SIZE = 10
    with running_sim(flavour="cloud", projects=1, issues=60, seed=34, long_history_share=0.2) as server:
        instance = register(server, "instance_1")

        def killed(*args, **kwargs):  # the worker dies once its pages are committed
            raise SystemExit("killed before completing histories")

        monkeypatch.setattr(runner, "histories_complete", killed)
        with pytest.raises(SystemExit):
            sync_instance(instance.pk, RunOptions(full=True))
        short = Issue.objects.filter(changelog_complete=False)
        assert short.count() > 3, "the long histories are stored as far as their pages held them, flagged"
        assert all(len(issue.status_changes.all()) >= 1 for issue in short)
        monkeypatch.undo()
        run = sync_instance(instance.pk, RunOptions())
        assert run.status == SyncRun.Status.SUCCEEDED and run.incomplete_histories == 0
        assert not Issue.objects.filter(changelog_complete=False).exists()
        assert_database_equals_truth(server, instance)


def test_a_deferred_history_of_an_issue_that_moved_on_in_jira_meanwhile_is_not_stored_as_whole(
    reference_mappings, monkeypatch
):
    import requests

    from syncing.runs import runner

    with running_sim(flavour="cloud", projects=1, issues=10, seed=35, long_history_share=0) as server:
        server.sim.data.set_history_length("OPS-4", 120)
        instance = register(server, "instance_1")
        complete = runner.histories_complete

        def after_a_status_move(client, plan, deferred, **kwargs):
            # In Jira, after OPS-4's page was read and before its history is fetched: the whole history
            # then ends in a move the stored row does not know of.
            answer = requests.post(
                f"{server.url}/_sim/status", json={"issue": "OPS-4", "status": "Escalated Editing"}, timeout=30
            )
            assert answer.status_code == 200
            return complete(client, plan, deferred, **kwargs)

        monkeypatch.setattr(runner, "histories_complete", after_a_status_move)
        run = sync_instance(instance.pk, RunOptions(full=True))
        issue = Issue.objects.get(key="OPS-4")
        assert not issue.changelog_complete and run.incomplete_histories == 1
        assert issue.status != "Escalated Editing"
        monkeypatch.undo()
        sync_instance(instance.pk, RunOptions())
        issue.refresh_from_db()
        assert issue.changelog_complete and issue.status == "Escalated Editing"
        assert_database_equals_truth(server, instance)


def test_deferred_histories_are_completed_in_packs_that_fill_bulkfetch_pages_in_the_order_they_came():
    from syncing.engine.deferred_histories import HISTORY_BATCH, PACK_ENTRIES, deferred_due

    deferred = {n: (f"OPS-{n}", 450) for n in range(1, 100)}  # 99 × 450 = 44,550 histories
    deferred[100] = ("OPS-100", None)  # total unknown: read one by one, weighs nothing
    packs = deferred_due(deferred, final=False)
    assert [len(pack) for pack in packs] == [44, 44]  # 44 × 450 = 19,800 ≤ 20,000 < 45 × 450
    assert all(sum(total or 0 for _, total in pack.values()) <= PACK_ENTRIES for pack in packs)
    assert list(packs[0]) == list(range(1, 45)) and list(packs[1]) == list(range(45, 89))
    assert list(deferred) == [*range(89, 101)], "the rest waits for more, or for the end of the pages"
    assert deferred_due(deferred, final=False) == []
    last = deferred_due(deferred, final=True)
    assert [list(pack) for pack in last] == [[*range(89, 101)]] and deferred == {}
    many = {n: (f"OPS-{n}", 3) for n in range(HISTORY_BATCH + 5)}  # short ones: Jira's 1,000 issues a call
    assert [len(pack) for pack in deferred_due(many, final=True)] == [HISTORY_BATCH, 5]
    alone = {1: ("OPS-1", 3 * PACK_ENTRIES), 2: ("OPS-2", 10)}  # larger than a pack: a pack of its own
    assert [list(pack) for pack in deferred_due(alone, final=True)] == [[1], [2]]


def test_long_histories_are_completed_in_packs_while_the_pages_are_read_and_all_end_whole(
    reference_mappings, settings, monkeypatch
):
    from syncing.engine import deferred_histories
    from syncing.runs import runner

    settings.JIRASYNC_PAGE_SIZE = 10
    monkeypatch.setattr(deferred_histories, "PACK_ENTRIES", 1500)  # a few long histories a pack
    packs: list[int] = []
    stored_then: list[int] = []
    complete = runner.histories_complete

    def counted(client, plan, pack, **kwargs):
        packs.append(sum(total or 0 for _, total in pack.values()))
        stored_then.append(Issue.objects.count())
        return complete(client, plan, pack, **kwargs)

    monkeypatch.setattr(runner, "histories_complete", counted)
    with running_sim(flavour="cloud", projects=1, issues=120, seed=36, long_history_share=0.2) as server:
        instance = register(server, "instance_1")
        run = sync_instance(instance.pk, RunOptions(full=True))
        assert run.status == SyncRun.Status.SUCCEEDED and run.incomplete_histories == 0
        assert not Issue.objects.filter(changelog_complete=False).exists()
        assert_database_equals_truth(server, instance)
        assert len(packs) >= 3 and all(entries <= 1500 for entries in packs)
        assert stored_then[0] < 120, "the first pack is completed while the pages are still read"
        long = sum(issue.changelog_total for issue in Issue.objects.filter(changelog_total__gt=40))
        assert sum(packs) == long, "every long history completed once"
        bulkfetch = sum(server.sim.stats.snapshot()["POST /rest/api/3/changelog/bulkfetch"].values())
        assert bulkfetch == len(packs)  # a pack of ≤ 1,500 histories is one page of 10,000


def test_a_bulkfetch_history_of_another_shape_leaves_its_issues_flagged_not_the_run_failed(reference_mappings):
    import requests

    with running_sim(flavour="cloud", projects=1, issues=10, seed=37, long_history_share=0) as server:
        server.sim.data.set_history_length("OPS-5", 130)
        instance = register(server, "instance_1")
        odd = {  # a status move whose history id is not a number: nothing to store it under
            "issueChangeLogs": [
                {
                    "issueId": str(server.sim.data.by_key["OPS-5"].id),
                    "changeHistories": [
                        {
                            "id": "not-a-number",
                            "created": "2026-01-01T00:00:00.000+0000",
                            "items": [{"fieldId": "status", "from": "1", "fromString": "Open", "to": "2"}],
                        }
                    ],
                }
            ]
        }
        override = {"endpoint": "POST /rest/api/3/changelog/bulkfetch", "status": 200, "body": odd}
        assert requests.post(f"{server.url}/_sim/override", json=override, timeout=30).status_code == 200
        run = sync_instance(instance.pk, RunOptions(full=True))
        assert run.status == SyncRun.Status.SUCCEEDED and run.incomplete_histories == 1, run.error
        assert not Issue.objects.get(key="OPS-5").changelog_complete
        requests.delete(f"{server.url}/_sim/override", timeout=30)
        sync_instance(instance.pk, RunOptions())
        assert Issue.objects.get(key="OPS-5").changelog_complete
        assert_database_equals_truth(server, instance)
