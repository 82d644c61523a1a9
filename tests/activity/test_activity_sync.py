"""Comments and worklogs in the database (issue #14): after full, incremental and no-change syncs while
jirasim adds, edits and deletes them, the comment and worklog tables equal what Jira holds — on Cloud and
Data Center, SQLite and PostgreSQL, over HTTP."""

from datetime import timedelta

import pytest
import requests
from django.urls import reverse
from django.utils import timezone

from activity.metrics import activity_families
from activity.models import Comment, Worklog, WorklogFeed, WorklogPending
from activity.worklog_feed import worklog_feed_sync
from audit.models import AuditLog
from issues.models import FieldChange
from jirasim.testing import running_sim
from syncing.models import SyncRun
from syncing.runs.runner import RunOptions, sync_instance
from syncing.site.clients import client_for
from syncing.tasks import remap_task
from tests.support.sites import answer_overridden, busy, jira_requests, register, served
from tests.support.truth import assert_activity_equals_truth, assert_database_equals_truth

pytestmark = pytest.mark.django_db(transaction=True)

CHANGES = {"add": 6, "edit": 3, "delete": 3}


@pytest.mark.parametrize("flavour", ["cloud", "datacenter"])
def test_full_incremental_and_no_change_syncs_keep_comments_and_worklogs_equal_to_jira(
    flavour, reference_mappings, settings
):
    settings.JIRASYNC_PAGE_SIZE = 10
    with running_sim(flavour=flavour, projects=2, issues=60, seed=21, long_history_share=0.05) as server:
        busy(server, "OPS-3")
        instance = register(server, "instance_1" if flavour == "cloud" else "instance_2")
        run = sync_instance(instance.pk, RunOptions(full=True))
        assert run.status == SyncRun.Status.SUCCEEDED, run.error
        comments, worklogs = assert_activity_equals_truth(server, instance)
        assert comments > 50 and worklogs > 30
        assert max(len(row["worklogs"]) for row in server.sim.data.truth()) > 20
        if flavour == "cloud":  # the worklogs beyond the inline 20 came from the feed, not a request per issue
            assert served(server, "/worklog/list") >= 1 and served(server, "/worklog") == 0
            assert not WorklogPending.objects.exists()
        assert run.requests == jira_requests(server)
        for _ in range(2):
            answer = requests.post(
                f"{server.url}/_sim/advance",
                json={"minutes": 30, "update": 0.05, "comments": CHANGES, "worklogs": CHANGES},
                timeout=60,
            )
            done = answer.json()
            assert done["comments"]["deleted"] and done["worklogs"]["deleted"]
            run = sync_instance(instance.pk, RunOptions())
            assert run.status == SyncRun.Status.SUCCEEDED, run.error
            assert_database_equals_truth(server, instance)
            assert_activity_equals_truth(server, instance)
        # Every comment and worklog Jira deleted was stored before, then soft-deleted and audited once.
        deleted_comments = Comment.objects.filter(deleted_at__isnull=False).count()
        deleted_worklogs = Worklog.objects.filter(deleted_at__isnull=False).count()
        assert deleted_comments >= 3 and deleted_worklogs >= 3
        assert AuditLog.objects.filter(action="soft_delete", object_type="activity.comment").count() == deleted_comments
        assert AuditLog.objects.filter(action="soft_delete", object_type="activity.worklog").count() == deleted_worklogs
        # /metrics counts them per instance (read at scrape time).
        samples = {family.name: family.samples[0] for family in activity_families()}
        assert samples["jirasync_comments_deleted"].value == deleted_comments
        assert samples["jirasync_worklogs_deleted"].value == deleted_worklogs
        assert samples["jirasync_comments"].value == Comment.objects.filter(deleted_at__isnull=True).count()
        assert samples["jirasync_worklogs"].labels == {"jira_instance": instance.slug}
        written = Comment.objects.count(), Worklog.objects.count()
        server.sim.stats.reset()
        again = sync_instance(instance.pk, RunOptions())
        # Nothing changed: one search per project, and on Cloud one request each of the worklog feed; no other
        # comment or worklog request (discovery aside).
        search = "POST /rest/api/3/search/jql" if flavour == "cloud" else "POST /rest/api/2/search"
        asked = {name: sum(codes.values()) for name, codes in server.sim.stats.snapshot().items()}
        assert again.requests == sum(asked.values())
        assert asked.pop(search) == 2, asked
        if flavour == "cloud":
            assert asked.pop("GET /rest/api/3/worklog/updated") == asked.pop("GET /rest/api/3/worklog/deleted") == 1
        assert not [name for name in asked if "comment" in name or "worklog" in name], asked
        assert again.status == SyncRun.Status.SUCCEEDED and (again.inserted, again.updated) == (0, 0)
        assert (Comment.objects.count(), Worklog.objects.count()) == written
        assert_activity_equals_truth(server, instance)


