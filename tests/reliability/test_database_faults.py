"""The database connection killed mid-run: that run fails and says why, the next completes, nothing lost; and the
sessions tests leave on the test database are ended at the end, so it can be dropped."""

import contextlib
import re
import subprocess

import psycopg
import pytest
from django.db import connection

from issues.models import Issue
from jirasim.faults import FaultPlan
from jirasim.testing import running_sim
from syncing.models import SyncRun
from syncing.runs.runner import RunOptions, sync_instance
from tests.support.database import OtherConnection, other_backends, other_sessions_end
from tests.support.processes import sync_jira_running
from tests.support.sites import register
from tests.support.truth import assert_database_equals_truth
from tests.support.waiting import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def test_pg_terminate_backend_mid_run_then_the_next_run_completes(reference_mappings):
    if connection.vendor != "postgresql":
        pytest.skip("kills PostgreSQL backends (run the suite with DATABASE_URL=postgres://…)")
    with running_sim(flavour="cloud", projects=2, issues=400, seed=31, faults=FaultPlan(latency_ms=40)) as server:
        instance = register(server, "instance_1")
        with sync_jira_running(instance.slug, "--full", stderr=subprocess.STDOUT) as worker:
            # Wait until the sync has written some pages, then cut every connection it holds.

            def going() -> bool:
                assert worker.poll() is None, "the sync ended before it wrote 40 issues"
                return Issue.objects.count() >= 40

            wait_for(going, what="the sync to write 40 issues", poll=0.05)
            killed = 0
            with connection.cursor() as cursor:
                for pid in other_backends():
                    cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
                    killed += cursor.fetchone()[0]
            output, _ = worker.communicate(timeout=120)
        assert killed >= 1
        stored_after_kill = Issue.objects.count()
        assert 40 <= stored_after_kill < 800, stored_after_kill
        interrupted = SyncRun.objects.filter(parent__isnull=True).order_by("pk").last()
        # The cut run still says how it ended: failed, and why.
        assert worker.returncode != 0, output
        assert interrupted.status == SyncRun.Status.FAILED, (interrupted.status, output[-2000:])
        # psycopg words it by where the connection was when cut: in a query, reading, or idle between pages.
        assert re.search(
            r"terminating connection|server closed the connection|connection is closed", interrupted.error
        ), interrupted.error
        # The next run picks up from the last committed page and completes.
        final = sync_instance(instance.pk, RunOptions(full=True))
        assert final.status == SyncRun.Status.SUCCEEDED, final.error
        assert_database_equals_truth(server, instance)
        stored = list(Issue.objects.values_list("instance_id", "jira_id"))
        assert len(stored) == len(set(stored)) == 800
        print(
            f"\nkilled {killed} backend(s) with {stored_after_kill} of 800 issues stored; the cut run ended "
            f"{interrupted.status} ({interrupted.error[:120]}); the next run completed"
        )


def test_the_sessions_left_on_the_test_database_are_ended_so_it_can_be_dropped():
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's sessions (run the suite with DATABASE_URL=postgres://…)")
    left = OtherConnection(wait_seconds=5)  # as a killed worker's backend, still open
    try:
        assert other_sessions_end() >= 1
        assert not other_backends()
        with pytest.raises(psycopg.OperationalError):
            left.db.execute("SELECT 1")
    finally:
        with contextlib.suppress(psycopg.Error):
            left.close()
