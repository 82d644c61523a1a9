"""Two qcluster processes sharing Redis as the broker, with overlapping schedules for one instance:
no project is synced twice at once, the request budget holds across all workers, and the database
converges to the truth."""

import itertools
import os
import time
import uuid
from datetime import timedelta

import pytest
import redis
import requests
from django.utils import timezone
from django_q.models import Schedule

from jirasim.testing import running_sim
from syncing.models import SyncRun
from tests.support.processes import processes_stop, qcluster_start, subprocess_env
from tests.support.sites import register
from tests.support.truth import assert_database_equals_truth
from tests.support.waiting import wait_for

pytestmark = pytest.mark.django_db(transaction=True)

REDIS_URL = os.environ.get("JIRASYNC_TEST_REDIS_URL", "redis://127.0.0.1:6379/11")
BUDGET = 8.0  # requests per second for the instance, shared by every worker through Redis


def test_two_clusters_on_redis_never_sync_a_project_twice_at_once(reference_mappings):
    try:
        broker = redis.Redis.from_url(REDIS_URL)
        broker.ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis is not reachable at {REDIS_URL}: {exc}")
    # Its own queue keys: another suite may be running this test against the same Redis (the budget key,
    # named after the instance slug the mappings need, is shared then: each suite gets less, never more).
    cluster = f"jirasync-test-{uuid.uuid4().hex[:12]}"
    try:
        _two_clusters_converge(cluster)
    finally:
        for key in broker.scan_iter(f"*{cluster}*"):
            broker.delete(key)


def _two_clusters_converge(cluster: str) -> None:
    with running_sim(flavour="cloud", projects=4, issues=80, seed=41) as server:
        instance = register(server, "instance_1", request_budget=BUDGET, max_parallel_projects=4)
        Schedule.objects.all().delete()  # only the overlapping ones below
        due = timezone.now() - timedelta(seconds=1)
        for kind in ("full", "incremental", "incremental"):
            Schedule.objects.create(
                func="syncing.tasks.sync_instance_task",
                args=f"{instance.pk}, {kind!r}, 'schedule'",
                schedule_type=Schedule.MINUTES,
                minutes=60,
                repeats=1,
                next_run=due,
            )
        env = {
            **subprocess_env(),
            "REDIS_URL": REDIS_URL,
            "Q_CLUSTER_NAME": cluster,
            "Q_WORKERS": "2",
            "JIRASYNC_PAGE_SIZE": "20",
        }
        requests.post(f"{server.url}/_sim/reset-stats", timeout=60)
        started = time.time()
        clusters = [qcluster_start(env), qcluster_start(env)]

        def all_three_ended() -> bool:
            runs = list(SyncRun.objects.filter(parent__isnull=True))
            ended = [r for r in runs if r.status not in (SyncRun.Status.QUEUED, SyncRun.Status.RUNNING)]
            return len(runs) == 3 and len(ended) == 3

        try:
            # Ten minutes: two clusters of two workers share the machine with the other suites.
            wait_for(all_three_ended, 600, "the three scheduled instance runs to end", poll=0.5)
            converged = time.time() - started
        finally:
            processes_stop(clusters)
        stats = requests.get(f"{server.url}/_sim/stats", timeout=60).json()
        busiest, busiest_ten = stats["busiest_second"], stats["busiest_ten_seconds"]
        assert_database_equals_truth(server, instance)

    project_runs = SyncRun.objects.filter(project__isnull=False).exclude(kind="census")
    worked = [r for r in project_runs if r.status != SyncRun.Status.SKIPPED and r.started_at]
    skipped = project_runs.filter(status=SyncRun.Status.SKIPPED).count()
    by_project: dict[int, list[SyncRun]] = {}
    for run in worked:
        by_project.setdefault(run.project_id, []).append(run)
    for project_runs_of_one in by_project.values():
        ordered = sorted(project_runs_of_one, key=lambda r: r.started_at)
        for earlier, later in itertools.pairwise(ordered):
            assert earlier.finished_at <= later.started_at, f"runs {earlier.pk} and {later.pk} overlapped"
    # A token bucket of BUDGET/s holding BUDGET tokens admits at most BUDGET + 10 × BUDGET in ten seconds; jirasim
    # counts requests as it answers them, and on a busy machine answers bunch (a second of them arriving late is
    # allowed for). Four workers each with a budget of their own would pass 300 in ten seconds.
    print(
        f"\ntwo clusters × 2 workers: {len(worked)} project runs, {skipped} skipped (claimed elsewhere), "
        f"busiest second at jirasim {busiest} requests, busiest ten seconds {busiest_ten} (budget {BUDGET:.0f}/s); "
        f"all done {converged:.0f} s after start"
    )
    assert busiest_ten <= BUDGET + 11 * BUDGET, busiest_ten
    assert SyncRun.objects.filter(parent__isnull=True, status=SyncRun.Status.SUCCEEDED).count() >= 1
