"""Lists that come back with less than was asked, and look whole: worklog/list leaving out worklogs the feed
listed as changed, comment pages that shifted while read, a bad worklog of an issue not synced here. Each is
repaired or a failed row saying why — never stale content taken as whole, never a live comment soft-deleted."""

import pytest
import requests

from activity.models import Comment, Worklog, WorklogFeed, WorklogPending
from audit.models import AuditLog
from audit.services import COMMAND
from jirasim.faults import FaultRule
from jirasim.testing import running_sim
from syncing.instance_settings import instance_save
from syncing.models import RunLogLine, SyncRun
from syncing.runs.runner import RunOptions, sync_instance
from tests.support.sites import answer_overridden, busy, register, served
from tests.support.truth import assert_activity_equals_truth

pytestmark = pytest.mark.django_db(transaction=True)

WORKLOG_LIST = "POST /rest/api/3/worklog/list"


def edit_every_worklog(server, key: str) -> None:
    """Someone adds a quarter of an hour to each worklog of the issue; then the clock moves on past the minute
    the worklog feed leaves out, so the feed lists the edits."""
    data = server.sim.data
    with data.lock:
        record = data.by_key[key]
        for note in list(data.activity(record).live_worklogs(data.now_ms)):
            data.edit_note(record, note, 1, data.now_ms, worklog=True)
        data.version += 1
    data.advance(minutes=5)


def feed_lists(server, worklog_ids: list[int], *, since: int) -> None:
    """worklog/updated lists these ids (changed a minute after `since`) and nothing else."""
    until = since + 60_000
    values = [{"worklogId": worklog_id, "updatedTime": until, "properties": []} for worklog_id in worklog_ids]
    body = {"values": values, "since": since, "until": until, "lastPage": True}
    answer_overridden(server, "GET /rest/api/3/worklog/updated", body)


def run_log(run: SyncRun) -> str:
    return "\n".join(RunLogLine.objects.filter(run=run).values_list("message", flat=True))


def test_worklogs_the_feed_listed_and_worklog_list_left_out_are_read_from_their_issues_own_endpoint(
    reference_mappings,
):
    with running_sim(flavour="cloud", projects=1, issues=30, seed=41) as server:
        busy(server, "OPS-4")  # 23 worklogs: 20 inline, the rest from the feed
        instance = register(server, "instance_1")
        assert sync_instance(instance.pk, RunOptions(full=True)).status == SyncRun.Status.SUCCEEDED
        edit_every_worklog(server, "OPS-4")
        answer_overridden(server, WORKLOG_LIST, [])  # every worklog asked for left out
        before = served(server, "/worklog")
        run = sync_instance(instance.pk, RunOptions())
        assert run.status == SyncRun.Status.SUCCEEDED, run.error
        assert served(server, "/worklog") == before + 1  # OPS-4, the one issue holding them, read whole
        # The 20 its page sent inline are stored as the feed lists them: the other 3 were asked for, left out.
        assert "worklog/list did not return 3 of the worklogs" in run_log(run)
        assert not WorklogPending.objects.exists()
        assert_activity_equals_truth(server, instance)


def test_a_pending_issue_whose_worklogs_do_not_add_up_to_its_timespent_is_read_again_not_taken_as_whole(
    reference_mappings,
):
    """The count matches while a worklog's seconds are old (an edit the feed has not listed yet: Jira leaves
    out its last minute): the issue's timespent, sent with the count, tells; its own endpoint is read."""
    with running_sim(flavour="cloud", projects=1, issues=30, seed=42) as server:
        busy(server, "OPS-4")
        instance = register(server, "instance_1")
        assert sync_instance(instance.pk, RunOptions(full=True)).status == SyncRun.Status.SUCCEEDED
        edit_every_worklog(server, "OPS-4")
        # As if the feed had already passed those edits: it lists none of them.
        WorklogFeed.objects.filter(instance=instance).update(updated_since=server.sim.data.now_ms + 3_600_000)
        run = sync_instance(instance.pk, RunOptions())
        assert run.status == SyncRun.Status.SUCCEEDED, run.error
        assert not WorklogPending.objects.exists()
        assert_activity_equals_truth(server, instance)


def test_a_full_sync_re_reads_the_worklogs_of_an_issue_whose_stored_ones_disagree_with_its_answer(
    reference_mappings,
):
    """Stale seconds stored by an earlier run (the issue itself unchanged since): a full sync compares the
    stored worklogs with the issue's total and timespent and reads them again."""
    with running_sim(flavour="cloud", projects=1, issues=30, seed=43) as server:
        busy(server, "OPS-4")
        instance = register(server, "instance_1")
        assert sync_instance(instance.pk, RunOptions(full=True)).status == SyncRun.Status.SUCCEEDED
        Worklog.objects.filter(pk=Worklog.objects.filter(issue__key="OPS-4").order_by("-jira_id")[0].pk).update(
            seconds=1
        )
        run = sync_instance(instance.pk, RunOptions(full=True))
        assert run.status == SyncRun.Status.SUCCEEDED, run.error
        assert_activity_equals_truth(server, instance)


