"""Failures are never silent, and a site can turn each kind off: a comment or worklog list that cannot be read
whole costs its issue's row (recorded, audited, retried), and an instance syncing issues only asks for neither."""

import logging

import pytest
import requests

from activity.models import Comment, Worklog, WorklogFeed, WorklogPending
from audit.models import AuditLog
from audit.services import COMMAND
from issues.models import Issue
from jirasim.faults import FaultPlan, FaultRule
from jirasim.testing import running_sim
from syncing.instance_settings import instance_save
from syncing.models import IssueRetry, RunLogLine, SyncRun
from syncing.runs.runner import RunOptions, sync_instance
from tests.support.sites import busy, jira_requests, register, served
from tests.support.truth import assert_activity_equals_truth, assert_database_equals_truth

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize(
    ("flavour", "endpoint"),
    [
        ("cloud", "GET /rest/api/3/issue/{issueIdOrKey}/comment"),
        ("datacenter", "GET /rest/api/2/issue/{issueIdOrKey}/worklog"),
    ],
)
def test_a_list_that_cannot_be_read_fails_its_issue_row_saying_why_and_the_next_run_completes_it(
    flavour, endpoint, reference_mappings
):
    faults = FaultPlan([FaultRule("500", endpoint=endpoint)])
    with running_sim(flavour=flavour, projects=1, issues=30, seed=23, faults=faults) as server:
        busy(server, "OPS-4")
        instance = register(server, "instance_1" if flavour == "cloud" else "instance_2")
        run = sync_instance(instance.pk, RunOptions(full=True))
        assert run.status == SyncRun.Status.PARTIAL and run.failed_rows == 1
        assert "OPS-4: its " in run.error and "could not be read" in run.error and "500" in run.error
        assert not Issue.objects.filter(key="OPS-4").exists()  # not stored with less than Jira has
        assert AuditLog.objects.filter(action="sync_row_failed", object_repr="OPS-4").exists()
        assert IssueRetry.objects.filter(jira_id=server.sim.data.by_key["OPS-4"].id).exists()
        server.sim.faults.replace([])
        again = sync_instance(instance.pk, RunOptions())
        assert again.status == SyncRun.Status.SUCCEEDED, again.error
        assert not IssueRetry.objects.exists()
        assert_database_equals_truth(server, instance)
        assert_activity_equals_truth(server, instance)


@pytest.mark.parametrize("flavour", ["cloud", "datacenter"])
def test_an_instance_syncing_issues_only_asks_for_no_comment_or_worklog(flavour, reference_mappings):
    with running_sim(flavour=flavour, projects=1, issues=30, seed=24) as server:
        busy(server, "OPS-5")
        instance = register(
            server, "instance_1" if flavour == "cloud" else "instance_2", sync_comments=False, sync_worklogs=False
        )
        run = sync_instance(instance.pk, RunOptions(full=True))
        assert run.status == SyncRun.Status.SUCCEEDED, run.error
        assert not Comment.objects.exists() and not Worklog.objects.exists()
        assert served(server, "/comment") == served(server, "/worklog") == 0
        raw = Issue.objects.get(key="OPS-5").raw.body
        assert b'"comment"' not in bytes(raw) and b'"worklog"' not in bytes(raw)
        assert run.requests == jira_requests(server)
        # Turned on later: the next sync asks for them, and every stored issue gets its lists.
        instance.sync_comments = instance.sync_worklogs = True
        instance.save(update_fields=["sync_comments", "sync_worklogs"])
        later = sync_instance(instance.pk, RunOptions(full=True))
        assert later.status == SyncRun.Status.SUCCEEDED, later.error
        assert_activity_equals_truth(server, instance)


def test_a_cloud_issue_whose_older_worklogs_the_feed_no_longer_lists_is_read_whole_from_its_own_endpoint(
    reference_mappings,
):
    with running_sim(flavour="cloud", projects=1, issues=30, seed=25) as server:
        busy(server, "OPS-6")
        instance = register(server, "instance_1")
        # As for an issue moved in from a project not synced: the feed's watermark is past its worklogs.
        WorklogFeed.objects.create(instance=instance, updated_since=server.sim.data.now_ms, deleted_since=0)
        run = sync_instance(instance.pk, RunOptions(full=True))
        assert run.status == SyncRun.Status.SUCCEEDED, run.error
        assert served(server, "/worklog") == 1  # that issue alone, not one request per issue
        assert not WorklogPending.objects.exists()
        assert_activity_equals_truth(server, instance)


