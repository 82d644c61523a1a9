"""Background work: django-q2 tasks that fan out per project, schedules kept in step with each instance."""

import io

import pytest
from django.core.management import call_command
from django_q.models import Schedule

from audit.services import COMMAND
from issues.models import Issue
from jirasim.testing import running_sim
from syncing.instance_settings import instance_save
from syncing.models import SyncRun
from syncing.runs.bookkeeping import RunOptions, run_queue
from syncing.runs.instance_deletion import instance_deletion_start
from tests.support.processes import processes_stop, qcluster_start, subprocess_env
from tests.support.sites import register
from tests.support.truth import assert_database_equals_truth
from tests.support.waiting import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def test_saving_an_instance_keeps_its_schedules_in_step_idempotently(db):
    with running_sim(flavour="cloud", projects=1, issues=2) as server:
        instance = register(server, "instance_1")
    ids = dict(instance.schedule_ids)
    assert set(ids) == {"incremental", "full", "census"}
    incremental = Schedule.objects.get(pk=ids["incremental"])
    assert (incremental.func, incremental.minutes, incremental.repeats) == ("syncing.tasks.sync_instance_task", 15, -1)
    assert incremental.args == f"{instance.pk}, 'incremental', 'schedule'"
    assert Schedule.objects.get(pk=ids["full"]).cron == "30 3 * * 0"
    instance_save(instance=instance, actor=COMMAND)
    call_command("ensure_schedules", stdout=io.StringIO())
    instance_schedules = Schedule.objects.filter(func="syncing.tasks.sync_instance_task")
    assert instance_schedules.count() == 3 and instance.schedule_ids == ids  # nothing doubled
    instance.enabled = False
    instance.incremental_every_minutes = 5
    instance.census_every_minutes = 0
    instance_save(instance=instance, actor=COMMAND)
    paused = Schedule.objects.get(pk=ids["incremental"])
    assert (paused.minutes, paused.repeats) == (5, 0)
    assert not Schedule.objects.filter(pk=ids["census"]).exists()
    instance_deletion_start(instance=instance, actor=COMMAND, queue=False)  # its schedules go at once
    assert instance_schedules.count() == 0


def test_an_instance_task_fans_out_one_task_per_project_and_the_last_closes_the_run(
    cloud_site, reference_mappings, monkeypatch
):
    from syncing import tasks

    enqueued = []
    monkeypatch.setattr(tasks, "async_task", lambda func, *args, **kwargs: enqueued.append((func, args)))
    instance = register(cloud_site, "instance_1")
    queued = run_queue(instance, None, RunOptions(full=True, trigger=SyncRun.Trigger.ADMIN))
    run_id = tasks.sync_instance_task(instance.pk, "full", "admin", queued.pk)
    assert run_id == queued.pk
    assert [func for func, _ in enqueued] == ["syncing.tasks.sync_project_task"] * 2
    assert SyncRun.objects.get(pk=run_id).status == SyncRun.Status.RUNNING
    for _func, args in enqueued:  # as two workers would, one after the other
        tasks.sync_project_task(*args)
    run = SyncRun.objects.get(pk=run_id)
    assert run.status == SyncRun.Status.SUCCEEDED and run.fetched == 120
    assert run.children.filter(kind=SyncRun.Kind.CENSUS).count() == 2  # full syncs end with a census
    assert_database_equals_truth(cloud_site, instance)


def test_a_real_qcluster_process_picks_up_a_queued_sync(cloud_site, reference_mappings):
    from django_q.tasks import async_task

    instance = register(cloud_site, "instance_1")
    queued = run_queue(instance, None, RunOptions(trigger=SyncRun.Trigger.ADMIN))
    async_task("syncing.tasks.sync_instance_task", instance.pk, "incremental", "admin", queued.pk)
    env = {**subprocess_env(), "Q_WORKERS": "2", "DJANGO_SETTINGS_MODULE": "tests.settings"}
    worker = qcluster_start(env)
    try:
        run = wait_for(
            lambda: (
                SyncRun.objects.exclude(status__in=(SyncRun.Status.QUEUED, SyncRun.Status.RUNNING))
                .filter(pk=queued.pk)
                .first()
            ),
            what="the queued run to end",
            poll=0.3,
        )
    finally:
        processes_stop([worker])
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert Issue.objects.count() == 120
