"""Continuous syncs against a misbehaving Jira while its issues change: afterwards the database equals
the truth, every failed run says why, and memory, threads, file descriptors and connections stayed put."""

import os
import threading
import time
from pathlib import Path

import pytest
from django.db import connection

from jirasim.faults import FaultPlan, FaultRule
from jirasim.testing import running_sim
from syncing.models import SyncRun
from syncing.runs.runner import RunOptions, sync_instance
from tests.support.sites import register
from tests.support.truth import assert_database_equals_truth

pytestmark = pytest.mark.django_db(transaction=True)

SOAK_SECONDS = float(os.environ.get("JIRASYNC_SOAK_SECONDS", "90"))
SEARCH = "POST /rest/api/3/search/jql"


def rss_mb() -> float:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def database_connections() -> int:
    if connection.vendor != "postgresql":
        return 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
        return cursor.fetchone()[0]


def disturbed(faults: FaultPlan) -> bool:
    """Whether the soak has changed issues between the pages of a listing yet."""
    return bool(faults.report()["inflicted"].get("disturb"))


def test_a_fault_soak_ends_equal_to_the_truth_with_nothing_grown(reference_mappings, settings):
    settings.JIRASYNC_MAX_RETRIES = 3
    faults = FaultPlan(
        [
            FaultRule("500", rate=0.04),
            FaultRule("503", rate=0.03),
            FaultRule("reset", rate=0.03),
            FaultRule("truncate", rate=0.02),
            FaultRule("malformed", rate=0.02),
            # Issue #11's faults: issues edited and created between two pages of a search (over live page
            # tokens), pages repeated or empty while saying more follow, answers without fields, bulkfetch
            # answers that leave issues out.
            FaultRule(
                "disturb", endpoint=SEARCH, listing="full", after_page=1, repeat=True, rate=0.3, edit=1, create=1
            ),
            FaultRule("repeat-page", endpoint=SEARCH, listing="full", rate=0.01),
            FaultRule("empty-page", endpoint=SEARCH, rate=0.005),
            FaultRule("fields-null", share=0.02, rate=0.05),
            FaultRule("changelog-missing", share=0.02, rate=0.05),
            FaultRule("bulkfetch-omit", share=0.3, rate=0.3),
        ],
        seed=99,
        latency_ms=3,
        jitter_ms=10,
    )
    with running_sim(
        flavour="cloud",
        projects=3,
        issues=150,
        seed=21,
        faults=faults,
        rate_limit=4,
        burst=4,
        long_history_share=0.05,
        cloud_tokens="live",
    ) as server:
        instance = register(server, "instance_1", request_budget=12, max_parallel_projects=3)  # above Jira's 4/s
        sync_instance(instance.pk, RunOptions(full=True))
        baseline = None
        rounds = 0
        began = time.time()
        # Changes between the pages of a full listing are drawn (rate 0.3 a page after the first): on a busy
        # machine the soak's few full syncs may draw none, so past its time it goes on with full syncs until one
        # has been met — within a generous deadline.
        deadline = began + SOAK_SECONDS * 6
        while time.time() - began < SOAK_SECONDS or (not disturbed(faults) and time.time() < deadline):
            server.sim.data.advance(minutes=7, update=0.04, create=2, delete=1, move=1)
            full = rounds % 5 == 4 or time.time() - began >= SOAK_SECONDS
            sync_instance(instance.pk, RunOptions(full=full))
            rounds += 1
            if rounds == 2:  # after the first rounds have warmed every cache and pool
                baseline = (rss_mb(), threading.active_count(), open_fds(), database_connections())
        inflicted = faults.report()["inflicted"]
        # The faults stop; the next runs must bring everything back to the truth (failed rows and incomplete
        # histories are asked for again by id).
        faults.replace([], latency_ms=0, jitter_ms=0)
        settled = sync_instance(instance.pk, RunOptions())
        assert settled.status == SyncRun.Status.SUCCEEDED, settled.error
        census = sync_instance(instance.pk, RunOptions(census=True))
        assert census.status == SyncRun.Status.SUCCEEDED, census.error
        assert_database_equals_truth(server, instance)
        stats = server.sim.stats.snapshot()

    end = (rss_mb(), threading.active_count(), open_fds(), database_connections())
    runs = SyncRun.objects.filter(parent__isnull=True).exclude(kind="census")
    failed = runs.filter(status__in=["failed", "partial"])
    print(
        f"\nsoak: {SOAK_SECONDS:.0f} s, {rounds} rounds, {runs.count()} runs ({failed.count()} failed or partial), "
        f"{sum(sum(c.values()) for c in stats.values())} requests, "
        f"{sum(c.get('429', 0) for c in stats.values())} × 429, "
        f"{sum(c.get('500', 0) + c.get('503', 0) for c in stats.values())} × 5xx; "
        f"RSS {baseline[0]:.0f} → {end[0]:.0f} MB, threads {baseline[1]} → {end[1]}, "
        f"fds {baseline[2]} → {end[2]}, db connections {baseline[3]} → {end[3]}; "
        f"inflicted: { {kind: sum(counts.values()) for kind, counts in inflicted.items()} }"
    )
    assert inflicted.get("disturb"), "the soak should have changed issues between pages"
    assert rounds >= 5
    assert sum(c.get("429", 0) for c in stats.values()) > 0, "the soak should have met rate limiting"
    for run in failed:
        assert run.error.strip(), f"run {run.pk} failed without saying why"
    assert end[1] <= baseline[1] + 1, "threads grew"
    assert end[2] <= baseline[2] + 5, "file descriptors grew"
    assert end[3] <= baseline[3] + 1, "database connections grew"
    assert end[0] <= baseline[0] + 40, "memory grew"