def test_a_remap_flattens_stored_texts_anew_and_reports_how_many_it_changed(reference_mappings):
    with running_sim(flavour="cloud", projects=1, issues=20, seed=27) as server:
        instance = register(server, "instance_1")
        assert sync_instance(instance.pk, RunOptions(full=True)).status == SyncRun.Status.SUCCEEDED
        stale_comments = list(Comment.objects.values_list("pk", flat=True)[:4])
        stale_worklogs = list(Worklog.objects.values_list("pk", flat=True)[:3])
        Comment.objects.filter(pk__in=stale_comments).update(body="flattened by an older reading")
        Worklog.objects.filter(pk__in=stale_worklogs).update(comment="flattened by an older reading")
        server.sim.stats.reset()
        result = remap_task(instance.slug)  # what the admin's Re-map queues: its result is what it changed
        assert result["activity_texts"] == 7 and result["checked"] == 20
        assert server.sim.stats.snapshot() == {}
        assert "7 comment and worklog texts changed" in AuditLog.objects.get(action="remap").summary
        assert_activity_equals_truth(server, instance)
        assert remap_task(instance.slug)["activity_texts"] == 0


@pytest.mark.parametrize("flavour", ["cloud", "datacenter"])
def test_a_run_counts_the_comments_worklogs_and_field_changes_it_wrote_and_soft_deleted(
    flavour, reference_mappings, client, admin_client, settings
):
    settings.METRICS_TOKEN, settings.METRICS_ALLOWED_IPS = "", ["127.0.0.1"]
    with running_sim(flavour=flavour, projects=2, issues=30, seed=29) as server:
        busy(server, "OPS-9")
        instance = register(server, "instance_1" if flavour == "cloud" else "instance_2")
        full = sync_instance(instance.pk, RunOptions(full=True))
        assert full.status == SyncRun.Status.SUCCEEDED, full.error
        assert full.comments == Comment.objects.count() > 50
        assert full.field_changes == FieldChange.objects.count() > 100
        worklogs = [len(row["worklogs"]) for row in server.sim.data.truth()]
        # Data Center: each issue's whole list with its page. Cloud: the pages write the inline 20 at most, then
        # the feed (watermark 0) lists every worklog of the site and writes those the pages did not: each once.
        assert full.worklogs == Worklog.objects.count() == sum(worklogs)
        assert flavour == "datacenter" or max(worklogs) > 20
        assert (full.comments_deleted, full.worklogs_deleted) == (0, 0)
        children = SyncRun.objects.filter(parent=full, kind=SyncRun.Kind.FULL)
        assert sum(child.comments for child in children) == full.comments  # an instance run sums its projects

        answer = requests.post(
            f"{server.url}/_sim/advance",
            json={"minutes": 30, "update": 0.1, "comments": CHANGES, "worklogs": CHANGES},
            timeout=60,
        )
        assert answer.json()["comments"]["deleted"] and answer.json()["worklogs"]["deleted"]
        again = sync_instance(instance.pk, RunOptions())
        assert again.status == SyncRun.Status.SUCCEEDED, again.error
        assert again.comments_deleted == Comment.objects.filter(deleted_at__isnull=False).count() > 0
        assert again.worklogs_deleted == Worklog.objects.filter(deleted_at__isnull=False).count() > 0
        assert again.comments > 0 and again.worklogs > 0 and again.field_changes > 0

        text = admin_client.get(reverse("admin:syncing_syncrun_change", args=[again.pk])).content.decode()
        assert "Comments deleted" in text and "Field changes" in text
        listing = admin_client.get(reverse("admin:syncing_syncrun_changelist")).content.decode()
        assert f"{again.comments_deleted:,} comm. del." in listing
        scraped = client.get("/metrics").content.decode()
        for column, metric in (
            ("comments", "jirasync_comments_written_total"),
            ("worklogs", "jirasync_worklogs_written_total"),
            ("field_changes", "jirasync_field_changes_written_total"),
            ("comments_deleted", "jirasync_comments_soft_deleted_total"),
            ("worklogs_deleted", "jirasync_worklogs_soft_deleted_total"),
        ):
            total = getattr(full, column) + getattr(again, column)
            assert f'{metric}{{jira_instance="{instance.slug}"}} {float(total)}' in scraped, metric