def test_a_worklog_feed_that_cannot_be_read_ends_the_run_partial_saying_why_and_the_next_run_reads_it(
    reference_mappings,
):
    faults = FaultPlan([FaultRule("500", endpoint="GET /rest/api/3/worklog/updated")])
    with running_sim(flavour="cloud", projects=1, issues=30, seed=26, faults=faults) as server:
        busy(server, "OPS-7")
        instance = register(server, "instance_1")
        run = sync_instance(instance.pk, RunOptions(full=True))
        assert run.status == SyncRun.Status.PARTIAL and "worklog feed: GET /rest/api/3/worklog/updated" in run.error
        assert WorklogPending.objects.filter(issue__key="OPS-7").exists()  # still short: kept to complete
        assert not WorklogFeed.objects.filter(updated_since__gt=0).exists()
        server.sim.faults.replace([])
        again = sync_instance(instance.pk, RunOptions())
        assert again.status == SyncRun.Status.SUCCEEDED, again.error
        assert not WorklogPending.objects.exists()
        assert_activity_equals_truth(server, instance)


@pytest.mark.parametrize(
    ("flavour", "endpoint"),
    [
        ("cloud", "GET /rest/api/3/issue/{issueIdOrKey}/comment"),
        ("datacenter", "GET /rest/api/2/issue/{issueIdOrKey}/worklog"),
    ],
)
def test_a_list_answering_404_while_its_issue_is_there_fails_the_row_and_is_no_silent_skip(
    flavour, endpoint, reference_mappings
):
    """A 404 on an issue's list is believed only when the issue answers 404 too (deleted since its page)."""
    with running_sim(flavour=flavour, projects=1, issues=30, seed=23) as server:
        busy(server, "OPS-4")  # its lists are longer than a search sends inline: read from their endpoints
        answer = requests.post(
            f"{server.url}/_sim/override",
            json={"endpoint": endpoint, "status": 404, "body": {"errorMessages": ["Issue does not exist"]}},
            timeout=30,
        )
        assert answer.status_code == 200, answer.text
        instance = register(server, "instance_1" if flavour == "cloud" else "instance_2")
        run = sync_instance(instance.pk, RunOptions(full=True))
        assert run.status == SyncRun.Status.PARTIAL and run.failed_rows == 1, (run.status, run.error)
        assert "OPS-4: its " in run.error and "answered 404 while the issue is there" in run.error, run.error
        assert not Issue.objects.filter(key="OPS-4").exists()
        assert IssueRetry.objects.filter(jira_id=server.sim.data.by_key["OPS-4"].id).exists()


EMPTY_LIST = {"startAt": 0, "maxResults": 100, "total": 0}


@pytest.mark.parametrize(
    ("flavour", "endpoint", "body"),
    [
        ("cloud", "GET /rest/api/3/issue/{issueIdOrKey}/comment", {**EMPTY_LIST, "comments": []}),
        ("datacenter", "GET /rest/api/2/issue/{issueIdOrKey}/worklog", {**EMPTY_LIST, "worklogs": []}),
    ],
)
def test_a_list_read_apart_with_less_than_the_issue_counted_replaces_nothing(
    flavour, endpoint, body, reference_mappings
):
    """The issue's answer counts its comments and worklogs; their own endpoint answering fewer (here none) is less
    than Jira has: the row fails, nothing stored is soft-deleted, the next run completes it."""
    with running_sim(flavour=flavour, projects=1, issues=30, seed=23) as server:
        busy(server, "OPS-4")
        instance = register(server, "instance_1" if flavour == "cloud" else "instance_2")
        assert sync_instance(instance.pk, RunOptions(full=True)).status == SyncRun.Status.SUCCEEDED
        live = {"comments": Comment.objects.filter(deleted_at=None), "worklogs": Worklog.objects.all()}
        live["worklogs"] = live["worklogs"].filter(deleted_at=None)
        before = {name: rows.count() for name, rows in live.items()}
        server.sim.data.advance(minutes=5, update=1.0)  # every issue changed: each read again
        override = {"endpoint": endpoint, "status": 200, "body": body}
        assert requests.post(f"{server.url}/_sim/override", json=override, timeout=30).status_code == 200
        run = sync_instance(instance.pk, RunOptions())
        assert run.status == SyncRun.Status.PARTIAL, (run.status, run.error)
        assert "OPS-4: its " in run.error and "the issue counted" in run.error, run.error
        assert not AuditLog.objects.filter(action="soft_delete", object_type__startswith="activity.").exists()
        assert {name: rows.count() for name, rows in live.items()} == before
        requests.delete(f"{server.url}/_sim/override", timeout=30)
        again = sync_instance(instance.pk, RunOptions())
        assert again.status == SyncRun.Status.SUCCEEDED, again.error
        assert_activity_equals_truth(server, instance)