def test_turning_worklogs_off_and_on_repairs_stale_seconds_an_earlier_run_stored(reference_mappings):
    """Off → on reads every issue again; a pending issue whose stored seconds disagree with its timespent is
    read whole from its own endpoint rather than counted complete."""
    with running_sim(flavour="cloud", projects=1, issues=30, seed=48) as server:
        busy(server, "OPS-4")
        instance = register(server, "instance_1")
        assert sync_instance(instance.pk, RunOptions(full=True)).status == SyncRun.Status.SUCCEEDED
        stale = Worklog.objects.filter(issue__key="OPS-4").order_by("-jira_id")[0]
        Worklog.objects.filter(pk=stale.pk).update(seconds=stale.seconds + 60)
        for on in (False, True):
            instance.sync_worklogs = on
            instance_save(instance=instance, actor=COMMAND)
        run = sync_instance(instance.pk, RunOptions())
        assert run.status == SyncRun.Status.SUCCEEDED, run.error
        assert Worklog.objects.get(pk=stale.pk).seconds == stale.seconds
        assert_activity_equals_truth(server, instance)


COMMENTS = "GET /rest/api/3/issue/{issueIdOrKey}/comment"


def test_comment_pages_that_shifted_while_read_fail_the_row_and_soft_delete_no_live_comment(reference_mappings):
    """startAt paging while a comment is deleted before the next page: one comment twice, the last one left out,
    as many items as Jira counted. Counted by distinct ids it is short: the row fails, nothing is deleted."""
    with running_sim(flavour="cloud", projects=1, issues=30, seed=44) as server:
        busy(server, "OPS-4", comments=130)  # more than Cloud's page of 100
        instance = register(server, "instance_1")
        assert sync_instance(instance.pk, RunOptions(full=True)).status == SyncRun.Status.SUCCEEDED
        server.sim.faults.replace([FaultRule("shift-page", endpoint=COMMENTS)])
        server.sim.data.advance(minutes=5, update=1.0)  # every issue changed: each read again
        run = sync_instance(instance.pk, RunOptions())
        assert run.status == SyncRun.Status.PARTIAL, (run.status, run.error)
        assert "OPS-4: its comments: comment " in run.error and "came twice" in run.error, run.error
        assert not AuditLog.objects.filter(action="soft_delete", object_type="activity.comment").exists()
        assert not Comment.objects.filter(deleted_at__isnull=False).exists()
        server.sim.faults.replace([])
        again = sync_instance(instance.pk, RunOptions())
        assert again.status == SyncRun.Status.SUCCEEDED, again.error
        assert_activity_equals_truth(server, instance)


def test_a_comment_without_an_id_in_the_issues_own_list_is_named_as_such(reference_mappings):
    with running_sim(flavour="cloud", projects=1, issues=30, seed=45) as server:
        busy(server, "OPS-4")
        nameless = {"author": {"accountId": "a"}, "created": "2026-01-01T00:00:00.000+0000", "body": "hi"}
        answer_overridden(server, COMMENTS, {"startAt": 0, "maxResults": 100, "total": 25, "comments": 25 * [nameless]})
        instance = register(server, "instance_1")
        run = sync_instance(instance.pk, RunOptions(full=True))
        assert run.status == SyncRun.Status.PARTIAL, (run.status, run.error)
        assert "OPS-4: its comments: Jira answered with a comment without a numeric id" in run.error, run.error
        assert "not every one the issue showed" not in run.error


def test_a_bad_worklog_of_an_issue_not_synced_here_is_counted_and_left_and_holds_no_feed_back(reference_mappings):
    with running_sim(flavour="cloud", projects=1, issues=30, seed=46) as server:
        instance = register(server, "instance_1")
        assert sync_instance(instance.pk, RunOptions(full=True)).status == SyncRun.Status.SUCCEEDED
        server.sim.data.advance(minutes=30, activity={"worklogs": {"add": 3}})
        server.sim.data.advance(minutes=5)
        elsewhere = {"id": "99000001", "issueId": "99000002", "started": "not a date", "timeSpentSeconds": 60}
        before = WorklogFeed.objects.get(instance=instance).updated_since
        feed_lists(server, [99000001], since=before)  # a change the pages did not store: asked for by id
        answer_overridden(server, WORKLOG_LIST, [elsewhere])
        run = sync_instance(instance.pk, RunOptions())
        assert run.status == SyncRun.Status.SUCCEEDED, run.error
        assert WorklogFeed.objects.get(instance=instance).updated_since > before
        assert "1 of issues not synced here" in run_log(run)
        requests.delete(f"{server.url}/_sim/override", timeout=30)
        assert_activity_equals_truth(server, instance)


def test_bad_worklogs_of_a_stored_issue_in_the_feed_name_it_once_by_its_key_and_hold_the_watermark(
    reference_mappings,
):
    with running_sim(flavour="cloud", projects=1, issues=30, seed=47) as server:
        instance = register(server, "instance_1")
        assert sync_instance(instance.pk, RunOptions(full=True)).status == SyncRun.Status.SUCCEEDED
        server.sim.data.advance(minutes=30, activity={"worklogs": {"add": 2}})
        server.sim.data.advance(minutes=5)
        issue_id = str(server.sim.data.by_key["OPS-4"].id)
        bad = [
            {"id": str(n), "issueId": issue_id, "started": "not a date", "timeSpentSeconds": 60}
            for n in (99000001, 99000002)
        ]
        before = WorklogFeed.objects.get(instance=instance).updated_since
        feed_lists(server, [99000001, 99000002], since=before)
        answer_overridden(server, WORKLOG_LIST, bad)
        run = sync_instance(instance.pk, RunOptions())
        assert run.status == SyncRun.Status.PARTIAL, (run.status, run.error)
        assert "worklogs: OPS-4: Jira answered with worklog 99000001: started" in run.error, run.error
        assert "(and 1 more)" in run.error and run.error.count("OPS-4") == 1, run.error
        assert issue_id not in run.error
        assert WorklogFeed.objects.get(instance=instance).updated_since == before