def test_the_worklog_feed_asks_only_for_changes_not_stored_as_listed(reference_mappings):
    """The feed lists (id, updatedTime) pairs; a worklog stored live at that moment (its issue's page wrote it)
    is not asked for again. Every other one is: never stored, stored at another moment, soft-deleted."""
    with running_sim(flavour="cloud", projects=1, issues=40, seed=21) as server:
        instance = register(server, "instance_1")
        assert sync_instance(instance.pk, RunOptions(full=True)).status == SyncRun.Status.SUCCEEDED
        live = Worklog.objects.filter(instance=instance, deleted_at__isnull=True).order_by("jira_id")
        total = live.count()
        assert total > 30
        stale, missing, gone = live[0], live[1], live[2]
        Worklog.objects.filter(pk=stale.pk).update(updated=stale.updated - timedelta(minutes=5), comment="old")
        Worklog.objects.filter(pk=missing.pk).delete()
        Worklog.objects.filter(pk=gone.pk).update(deleted_at=timezone.now())
        WorklogFeed.objects.filter(instance=instance).update(updated_since=0)  # the whole site listed again
        server.sim.stats.reset()

        result = worklog_feed_sync(client_for(instance), instance, run_id=None)

        assert not result.failed
        assert result.listed == total and result.current == total - 3
        assert result.written == 3 and served(server, "/worklog/list") == 1
        assert_activity_equals_truth(server, instance)
        assert Worklog.objects.get(jira_id=stale.jira_id).updated == stale.updated
        assert Worklog.objects.get(jira_id=gone.jira_id).deleted_at is None


def test_a_worklog_edited_twice_in_one_millisecond_around_its_page_read_is_asked_for_again(reference_mappings):
    """A script edits a worklog twice within one millisecond and its issue's page is read between the edits: the
    stored row holds the first edit at the very moment the feed lists for the second. A row stored so soon after
    its moment is not taken as current; one stored long after it is."""
    with running_sim(flavour="cloud", projects=1, issues=20, seed=27) as server:
        instance = register(server, "instance_1")
        assert sync_instance(instance.pk, RunOptions(full=True)).status == SyncRun.Status.SUCCEEDED
        live = Worklog.objects.filter(instance=instance, deleted_at__isnull=True)
        total = live.count()
        row = live.order_by("jira_id").first()
        data = server.sim.data
        with data.lock:
            note = next(w for w in data.activity(data.by_id[row.issue.jira_id]).worklogs if w.id == row.jira_id)
            assert note.updated_ms == int(row.updated.timestamp() * 1000)
            note.text, note.seconds = "the second edit, in the same millisecond", note.seconds + 60
            data.version += 1
        # The page read it between the edits: stored a moment after the first one.
        Worklog.objects.filter(pk=row.pk).update(synced_at=row.updated + timedelta(milliseconds=400))
        WorklogFeed.objects.filter(instance=instance).update(updated_since=0)  # the whole site listed again
        server.sim.stats.reset()

        result = worklog_feed_sync(client_for(instance), instance, run_id=None)

        assert not result.failed
        assert (result.listed, result.current, result.written) == (total, total - 1, 1)
        assert Worklog.objects.get(pk=row.pk).seconds == note.seconds
        assert_activity_equals_truth(server, instance)


