"""The embedded database at its limits: a full disk, and writers that meet (a worker and the web process)."""

import sqlite3
import threading
import time

import pytest
from django.db import connection, connections
from django.db.backends.signals import connection_created

from audit.services import COMMAND, Change, audit_record
from issues.models import Issue
from jirasim.faults import FaultPlan
from jirasim.testing import running_sim
from projects.models import Project
from syncing.models import SyncRun
from syncing.runs.runner import RunOptions, sync_project
from tests.support.processes import sync_jira_running
from tests.support.sites import register
from tests.support.truth import assert_database_equals_truth

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif("connection.vendor != 'sqlite'", reason="SQLite's own limits"),
]


def test_a_full_disk_fails_the_run_saying_so_keeps_what_was_stored_and_the_next_run_completes(
    reference_mappings, settings
):
    settings.JIRASYNC_PAGE_SIZE = 20
    with running_sim(flavour="cloud", projects=1, issues=400, seed=51) as server:
        instance = register(server, "instance_1")
        project = Project.objects.create(instance=instance, jira_id=str(server.sim.data.projects[0].id), key="OPS")
        with connection.cursor() as cursor:
            cursor.execute("VACUUM")  # earlier tests left free pages the sync could fill without growing the file
            cursor.execute("PRAGMA page_count")
            used = cursor.fetchone()[0]
        # The disk fills up some pages after what the database holds now: a page of 20 issues with their comments,
        # worklogs, field history and relations takes ~100 of them.
        limit = {"pages": used + 300}

        def full_disk(sender, connection, **kwargs) -> None:
            with connection.cursor() as cursor:
                cursor.execute(f"PRAGMA max_page_count = {limit['pages']}")

        connection_created.connect(full_disk)
        connections.close_all()  # every connection from now on sees the full disk
        try:
            run = sync_project(project.pk, RunOptions(full=True))
        finally:
            connection_created.disconnect(full_disk)
        assert run.status == SyncRun.Status.FAILED, run.error
        assert "full" in run.error.lower(), run.error
        stored = Issue.objects.count()
        assert 0 < stored < 400
        connections.close_all()  # space again
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA integrity_check")
            assert cursor.fetchone()[0] == "ok"
        again = sync_project(project.pk, RunOptions())
        assert again.status == SyncRun.Status.SUCCEEDED, again.error
        assert Issue.objects.count() == 400
        assert_database_equals_truth(server, instance)


def test_a_worker_syncing_and_the_web_process_writing_meet_without_database_is_locked(reference_mappings):
    db = connection.settings_dict["NAME"]
    with running_sim(flavour="datacenter", projects=2, issues=100, seed=52, faults=FaultPlan(latency_ms=5)) as server:
        instance = register(server, "instance_2")
        with sync_jira_running(instance.slug, "--full") as worker:
            errors: list[BaseException] = []
            writes = 0

            def web_writes() -> None:
                nonlocal writes
                try:
                    while worker.poll() is None:
                        audit_record(
                            actor=COMMAND, change=Change("probe", "projects.jirainstance", summary="web write")
                        )
                        writes += 1
                        # A long write transaction, as an admin save with inlines is.
                        with sqlite3.connect(db, timeout=30) as raw:
                            raw.execute("BEGIN IMMEDIATE")
                            raw.execute("UPDATE projects_jirainstance SET name = name")
                            time.sleep(0.05)
                        time.sleep(0.1)
                except BaseException as exc:
                    errors.append(exc)
                finally:
                    connections.close_all()

            thread = threading.Thread(target=web_writes)
            thread.start()
            _out, err = worker.communicate(timeout=600)
            thread.join(60)
        assert not errors, errors
        assert worker.returncode == 0, err
        assert "database is locked" not in err
        assert writes > 0
        assert Issue.objects.filter(instance=instance).count() == 200