@pytest.mark.parametrize("flavour", ["cloud", "datacenter"])
def test_turning_comments_and_worklogs_on_makes_the_next_incremental_sync_read_every_issues_lists(
    flavour, reference_mappings
):
    with running_sim(flavour=flavour, projects=2, issues=30, seed=28) as server:
        busy(server, "OPS-8")
        instance = register(
            server, "instance_1" if flavour == "cloud" else "instance_2", sync_comments=False, sync_worklogs=False
        )
        assert sync_instance(instance.pk, RunOptions(full=True)).status == SyncRun.Status.SUCCEEDED
        assert not Comment.objects.exists() and not Worklog.objects.exists()
        instance.sync_comments = instance.sync_worklogs = True
        instance_save(instance=instance, actor=COMMAND)
        # Nothing changed in Jira: an incremental sync finds no issue updated, yet reads each again for its lists.
        run = sync_instance(instance.pk, RunOptions())
        assert run.status == SyncRun.Status.SUCCEEDED, run.error
        assert_activity_equals_truth(server, instance)
        assert not Issue.objects.filter(changelog_complete=False).exists()
        # Off again while Jira's worklogs change (added, edited, deleted), then on: equal again (on Cloud the feed
        # lists what changed while off from where it was last read).
        instance.sync_worklogs = False
        instance_save(instance=instance, actor=COMMAND)
        changes = {"add": 5, "edit": 3, "delete": 3}
        answer = requests.post(f"{server.url}/_sim/advance", json={"minutes": 30, "worklogs": changes}, timeout=60)
        assert answer.json()["worklogs"]["deleted"]
        assert sync_instance(instance.pk, RunOptions()).status == SyncRun.Status.SUCCEEDED
        instance.sync_worklogs = True
        instance_save(instance=instance, actor=COMMAND)
        run = sync_instance(instance.pk, RunOptions())
        assert run.status == SyncRun.Status.SUCCEEDED, run.error
        assert_activity_equals_truth(server, instance)
        assert_database_equals_truth(server, instance)


@pytest.mark.parametrize(("flavour", "kind"), [("cloud", "comment"), ("datacenter", "worklog")])
def test_a_site_that_does_not_offer_a_kind_stores_and_deletes_none_of_it_and_says_so(flavour, kind, reference_mappings):
    """A list the issue's answer does not carry, whose endpoint answers 404 while the issue is there, is a kind
    the site does not offer (features removed on some Data Center sites): not a failed row, not an empty
    list that would soft-delete what is stored — a warning in the run's log."""
    model = {"comment": Comment, "worklog": Worklog}[kind]
    with running_sim(flavour=flavour, projects=1, issues=30, seed=23) as server:
        busy(server, "OPS-4")
        instance = register(server, "instance_1" if flavour == "cloud" else "instance_2")
        assert sync_instance(instance.pk, RunOptions(full=True)).status == SyncRun.Status.SUCCEEDED
        stored = set(model.objects.filter(deleted_at=None).values_list("jira_id", flat=True))
        assert stored
        offered = requests.post(f"{server.url}/_sim/offered", json={kind: False}, timeout=30)
        assert offered.json() == {"comment": kind != "comment", "worklog": kind != "worklog"}
        server.sim.data.advance(minutes=5, update=1.0)  # every issue changed: each read again
        run = sync_instance(instance.pk, RunOptions())
        assert run.status == SyncRun.Status.SUCCEEDED and run.failed_rows == 0, (run.status, run.error)
        assert served(server, f"/{kind}") > 0  # asked, and answered 404
        assert set(model.objects.filter(deleted_at=None).values_list("jira_id", flat=True)) == stored
        assert not AuditLog.objects.filter(action=f"{kind}_deleted").exists()
        warned = RunLogLine.objects.filter(level=logging.WARNING, message__contains=f"no {kind} list")  # project run's
        assert warned.count() == 30 and "endpoint answers 404" in warned[0].message
        assert_database_equals_truth(server, instance)  # the issues themselves are stored as Jira has them
        other = Worklog if kind == "comment" else Comment
        assert other.objects.filter(deleted_at=None).exists()  # the kind still offered is synced as before