def test_a_feed_listing_without_a_usable_moment_has_every_listed_worklog_asked_for(reference_mappings):
    with running_sim(flavour="cloud", projects=1, issues=20, seed=23) as server:
        instance = register(server, "instance_1")
        assert sync_instance(instance.pk, RunOptions(full=True)).status == SyncRun.Status.SUCCEEDED
        stored = list(Worklog.objects.filter(instance=instance).values_list("jira_id", flat=True)[:5])
        moments: list = [None, "2026-01-01", -1, True, 1.5]  # absent, text, negative, boolean, not whole
        values = [
            {"worklogId": worklog_id, "updatedTime": moment} for worklog_id, moment in zip(stored, moments, strict=True)
        ]
        body = {"values": values, "since": 0, "until": 60_000, "lastPage": True}
        answer_overridden(server, "GET /rest/api/3/worklog/updated", body)
        WorklogFeed.objects.filter(instance=instance).update(updated_since=0)

        result = worklog_feed_sync(client_for(instance), instance, run_id=None)

        assert (result.listed, result.current, result.written) == (5, 0, 5) and not result.failed
        assert_activity_equals_truth(server, instance)


def test_a_worklog_listed_twice_by_the_feed_is_read_at_its_latest_moment(reference_mappings):
    """worklog/updated pages are read one after another: a worklog edited (and settled) while a long listing is
    paged is listed on an early page at its old moment and on a later page at its new one. The row its issue's
    page stored holds the old moment: that matches the first listing, not the second — it must be read again."""
    with running_sim(flavour="cloud", projects=1, issues=20, seed=25) as server:
        instance = register(server, "instance_1")
        assert sync_instance(instance.pk, RunOptions(full=True)).status == SyncRun.Status.SUCCEEDED
        row = Worklog.objects.filter(instance=instance, deleted_at__isnull=True).order_by("jira_id").first()
        data = server.sim.data
        old_ms = int(row.updated.timestamp() * 1000)
        with data.lock:
            record = data.by_id[row.issue.jira_id]
            note = next(w for w in data.activity(record).worklogs if w.id == row.jira_id)
            assert note.updated_ms == old_ms
            data.now_ms += 120_000
            note.text, note.seconds, note.updated_ms = "edited while the feed was paged", note.seconds + 60, data.now_ms
            record.updated_ms = data.now_ms
            data.version += 1
            new_ms = note.updated_ms
        values = [
            {"worklogId": row.jira_id, "updatedTime": old_ms},  # page 1, read before the edit
            {"worklogId": row.jira_id, "updatedTime": new_ms},  # a later page, after it
        ]
        body = {"values": values, "since": 0, "until": new_ms, "lastPage": True}
        answer_overridden(server, "GET /rest/api/3/worklog/updated", body)
        WorklogFeed.objects.filter(instance=instance).update(updated_since=0)

        result = worklog_feed_sync(client_for(instance), instance, run_id=None)

        assert not result.failed
        assert (result.listed, result.current, result.written) == (2, 0, 1)  # asked for once, at its latest
        stored = Worklog.objects.get(instance=instance, jira_id=row.jira_id)
        assert (stored.seconds, int(stored.updated.timestamp() * 1000)) == (note.seconds, new_ms)
        assert_activity_equals_truth(server, instance)
