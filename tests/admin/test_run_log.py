"""A run's own log in admin: its lines (level, time, message; requests with status and duration at DEBUG),
viewable and downloadable from the run's page, written as the run goes (never inside a transaction),
bounded, and pruned with the runs."""

import logging
import re
from datetime import timedelta

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from jirasim.faults import FaultPlan
from jirasim.testing import request_counts, running_sim
from syncing.models import RunLogLine, SyncRun
from syncing.runs.retention import prune
from syncing.runs.run_log import run_log_capture, run_log_flush
from syncing.runs.runner import RunOptions, sync_instance
from tests.support.sites import register
from tests.support.waiting import in_background, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

REQUEST_LINE = re.compile(r"Instance 1: POST /rest/api/3/search/jql -&gt; 200 in \d+ ms \(attempt 1\)")


def test_a_runs_page_leads_to_its_log_of_requests_which_downloads_as_text(admin_client, reference_mappings, settings):
    settings.JIRASYNC_PAGE_SIZE = 10
    with running_sim(flavour="cloud", projects=2, issues=25, seed=61) as server:
        run = sync_instance(register(server, "instance_1").pk, RunOptions(full=True))
        searches = request_counts(server)["POST /rest/api/3/search/jql"]["200"]  # the syncs' and the censuses'
    page = admin_client.get(reverse("admin:syncing_syncrun_change", args=[run.pk])).content.decode()
    log_url = reverse("admin:syncing_syncrun_log", args=[run.pk])
    lines = RunLogLine.objects.filter(run__parent=run).count() + RunLogLine.objects.filter(run=run).count()
    assert f'<a href="{log_url}">{lines} lines (with its project runs\')</a>' in page

    everything = admin_client.get(log_url).content.decode()
    assert len(REQUEST_LINE.findall(everything)) == searches
    assert "page 3: 5 read" in everything and "Full sync of instance_1 #" in everything
    child = run.children.filter(kind="full").first()
    assert f'href="{reverse("admin:syncing_syncrun_change", args=[child.pk])}">{child.project.key} #{child.pk}' in (
        everything
    )
    info = admin_client.get(log_url, {"level": logging.INFO}).content.decode()
    assert not REQUEST_LINE.search(info) and "Full sync of instance_1 #" in info

    download = admin_client.get(reverse("admin:syncing_syncrun_log_download", args=[run.pk]))
    assert download["Content-Disposition"] == f'attachment; filename="sync-run-{run.pk}.log"'
    text = b"".join(download.streaming_content).decode()
    assert text.count("\n") == lines
    assert re.search(rf"DEBUG \[{child.project.key} #{child.pk}\] syncing.jira.client: Instance 1: POST ", text)


def test_the_log_grows_while_the_run_goes_on(admin_client, reference_mappings, settings):
    settings.JIRASYNC_PAGE_SIZE = 5
    with running_sim(flavour="datacenter", projects=1, issues=100, seed=62, faults=FaultPlan(latency_ms=80)) as server:
        instance = register(server, "instance_2")
        thread, _ = in_background(sync_instance, instance.pk, RunOptions(full=True))
        wait_for(lambda: RunLogLine.objects.filter(message__startswith="page 2:").exists(), what="page 2 in the log")
        child = SyncRun.objects.get(parent__isnull=False)
        assert child.status == SyncRun.Status.RUNNING  # written after each page, not only at the end
        page = admin_client.get(reverse("admin:syncing_syncrun_log", args=[child.pk])).content.decode()
        assert "page 2: 5 read" in page
        thread.join(120)


def test_lines_logged_inside_a_transaction_are_written_after_it(instance):
    run = SyncRun.objects.create(instance=instance, kind="full", trigger="command", status="running")
    with run_log_capture(run.pk):
        with transaction.atomic():
            logging.getLogger("syncing.engine.store").warning("the page is being written")
            assert run_log_flush(run.pk) == 0 and not RunLogLine.objects.exists()
        assert run_log_flush(run.pk) == 1
    (line,) = RunLogLine.objects.all()
    assert (line.level, line.logger, line.message) == (
        logging.WARNING,
        "syncing.engine.store",
        "the page is being written",
    )


def test_a_run_keeps_at_most_its_share_of_lines_and_says_how_many_more_there_were(reference_mappings, settings):
    settings.JIRASYNC_PAGE_SIZE = 2
    settings.JIRASYNC_RUN_LOG_MAX_LINES = 10
    with running_sim(flavour="cloud", projects=1, issues=40, seed=63) as server:
        run = sync_instance(register(server, "instance_1").pk, RunOptions(full=True))
    child = run.children.get(kind="full")
    lines = list(RunLogLine.objects.filter(run=child).order_by("at", "id").values_list("message", flat=True))
    assert len(lines) == 11 and child.pages == 20  # 20 pages: a page line and a request line each, and more
    dropped = int(re.fullmatch(r"(\d+) more log lines were not kept \(JIRASYNC_RUN_LOG_MAX_LINES=10\)", lines[-1])[1])
    assert dropped >= 2 * 20 - 10


def test_log_lines_go_when_their_runs_are_pruned(instance, settings):
    settings.RETENTION_SYNC_RUN_DAYS = 30
    old, young = (
        SyncRun.objects.create(instance=instance, kind="full", trigger="schedule", status="succeeded") for _ in range(2)
    )
    child = SyncRun.objects.create(instance=instance, parent=old, kind="full", trigger="schedule", status="succeeded")
    SyncRun.objects.filter(pk__in=[old.pk, child.pk]).update(created_at=timezone.now() - timedelta(days=40))
    for run in (old, child, young):
        with run_log_capture(run.pk):
            logging.getLogger("syncing.runs.runner").info("a line of run %d", run.pk)
    assert prune(dry_run=True).deleted["run log lines"] == 2
    report = prune()
    assert report.deleted["run log lines"] == 2 and "run log lines: 2" in " ".join(report.lines())
    assert list(RunLogLine.objects.values_list("run_id", flat=True)) == [young.pk]
